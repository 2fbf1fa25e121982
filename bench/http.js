'use strict';
// HTTP phase, driven from run.js: the servers run in child processes (servers.js, one per app:
// Express served with serverOptions(app), the same Express app behind a plain http.createServer,
// Koa; oidc-server.mjs for oidc-provider); autocannon loads them from this process, 127.0.0.1
// only, 10 connections, a short warm-up and a bounded measurement per target, targets interleaved
// round by round. Every verifying request carries a fresh assertion taken from a pre-minted pool by
// autocannon's `requests[].setupRequest`.

const { fork } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const c = require('./lib/common');
const { mintPool } = require('./lib/pool');

const autocannon = require('autocannon');

const FORM = 'application/x-www-form-urlencoded';

function forkChild(file, env, execArgv = []) {
  const child = fork(path.join(__dirname, file), [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (d) => {
    output = (output + d).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.output = () => output;
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => (msg?.type === 'ready' ? resolve({ child, ready: msg }) : reject(new Error(`unexpected ${JSON.stringify(msg)}`))));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)));
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send({ cmd: 'exit' });
  });
}

let rpcId = 0;
/** Sends a command to a server child and waits for its answer ({ type: cmd, id, ... }). */
function rpc(child, cmd) {
  const id = ++rpcId;
  return new Promise((resolve) => {
    const onMessage = (msg) => {
      if (msg?.type === cmd && msg.id === id) {
        child.off('message', onMessage);
        resolve(msg);
      }
    };
    child.on('message', onMessage);
    child.send({ cmd, id });
  });
}

/** CPU time (user + system, µs) the child has used so far: per-request cost, robust to a busy machine. */
async function cpuOf(child) {
  const { usage } = await rpc(child, 'cpu');
  return usage.user + usage.system;
}

function post(port, urlPath, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { 'content-type': FORM, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const bodies = {
  client: (token) => `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(c.CLIENT_ASSERTION_TYPE)}&client_assertion=${token}`,
  grant: (token) => `grant_type=${encodeURIComponent(c.GRANT_TYPE)}&assertion=${token}`,
};

function load(port, target, next, seconds, connections) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: target.path,
        headers: { 'content-type': FORM },
        setupRequest(req) {
          req.body = next();
          return req;
        },
      },
    ],
  });
}

/**
 * Runs the HTTP phase. Returns per target the per-round measurements
 * ({ rps, p50, p99, non2xx, errors, wrapped }) and the environment it ran in.
 */
