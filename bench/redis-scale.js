'use strict';
// `npm run bench:redis` (or `node bench/redis-scale.js` after `npm run build`): the Express token
// route (clientAssertion + the app's client_credentials handler, as in servers.js) served by 1, 2
// and 4 Node processes (node:cluster, one shared port) that share one redis-server through
// jwt-bearer-redis (ioredis), against the same route on the in-memory store; ioredis
// auto-pipelining off and on; `wait` (one replica) on and off. Load: autocannon in this process,
// 10 connections on 127.0.0.1, fresh ES256 assertions (a pool minted before timing). Also the
// latency of one claim with and without `wait`, straight from a client.
//
// It starts its own redis-server and replica on free ports in a temporary directory and stops
// them by process id when it ends. Knobs: BENCH_REDIS_SECONDS (3), BENCH_REDIS_WARMUP (1),
// BENCH_CONNECTIONS (10), BENCH_REDIS_POOL (60000), BENCH_REDIS_ROUNDS (2).

const cluster = require('node:cluster');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const c = require('./lib/common');

const env = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const ISSUER = 'https://as.example.test';
const WAIT = { replicas: 1, timeoutMs: 500 };

// ------------------------------------------------------------------------------------------------
// Worker: one process of the authorization server.

function worker() {
  const config = JSON.parse(process.env.BENCH_REDIS_CONFIG);
  const express = c.requireFrom('express-jwt-bearer', 'express');
  const { clientAssertion, serverOptions } = require('express-jwt-bearer');
  const { MemoryReplayStore } = require('jwt-bearer-core');
  let replayStore;
  let redis;
  if (config.store === 'redis') {
    const Redis = require('ioredis');
    const { RedisReplayStore } = require('jwt-bearer-redis');
    redis = new Redis({ host: '127.0.0.1', port: config.redisPort, enableAutoPipelining: config.autoPipelining });
    replayStore = new RedisReplayStore({ client: redis, ...(config.wait ? { wait: WAIT } : {}) });
  } else {
    replayStore = new MemoryReplayStore({ max: 200_000 });
  }
  const app = express();
  app.post(
    '/token',
    clientAssertion({ issuer: ISSUER, maxLifetime: 600, replayStore, clients: [{ clientId: c.CLIENT_ID, jwks: { keys: [config.publicJwk] } }] }),
    (req, res) => {
      if (req.body.grant_type !== 'client_credentials') return res.status(400).json({ error: 'unsupported_grant_type' });
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      res.json({ access_token: crypto.randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: 3600 });
    },
  );
  const server = http.createServer(serverOptions(app), app);
  server.keepAliveTimeout = 30_000;
  const ready = redis ? redis.ping() : Promise.resolve();
  ready.then(() => server.listen(config.port, '127.0.0.1', () => process.send({ ready: true })));
}

// ------------------------------------------------------------------------------------------------
// Primary: Redis, the pool, the points, the report.

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(dir, args = []) {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--repl-diskless-sync-delay',
      '0',
      '--loglevel',
      'warning',
      ...args,
    ],
    {
      stdio: 'ignore',
    },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  const Redis = require('ioredis');
  const client = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 50, lazyConnect: true });
  client.on('error', () => {});
  for (let i = 0; i < 200; i++) {
    try {
      await client.connect();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return { port, pid: child.pid, child, client };
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return NaN;
  }
}

function load(port, seconds, connections, next) {
  const autocannon = c.requireFrom('jwt-bearer-bench', 'autocannon');
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest(req) {
          req.body = next();
          return req;
        },
      },
    ],
  });
}

