import { createHash } from 'node:crypto';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { createClient, createCluster, RESP_TYPES } from 'redis';
import { DEFAULT_PREFIX, DEFAULT_TIMEOUT, RedisReplayStore, RedisReplayStoreError, type RedisReplayStoreOptions } from 'jwt-bearer-redis';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server';

// Every test talks to a real redis-server started here; nothing is mocked.

type NodeRedisClient = ReturnType<typeof createClient>;
type Flavour = 'ioredis' | 'node-redis';

const HOST = '127.0.0.1';
const closers: Array<() => Promise<unknown> | void> = [];

async function ioredisClient(port: number, extra: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, ...extra });
  client.on('error', () => {}); // reconnect noise while a test has Redis stopped
  closers.push(() => {
    // Not after quit(): ioredis would wait 2 s for the already closed stream to close.
    if (client.status !== 'end') client.disconnect();
  });
  await client.connect();
  return client;
}

async function nodeRedisClient(port: number): Promise<NodeRedisClient> {
  const client = createClient({ socket: { host: HOST, port } });
  client.on('error', () => {}); // node-redis throws on an unhandled 'error' event
  closers.push(() => {
    if (client.isOpen) client.destroy();
  });
  await client.connect();
  return client;
}

function connect(flavour: Flavour, port: number): Promise<Redis | NodeRedisClient> {
  return flavour === 'ioredis' ? ioredisClient(port) : nodeRedisClient(port);
}

/** The documented key layout, computed independently of the store. */
function expectedKey(prefix: string, key: string): string {
  return prefix + createHash('sha256').update(key, 'utf8').digest('base64url');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles `promise`, reporting how long it took and how it ended. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/**
 * Claims fresh keys until one succeeds (the client has reconnected), bounded in count and time.
 * A fresh key must never be answered `false`; before reconnection the claim rejects.
 */
async function claimUntilUp(store: RedisReplayStore, label: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (let attempt = 1; attempt <= 200 && Date.now() < deadline; attempt++) {
    const result = await timed(store.claim(`${label}:${attempt}`, 60));
    expect(result.value).not.toBe(false);
    if (result.value === true) return attempt;
    expect(result.error).toBeInstanceOf(RedisReplayStoreError);
    await delay(100);
  }
  throw new Error(`${label}: no claim succeeded within 10 s`);
}

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});

async function closeClients(): Promise<void> {
  for (const close of closers.splice(0)) await close();
}

afterAll(async () => {
  await closeClients();
  await redis?.close();
});

beforeEach(async () => {
  await redis.command('FLUSHALL');
});

describe('options', () => {
  let io: Redis;
  let nr: NodeRedisClient;

  beforeAll(async () => {
    io = await ioredisClient(redis.port);
    nr = await nodeRedisClient(redis.port);
  });

  it('applies the defaults and detects each client library', () => {
    const a = new RedisReplayStore({ client: io });
    expect(a).toMatchObject({ prefix: DEFAULT_PREFIX, timeout: DEFAULT_TIMEOUT, clientType: 'ioredis' });
    expect(DEFAULT_PREFIX).toBe('jwt-bearer:jti:');
    expect(DEFAULT_TIMEOUT).toBe(1000);
    expect(new RedisReplayStore({ client: nr }).clientType).toBe('node-redis');
  });

  it('recognises cluster clients of both libraries', () => {
    const ioCluster = new Cluster([{ host: HOST, port: redis.port }], { lazyConnect: true });
    const nrCluster = createCluster({ rootNodes: [{ socket: { host: HOST, port: redis.port } }] });
    try {
      expect(new RedisReplayStore({ client: ioCluster }).clientType).toBe('ioredis');
      expect(new RedisReplayStore({ client: nrCluster }).clientType).toBe('node-redis');
    } finally {
      ioCluster.disconnect();
    }
  });

  it('throws a TypeError naming the option for a bad configuration', () => {
    const bad =
      (options: unknown): (() => unknown) =>
      () =>
        new RedisReplayStore(options as RedisReplayStoreOptions);
    expect(bad(undefined)).toThrow(new TypeError('RedisReplayStore options must be an object'));
    for (const client of [undefined, null, {}, { set: () => 'OK' }, 'redis://127.0.0.1', { isOpen: true }]) {
      expect(bad({ client })).toThrow(TypeError);
      expect(bad({ client })).toThrow(/option "client" must be an ioredis or node-redis/);
    }
    for (const prefix of [1, null, 'p'.repeat(257)]) expect(bad({ client: io, prefix })).toThrow(/option "prefix"/);
    for (const timeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100', 2 ** 31]) {
      expect(bad({ client: io, timeout })).toThrow(/option "timeout"/);
    }
    expect(new RedisReplayStore({ client: io, prefix: '', timeout: 1 })).toMatchObject({ prefix: '', timeout: 1 });
    expect(new RedisReplayStore({ client: nr, prefix: 'p'.repeat(256), timeout: 2 ** 31 - 1 }).prefix).toHaveLength(256);
  });

  it('does not mutate the options it is given', () => {
    const options = Object.freeze({ client: io, prefix: 'x:' });
    expect(new RedisReplayStore(options).prefix).toBe('x:');
    expect(options).toEqual({ client: io, prefix: 'x:' });
  });

  it('rejects invalid claim arguments without writing to Redis', async () => {
    const store = new RedisReplayStore({ client: io });
    await expect(store.claim(42 as unknown as string, 10)).rejects.toThrow(TypeError);
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number, 1e20]) {
      await expect(store.claim('k', ttl)).rejects.toThrow(TypeError);
    }
    expect(await redis.command('DBSIZE')).toBe(0);
  });
});

