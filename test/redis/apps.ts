/**
 * The authorization-server processes of the test/redis suites: one Express app (ioredis) and one
 * Koa app (node-redis), plain JS on the built packages (`npx tsc -b`, which `npm test` runs
 * first), as a deployment would run them, sharing one Redis (standalone or Cluster) through
 * jwt-bearer-redis; and the requests the suites send them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import { ROOT } from '../support/built';

export { requireBuiltPackages } from '../support/built';

const FIXTURES = join(__dirname, 'fixtures');
export const ISSUER = 'https://as.example.test';
export const CLIENT_ID = 'client-1';
const GRANT_ISSUER = 'https://issuer.example.test';
export const REDIS_TIMEOUT_MS = 500;
// Time for the apps to answer once the replay store has given up: scheduling slack, not a hang.
export const ANSWER_SLACK_MS = 1500;

export type AppName = 'express' | 'koa';
export type Use = 'client' | 'grant';

export interface App {
  name: AppName;
  child: ChildProcess;
  port: number;
  pid: number;
  stderr: string[];
}

export interface Answer {
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

export function assertion(use: Use): string {
  return use === 'client'
    ? createAssertion({ issuer: CLIENT_ID, subject: CLIENT_ID, audience: ISSUER, key: clientKeys.privateKey, expiresIn: 120 })
    : createAssertion({ issuer: GRANT_ISSUER, subject: 'alice', audience: ISSUER, key: grantKeys.privateKey, expiresIn: 120 });
}

export function delay(ms: number): Promise<void> {
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

/** Where an app finds Redis: a URL, or the seed nodes of a Cluster. */
export type RedisTarget = { url: string } | { cluster: Array<{ host: string; port: number }> };

export async function spawnApp(name: AppName, target: RedisTarget): Promise<App> {
  const stderr: string[] = [];
  const child = fork(join(FIXTURES, `${name}-app.js`), [], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      ...('url' in target ? { REDIS_URL: target.url } : { REDIS_CLUSTER: JSON.stringify(target.cluster) }),
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

export async function stopApp(app: App | undefined): Promise<void> {
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

export function httpRequest(app: App, method: string, path: string, form?: Record<string, string>): Promise<Answer> {
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
          headers: payload ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(payload) } : {},
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

export function send(app: App, use: Use, jwt: string): Promise<Answer> {
  return use === 'client'
    ? httpRequest(app, 'POST', '/client', { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: jwt })
    : httpRequest(app, 'POST', '/token', { grant_type: JWT_BEARER_GRANT_TYPE, assertion: jwt });
}

export const REPLAY_ANSWER: Record<Use, { status: number; error: string }> = {
  client: { status: 401, error: 'invalid_client' },
  grant: { status: 400, error: 'invalid_grant' },
};

export function expectSuccess(answer: Answer, use: Use): void {
  expect(answer.status).toBe(200);
  if (use === 'client') expect(answer.body).toMatchObject({ app: answer.app, client_id: CLIENT_ID });
  else expect(answer.body).toMatchObject({ access_token: expect.stringMatching(new RegExp(`^${answer.app}\\.alice\\.`)), token_type: 'Bearer' });
}

export function expectUnavailable(answer: Answer): void {
  expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
  expect(answer.headers['cache-control']).toBe('no-store');
}

/** Sends one assertion `copies` times to each app at once; returns every answer. */
export async function race(apps: App[], use: Use, copies = 2): Promise<Answer[]> {
  const jwt = assertion(use);
  const sends: Array<Promise<Answer>> = [];
  for (let i = 0; i < copies; i++) for (const app of apps) sends.push(send(app, use, jwt));
  return Promise.all(sends);
}

export function expectExactlyOneWinner(answers: Answer[], use: Use): AppName {
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
export async function waitUntilServing(app: App, use: Use): Promise<number> {
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

export async function stats(app: App): Promise<{ pid: number; rejections: Record<string, number>; causes: Record<string, number> }> {
  return (await httpRequest(app, 'GET', '/stats')).body as never;
}
