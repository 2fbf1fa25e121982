'use strict';
// ID-JAG bench: the token route of express-jwt-bearer (Express 5, served with serverOptions(app))
// for three kinds of request, measured side by side in one run, targets interleaved round by
// round, autocannon from this process against a server in a child process on 127.0.0.1:
//   plain      an RFC 7523 grant (ES256) from a plain issuer
//   id-jag     an ID-JAG (ES256) with client_secret_basic through authenticatedClient
//   id-jag+dpop the same, bound by cnf.jkt to a DPoP proof (ES256) it carries
// Budget (issue 15): id-jag / plain ≥ 0.9×; id-jag+dpop / plain ≥ 0.45× (two signatures).
// Every request carries a fresh pre-minted assertion (and proof). Run: npm run build && node bench/id-jag.js
// Environment: BENCH_IDJAG_ROUNDS (5), BENCH_IDJAG_SECONDS (3 per target per round).
// Each ratio is also computed from the server process's CPU time per request (its main thread
// and libuv's pool together), which the load generator sharing the machine disturbs less.

const { fork } = require('node:child_process');
const { generateKeyPairSync, randomUUID, sign } = require('node:crypto');
const http = require('node:http');

const ISSUER = 'https://as.example.com';
const IDP = 'https://idp.example.com';
const SVC = 'https://svc.example.com';
const RESOURCE = 'https://mcp.example.com/mcp';
const TOKEN_ENDPOINT = `${ISSUER}/token`;
const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const BASIC = `Basic ${Buffer.from('mcp-client:mcp-client-secret').toString('base64')}`;

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function jws(header, payload, key) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

if (process.argv[2] === 'server') {
  const express = require('express');
  const { jwtBearerGrant, serverOptions, MemoryReplayStore } = require('express-jwt-bearer');
  const keys = JSON.parse(process.env.BENCH_KEYS);
  const basic = (req) => (req.headers.authorization === BASIC ? 'mcp-client' : undefined);
  const grant = jwtBearerGrant({
    issuer: ISSUER,
    issuers: [
      { issuer: SVC, publicKey: keys.svc },
      { issuer: IDP, publicKey: keys.idp, profiles: ['id-jag'] },
    ],
    resources: [RESOURCE],
    authenticatedClient: basic,
    dpop: { tokenEndpoint: TOKEN_ENDPOINT, maxAge: 600 },
    // Room for every pre-minted jti of the run (the process-wide default holds 10,000 per issuer).
    replayStore: new MemoryReplayStore({ max: 2_000_000 }),
    issueToken: (p) => ({ access_token: `at.${p.subject}`, token_type: p.dpop ? 'DPoP' : 'Bearer', expires_in: 300 }),
  });
  const app = express();
  app.post('/token', grant);
  const server = http.createServer(serverOptions(app), app);
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
  process.on('message', (m) => {
    if (m?.cmd === 'cpu') process.send({ type: 'cpu', usage: process.cpuUsage() });
    if (m?.cmd === 'exit') server.close(() => process.exit(0));
  });
  return;
}

const autocannon = require('autocannon');

/**
 * Measures the three routes side by side; returns per-route medians (req/s, server CPU µs per
 * request) and, per ID-JAG route, the median of its per-round ratios to the plain route.
 */
