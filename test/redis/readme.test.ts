import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { RedisReplayStore } from 'jwt-bearer-redis';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server';
import { SENTINEL_MASTER_NAME, startRedisCluster, startSentinelGroup } from '../support/redis-topology';

// The jwt-bearer-redis README is part of the contract: its quick starts run as pasted against a
// real redis-server, every option and error code is documented, and the memory figure it gives
// is what Redis reports.
const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'packages', 'jwt-bearer-redis', 'README.md'), 'utf8');
const run = promisify(execFile);

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.close();
});

describe('jwt-bearer-redis README', () => {
  const quickStarts = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('has the two quick starts, ioredis and node-redis, and the Sentinel and Cluster set-ups', () => {
    expect(quickStarts).toHaveLength(4);
    expect(quickStarts[0]).toContain("require('ioredis')");
    expect(quickStarts[1]).toContain("require('redis')");
    expect(quickStarts[2]).toContain('sentinels');
    expect(quickStarts[3]).toContain('createCluster');
  });

  it('Sentinel set-up (with wait) runs as pasted against a real primary, replica and three Sentinels', async () => {
    const group = await startSentinelGroup();
    try {
      const { stdout } = await run(process.execPath, ['-e', quickStarts[2]!], {
        cwd: ROOT,
        env: { ...process.env, REDIS_SENTINELS: group.seeds.map((s) => `${s.host}:${s.port}`).join(','), REDIS_MASTER_NAME: SENTINEL_MASTER_NAME },
        timeout: 20_000,
      });
      expect(stdout.trim()).toBe('true false');
    } finally {
      await group.close();
    }
  }, 40_000);

  it('Cluster set-up runs as pasted against a real three-primary cluster', async () => {
    const cluster = await startRedisCluster(3);
    try {
      const { stdout } = await run(process.execPath, ['-e', quickStarts[3]!], {
        cwd: ROOT,
        env: { ...process.env, REDIS_CLUSTER_NODES: cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',') },
        timeout: 20_000,
      });
      expect(stdout.trim()).toBe('true false');
    } finally {
      await cluster.close();
    }
  }, 40_000);

  it.each([
    ['ioredis + Express', 0, ['200 token-for-alice', '400 invalid_grant']],
    ['node-redis + Koa', 1, ['200 my-client', '401 invalid_client']],
  ] as const)(
    'quick start with %s runs as pasted and prints what it promises',
    async (_name, index, lines) => {
      // Only the port changes, so that a busy port 3000 cannot fail the suite.
      const code = quickStarts[index]!.replaceAll('3000', String(await freePort()));
      const { stdout } = await run(process.execPath, ['-e', code], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: redis.url },
        timeout: 20_000,
      });
      expect(stdout.trim().split('\n')).toEqual(lines);
    },
    30_000,
  );

  it.each(['client', 'prefix', 'timeout', 'wait'])('documents option %s', (option) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${option}\` \\|`, 'm'));
  });

  it.each(['ERR_REDIS_TIMEOUT', 'ERR_REDIS_COMMAND', 'ERR_REDIS_REPLY', 'ERR_REDIS_WAIT'])('documents error code %s', (code) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });

  it('gives the memory per entry that MEMORY USAGE reports for a typical key (within 25 %)', async () => {
    const documented = Number(/`MEMORY USAGE <key>`: \*\*(\d+) bytes\*\*/.exec(readme)?.[1]);
    expect(documented).toBeGreaterThan(0);
    const client = new Redis(redis.url);
    try {
      const store = new RedisReplayStore({ client });
      const key = 'client:18:s6BhdRkqt3-client:d3b07384-d9a1-4b8e-9c2e-8f1e2a7b6c5d';
      await expect(store.claim(key, 300)).resolves.toBe(true);
      const measured = Number(await redis.command('MEMORY', 'USAGE', store.redisKey(key)));
      expect(Math.abs(measured - documented) / documented).toBeLessThanOrEqual(0.25);
    } finally {
      client.disconnect();
    }
  });
});
