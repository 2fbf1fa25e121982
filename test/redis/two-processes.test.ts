import {
  ANSWER_SLACK_MS,
  assertion,
  delay,
  expectExactlyOneWinner,
  expectUnavailable,
  race,
  REDIS_TIMEOUT_MS,
  requireBuiltPackages,
  send,
  spawnApp,
  stats,
  stopApp,
  waitUntilServing,
  type App,
  type AppName,
  type Answer,
  type Use,
} from './apps';
import { startRedisServer, type RedisServer } from '../support/redis-server';

// Two authorization-server PROCESSES, one Express (ioredis) and one Koa (node-redis), share one
// real redis-server through jwt-bearer-redis.

let redis: RedisServer;
let apps: App[] = [];
let express: App;
let koa: App;

beforeAll(async () => {
  requireBuiltPackages();
  redis = await startRedisServer();
  [express, koa] = await Promise.all([spawnApp('express', { url: redis.url }), spawnApp('koa', { url: redis.url })]);
  apps = [express, koa];
}, 30_000);

afterAll(async () => {
  await Promise.all(apps.map((app) => stopApp(app)));
  await redis?.close();
}, 20_000);

describe.each<Use>(['client', 'grant'])('%s assertions sent to both processes at once', (use) => {
  it('succeed exactly once each, 50 times over; every other copy is refused as a replay', async () => {
    const wins: Record<AppName, number> = { express: 0, koa: 0 };
    for (let round = 0; round < 50; round++) {
      const answers = await race(apps, use);
      expect(answers).toHaveLength(4);
      wins[expectExactlyOneWinner(answers, use)]++;
    }
    expect(wins.express + wins.koa).toBe(50);
    // The records live in Redis under the documented layout, one per assertion.
    const keys = (await redis.command('KEYS', 'jwt-bearer:jti:*')) as string[];
    expect(keys.length).toBeGreaterThanOrEqual(50);
    for (const key of keys) expect(key).toMatch(/^jwt-bearer:jti:[A-Za-z0-9_-]{43}$/);
  }, 30_000);
});

describe('when Redis goes away and comes back', () => {
  afterEach(async () => {
    if (!redis.running) await redis.start();
    else redis.resume();
  });

  it('answers 503 temporarily_unavailable, never success, for requests waiting on a Redis that dies', async () => {
    redis.pause(); // requests now wait on the replay store...
    const inFlight = Array.from({ length: 20 }, (_, i) => {
      const use: Use = i % 2 === 0 ? 'client' : 'grant';
      return send(apps[Math.floor(i / 2) % 2]!, use, assertion(use));
    });
    await delay(100);
    await redis.stop('SIGKILL'); // ...and it dies under them.
    const answers = await Promise.all(inFlight);
    for (const answer of answers) {
      expectUnavailable(answer);
      expect(answer.body.error_description).toBe('The assertion cannot be recorded right now.');
      expect(answer.ms).toBeLessThan(REDIS_TIMEOUT_MS + ANSWER_SLACK_MS);
    }
    for (const app of apps) {
      const s = await stats(app);
      expect(s.pid).toBe(app.pid);
      expect(s.rejections.ERR_REPLAY_STORE_UNAVAILABLE).toBeGreaterThanOrEqual(10);
      expect((s.causes.ERR_REDIS_TIMEOUT ?? 0) + (s.causes.ERR_REDIS_COMMAND ?? 0)).toBe(s.rejections.ERR_REPLAY_STORE_UNAVAILABLE);
    }
    // While it stays down, every app answers 503 within the timeout.
    for (const app of apps) {
      for (const use of ['client', 'grant'] as const) {
        const answer = await send(app, use, assertion(use));
        expectUnavailable(answer);
        expect(answer.ms).toBeLessThan(REDIS_TIMEOUT_MS + ANSWER_SLACK_MS);
      }
    }
    // Back up: both processes serve again, as they were.
    await redis.start();
    for (const app of apps) {
      await waitUntilServing(app, 'client');
      await waitUntilServing(app, 'grant');
      expect((await stats(app)).pid).toBe(app.pid);
    }
  }, 45_000);

  it('answers only 200 or 503 while Redis is stopped under a stream of requests, then resumes without an app restart', async () => {
    for (const app of apps) await waitUntilServing(app, 'client');
    const answers: Array<{ answer: Answer; sentAfterStop: boolean }> = [];
    let stopped = false;
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 40; i++) {
      if (i === 12) {
        await redis.stop();
        stopped = true;
      }
      const use: Use = i % 2 === 0 ? 'client' : 'grant';
      const sentAfterStop = stopped;
      pending.push(send(apps[Math.floor(i / 2) % 2]!, use, assertion(use)).then((answer) => void answers.push({ answer, sentAfterStop })));
      await delay(10);
    }
    await Promise.all(pending);
    expect(answers).toHaveLength(40);
    for (const { answer, sentAfterStop } of answers) {
      if (sentAfterStop) expectUnavailable(answer);
      else expect([200, 503]).toContain(answer.status);
      if (answer.status === 503) expectUnavailable(answer);
    }
    expect(answers.filter((a) => a.answer.status === 200).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.sentAfterStop).length).toBe(28);

    await redis.start();
    for (const app of apps) {
      await waitUntilServing(app, 'client');
      await waitUntilServing(app, 'grant');
      // Same processes: nothing was restarted.
      expect(app.child.exitCode).toBeNull();
      expect((await stats(app)).pid).toBe(app.pid);
    }
    // And the shared replay record works again across the two processes.
    for (let round = 0; round < 10; round++) {
      const use: Use = round % 2 === 0 ? 'client' : 'grant';
      expectExactlyOneWinner(await race(apps, use), use);
    }
  }, 45_000);
});