async function runIdJag({ rounds = 5, seconds = 3 } = {}) {
  const svc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dpop = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dpopJwk = dpop.publicKey.export({ format: 'jwk' });
  const { jwkThumbprint } = require('jwt-bearer-core');
  const jkt = jwkThumbprint(dpopJwk);
  const exportPub = (k) => k.publicKey.export({ type: 'spki', format: 'pem' });

  const count = Math.ceil(rounds * (seconds + 1) * 9000);
  const now = () => Math.floor(Date.now() / 1000);
  const form = (assertion) => new URLSearchParams({ grant_type: GRANT, assertion }).toString();
  const pools = { plain: [], 'id-jag': [], 'id-jag+dpop': [] };
  for (let i = 0; i < count; i++) {
    const t = now();
    pools.plain.push({
      body: form(jws({ alg: 'ES256', typ: 'JWT' }, { iss: SVC, sub: 'alice', aud: ISSUER, iat: t, exp: t + 900, jti: randomUUID() }, svc.privateKey)),
    });
    const claims = {
      iss: IDP,
      sub: 'alice',
      aud: ISSUER,
      client_id: 'mcp-client',
      resource: RESOURCE,
      scope: 'tools.read',
      iat: t,
      exp: t + 900,
      jti: randomUUID(),
    };
    pools['id-jag'].push({ body: form(jws({ alg: 'ES256', typ: 'oauth-id-jag+jwt' }, claims, idp.privateKey)), headers: { authorization: BASIC } });
    pools['id-jag+dpop'].push({
      body: form(jws({ alg: 'ES256', typ: 'oauth-id-jag+jwt' }, { ...claims, jti: randomUUID(), cnf: { jkt } }, idp.privateKey)),
      headers: {
        authorization: BASIC,
        dpop: jws({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpopJwk }, { jti: randomUUID(), htm: 'POST', htu: TOKEN_ENDPOINT, iat: t }, dpop.privateKey),
      },
    });
  }

  const child = fork(__filename, ['server'], { env: { ...process.env, BENCH_KEYS: JSON.stringify({ svc: exportPub(svc), idp: exportPub(idp) }) } });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const results = { plain: [], 'id-jag': [], 'id-jag+dpop': [] };
  const cpuPerRequest = { plain: [], 'id-jag': [], 'id-jag+dpop': [] };
  const cpu = () =>
    new Promise((resolve) => {
      const onMessage = (m) => {
        if (m?.type !== 'cpu') return;
        child.off('message', onMessage);
        resolve(m.usage.user + m.usage.system);
      };
      child.on('message', onMessage);
      child.send({ cmd: 'cpu' });
    });
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of Object.keys(pools)) {
        const pool = pools[name];
        let failure;
        const cpuBefore = await cpu();
        const run = await autocannon({
          url: `http://127.0.0.1:${port}`,
          connections: 10,
          duration: seconds,
          requests: [
            {
              method: 'POST',
              path: '/token',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              setupRequest(req) {
                const next = pool.pop();
                if (!next) throw new Error(`pool ${name} is empty`);
                req.body = next.body;
                req.headers = { ...req.headers, ...next.headers };
                return req;
              },
              onResponse(status, body) {
                if (status !== 200 && !failure) failure = `${status} ${body}`;
              },
            },
          ],
        });
        if (run.non2xx > 0 || run.errors > 0) throw new Error(`${name}: ${run.non2xx} non-2xx (first: ${failure}), ${run.errors} errors`);
        results[name].push(run.requests.average);
        cpuPerRequest[name].push(((await cpu()) - cpuBefore) / run.requests.total);
      }
    }
  } finally {
    child.send({ cmd: 'exit' });
  }
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const routes = Object.fromEntries(
    Object.keys(results).map((name) => [
      name,
      {
        rps: median(results[name]),
        cpuPerRequest: median(cpuPerRequest[name]),
        ratio: median(results[name].map((r, i) => r / results.plain[i])),
        cpuRatio: median(cpuPerRequest.plain.map((c, i) => c / cpuPerRequest[name][i])),
      },
    ]),
  );
  return { express: require('express/package.json').version, rounds, seconds, connections: 10, routes };
}

/** The two budget lines of issue 15: [check, route, target]. */
const ID_JAG_BUDGET = [
  ['ID-JAG grant route / plain grant route', 'id-jag', 0.9],
  ['ID-JAG + DPoP route / plain grant route', 'id-jag+dpop', 0.45],
];

module.exports = { runIdJag, ID_JAG_BUDGET };

async function main() {
  const r = await runIdJag({ rounds: Number(process.env.BENCH_IDJAG_ROUNDS ?? 5), seconds: Number(process.env.BENCH_IDJAG_SECONDS ?? 3) });
  console.log(`ID-JAG token route, express-jwt-bearer on Express ${r.express}, ${r.rounds} rounds × ${r.seconds} s, ${r.connections} connections`);
  for (const [name, m] of Object.entries(r.routes)) {
    console.log(`  ${name.padEnd(12)} ${Math.round(m.rps)} req/s, server CPU ${Math.round(m.cpuPerRequest)} µs/request`);
  }
  for (const [check, name, target] of ID_JAG_BUDGET) {
    const { ratio, cpuRatio } = r.routes[name];
    console.log(`  ${check}: ${ratio.toFixed(3)}× (target ≥ ${target}×) ${ratio >= target ? 'met' : 'NOT met'}; by server CPU/request ${cpuRatio.toFixed(3)}×`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