describe.each<Flavour>(['ioredis', 'node-redis'])('with a %s client', (flavour) => {
  let client: Redis | NodeRedisClient;
  let other: Redis | NodeRedisClient;

  beforeAll(async () => {
    client = await connect(flavour, redis.port);
    other = await connect(flavour === 'ioredis' ? 'node-redis' : 'ioredis', redis.port);
  });

  it('answers true to the first claim of a key and false to every later one', async () => {
    const store = new RedisReplayStore({ client });
    await expect(store.claim('client_assertion:3:abc:jti-1', 60)).resolves.toBe(true);
    await expect(store.claim('client_assertion:3:abc:jti-1', 60)).resolves.toBe(false);
    await expect(store.claim('client_assertion:3:abc:jti-1', 60)).resolves.toBe(false);
    await expect(store.claim('client_assertion:3:abc:jti-2', 60)).resolves.toBe(true);
    // Another store, on the other library's client, sees the same record.
    await expect(new RedisReplayStore({ client: other }).claim('client_assertion:3:abc:jti-1', 60)).resolves.toBe(false);
    const key = expectedKey(DEFAULT_PREFIX, 'client_assertion:3:abc:jti-1');
    expect(store.redisKey('client_assertion:3:abc:jti-1')).toBe(key);
    expect(await redis.command('GET', key)).toBe('1');
    expect(await redis.command('DBSIZE')).toBe(2);
  });

  it('lets exactly one of many concurrent claims of a key win, across two clients', async () => {
    const stores = [new RedisReplayStore({ client }), new RedisReplayStore({ client: other })];
    for (let round = 0; round < 25; round++) {
      const key = `grant:7:issuer1:round-${round}`;
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => stores[i % 2]!.claim(key, 60)));
      expect(results.filter((r) => r === true)).toHaveLength(1);
      expect(results.filter((r) => r === false)).toHaveLength(9);
    }
    expect(await redis.command('DBSIZE')).toBe(25);
  });

  it('records the key for the ttl only: PTTL in Redis, then claimable again after expiry', async () => {
    const store = new RedisReplayStore({ client });
    const key = 'grant:1:i:ttl';
    await expect(store.claim(key, 0.6)).resolves.toBe(true);
    const pttl = await redis.command('PTTL', store.redisKey(key));
    expect(typeof pttl).toBe('number');
    expect(pttl).toBeGreaterThan(300);
    expect(pttl).toBeLessThanOrEqual(600);
    await expect(store.claim(key, 0.6)).resolves.toBe(false);
    // Bounded wait for Redis to expire the key.
    const deadline = Date.now() + 3000;
    while ((await redis.command('PTTL', store.redisKey(key))) !== -2 && Date.now() < deadline) await delay(50);
    expect(await redis.command('EXISTS', store.redisKey(key))).toBe(0);
    await expect(store.claim(key, 60)).resolves.toBe(true);
    const again = await redis.command('PTTL', store.redisKey(key));
    expect(again).toBeGreaterThan(59_000);
    expect(again).toBeLessThanOrEqual(60_000);
  });

  it('rounds a fractional ttl up to whole milliseconds, never to 0', async () => {
    const store = new RedisReplayStore({ client });
    await expect(store.claim('tiny', 0.0001)).resolves.toBe(true);
    // PX 1: gone almost at once (a PX 0 would have been an error reply).
    const deadline = Date.now() + 1000;
    while ((await redis.command('EXISTS', store.redisKey('tiny'))) !== 0 && Date.now() < deadline) await delay(10);
    await expect(store.claim('tiny', 0.0001)).resolves.toBe(true);
    await expect(store.claim('long', 3600)).resolves.toBe(true);
    const pttl = (await redis.command('PTTL', store.redisKey('long'))) as number;
    expect(pttl).toBeGreaterThan(3_599_000);
  });

  it('stores every key as prefix + sha256 base64url, whatever its length', async () => {
    const store = new RedisReplayStore({ client });
    const long = `grant:30000:${'i'.repeat(30_000)}:${'j'.repeat(10_000)}`;
    const keys = ['a', 'grant:9:issuer:jti', long, `${long}x`, 'client_assertion:5:clïent:ジェイティーアイ'];
    for (const key of keys) await expect(store.claim(key, 60)).resolves.toBe(true);
    for (const key of keys) await expect(store.claim(key, 60)).resolves.toBe(false);
    const stored = ((await redis.command('KEYS', '*')) as string[]).sort();
    expect(stored).toEqual(keys.map((k) => expectedKey(DEFAULT_PREFIX, k)).sort());
    for (const k of stored) {
      expect(k).toHaveLength(DEFAULT_PREFIX.length + 43);
      expect(k).toMatch(/^jwt-bearer:jti:[A-Za-z0-9_-]{43}$/);
    }
  });

  it('namespaces keys with the prefix, so stores with different prefixes do not share records', async () => {
    const a = new RedisReplayStore({ client, prefix: 'tenant-a:' });
    const b = new RedisReplayStore({ client: other, prefix: 'tenant-b:' });
    const bare = new RedisReplayStore({ client, prefix: '' });
    await expect(a.claim('grant:1:i:j', 60)).resolves.toBe(true);
    await expect(b.claim('grant:1:i:j', 60)).resolves.toBe(true);
    await expect(bare.claim('grant:1:i:j', 60)).resolves.toBe(true);
    await expect(new RedisReplayStore({ client: other, prefix: 'tenant-a:' }).claim('grant:1:i:j', 60)).resolves.toBe(false);
    const stored = ((await redis.command('KEYS', '*')) as string[]).sort();
    expect(stored).toEqual([expectedKey('tenant-a:', 'grant:1:i:j'), expectedKey('tenant-b:', 'grant:1:i:j'), expectedKey('', 'grant:1:i:j')].sort());
  });

  it('rejects, never answers true, when Redis refuses the write', async () => {
    const store = new RedisReplayStore({ client });
    await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await redis.command('CONFIG', 'SET', 'maxmemory', '1');
    try {
      const result = await timed(store.claim('grant:1:i:oom', 60));
      expect(result.value).toBeUndefined();
      expect(result.error).toBeInstanceOf(RedisReplayStoreError);
      expect(result.error).toMatchObject({ code: 'ERR_REDIS_COMMAND', message: expect.stringMatching(/OOM/) });
      expect((result.error as Error).cause).toBeInstanceOf(Error);
    } finally {
      await redis.command('CONFIG', 'SET', 'maxmemory', '0');
    }
    await expect(store.claim('grant:1:i:oom', 60)).resolves.toBe(true);
  });

  it('rejects at once when the client was closed by the application', async () => {
    const closed = await connect(flavour, redis.port);
    const store = new RedisReplayStore({ client: closed, timeout: 5000 });
    await expect(store.claim('before-close', 60)).resolves.toBe(true);
    if (closed instanceof Redis) await closed.quit();
    else await closed.close();
    const result = await timed(store.claim('after-close', 60));
    expect(result.error).toMatchObject({ name: 'RedisReplayStoreError', code: 'ERR_REDIS_COMMAND' });
    expect(result.ms).toBeLessThan(1000);
    expect(await redis.command('EXISTS', store.redisKey('after-close'))).toBe(0);
  });
});

