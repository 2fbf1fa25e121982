import type { Server } from 'node:http';
import express from 'express';
import * as expressJwtBearer from 'express-jwt-bearer';
import type { RejectionEvent } from 'jwt-bearer-core';
import { RedisReplayStore, RedisReplayStoreError, type RedisClientLike } from 'jwt-bearer-redis';
import Koa from 'koa';
import * as koaJwtBearer from 'koa-jwt-bearer';
import { clientAssertionJwt, clientForm, close, encode, grantForm, grantOptions, clientOptions, listen } from '../support/adapter-harness';
import { closeClients, FLAVOURS, standaloneClient, type Flavour } from '../support/redis-clients';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server';
import { infoFields } from '../support/redis-topology';

// Every fault of Redis, each against a real redis-server put into that state, reaches the client
// of the token endpoint as 503 temporarily_unavailable with Retry-After: never an acceptance,
// never invalid_*. Both adapters (Express, Koa), both uses (client assertion, grant), every client
// library (ioredis 6 and 5, node-redis 5).

const TIMEOUT = 300;
const servers: Server[] = [];
const redisServers: RedisServer[] = [];

afterAll(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map(close));
  for (const redis of redisServers) if (redis.running) await redis.stop('SIGKILL');
  await Promise.all(redisServers.map((redis) => redis.close()));
});

async function redisServer(args: string[] = [], readyWhenLoading = false): Promise<RedisServer> {
  const redis = await startRedisServer({ args, readyWhenLoading });
  redisServers.push(redis);
  return redis;
}

/** The Express and the Koa app, each with both middlewares on `store`, reporting rejections to `events`. */
async function apps(store: RedisReplayStore, events: RejectionEvent[]): Promise<Array<{ name: string; url: string }>> {
  const onError = (event: RejectionEvent): void => void events.push(event);
  const issueToken = () => ({ access_token: 'token', token_type: 'Bearer', expires_in: 60 });
  const expressApp = express();
  expressApp.post('/client', expressJwtBearer.clientAssertion({ ...clientOptions(), replayStore: store, onError }), (_req, res) => {
    res.json({ ok: true });
  });
  expressApp.post('/token', expressJwtBearer.jwtBearerGrant({ ...grantOptions(), replayStore: store, onError, issueToken }));
  const koaClient = koaJwtBearer.clientAssertion({ ...clientOptions(), replayStore: store, onError });
  const koaGrant = koaJwtBearer.jwtBearerGrant({ ...grantOptions(), replayStore: store, onError, issueToken });
  const koaApp = new Koa();
  koaApp.use((ctx, next) =>
    ctx.path === '/client'
      ? koaClient(ctx, async () => {
          ctx.body = { ok: true };
        })
      : koaGrant(ctx, next),
  );
  const started = await Promise.all([listen(expressApp), listen(koaApp.callback())]);
  servers.push(...started);
  return started.map((server, i) => ({ name: i === 0 ? 'express' : 'koa', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }));
}

/**
 * Sends a fresh client assertion and a fresh grant assertion to both apps on a store of every
 * client library; every answer must be the 503, and every cause the fault's.
 */
async function expectEvery503(clientFor: (flavour: Flavour) => Promise<RedisClientLike>, cause: RegExp): Promise<void> {
  for (const flavour of FLAVOURS) {
    const events: RejectionEvent[] = [];
    const store = new RedisReplayStore({ client: await clientFor(flavour), timeout: TIMEOUT });
    const answers = await Promise.all(
      (await apps(store, events)).flatMap((app) =>
        [
          ['/client', clientForm({}, clientAssertionJwt({ jwtId: `c-${Math.random()}` }))],
          ['/token', grantForm()],
        ].map(async ([path, form]) => {
          const res = await fetch(app.url + path, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: encode(form as Record<string, string>),
          });
          return { where: `${flavour} ${app.name} ${path as string}`, status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
        }),
      ),
    );
    for (const answer of answers) {
      expect(answer).toEqual({
        where: answer.where,
        status: 503,
        retryAfter: expect.stringMatching(/^[1-9][0-9]*$/),
        body: { error: 'temporarily_unavailable', error_description: 'The assertion cannot be recorded right now.' },
      });
    }
    expect(events).toHaveLength(4);
    for (const event of events) {
      expect(event.code).toBe('ERR_REPLAY_STORE_UNAVAILABLE');
      expect(event.cause).toBeInstanceOf(RedisReplayStoreError);
      expect({ flavour, cause: (event.cause as Error).message }).toEqual({ flavour, cause: expect.stringMatching(cause) });
    }
  }
}

it('connection refused: nothing listens on the port', async () => {
  const port = await freePort();
  await expectEvery503(
    (flavour) => standaloneClient(flavour, port, { connected: false }),
    /did not answer within|ECONNREFUSED|Connection is closed|isn't writeable/,
  );
});

it('timeout: the server is hung (SIGSTOP), connections stay open', async () => {
  const redis = await redisServer();
  const clients = new Map<Flavour, RedisClientLike>();
  for (const flavour of FLAVOURS) clients.set(flavour, await standaloneClient(flavour, redis.port));
  redis.pause();
  try {
    await expectEvery503(async (flavour) => clients.get(flavour)!, new RegExp(`^Redis did not answer within ${TIMEOUT} ms$`));
  } finally {
    redis.resume();
  }
});

it('READONLY: the primary was demoted to a replica under connected clients', async () => {
  const [demoted, promoted] = await Promise.all([redisServer(), redisServer()]);
  const clients = new Map<Flavour, RedisClientLike>();
  for (const flavour of FLAVOURS) clients.set(flavour, await standaloneClient(flavour, demoted.port));
  await demoted.command('REPLICAOF', '127.0.0.1', promoted.port);
  expect(infoFields(await demoted.command('INFO', 'replication')).role).toBe('slave');
  await expectEvery503(async (flavour) => clients.get(flavour)!, /READONLY/);
});

it('CLUSTERDOWN: a cluster node that serves no slot', async () => {
  const node = await redisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
  await expectEvery503((flavour) => standaloneClient(flavour, node.port), /CLUSTERDOWN/);
});

it('LOADING: the server is still loading its dataset', async () => {
  // Loading is slowed down (a delay per key) and serves requests meanwhile, as a large dataset would.
  const redis = await redisServer(['--enable-debug-command', 'local', '--key-load-delay', '200', '--loading-process-events-interval-bytes', '1024'], true);
  await redis.command('DEBUG', 'POPULATE', 20_000);
  await redis.command('SAVE');
  await redis.stop('SIGKILL');
  await redis.start();
  expect(infoFields(await redis.command('INFO', 'persistence')).loading).toBe('1');
  // ioredis's ready check would hold commands back until loading ends (a timeout, also a 503):
  // without it, the LOADING reply itself reaches the store.
  await expectEvery503((flavour) => standaloneClient(flavour, redis.port, { connected: false, ioredis: { enableReadyCheck: false } }), /LOADING/);
  expect(infoFields(await redis.command('INFO', 'persistence')).loading).toBe('1');
}, 20_000);

it('OOM: maxmemory reached with noeviction', async () => {
  const redis = await redisServer(['--maxmemory-policy', 'noeviction']);
  const clients = new Map<Flavour, RedisClientLike>();
  for (const flavour of FLAVOURS) clients.set(flavour, await standaloneClient(flavour, redis.port));
  await redis.command('CONFIG', 'SET', 'maxmemory', '1');
  await expectEvery503(async (flavour) => clients.get(flavour)!, /OOM/);
});
