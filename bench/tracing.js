'use strict';
// What the tracing channels cost a token route (DESIGN §12: zero cost when nothing subscribes).
//
//   npm run build && node --expose-gc bench/tracing.js [trials] [requestsPerTrial]
//
// One process, one run, three variants of the same route interleaved trial by trial (rotating
// order), each trial on a freshly built route with a fresh replay store:
//
//   untraced    the middleware on a copy of jwt-bearer-core whose observe/tracing.js is replaced
//               by a stub with the same exports and no channel code at all: the build without
//               the tracing code (everything else, onSuccess and the default log included, is the
//               same build)
//   traced      the real build, nobody subscribed
//   subscribed  the real build, a subscriber (no-op functions) on all five events of the four
//               channels
//
// Routes: clientAssertion() + the app's handler on Express (served with serverOptions(app)) and
// on Koa, ES256 assertions (the cheapest asymmetric check, so the overhead weighs most). A minimal
// keep-alive HTTP client in this process drives them over 127.0.0.1 with 10 connections; the
// figure is CPU time per request of the whole process (client + server: the client's share is the
// same for every variant), which a busy machine disturbs far less than requests per second.
// Throughput ratio = CPU per request of untraced / of the variant; budget: traced ≥ 0.98×.

const crypto = require('node:crypto');
const diagnostics = require('node:diagnostics_channel');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const c = require('./lib/common');
const { drive: driveAll } = require('./lib/keepalive');

const [trialsArg = '9', perTrialArg = '3000'] = process.argv.slice(2);
const TRIALS = Number(trialsArg);
const K = Number(perTrialArg);
const WARM = 200;
const CONNECTIONS = 10;
const ISSUER = 'http://127.0.0.1:9/issuer';
const CLIENT_ID = 'bench-client';

// --- the untraced copy of the core -----------------------------------------------------------

const coreDist = path.dirname(require.resolve('jwt-bearer-core', { paths: [c.ROOT] }));
const copyRoot = path.join(__dirname, '.exp', 'untraced');

/** Copies dist/ of the core and of both adapters, with the core's tracing module stubbed out. */
function makeUntracedCopy() {
  fs.rmSync(copyRoot, { recursive: true, force: true });
  const dists = {
    core: coreDist,
    express: path.dirname(require.resolve('express-jwt-bearer')),
    koa: path.dirname(require.resolve('koa-jwt-bearer')),
  };
  for (const [name, dir] of Object.entries(dists)) fs.cpSync(dir, path.join(copyRoot, name), { recursive: true });
  fs.writeFileSync(
    path.join(copyRoot, 'core', 'observe', 'tracing.js'),
    `'use strict';
// Bench stub: the exports of observe/tracing.js without any channel code.
exports.GRANT_CHANNEL = 'jwt-bearer:grant';
exports.CLIENT_ASSERTION_CHANNEL = 'jwt-bearer:client-assertion';
exports.JWKS_FETCH_CHANNEL = 'jwt-bearer:jwks-fetch';
exports.REPLAY_CLAIM_CHANNEL = 'jwt-bearer:replay-claim';
exports.verificationChannel = () => undefined;
exports.traceVerification = () => { throw new Error('untraced'); };
exports.traceJwksFetch = (use, uri, fetch) => fetch();
exports.traceReplayClaim = (use, store, key, ttl) => store.claim(key, ttl);
exports.seeHeader = () => undefined;
`,
  );
  // The copied adapters must load the copied core; everything else resolves as usual.
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    const file = parent?.filename;
    if (file?.startsWith(copyRoot) && !request.startsWith('.')) {
      if (request === 'jwt-bearer-core') return path.join(copyRoot, 'core', 'index.js');
      // Other packages (lru-cache, jsonwebtoken, express…) as the original dist sees them.
      const [pkg] = path.relative(copyRoot, file).split(path.sep);
      return require.resolve(request, { paths: [dists[pkg]] });
    }
    return resolve.call(this, request, parent, ...rest);
  };
  return { express: require(path.join(copyRoot, 'express', 'index.js')), koa: require(path.join(copyRoot, 'koa', 'index.js')) };
}

// --- routes -----------------------------------------------------------------------------------

const express = c.requireFrom('express-jwt-bearer', 'express');
const Koa = c.requireFrom('koa-jwt-bearer', 'koa');
const http = require('node:http');

