'use strict';
// A low-noise tool for optimising the adapters (not part of `npm run bench`): drives the routes of
// bench/servers.js in ONE process with a minimal keep-alive HTTP client (10 connections), and
// reports CPU µs per request per route, over interleaved trials. Client and server costs are both
// counted, but they are the same for every route, so differences between routes are the
// middleware's. CPU time is far less sensitive to other load on the machine than req/s.
//
//   node --expose-gc bench/tools/route-cpu.js [routeRegex] [trials] [requestsPerTrial]
//   e.g. node --expose-gc bench/tools/route-cpu.js 'koa/(raw-)?client' 7 3000

const { performance } = require('node:perf_hooks');
const c = require('../lib/common');
const { mintPool } = require('../lib/pool');
const { drive } = require('../lib/keepalive');

const [filter = '.', trialsArg = '7', perTrialArg = '3000', alg = 'RS256'] = process.argv.slice(2);
const TRIALS = Number(trialsArg);
const K = Number(perTrialArg);
const CONNECTIONS = 10;
const WARM = 100;
const ISSUER = 'http://127.0.0.1:9/issuer';

const run = (port, path, bodies) => drive(port, path, bodies, CONNECTIONS);

async function main() {
  const key = c.makeKey(alg);
  process.env.BENCH_SERVER_CONFIG = JSON.stringify({
    issuer: ISSUER,
    publicJwk: key.publicJwk,
    maxLifetime: 1800,
    storeMax: Number(process.env.STORE_MAX ?? 100_000),
  });
  const { build } = require('../servers');
  const pool = await mintPool(c.exportKey(key), ISSUER, K, 1700);
  const client = (t) => `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(c.CLIENT_ASSERTION_TYPE)}&client_assertion=${t}`;
  const grant = (t) => `grant_type=${encodeURIComponent(c.GRANT_TYPE)}&assertion=${t}`;
  const bodies = { client: pool.map(client), grant: pool.map(grant) };
  const servers = {};
  const apps = ['express', 'express-plain', 'koa'];
  for (const app of apps) {
    const built = build(app);
    built.server.on('request', built.listener);
    await new Promise((r) => built.server.listen(0, '127.0.0.1', r));
    servers[app] = { ...built, port: built.server.address().port };
  }
  const routes = [];
  for (const fw of apps) {
    for (const [name, path, body] of [
      ['noop', '/noop', 'client'],
      ['raw-client', '/raw/client', 'client'],
      ['client', '/client', 'client'],
      ['raw-grant', '/raw/grant', 'grant'],
      ['grant', '/grant', 'grant'],
    ]) {
      if (new RegExp(filter).test(`${fw}/${name}`)) routes.push({ id: `${fw}/${name}`, fw, path, body });
    }
  }
  const cpu = Object.fromEntries(routes.map((r) => [r.id, []]));
  // Main-thread busy time (event loop utilisation): CPU minus GC helper threads and the like.
  const main = Object.fromEntries(routes.map((r) => [r.id, []]));
  for (let trial = 0; trial <= TRIALS; trial++) {
    for (let i = 0; i < routes.length; i++) {
      const r = routes[(i + trial) % routes.length];
      const s = servers[r.fw];
      s.reset();
      // Warm-up: the first claim on a fresh MemoryReplayStore allocates its TTL arrays.
      await run(s.port, r.path, bodies[r.body].slice(0, WARM));
      global.gc?.();
      const u0 = process.cpuUsage();
      const e0 = performance.eventLoopUtilization();
      const { failed } = await run(s.port, r.path, bodies[r.body].slice(WARM));
      const u = process.cpuUsage(u0);
      const e = performance.eventLoopUtilization(e0);
      if (failed) throw new Error(`${r.id}: ${failed} failed`);
      if (trial > 0) {
        cpu[r.id].push((u.user + u.system) / (K - WARM));
        main[r.id].push((e.active * 1000) / (K - WARM));
      }
    }
  }
  for (const r of routes) {
    console.log(
      `${r.id.padEnd(18)} ${c.median(cpu[r.id]).toFixed(1).padStart(7)} µs/req CPU, ${c.median(main[r.id]).toFixed(1).padStart(7)} µs/req main thread   [${cpu[r.id].map((x) => x.toFixed(0)).join(' ')}]`,
    );
  }
  for (const fw of apps) {
    for (const [a, b] of [
      ['client', 'raw-client'],
      ['grant', 'raw-grant'],
    ]) {
      const A = cpu[`${fw}/${a}`];
      const B = cpu[`${fw}/${b}`];
      const MA = main[`${fw}/${a}`];
      const MB = main[`${fw}/${b}`];
      if (A && B) {
        console.log(
          `${fw} ${a}: CPU +${c.median(A.map((x, i) => x - B[i])).toFixed(1)} µs over ${b} (ratio ${c.median(A.map((x, i) => B[i] / x)).toFixed(3)}); main thread +${c.median(MA.map((x, i) => x - MB[i])).toFixed(1)} µs`,
        );
      }
    }
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
