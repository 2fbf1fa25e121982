import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import { startRedisServer, type RedisServer } from '../support/redis-server';

// Two authorization-server PROCESSES, one Express (ioredis) and one Koa (node-redis), share one
// real redis-server through jwt-bearer-redis. The apps are plain JS on the built packages
// (`npx tsc -b`, which `npm test` runs first), as a deployment would run them.

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'fixtures');
const ISSUER = 'https://as.example.test';
const CLIENT_ID = 'client-1';
const GRANT_ISSUER = 'https://issuer.example.test';
const REDIS_TIMEOUT_MS = 500;
// Time for the apps to answer once the replay store has given up: scheduling slack, not a hang.
const ANSWER_SLACK_MS = 1500;

type AppName = 'express' | 'koa';
type Use = 'client' | 'grant';

interface App {
  name: AppName;
  child: ChildProcess;
  port: number;
  pid: number;
  stderr: string[];
}

interface Answer {
  app: AppName;
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  ms: number;
}

function keyPair(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const clientKeys = keyPair();
const grantKeys = keyPair();

function assertion(use: Use): string {
  return use === 'client'
    ? createAssertion({ issuer: CLIENT_ID, subject: CLIENT_ID, audience: ISSUER, key: clientKeys.privateKey, expiresIn: 120 })
    : createAssertion({ issuer: GRANT_ISSUER, subject: 'alice', audience: ISSUER, key: grantKeys.privateKey, expiresIn: 120 });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

async function spawnApp(name: AppName, redisUrl: string): Promise<App> {
  const stderr: string[] = [];
  const child = fork(join(FIXTURES, `${name}-app.js`), [], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      REDIS_URL: redisUrl,
      REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS),
      JWT_BEARER_TEST_CONFIG: JSON.stringify({
        issuer: ISSUER,
        clientId: CLIENT_ID,
        clientPublicKey: clientKeys.publicPem,
        grantIssuer: GRANT_ISSUER,
        grantPublicKey: grantKeys.publicPem,
      }),
    },
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const ready = new Promise<{ listening: number; pid: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { listening: number; pid: number }));
    child.once('exit', (code) => reject(new Error(`${name} app exited (${code}) before listening:\n${stderr.join('')}`)));
  });
  try {
    const message = await withTimeout(ready, 15_000, `${name} app start`);
    return { name, child, port: message.listening, pid: message.pid, stderr };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

async function stopApp(app: App | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null || app.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => app.child.once('exit', () => resolve()));
  if (app.child.connected) app.child.send('stop');
  else app.child.kill('SIGTERM');
  try {
    await withTimeout(exited, 5000, `${app.name} app stop`);
  } catch {
    app.child.kill('SIGKILL');
    await exited;
  }
}

function httpRequest(app: App, method: string, path: string, form?: Record<string, string>): Promise<Answer> {
  const payload = form ? new URLSearchParams(form).toString() : undefined;
  const started = performance.now();
  return withTimeout(
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: app.port,
          method,
          path,
          agent: false, // no keep-alive socket left open after the suite
          headers: payload
            ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(payload) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: Record<string, unknown>;
            try {
              body = JSON.parse(text) as Record<string, unknown>;
            } catch {
              body = { raw: text };
            }
            resolve({ app: app.name, status: res.statusCode ?? 0, body, headers: res.headers, ms: performance.now() - started });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    }),
    10_000,
    `${method} ${path} on ${app.name}`,
  );
}

function send(app: App, use: Use, jwt: string): Promise<Answer> {
  return use === 'client'
    ? httpRequest(app, 'POST', '/client', { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: jwt })
    : httpRequest(app, 'POST', '/token', { grant_type: JWT_BEARER_GRANT_TYPE, assertion: jwt });
}

const REPLAY_ANSWER: Record<Use, { status: number; error: string }> = {
  client: { status: 401, error: 'invalid_client' },
  grant: { status: 400, error: 'invalid_grant' },
};

function expectSuccess(answer: Answer, use: Use): void {
  expect(answer.status).toBe(200);
  if (use === 'client') expect(answer.body).toMatchObject({ app: answer.app, client_id: CLIENT_ID });
  else expect(answer.body).toMatchObject({ access_token: expect.stringMatching(new RegExp(`^${answer.app}\\.alice\\.`)), token_type: 'Bearer' });
}

function expectUnavailable(answer: Answer): void {
  expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
  expect(answer.headers['cache-control']).toBe('no-store');
}

/** Sends one assertion `copies` times to each app at once; returns every answer. */
async function race(apps: App[], use: Use, copies = 2): Promise<Answer[]> {
  const jwt = assertion(use);
  const sends: Array<Promise<Answer>> = [];
  for (let i = 0; i < copies; i++) for (const app of apps) sends.push(send(app, use, jwt));
  return Promise.all(sends);
}

function expectExactlyOneWinner(answers: Answer[], use: Use): AppName {
  const winners = answers.filter((a) => a.status === 200);
  expect(winners).toHaveLength(1);
  expectSuccess(winners[0]!, use);
  for (const loser of answers.filter((a) => a !== winners[0])) {
    expect({ status: loser.status, error: loser.body.error, description: loser.body.error_description }).toEqual({
      ...REPLAY_ANSWER[use],
      description: 'The assertion has already been used.',
    });
  }
  return winners[0]!.app;
}

/**
 * Sends fresh assertions to `app` until one succeeds, bounded in count and time. Until then
 * every answer must be 503: never invalid_* (the client did nothing wrong) and never a crash.
 */
async function waitUntilServing(app: App, use: Use): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (let attempt = 1; attempt <= 100 && Date.now() < deadline; attempt++) {
    const answer = await send(app, use, assertion(use));
    if (answer.status === 200) {
      expectSuccess(answer, use);
      return attempt;
    }
    expectUnavailable(answer);
    await delay(100);
  }
  throw new Error(`${app.name} did not serve ${use} assertions again within 15 s`);
}

async function stats(app: App): Promise<{ pid: number; rejections: Record<string, number>; causes: Record<string, number> }> {
  return (await httpRequest(app, 'GET', '/stats')).body as never;
}

let redis: RedisServer;
let apps: App[] = [];
let express: App;
let koa: App;

beforeAll(async () => {
  for (const name of ['jwt-bearer-core', 'jwt-bearer-redis', 'express-jwt-bearer', 'koa-jwt-bearer']) {
    if (!existsSync(join(ROOT, 'packages', name, 'dist', 'index.js'))) {
      throw new Error(`packages/${name}/dist is missing: run \`npx tsc -b\` first (npm test does)`);
    }
  }
  redis = await startRedisServer();
  [express, koa] = await Promise.all([spawnApp('express', redis.url), spawnApp('koa', redis.url)]);
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