function expressRoute(lib, options) {
  const app = express();
  let handler;
  app.post(
    '/client',
    (req, res, next) => handler(req, res, next),
    (req, res) => res.json({ client: req.jwtBearer.client.clientId }),
  );
  return {
    app,
    server: http.createServer(lib.serverOptions(app), app),
    reset: () => (handler = lib.clientAssertion({ ...options(), replayStore: new lib.MemoryReplayStore() })),
  };
}

function koaRoute(lib, options) {
  const app = new Koa();
  let handler;
  app.use((ctx, next) => handler(ctx, next));
  app.use((ctx) => {
    ctx.body = { client: ctx.state.jwtBearer.client.clientId };
  });
  return {
    app,
    server: http.createServer(app.callback()),
    reset: () => (handler = lib.clientAssertion({ ...options(), replayStore: new lib.MemoryReplayStore() })),
  };
}

// --- load -------------------------------------------------------------------------------------

/** Sends `bodies` to the route; resolves how many were not answered 200. */
const drive = async (port, bodies) => (await driveAll(port, '/client', bodies, CONNECTIONS)).failed;

function subscribeAll() {
  const noop = () => undefined;
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  const names = ['jwt-bearer:grant', 'jwt-bearer:client-assertion', 'jwt-bearer:jwks-fetch', 'jwt-bearer:replay-claim'];
  for (const name of names) diagnostics.tracingChannel(name).subscribe(handlers);
  return () => names.forEach((name) => diagnostics.tracingChannel(name).unsubscribe(handlers));
}

async function main() {
  const untraced = makeUntracedCopy();
  const traced = { express: require('express-jwt-bearer'), koa: require('koa-jwt-bearer') };
  const { createAssertion } = require('jwt-bearer-core');
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // Signatures on the event loop: the thread pool's hop adds variance and nothing to what is compared.
  const options = () => ({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey }], maxLifetime: 1800, offload: 'never' });
  const bodies = Array.from({ length: K }, () => {
    const token = createAssertion({ issuer: CLIENT_ID, subject: CLIENT_ID, audience: ISSUER, key: privateKey, expiresIn: 1700 });
    return `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(c.CLIENT_ASSERTION_TYPE)}&client_assertion=${token}`;
  });

  const variants = [];
  for (const fw of ['express', 'koa']) {
    const make = fw === 'express' ? expressRoute : koaRoute;
    for (const [name, lib] of [
      ['untraced', untraced],
      ['traced', traced],
      ['subscribed', traced],
    ]) {
      const route = make(lib[fw], options);
      await new Promise((r) => route.server.listen(0, '127.0.0.1', r));
      variants.push({ id: `${fw}/${name}`, fw, name, route, port: route.server.address().port, cpu: [] });
    }
  }

  for (let trial = 0; trial <= TRIALS; trial++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + trial) % variants.length];
      v.route.reset();
      const unsubscribe = v.name === 'subscribed' ? subscribeAll() : () => undefined;
      try {
        if ((await drive(v.port, bodies.slice(0, WARM))) > 0) throw new Error(`${v.id}: warm-up requests failed`);
        global.gc?.();
        const u0 = process.cpuUsage();
        const failed = await drive(v.port, bodies.slice(WARM));
        const u = process.cpuUsage(u0);
        if (failed > 0) throw new Error(`${v.id}: ${failed} requests failed`);
        // Trial 0 warms the JIT of every variant and is not recorded.
        if (trial > 0) v.cpu.push((u.user + u.system) / (K - WARM));
      } finally {
        unsubscribe();
      }
    }
  }

  const lines = ['Tracing channels: route throughput relative to the build without the tracing code (one run, interleaved trials)', ''];
  let met = true;
  for (const fw of ['express', 'koa']) {
    const base = variants.find((v) => v.id === `${fw}/untraced`);
    for (const v of variants.filter((x) => x.fw === fw)) {
      const ratios = v.cpu.map((x, i) => base.cpu[i] / x);
      const ratio = c.median(ratios);
      let verdict = '';
      if (v.name === 'traced') {
        verdict = ratio >= 0.98 ? '  met (≥ 0.98×)' : '  NOT met (≥ 0.98×)';
        met &&= ratio >= 0.98;
      }
      lines.push(`${v.id.padEnd(20)} ${c.median(v.cpu).toFixed(1).padStart(7)} µs CPU/request   ${ratio.toFixed(3)}× throughput${verdict}`);
    }
  }
  console.log(lines.join('\n'));
  for (const v of variants) v.route.server.close();
  fs.rmSync(copyRoot, { recursive: true, force: true });
  process.exit(met ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