async function measurePoint(point, shared) {
  const port = await freePort();
  cluster.setupPrimary({ exec: __filename, silent: false });
  const workers = [];
  const readies = [];
  for (let i = 0; i < point.processes; i++) {
    const w = cluster.fork({
      BENCH_REDIS_CONFIG: JSON.stringify({
        port,
        store: point.store,
        autoPipelining: point.autoPipelining,
        wait: point.wait,
        redisPort: shared.primary.port,
        publicJwk: shared.publicJwk,
      }),
    });
    workers.push(w);
    readies.push(
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
      }),
    );
  }
  await Promise.all(readies);
  let index = 0;
  let wrapped = false;
  const next = () => {
    if (index >= shared.pool.length) {
      index = 0;
      wrapped = true;
    }
    return shared.pool[index++];
  };
  await load(port, shared.warmup, shared.connections, next);
  const pids = [...workers.map((w) => w.process.pid), shared.primary.pid];
  const before = pids.map(cpuSeconds);
  const selfBefore = process.cpuUsage();
  const result = await load(port, shared.seconds, shared.connections, next);
  const after = pids.map(cpuSeconds);
  const self = process.cpuUsage(selfBefore);
  for (const w of workers) w.kill();
  await Promise.all(workers.map((w) => new Promise((resolve) => (w.isDead() ? resolve() : w.once('exit', resolve)))));
  await shared.primary.client.flushall();
  const cpu = (i) => (after[i] - before[i]) / shared.seconds;
  const workersCpu = workers.reduce((sum, _, i) => sum + cpu(i), 0);
  return {
    rps: result['2xx'] / shared.seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    wrapped,
    cpu: { workers: workersCpu, redis: cpu(workers.length), loadGenerator: (self.user + self.system) / 1e6 / shared.seconds },
  };
}

async function claimLatency(store, count) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await store.claim(`latency:${crypto.randomUUID()}`, 60);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { p50: times[times.length >> 1], p99: times[Math.floor(times.length * 0.99)] };
}

