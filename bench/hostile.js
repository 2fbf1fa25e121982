'use strict';
// Hostile-key-set phase (DESIGN §9, issue 12 findings 2 and 3).
//
//   A. CPU per junk assertion (valid header and claims, random signature) against key sets built to
//      make key choice expensive: 100 RSA keys sharing one kid / one x5t#S256 / no kid, 3072-bit or
//      with the largest public exponent accepted (2^32 - 1); the set of the finding itself (3072-bit
//      exponents) is refused at import. Measured as process CPU time per assertion, as a ratio to one
//      ordinary RS256 verification measured just before it (median of per-round ratios). Target ≤ 5×.
//   B. A sweep of junk assertions through 3,000 known client ids, each with its own jwksUri (more than
//      maxKeySets), three times within one cooldown: fetches per URI. Target ≤ 1.
//
// Standalone: `node bench/hostile.js` prints JSON.

const http = require('node:http');
const crypto = require('node:crypto');
const c = require('./lib/common');
const core = require('jwt-bearer-core');

const ISSUER = 'https://as.example.com';
const JUNK = Number(process.env.BENCH_HOSTILE_JUNK ?? 300);
const ROUNDS = Number(process.env.BENCH_HOSTILE_ROUNDS ?? 5);
const IDS = 3000;

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const request = (token) => ({ body: { client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: token }, headers: {} });

/** A public JWK with a random odd modulus: importable, verifies nothing. */
function hostileJwk(bits, e, extra) {
  const n = crypto.randomBytes(bits / 8);
  n[0] |= 0x80;
  n[n.length - 1] |= 1;
  let hex = e.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return { kty: 'RSA', n: n.toString('base64url'), e: Buffer.from(hex, 'hex').toString('base64url'), ...extra };
}

function junk(header, clientId = c.CLIENT_ID, sigBytes = 384) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: clientId, sub: clientId, aud: ISSUER, exp: now + 60, iat: now, jti: crypto.randomUUID() };
  // A leading zero byte keeps the signature below every modulus, so each key tried costs a full
  // modular exponentiation (a larger value is refused before it): the worst case.
  const signature = crypto.randomBytes(sigBytes);
  signature[0] = 0;
  return `${b64({ alg: 'RS256', typ: 'JWT', ...header })}.${b64(claims)}.${signature.toString('base64url')}`;
}

/** CPU microseconds per call of `fn` over `tokens` (awaited one at a time). */
async function cpuPer(fn, tokens) {
  for (const t of tokens.slice(0, 10)) await fn(t).catch(() => undefined);
  const t0 = process.cpuUsage();
  for (const t of tokens) await fn(t).catch(() => undefined);
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / tokens.length;
}

const authenticatorFor = (reg) =>
  core.createClientAuthenticator({
    issuer: ISSUER,
    clients: [{ clientId: c.CLIENT_ID, ...reg }],
    offload: 'never',
    replayStore: new core.MemoryReplayStore({ maxEntries: 1e6 }),
  });

async function runCpu() {
  const key = c.makeKey('RS256');
  const ordinary = authenticatorFor({ jwks: { keys: [key.publicJwk] } });
  const hundred = (bits, e, extra) => ({ keys: Array.from({ length: 100 }, () => hostileJwk(bits, e, extra)) });
  const cases = [
    ['100 × RSA-3072 sharing one kid', hundred(3072, 65537n, { kid: 'k' }), { kid: 'k' }, 384],
    ['100 × RSA-3072 sharing one x5t#S256', hundred(3072, 65537n, { 'x5t#S256': 't' }), { 'x5t#S256': 't' }, 384],
    ['100 × RSA-3072 without kid, no hint', hundred(3072, 65537n, {}), {}, 384],
    ['100 × RSA-3072, e = 2^32 - 1, sharing one kid', hundred(3072, 2n ** 32n - 1n, { kid: 'k' }), { kid: 'k' }, 384],
    ['100 × RSA-2048, e = 2^32 - 1, sharing one kid', hundred(2048, 2n ** 32n - 1n, { kid: 'k' }), { kid: 'k' }, 256],
    ['100 × RSA-8192 sharing one kid', hundred(8192, 65537n, { kid: 'k' }), { kid: 'k' }, 1024],
  ];
  let refused = false;
  try {
    authenticatorFor({ jwks: hundred(3072, (2n ** 3071n) | 1n, { kid: 'k' }) });
  } catch {
    refused = true;
  }
  const out = { refusedAtImport: refused, rows: [] };
  const per = { ordinary: [] };
  const auths = new Map(cases.map(([name, jwks]) => [name, authenticatorFor({ jwks })]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each hostile set is measured right after an ordinary verification run of its own, so that a
    // busy machine slows both sides of each ratio alike.
    for (const [name, , header, sig] of cases) {
      const valid = Array.from({ length: JUNK }, () => c.mint(key, ISSUER));
      const base = await cpuPer((t) => ordinary.authenticate(request(t)), valid);
      const tokens = Array.from({ length: name.includes('8192') ? Math.ceil(JUNK / 5) : JUNK }, () => junk(header, c.CLIENT_ID, sig));
      const auth = auths.get(name);
      (per[name] ??= []).push(await cpuPer((t) => auth.authenticate(request(t)), tokens));
      (per[`${name} base`] ??= []).push(base);
      per.ordinary.push(base);
    }
  }
  out.ordinaryUs = c.median(per.ordinary);
  for (const [name] of cases) {
    const base = per[`${name} base`];
    out.rows.push({ name, us: c.median(per[name]), ratio: c.median(per[name].map((x, i) => x / base[i])) });
  }
  return out;
}

async function runSweep() {
  const k = c.makeKey('RS256');
  const byUrl = new Map();
  const body = JSON.stringify({ keys: [k.publicJwk] });
  const server = http.createServer((req, res) => {
    byUrl.set(req.url, (byUrl.get(req.url) ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}/jwks`;
  const ids = Array.from({ length: IDS }, (_, i) => `client-${i}`);
  const auth = core.createClientAuthenticator({
    issuer: ISSUER,
    clients: ids.map((clientId) => ({ clientId, jwksUri: `${base}?${clientId}` })),
    replayStore: new core.MemoryReplayStore(),
    jwksOptions: { timeout: 10_000 },
  });
  const t0 = Date.now();
  const sweep = async (kid) => {
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.allSettled(ids.slice(i, i + 100).map((id) => auth.authenticate(request(junk(kid(), id, 256)))));
    }
  };
  try {
    await sweep(() => ({ kid: crypto.randomUUID() }));
    await sweep(() => ({}));
    await sweep(() => ({ kid: crypto.randomUUID() }));
  } finally {
    server.close();
  }
  const counts = [...byUrl.values()];
  return {
    ids: IDS,
    sweeps: 3,
    seconds: (Date.now() - t0) / 1000,
    uris: byUrl.size,
    fetches: counts.reduce((a, b) => a + b, 0),
    maxPerUri: Math.max(0, ...counts),
  };
}

async function runHostile() {
  return { cpu: await runCpu(), sweep: await runSweep() };
}

module.exports = { runHostile };

if (require.main === module) runHostile().then((r) => console.log(JSON.stringify(r, null, 1)));
