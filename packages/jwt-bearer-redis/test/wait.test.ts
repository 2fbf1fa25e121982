import { RedisReplayStore, RedisReplayStoreError, type RedisReplayStoreOptions } from 'jwt-bearer-redis';
import { closeClients, FLAVOURS, standaloneClient, type Flavour } from '../../../test/support/redis-clients';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server';
import { infoFields, NO_SYNC_DELAY, until } from '../../../test/support/redis-topology';

// `wait`: a claim counts only once WAIT confirms the replicas. A real primary and a real replica
// (Redis asynchronous replication), with every client library the store supports.

const HOST = '127.0.0.1';
const WAIT = { replicas: 1, timeoutMs: 200 };
// Where the replica is expected to acknowledge: room for a loaded machine.
const CONFIRMED = { wait: { replicas: 1, timeoutMs: 2000 }, timeout: 3000 };
const connect = (flavour: Flavour, port: number) => standaloneClient(flavour, port);

async function settle<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    return { value: await promise, ms: performance.now() - start };
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
}

let primary: RedisServer;
let replica: RedisServer;
let lonely: RedisServer;

beforeAll(async () => {
  [primary, lonely] = await Promise.all([startRedisServer({ args: NO_SYNC_DELAY }), startRedisServer()]);
  replica = await startRedisServer({ args: ['--replicaof', HOST, String(primary.port)] });
  await until('the replica to sync', async () => infoFields(await replica.command('INFO', 'replication')).master_link_status === 'up');
}, 20_000);

afterAll(async () => {
  closeClients();
  await Promise.all([replica?.close(), primary?.close(), lonely?.close()]);
});

describe('option wait', () => {
  it('is validated at construction: integers ≥ 1, timeoutMs below timeout', async () => {
    const client = await connect('ioredis 6', primary.port);
    const make = (options: Partial<RedisReplayStoreOptions>) => () => new RedisReplayStore({ client, ...options } as RedisReplayStoreOptions);
    for (const wait of [null, 1, 'yes']) expect(make({ wait: wait as never })).toThrow(/^RedisReplayStore option "wait" must be \{ replicas, timeoutMs \}/);
    for (const wait of [{}, { replicas: 0, timeoutMs: 10 }, { replicas: 1.5, timeoutMs: 10 }, { replicas: '1', timeoutMs: 10 }]) {
      expect(make({ wait: wait as never })).toThrow(/option "wait" must be .*"wait.replicas" is not/);
    }
    for (const timeoutMs of [0, -1, 2.5, Number.NaN, 1000, 5000]) {
      expect(make({ wait: { replicas: 1, timeoutMs } })).toThrow(/"wait.timeoutMs" is not/);
    }
    expect(make({ wait: { replicas: 1, timeoutMs: 5000 }, timeout: 6000 })).not.toThrow();
    const options = { replicas: 2, timeoutMs: 100 };
    const store = new RedisReplayStore({ client, wait: options });
    expect(store.wait).toEqual(options);
    expect(store.wait).not.toBe(options);
    expect(Object.isFrozen(store.wait)).toBe(true);
    expect(new RedisReplayStore({ client }).wait).toBeUndefined();
  });

  it('refuses a client without pipelines (node-redis legacy shapes without multi)', () => {
    const client = { isOpen: true, set: async () => 'OK' };
    expect(() => new RedisReplayStore({ client, wait: WAIT })).toThrow(/option "wait" needs a client with pipelines/);
  });

  it('says the store is shared between machines', async () => {
    const store = new RedisReplayStore({ client: await connect('ioredis 6', primary.port) });
    expect(store.shared).toBe(true);
  });
});

describe.each(FLAVOURS)('with %s', (flavour) => {
  it('counts a claim once the replica holds it, and still refuses the replay', async () => {
    const store = new RedisReplayStore({ client: await connect(flavour, primary.port), ...CONFIRMED });
    const key = `${flavour}:confirmed`;
    await expect(store.claim(key, 60)).resolves.toBe(true);
    // WAIT answered only after the replica acknowledged: the key is already there.
    expect(await replica.command('EXISTS', store.redisKey(key))).toBe(1);
    await expect(store.claim(key, 60)).resolves.toBe(false);
  });

  it('rejects (never true) when the replica does not acknowledge within timeoutMs, in one round trip, not a MULTI', async () => {
    const warm = new RedisReplayStore({ client: await connect(flavour, primary.port), ...CONFIRMED });
    await expect(warm.claim(`${flavour}:warm`, 60)).resolves.toBe(true);
    const store = new RedisReplayStore({ client: await connect(flavour, primary.port), wait: WAIT });
    replica.pause();
    try {
      // Inside MULTI/EXEC, WAIT would answer at once with the replicas of earlier writes (1 here):
      // only a pipelined WAIT blocks until this claim's write is acknowledged.
      const result = await settle(store.claim(`${flavour}:unconfirmed`, 60));
      expect(result.value).toBeUndefined();
      expect(result.error).toBeInstanceOf(RedisReplayStoreError);
      expect(result.error).toMatchObject({ code: 'ERR_REDIS_WAIT', message: 'WAIT: 0 of 1 replicas acknowledged within 200 ms' });
      expect(result.ms).toBeGreaterThanOrEqual(WAIT.timeoutMs - 5);
      // The SET itself ran: the jti is burned, the client got a 503 (fail closed).
      expect(await primary.command('EXISTS', store.redisKey(`${flavour}:unconfirmed`))).toBe(1);
    } finally {
      replica.resume();
    }
    await expect(store.claim(`${flavour}:unconfirmed`, 60)).resolves.toBe(false);
  });

  it('rejects every claim on a primary without replicas', async () => {
    const store = new RedisReplayStore({ client: await connect(flavour, lonely.port), wait: { replicas: 1, timeoutMs: 50 } });
    for (const key of ['a', 'b']) await expect(store.claim(`${flavour}:${key}`, 60)).rejects.toMatchObject({ code: 'ERR_REDIS_WAIT' });
  });

  it('rejects with the error reply of a replica (WAIT cannot run there, SET is READONLY)', async () => {
    const store = new RedisReplayStore({ client: await connect(flavour, replica.port), wait: WAIT });
    const result = await settle(store.claim(`${flavour}:on-replica`, 60));
    expect(result.error).toMatchObject({ code: 'ERR_REDIS_COMMAND', message: expect.stringMatching(/READONLY/) });
  });
});
