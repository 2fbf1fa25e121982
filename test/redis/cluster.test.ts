import { RedisReplayStore } from 'jwt-bearer-redis';
import type { RedisServer } from '../support/redis-server';
import { closeClients, clusterClient, FLAVOURS } from '../support/redis-clients';
import { infoFields, startRedisCluster, type RedisCluster } from '../support/redis-topology';
import {
  assertion,
  expectExactlyOneWinner,
  expectUnavailable,
  race,
  requireBuiltPackages,
  send,
  spawnApp,
  stopApp,
  waitUntilServing,
  type Answer,
  type App,
  type Use,
} from './apps';

// A real Redis Cluster of three primaries on 127.0.0.1 (three `redis-server --cluster-enabled
// yes`, joined with `redis-cli --cluster create`), used through ioredis's `Cluster` (6 and 5) and
// node-redis's `createCluster`.

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 30_000);

afterAll(async () => {
  closeClients();
  await cluster?.close();
});

/** How many error replies of `kind` (`MOVED`, `ASK`) `node` has sent (Redis 7 `INFO errorstats`). */
async function errorReplies(node: RedisServer, kind: 'MOVED' | 'ASK'): Promise<number> {
  const field = infoFields(await node.command('INFO', 'errorstats'))[`errorstat_${kind}`];
  return field ? Number(/count=(\d+)/.exec(field)![1]) : 0;
}