async function primary() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwt-bearer-bench-redis-'));
  const log = (...args) => process.stderr.write(`${args.join(' ')}\n`);
  try {
    const redisPrimary = await startRedis(dir);
    fs.mkdirSync(path.join(dir, 'replica'));
    const replica = await startRedis(path.join(dir, 'replica'), ['--replicaof', '127.0.0.1', String(redisPrimary.port)]);
    for (let i = 0; i < 200 && !/master_link_status:up/.test(await replica.client.info('replication')); i++) await new Promise((r) => setTimeout(r, 25));
    const key = c.makeKey('ES256');
    const poolSize = env('BENCH_REDIS_POOL', 60_000);
    log(`minting ${poolSize} ES256 assertions…`);
    const { mintPool } = require('./lib/pool');
    const tokens = await mintPool(c.exportKey(key), ISSUER, poolSize, 900);
    const pool = tokens.map((t) =>
      new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: t }).toString(),
    );
    const shared = {
      primary: redisPrimary,
      publicJwk: key.publicJwk,
      pool,
      seconds: env('BENCH_REDIS_SECONDS', 3),
      warmup: env('BENCH_REDIS_WARMUP', 1),
      connections: env('BENCH_CONNECTIONS', 10),
    };
    const points = [];
    for (const processes of [1, 2, 4]) {
      points.push({ label: `memory, ${processes}`, store: 'memory', processes });
      points.push({ label: `Redis, ${processes}`, store: 'redis', processes, autoPipelining: false });
      points.push({ label: `Redis + auto-pipelining, ${processes}`, store: 'redis', processes, autoPipelining: true });
    }
    points.push({ label: 'Redis + wait (1 replica), 1', store: 'redis', processes: 1, autoPipelining: false, wait: true });
    // Rounds interleave the points in a rotating order; each point reports its median round, and
    // ratios are medians of per-round ratios, so foreign load hits every point alike.
    const rounds = env('BENCH_REDIS_ROUNDS', 2);
    const perRound = new Map(points.map((p) => [p, []]));
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < points.length; i++) {
        const point = points[(i + round * 3) % points.length];
        log(`round ${round + 1}/${rounds}: ${point.label} process(es)…`);
        perRound.get(point).push(await measurePoint(point, shared));
      }
    }
    const results = new Map(
      points.map((p) => {
        const all = perRound
          .get(p)
          .slice()
          .sort((a, b) => a.rps - b.rps);
        return [p, all[(all.length - 1) >> 1]];
      }),
    );
    const ratioToMemory1 = (p) => c.median(perRound.get(p).map((r, i) => r.rps / perRound.get(points[0])[i].rps));

    // One claim at a time, straight from a client: what `wait` adds to a round trip.
    const { RedisReplayStore } = require('jwt-bearer-redis');
    const plain = await claimLatency(new RedisReplayStore({ client: redisPrimary.client }), 3000);
    const waiting = await claimLatency(new RedisReplayStore({ client: redisPrimary.client, wait: WAIT }), 3000);

    const rows = points.map((p) => {
      const r = results.get(p);
      const flags = [r.non2xx ? `${r.non2xx} non-2xx` : '', r.errors ? `${r.errors} errors` : '', r.wrapped ? 'pool wrapped' : ''].filter(Boolean).join(', ');
      return [
        p.label.replace(/, (\d)$/, ''),
        p.processes,
        c.fmtInt(r.rps),
        c.fmtRatio(ratioToMemory1(p)),
        `${r.p50} / ${r.p99}`,
        `${Math.round(r.cpu.workers * 100)} %`,
        c.fmtInt((r.cpu.workers / r.rps) * 1e6),
        Number.isFinite(r.cpu.redis) && p.store === 'redis' ? `${Math.round(r.cpu.redis * 100)} %` : '—',
        `${Math.round(r.cpu.loadGenerator * 100)} %`,
        flags || '—',
      ];
    });
    const cpuPerRequest = (p) => c.median(perRound.get(p).map((r) => r.cpu.workers / r.rps));
    const byCpu = (p) => cpuPerRequest(points[0]) / cpuPerRequest(p);
    const redis1 = ratioToMemory1(points[1]);
    const redis1ap = ratioToMemory1(points[2]);
    const redisVersion = /redis_version:(\S+)/.exec(await redisPrimary.client.info('server'))?.[1];
    const out = [
      `## Redis store across processes (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, Redis ${redisVersion}, ioredis ${c.versionOf('ioredis', 'jwt-bearer-redis')})`,
      '',
      `Express token route (clientAssertion, ES256), autocannon ${shared.connections} connections, ${shared.warmup} s warm-up + ${shared.seconds} s per point; CPU is the share of one core over the measurement.`,
      '',
      c.table(
        ['store', 'processes', 'req/s', 'vs memory, 1 process', 'p50 / p99 ms', 'workers CPU', 'worker µs CPU/req', 'Redis CPU', 'autocannon CPU', 'notes'],
        rows,
      ),
      '',
      `Redis / memory at 1 process (median of ${rounds} per-round ratios): ${c.fmtRatio(redis1)} (auto-pipelining off), ${c.fmtRatio(redis1ap)} (on); target ≥ 0.85×: ${Math.max(redis1, redis1ap) >= 0.85 ? 'met' : 'not met'}. Load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}.`,
      `By worker CPU per request (less sensitive to foreign load): Redis / memory at 1 process ${c.fmtRatio(byCpu(points[1]))} (off), ${c.fmtRatio(byCpu(points[2]))} (on); with wait ${c.fmtRatio(byCpu(points[points.length - 1]))}.`,
      '',
      `One claim at a time from one client (3000 claims): p50 / p99 ${plain.p50.toFixed(0)} / ${plain.p99.toFixed(0)} µs without wait, ${waiting.p50.toFixed(0)} / ${waiting.p99.toFixed(0)} µs with wait { replicas: 1 } (replica on the same host).`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    redisPrimary.client.disconnect();
    replica.client.disconnect();
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (cluster.isWorker) worker();
else {
  primary().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
