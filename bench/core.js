'use strict';
// Core benchmark (run as a child of run.js, with --expose-gc): createClientAuthenticator().authenticate
// and createGrantVerifier().verify per second, per algorithm, with warm caches, side by side with
// the floor (crypto.verify with a KeyObject on pre-decoded parts), the hand-written pipeline and
// jsonwebtoken.verify. Every round runs every variant of an algorithm back to back (in a rotating
// order) over the same pre-minted pool, so drift hits all of them alike; the per-round ratios are
// reduced to medians.
//
// Standalone: `node --expose-gc bench/core.js` prints JSON. BENCH_CORE_ALGS=RS256,ES256 limits the
// algorithms, BENCH_CORE_ROUNDS the rounds, BENCH_CORE_SCALE the pool sizes (for --cpu-prof runs).

const http = require('node:http');
const c = require('./lib/common');

const core = require('jwt-bearer-core');
const jwt = c.requireFrom('jwt-bearer-core', 'jsonwebtoken');

const ISSUER = 'https://as.example.com';
const ROUNDS = Number(process.env.BENCH_CORE_ROUNDS ?? 5);
const SCALE = Number(process.env.BENCH_CORE_SCALE ?? 1);
// Calls in flight for the concurrent column.
const CONCURRENCY = 16;
const ALGS = (process.env.BENCH_CORE_ALGS ?? 'RS256,PS256,ES256,EdDSA,HS256').split(',');
// Pool sizes: one pass over the pool is one trial (≈ 0.1–0.3 s for the slowest variant).
const SIZES = { RS256: 4000, PS256: 4000, ES256: 2500, EdDSA: 3000, HS256: 20000 };

const hr = () => process.hrtime.bigint();
const secondsSince = (t0) => Number(hr() - t0) / 1e9;
const gc = typeof global.gc === 'function' ? global.gc : () => {};