describe.each(FLAVOURS)('through %s', (flavour) => {
  it('spreads claims over the slots of every primary; each is claimed exactly once', async () => {
    const store = new RedisReplayStore({ client: await clusterClient(flavour, cluster.seeds), prefix: `spread:${flavour}:` });
    const keys = Array.from({ length: 300 }, (_, i) => `client:8:client-1:${flavour}-${i}`);
    expect(await Promise.all(keys.map((key) => store.claim(key, 60)))).toEqual(keys.map(() => true));
    expect(await Promise.all(keys.map((key) => store.claim(key, 60)))).toEqual(keys.map(() => false));
    const perNode = await Promise.all(cluster.nodes.map(async (node) => ((await node.command('KEYS', `spread:${flavour}:*`)) as string[]).length));
    expect(perNode.reduce((a, b) => a + b)).toBe(300);
    // 300 uniformly hashed keys over three primaries: each holds a good share (expected 100).
    for (const count of perNode) expect(count).toBeGreaterThan(50);
  });

  it('with wait, rejects every claim (ERR_REDIS_WAIT) on primaries that have no replica, and records it on its slot owner', async () => {
    const store = new RedisReplayStore({
      client: await clusterClient(flavour, cluster.seeds),
      prefix: `wait:${flavour}:`,
      wait: { replicas: 1, timeoutMs: 50 },
    });
    for (const key of ['w1', 'w2', 'w3']) {
      await expect(store.claim(key, 60)).rejects.toMatchObject({ code: 'ERR_REDIS_WAIT' });
      const owner = await cluster.owner(await cluster.keySlot(store.redisKey(key)));
      expect(await owner.command('EXISTS', store.redisKey(key))).toBe(1);
    }
  });

  it('follows ASK while a slot migrates and MOVED once it has moved, never accepting a replay', async () => {
    // A hash tag in the prefix puts every key of this store in one slot, the slot we migrate.
    const prefix = `migrate:{${flavour}}:`;
    const store = new RedisReplayStore({ client: await clusterClient(flavour, cluster.seeds), prefix });
    const slot = await cluster.keySlot(prefix);
    const from = await cluster.owner(slot);
    const to = cluster.nodes.find((node) => node !== from)!;
    const [fromId, toId] = await Promise.all([cluster.nodeId(from), cluster.nodeId(to)]);
    const old = ['o1', 'o2', 'o3'];
    for (const key of old) await expect(store.claim(key, 60)).resolves.toBe(true);

    await to.command('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
    await from.command('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
    const askBefore = await errorReplies(from, 'ASK');
    // A new key is not on the source: it answers ASK, the client asks the target.
    await expect(store.claim('during', 60)).resolves.toBe(true);
    expect(await errorReplies(from, 'ASK')).toBeGreaterThan(askBefore);
    // A key still on the source is answered there: a replay.
    await expect(store.claim('o1', 60)).resolves.toBe(false);
    // Move the keys, then the slot.
    const keys = (await from.command('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
    expect(keys.sort()).toEqual(old.map((key) => store.redisKey(key)).sort());
    await from.command('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
    for (const node of cluster.nodes) await node.command('CLUSTER', 'SETSLOT', slot, 'NODE', toId);

    const movedBefore = await errorReplies(from, 'MOVED');
    // The client's slot map still names the source: it answers MOVED, the client follows.
    for (const key of [...old, 'during']) await expect(store.claim(key, 60)).resolves.toBe(false);
    expect(await errorReplies(from, 'MOVED')).toBeGreaterThan(movedBefore);
    await expect(store.claim('after', 60)).resolves.toBe(true);
    expect(((await to.command('KEYS', `${prefix}*`)) as string[]).sort()).toEqual([...old, 'during', 'after'].map((key) => store.redisKey(key)).sort());
    expect(await from.command('KEYS', `${prefix}*`)).toEqual([]);
  });
});

describe('two verifier processes on the cluster (Express with ioredis, Koa with node-redis)', () => {
  let apps: App[] = [];

  beforeAll(async () => {
    requireBuiltPackages();
    apps = await Promise.all([spawnApp('express', { cluster: cluster.seeds }), spawnApp('koa', { cluster: cluster.seeds })]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app)));
  }, 20_000);

  it('accept each assertion exactly once: 0 replays accepted', async () => {
    for (let round = 0; round < 30; round++) {
      const use: Use = round % 2 === 0 ? 'client' : 'grant';
      expectExactlyOneWinner(await race(apps, use), use);
    }
  }, 30_000);

  it('answer 503 with Retry-After, never a success for a replay and never invalid_*, while a primary is down; serve again once it is back', async () => {
    // Assertions accepted before the kill, spread over every primary.
    const accepted: Array<{ use: Use; jwt: string }> = [];
    for (let i = 0; i < 12; i++) {
      const use: Use = i % 2 === 0 ? 'client' : 'grant';
      const jwt = assertion(use);
      const answer = await send(apps[i % 2]!, use, jwt);
      expect(answer.status).toBe(200);
      accepted.push({ use, jwt });
    }
    const victim = cluster.nodes[1]!;
    const survivors = cluster.nodes.filter((node) => node !== victim);
    await victim.stop('SIGKILL');
    // Requests keep coming while the survivors notice (cluster-node-timeout 1 s, then their vote):
    // until then only the victim's slots fail; once every survivor reports cluster_state:fail,
    // every claim must fail, and so every answer must be 503. How many land in each phase depends
    // on the machine's speed, so the phases are told apart by the cluster's own state, not a clock.
    const answers: Array<{ answer: Answer; replay: boolean }> = [];
    const whileDown: Answer[] = [];
    const until = Date.now() + 20_000;
    let down = false;
    for (let i = 0; Date.now() < until && whileDown.length < 12; i++) {
      const app = apps[i % 2]!;
      const replay = i % 3 === 0;
      const { use, jwt } = replay ? accepted[i % accepted.length]! : { use: (i % 2 === 0 ? 'client' : 'grant') as Use, jwt: '' };
      const answer = await send(app, use, replay ? jwt : assertion(use));
      answers.push({ answer, replay });
      if (down) whileDown.push(answer);
      else
        down = (await Promise.all(survivors.map(async (node) => infoFields(await node.command('CLUSTER', 'INFO')).cluster_state))).every(
          (state) => state === 'fail',
        );
    }
    for (const { answer, replay } of answers) {
      if (answer.status === 503) {
        expectUnavailable(answer);
        expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      } else if (replay) {
        expect([answer.status, answer.body.error]).toEqual(answer.body.error === 'invalid_client' ? [401, 'invalid_client'] : [400, 'invalid_grant']);
        expect(answer.body.error_description).toBe('The assertion has already been used.');
      } else {
        expect(answer.status).toBe(200);
      }
    }
    expect(answers.filter((a) => a.replay && a.answer.status === 200)).toEqual([]);
    // The survivors did declare the cluster down, and from then on nothing was accepted.
    expect(whileDown.length).toBe(12);
    expect(whileDown.map((answer) => answer.status)).toEqual(Array(12).fill(503));

    await victim.start(); // rejoins with its nodes.conf (empty: nothing is persisted)
    await cluster.waitUntilOk();
    for (const app of apps) {
      await waitUntilServing(app, 'client');
      await waitUntilServing(app, 'grant');
    }
  }, 45_000);
});
