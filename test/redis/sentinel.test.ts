import { RedisReplayStore, RedisReplayStoreError } from 'jwt-bearer-redis';
import { forceFailover, startSentinelGroup, until, type SentinelGroup } from '../support/redis-topology';
import { closeClients, FLAVOURS, sentinelClient, type Flavour } from '../support/redis-clients';

// Redis Sentinel with a real primary, a real replica and three real Sentinels on 127.0.0.1. A
// stream of claims runs through each client library while the primary fails over, once forced
// (SENTINEL FAILOVER) and once killed (SIGKILL). With `wait`, no claim the store acknowledged
// may be missing from the new primary: a replay of it is still refused. Without `wait`, what
// the old primary acknowledged after its replica stopped following it is lost (the package
// README gives the figures).

const WAIT = { replicas: 1, timeoutMs: 300 };

interface Stream {
  flavour: Flavour;
  waits: boolean;
  store: RedisReplayStore;
  acknowledged: string[];
  rejected: number;
  lastError?: string;
  unexpected: unknown[];
}

let group: SentinelGroup;
const streams: Stream[] = [];
let sequence = 0;

beforeAll(async () => {
  group = await startSentinelGroup();
  for (const flavour of FLAVOURS) {
    for (const waits of [true, false]) {
      const client = await sentinelClient(flavour, group.seeds);
      streams.push({
        flavour,
        waits,
        store: new RedisReplayStore({ client, timeout: 1000, ...(waits ? { wait: WAIT } : {}) }),
        acknowledged: [],
        rejected: 0,
        unexpected: [],
      });
    }
  }
}, 40_000);

afterAll(async () => {
  closeClients();
  await group?.close();
});

/** Claims fresh keys on every stream, one after another per stream, until `stop()` resolves. */
async function runStreams(during: () => Promise<void>): Promise<void> {
  for (const s of streams) {
    s.acknowledged = [];
    s.rejected = 0;
    s.unexpected = [];
  }
  let running = true;
  const loops = streams.map(async (s) => {
    while (running) {
      const key = `grant:6:issuer:${s.flavour}:${s.waits}:${++sequence}`;
      try {
        if (await s.store.claim(key, 120)) s.acknowledged.push(key);
        else s.unexpected.push(new Error(`fresh key ${key} answered false`));
      } catch (err) {
        if (err instanceof RedisReplayStoreError) {
          s.rejected++;
          s.lastError = err.message;
        } else s.unexpected.push(err);
      }
      // A steady stream, not a flood: about 100 claims per second per client.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  try {
    await during();
  } finally {
    running = false;
    await Promise.all(loops);
  }
}

/** Acknowledged keys of `s` that the current primary does not hold (EXISTS in chunks, then one by one). */
async function lost(s: Stream): Promise<string[]> {
  const primary = await group.primary();
  const missing: string[] = [];
  for (let i = 0; i < s.acknowledged.length; i += 200) {
    const chunk = s.acknowledged.slice(i, i + 200);
    if ((await primary.command('EXISTS', ...chunk.map((key) => s.store.redisKey(key)))) === chunk.length) continue;
    for (const key of chunk) if ((await primary.command('EXISTS', s.store.redisKey(key))) !== 1) missing.push(key);
  }
  return missing;
}

/** Keeps the streams running until every one acknowledged `count` more claims after the failover. */
async function untilServing(count: number): Promise<void> {
  const base = streams.map((s) => s.acknowledged.length);
  await until('every client to claim again after the failover', async () => streams.every((s, i) => s.acknowledged.length >= base[i]! + count), 20_000).catch(
    (err: Error) => {
      const state = streams.map(
        (s, i) => `${s.flavour}${s.waits ? ' wait' : ''}: +${s.acknowledged.length - base[i]!}, ${s.rejected} rejected (${s.lastError})`,
      );
      throw new Error(`${err.message}\n${state.join('\n')}`);
    },
  );
}

async function expectNoAcknowledgedClaimLostWithWait(): Promise<void> {
  for (const s of streams) {
    expect({ flavour: s.flavour, unexpected: s.unexpected }).toEqual({ flavour: s.flavour, unexpected: [] });
    expect(s.acknowledged.length).toBeGreaterThan(0);
    if (!s.waits) continue;
    expect({ flavour: s.flavour, lost: await lost(s) }).toEqual({ flavour: s.flavour, lost: [] });
    // And through the store, as a client would see it: every acknowledged claim is a replay now.
    for (const key of s.acknowledged.slice(-20)) await expect(s.store.claim(key, 120)).resolves.toBe(false);
  }
}

it('SENTINEL FAILOVER during a stream of claims: with wait, no acknowledged claim is lost; every client follows the new primary', async () => {
  const before = await group.primary();
  const after = await group.replica();
  await runStreams(async () => {
    await until('claims before the failover', async () => streams.every((s) => s.acknowledged.length >= 5));
    await forceFailover(group);
    await group.waitForPrimary(after);
    await untilServing(5);
  });
  expect(await group.primary()).toBe(after);
  expect(after).not.toBe(before);
  await expectNoAcknowledgedClaimLostWithWait();
  // The same failover did lose claims acknowledged without wait: the old primary kept answering
  // OK until Sentinel turned it into a replica (the window `wait` closes).
  const lostWithoutWait = await Promise.all(streams.filter((s) => !s.waits).map(async (s) => (await lost(s)).length));
  expect(Math.max(...lostWithoutWait)).toBeGreaterThan(0);
}, 40_000);

it('the primary killed during a stream of claims: with wait, no acknowledged claim is lost; claims fail (503) until a replica is back', async () => {
  const dead = await group.primary();
  const survivor = await group.replica();
  await runStreams(async () => {
    await until('claims before the kill', async () => streams.every((s) => s.acknowledged.length >= 5));
    await dead.stop('SIGKILL');
    await group.waitForPrimary(survivor);
    // The survivor has no replica: only the stores without wait can claim now.
    const base = streams.map((s) => s.acknowledged.length);
    await until('claims without wait on the new primary', async () => streams.every((s, i) => s.waits || s.acknowledged.length >= base[i]! + 5), 20_000);
    for (const [i, s] of streams.entries()) if (s.waits) expect(s.acknowledged.length).toBe(base[i]);
    // The old primary comes back empty and is turned into the new primary's replica.
    await dead.start();
    await dead.command('REPLICAOF', '127.0.0.1', survivor.port);
    await group.waitForPrimary(survivor);
    await untilServing(5);
  });
  expect(streams.filter((s) => s.waits).every((s) => s.rejected > 0)).toBe(true);
  await expectNoAcknowledgedClaimLostWithWait();
}, 50_000);