describe('node-redis reply variants', () => {
  it('works over RESP3 and with a type mapping that hands strings over as Buffers', async () => {
    const resp3 = createClient({ RESP: 3, socket: { host: HOST, port: redis.port } });
    resp3.on('error', () => {});
    closers.push(() => {
      if (resp3.isOpen) resp3.destroy();
    });
    await resp3.connect();
    const buffers = resp3.withTypeMapping({ [RESP_TYPES.SIMPLE_STRING]: Buffer, [RESP_TYPES.BLOB_STRING]: Buffer });
    expect(await buffers.set('probe', '1')).toBeInstanceOf(Buffer);
    for (const client of [resp3, buffers]) {
      const store = new RedisReplayStore({ client });
      expect(store.clientType).toBe('node-redis');
      await expect(store.claim(`variant:${client === resp3 ? 'resp3' : 'buffers'}`, 60)).resolves.toBe(true);
      await expect(store.claim(`variant:${client === resp3 ? 'resp3' : 'buffers'}`, 60)).resolves.toBe(false);
    }
    expect(await redis.command('DBSIZE')).toBe(3);
  });
});

describe('when Redis fails', () => {
  const TIMEOUT = 300;
  // Slack for timer scheduling on a loaded machine; still far below "hanging".
  const SLACK = 400;
  let flaky: RedisServer;

  beforeAll(async () => {
    flaky = await startRedisServer();
  });

  afterAll(async () => {
    await closeClients();
    await flaky?.close();
  });

  afterEach(async () => {
    if (!flaky.running) await flaky.start();
    else flaky.resume();
  });

  it.each<Flavour>(['ioredis', 'node-redis'])(
    'with %s: claims reject within the timeout while Redis is stopped, and work again once it is back',
    async (flavour) => {
      const client = await connect(flavour, flaky.port);
      const store = new RedisReplayStore({ client, timeout: TIMEOUT });
      await expect(store.claim('up:before', 60)).resolves.toBe(true);

      await flaky.stop();
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => timed(store.claim(`down:${i}`, 60))));
      for (const result of results) {
        expect(result.value).toBeUndefined();
        expect(result.error).toBeInstanceOf(RedisReplayStoreError);
        expect(['ERR_REDIS_TIMEOUT', 'ERR_REDIS_COMMAND']).toContain((result.error as RedisReplayStoreError).code);
        expect(result.ms).toBeLessThan(TIMEOUT + SLACK);
      }
      // Still down a while later (the client is reconnecting): still a bounded rejection.
      await delay(200);
      const later = await timed(store.claim('down:later', 60));
      expect(later.error).toBeInstanceOf(RedisReplayStoreError);
      expect(later.ms).toBeLessThan(TIMEOUT + SLACK);

      await flaky.start();
      await claimUntilUp(store, `${flavour}:after-restart`);
      await expect(store.claim('up:after', 60)).resolves.toBe(true);
      await expect(store.claim('up:after', 60)).resolves.toBe(false);
    },
  );

  it('with ioredis queueing commands forever while disconnected (maxRetriesPerRequest: null), claims still reject within the timeout', async () => {
    const client = await ioredisClient(flaky.port, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    const store = new RedisReplayStore({ client, timeout: TIMEOUT });
    await expect(store.claim('q:before', 60)).resolves.toBe(true);
    await flaky.stop('SIGKILL');
    const result = await timed(store.claim('q:during', 60));
    expect(result.error).toMatchObject({ code: 'ERR_REDIS_TIMEOUT' });
    expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT - 5);
    expect(result.ms).toBeLessThan(TIMEOUT + SLACK);
    await flaky.start();
    await claimUntilUp(store, 'q:after-restart');
  });

  it.each<Flavour>(['ioredis', 'node-redis'])(
    'with %s: a hung Redis (SIGSTOP) makes claims time out; the late write lands, so the jti stays burned',
    async (flavour) => {
      const client = await connect(flavour, flaky.port);
      const store = new RedisReplayStore({ client, timeout: TIMEOUT });
      await expect(store.claim(`${flavour}:hung:warm`, 60)).resolves.toBe(true);
      flaky.pause();
      const result = await timed(store.claim(`${flavour}:hung:jti`, 60));
      expect(result.value).toBeUndefined();
      expect(result.error).toMatchObject({ name: 'RedisReplayStoreError', code: 'ERR_REDIS_TIMEOUT' });
      expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT - 5);
      expect(result.ms).toBeLessThan(TIMEOUT + SLACK);
      flaky.resume();
      // The command that timed out was still delivered: the refused assertion's jti is now
      // recorded. Safe (fail closed); the client retries with a fresh assertion.
      const deadline = Date.now() + 3000;
      while ((await flaky.command('EXISTS', store.redisKey(`${flavour}:hung:jti`))) !== 1 && Date.now() < deadline) await delay(20);
      await expect(store.claim(`${flavour}:hung:jti`, 60)).resolves.toBe(false);
      await expect(store.claim(`${flavour}:hung:fresh`, 60)).resolves.toBe(true);
    },
  );
});
