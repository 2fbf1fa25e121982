'use strict';
// JWKS phase: how many key set fetches concurrent verifications cause. The key set is served by a
// node:http server on 127.0.0.1 that counts requests (with a few ms of latency, so concurrent
// callers really overlap a fetch in flight).
//
//   A. 200 concurrent verifications of one new kid, cold cache           target: 1 fetch
//   B. 200 concurrent verifications of a kid rotated in, warm cache,
//      after the unknown-kid cooldown has passed (worst case)            target: 1 fetch
//   C. 200 concurrent assertions with random unknown kids, cold cache    target: ≤ 2 fetches
//   D. the same, warm cache, after the cooldown has passed               target: ≤ 2 fetches

const http = require('node:http');
const crypto = require('node:crypto');
const c = require('./lib/common');
const core = require('jwt-bearer-core');

const N = 200;
const COOLDOWN = 1; // seconds; short so that B and D can wait it out

async function runJwks() {
  const k1 = c.makeKey('ES256');
  const k2 = c.makeKey('ES256');
  const jwk = (key, kid) => ({ ...key.publicJwk, kid });
  let keys = [jwk(k1, 'k1')];
  let fetches = 0;
  const server = http.createServer((req, res) => {
    fetches += 1;
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })), 5);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = 'https://as.example.com';
  const jwksUri = `http://127.0.0.1:${server.address().port}/jwks`;
  const make = () =>
    core.createClientAuthenticator({
      issuer,
      clients: [{ clientId: c.CLIENT_ID, jwksUri }],
      replayStore: new core.MemoryReplayStore(),
      jwksOptions: { cooldown: COOLDOWN },
    });
  const request = (token) => ({ body: { client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: token }, headers: {} });

  async function burst(auth, tokens) {
    const before = fetches;
    const t0 = process.hrtime.bigint();
    const settled = await Promise.allSettled(tokens.map((t) => auth.authenticate(request(t))));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const ok = settled.filter((s) => s.status === 'fulfilled').length;
    const codes = [...new Set(settled.filter((s) => s.status === 'rejected').map((s) => s.reason?.code ?? String(s.reason)))];
    return { fetches: fetches - before, ok, refused: N - ok, codes, ms };
  }
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));

  const out = {};
  try {
    const warm = make();
    out.newKidCold = await burst(
      warm,
      Array.from({ length: N }, () => c.mint(k1, issuer, { kid: 'k1' })),
    );
    keys = [jwk(k1, 'k1'), jwk(k2, 'k2')];
    await wait(COOLDOWN * 1000 + 100);
    out.rotatedKidWarm = await burst(
      warm,
      Array.from({ length: N }, () => c.mint(k2, issuer, { kid: 'k2' })),
    );
    const random = () => Array.from({ length: N }, () => c.mint(k1, issuer, { kid: crypto.randomUUID() }));
    out.unknownKidsCold = await burst(make(), random());
    await wait(COOLDOWN * 1000 + 100);
    out.unknownKidsWarm = await burst(warm, random());
  } finally {
    server.close();
  }
  return { n: N, cooldown: COOLDOWN, ...out };
}

module.exports = { runJwks };

if (require.main === module) runJwks().then((r) => console.log(JSON.stringify(r, null, 1)));