async function runHttp(options) {
  const { seconds, warmup, rounds, poolSize, connections, profile } = options;
  const key = c.makeKey('RS256');
  const exported = c.exportKey(key);

  const oidc = await forkChild('oidc-server.mjs', {
    BENCH_OIDC_CONFIG: JSON.stringify({ publicJwk: key.publicJwk, clientId: c.CLIENT_ID }),
    NODE_ENV: 'production',
  });
  const issuer = oidc.ready.issuer;
  // Long enough for the pool, minted before the rounds, to stay acceptable for the whole phase.
  const maxLifetime = 1800;
  const execArgv = ['--expose-gc'];
  if (profile) execArgv.push('--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${path.join(__dirname, 'profiles')}`);
  const apps = ['express', 'express-plain', 'koa'];
  const children = { oidc };
  try {
    for (const app of apps) {
      const config = { issuer, publicJwk: key.publicJwk, maxLifetime, app, storeMax: Math.max(100_000, poolSize + 10_000), offload: process.env.BENCH_OFFLOAD };
      children[app] = await forkChild('servers.js', { BENCH_SERVER_CONFIG: JSON.stringify(config) }, execArgv);
    }
  } catch (err) {
    await Promise.all(Object.values(children).map((s) => stopChild(s.child)));
    throw err;
  }
  const ports = Object.fromEntries(Object.entries(children).map(([name, s]) => [name, s.ready.port]));

  try {
    const t0 = Date.now();
    const pool = await mintPool(exported, issuer, poolSize, maxLifetime - 60);
    c.log(`  http: minted ${pool.length} RS256 assertions in ${((Date.now() - t0) / 1000).toFixed(1)} s (aud ${issuer})`);

    const targets = [];
    const routes = [
      // The no-op route reads no assertion: it gets one fixed body (of the same size), no pool entry.
      { name: 'noop', path: '/noop', body: 'client', fixed: true },
      { name: 'raw-client', path: '/raw/client', body: 'client' },
      { name: 'client', path: '/client', body: 'client' },
      { name: 'client-loop', path: '/client-loop', body: 'client' },
      { name: 'raw-grant', path: '/raw/grant', body: 'grant' },
      { name: 'grant', path: '/grant', body: 'grant' },
    ];
    for (const app of apps) {
      // Behind the plain server only what the comparison with oidc-provider needs.
      const measured = app === 'express-plain' ? routes.filter((r) => ['noop', 'raw-client', 'client'].includes(r.name)) : routes;
      for (const r of measured) targets.push({ id: `${app}/${r.name}`, server: app, path: r.path, body: r.body, fixed: r.fixed });
    }
    targets.push({ id: 'oidc-provider', server: 'oidc', path: '/token', body: 'client', persistent: true });
    if (options.filter) {
      // For profiling: measure only some targets (the report then lacks the others).
      const keep = new RegExp(options.filter);
      for (let i = targets.length - 1; i >= 0; i--) if (!keep.test(targets[i].id)) targets.splice(i, 1);
    }

    // Sanity: each verifying route accepts a fresh assertion once and refuses its replay.
    const spare = await mintPool(exported, issuer, targets.length, maxLifetime - 60);
    for (const [i, t] of targets.entries()) {
      const body = bodies[t.body](spare[i]);
      const first = await post(ports[t.server], t.path, body);
      if (first.status !== 200) throw new Error(`${t.id}: sanity request answered ${first.status} ${first.text}\n${children[t.server].child.output()}`);
      if (t.path !== '/noop') {
        if (!JSON.parse(first.text).access_token) throw new Error(`${t.id}: no access_token in ${first.text}`);
        const replay = await post(ports[t.server], t.path, body);
        if (replay.status === 200) throw new Error(`${t.id}: a replayed assertion was accepted`);
      }
    }

    let oidcCursor = 0;
    // One pass over every target before the rounds, not recorded, so that the JIT has compiled
    // every route's code before round 1 (the per-measurement warm-up is too short for that).
    if (options.prime > 0) {
      const tp = Date.now();
      for (const t of targets) {
        let cursor = t.persistent ? oidcCursor : 0;
        if (!t.persistent) await rpc(children[t.server].child, 'reset');
        const make = bodies[t.body];
        await load(ports[t.server], t, () => make(pool[t.fixed ? 0 : cursor++ % pool.length]), options.prime, connections);
        if (t.persistent) oidcCursor = cursor;
      }
      c.log(`  http: primed every target for ${options.prime} s in ${((Date.now() - tp) / 1000).toFixed(1)} s`);
    }
    const results = Object.fromEntries(targets.map((t) => [t.id, []]));
    for (let round = 0; round < rounds; round++) {
      const order = targets.map((_, i) => targets[(i + round * 4) % targets.length]);
      const tr = Date.now();
      for (const t of order) {
        let cursor = 0;
        let wrapped = false;
        if (!t.persistent) await rpc(children[t.server].child, 'reset');
        else cursor = oidcCursor;
        const make = bodies[t.body];
        const next = () => {
          if (t.fixed) return make(pool[0]);
          if (cursor >= pool.length) {
            wrapped = true;
            cursor = 0;
          }
          return make(pool[cursor++]);
        };
        if (warmup > 0) await load(ports[t.server], t, next, warmup, connections);
        const child = children[t.server].child;
        const cpu0 = await cpuOf(child);
        const r = await load(ports[t.server], t, next, seconds, connections);
        const cpu = (await cpuOf(child)) - cpu0;
        if (t.persistent) oidcCursor = cursor;
        const rec = {
          rps: r['2xx'] / r.duration,
          // Server CPU µs per request (all of the server process's threads; includes the idle
          // connections' bookkeeping, so it is an upper bound).
          cpuPerRequest: cpu / Math.max(1, r.requests.total),
          p50: r.latency.p50,
          p99: r.latency.p99,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
          wrapped,
        };
        if (rec.non2xx || rec.errors || wrapped) {
          c.log(`  http: WARNING ${t.id}: ${rec.non2xx} non-2xx, ${rec.errors} errors${wrapped ? ', assertion pool exhausted (raise BENCH_POOL)' : ''}`);
        }
        results[t.id].push(rec);
      }
      c.log(`  http: round ${round + 1}/${rounds} in ${((Date.now() - tr) / 1000).toFixed(1)} s`);
    }
    return { results, targets: targets.map((t) => t.id), issuer, oidcVersion: oidc.ready.version, poolSize: pool.length, seconds, warmup, rounds, connections };
  } finally {
    await Promise.all(Object.values(children).map((s) => stopChild(s.child)));
  }
}

module.exports = { runHttp };