function startJwksServer(keys) {
  const sets = new Map(keys.filter((k) => k.publicJwk).map((k) => [`/${k.alg}`, JSON.stringify({ keys: [k.publicJwk] })]));
  const server = http.createServer((req, res) => {
    const body = sets.get(req.url);
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(body ?? '{}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function registration(key, idField, jwksUri) {
  if (key.secretRaw) return { [idField]: c.CLIENT_ID, [idField === 'clientId' ? 'clientSecret' : 'secret']: key.secretRaw };
  if (jwksUri) return { [idField]: c.CLIENT_ID, jwksUri };
  return { [idField]: c.CLIENT_ID, jwks: { keys: [key.publicJwk] } };
}

async function timeAsync(fn, reqs) {
  const t0 = hr();
  for (let i = 0; i < reqs.length; i++) {
    const r = await fn(reqs[i]);
    if (r === undefined) throw new Error('no principal');
  }
  return reqs.length / secondsSince(t0);
}

/** The same with `width` calls in flight, as a busy server makes them (lets `offload: 'auto'` use the thread pool). */
async function timeConcurrent(fn, reqs, width) {
  const t0 = hr();
  let next = 0;
  const lane = async () => {
    while (next < reqs.length) {
      const r = await fn(reqs[next++]);
      if (r === undefined) throw new Error('no principal');
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return reqs.length / secondsSince(t0);
}

function timeSync(fn, items) {
  const t0 = hr();
  for (let i = 0; i < items.length; i++) {
    if (!fn(items[i])) throw new Error('refused');
  }
  return items.length / secondsSince(t0);
}

async function main() {
  const send = (msg) => (process.send ? process.send(msg) : undefined);
  const keys = ALGS.map((alg) => c.makeKey(alg));
  const server = await startJwksServer(keys);
  const base = `http://127.0.0.1:${server.address().port}`;

  // Pools: the same assertions for every variant; each trial of the library gets a fresh
  // authenticator with a fresh MemoryReplayStore, so every verified jti is new to it.
  const pools = {};
  const t0 = hr();
  for (const key of keys) {
    const n = Math.max(100, Math.round(SIZES[key.alg] * SCALE));
    const tokens = Array.from({ length: n }, () => c.mint(key, ISSUER, { expiresIn: 300 }));
    pools[key.alg] = {
      key,
      tokens,
      parts: tokens.map(c.split),
      clientReqs: tokens.map((t) => ({
        body: { grant_type: 'client_credentials', client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: t },
        headers: {},
      })),
      grantReqs: tokens.map((t) => ({ body: { grant_type: c.GRANT_TYPE, assertion: t }, headers: {} })),
      warm: c.mint(key, ISSUER, { expiresIn: 300 }),
    };
  }
  c.log(`  core: minted ${Object.values(pools).reduce((s, p) => s + p.tokens.length, 0)} assertions in ${secondsSince(t0).toFixed(1)} s`);

  async function variants(alg) {
    const p = pools[alg];
    const { key } = p;
    const store = () => new core.MemoryReplayStore({ max: p.tokens.length + 100 });
    const list = [];
    const raw = c.rawVerifier(key);
    list.push(['raw', () => timeSync((x) => raw(x.input, x.signature), p.parts)]);
    list.push([
      'hand',
      () => {
        const verify = c.handWritten(key, { audience: ISSUER, maxLifetime: 300 });
        return timeSync(verify, p.tokens);
      },
    ]);
    if (alg !== 'EdDSA') {
      const opts = { algorithms: [alg], audience: ISSUER, issuer: c.CLIENT_ID, clockTolerance: 30 };
      list.push(['jsonwebtoken', () => timeSync((t) => jwt.verify(t, key.publicKey, opts), p.tokens)]);
    }
    list.push([
      'authenticate',
      async () => {
        const auth = core.createClientAuthenticator({ issuer: ISSUER, clients: [registration(key, 'clientId')], replayStore: store() });
        await auth.authenticate({ body: { client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: p.warm }, headers: {} });
        return timeAsync((r) => auth.authenticate(r), p.clientReqs);
      },
    ]);
    list.push([
      `authenticate x${CONCURRENCY}`,
      async () => {
        const auth = core.createClientAuthenticator({ issuer: ISSUER, clients: [registration(key, 'clientId')], replayStore: store() });
        await auth.authenticate({ body: { client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: p.warm }, headers: {} });
        return timeConcurrent((r) => auth.authenticate(r), p.clientReqs, CONCURRENCY);
      },
    ]);
    list.push([
      'verify',
      async () => {
        const grants = core.createGrantVerifier({ issuer: ISSUER, issuers: [registration(key, 'issuer')], replayStore: store() });
        await grants.verify({ body: { grant_type: c.GRANT_TYPE, assertion: p.warm }, headers: {} });
        return timeAsync((r) => grants.verify(r), p.grantReqs);
      },
    ]);
    if (key.publicJwk) {
      list.push([
        'authenticate (jwksUri)',
        async () => {
          const auth = core.createClientAuthenticator({ issuer: ISSUER, clients: [registration(key, 'clientId', `${base}/${alg}`)], replayStore: store() });
          // Warm the key set cache (one fetch) before timing.
          await auth.authenticate({ body: { client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: p.warm }, headers: {} });
          return timeAsync((r) => auth.authenticate(r), p.clientReqs);
        },
      ]);
    }
    return list;
  }

  const results = {};
  for (const alg of ALGS) results[alg] = {};
  const lists = {};
  for (const alg of ALGS) lists[alg] = await variants(alg);

  // Round 0 warms the JIT and is not recorded.
  for (let round = 0; round <= ROUNDS; round++) {
    const tr = hr();
    for (const alg of ALGS) {
      const list = lists[alg];
      for (let i = 0; i < list.length; i++) {
        const [name, run] = list[(i + round) % list.length];
        gc();
        const opsPerSec = await run();
        if (round > 0) (results[alg][name] ??= []).push(opsPerSec);
      }
    }
    c.log(`  core: round ${round}${round === 0 ? ' (warm-up)' : ''} in ${secondsSince(tr).toFixed(1)} s`);
    send({ type: 'progress', round });
  }
  server.close();
  const out = { rounds: ROUNDS, concurrency: CONCURRENCY, algorithms: ALGS, sizes: Object.fromEntries(ALGS.map((a) => [a, pools[a].tokens.length])), results };
  if (process.send) process.send({ type: 'result', result: out }, () => process.exit(0));
  else process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
