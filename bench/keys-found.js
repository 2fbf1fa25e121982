'use strict';
// Keys phase (DESIGN §11): what a client ID metadata document client costs once its document and
// key set are cached, next to a registered client with a jwksUri, and how many fetches 200
// concurrent first requests of one new document client cause. Document and key sets are served by
// a node:http server on 127.0.0.1 (allowPrivateNetwork, as in tests; the cost with warm caches is
// the same as over https to a public host), with a few ms of latency so concurrent callers overlap.
//
//   A. authenticate/s: document client (warm) / registered jwksUri client      target ≥ 0.9×
//   B. 200 concurrent first requests of one new document client                target: 1 document + 1 key set fetch
//
// Run alone: node bench/keys-found.js (after npm run build); npm run bench runs it as phase "keys".

const http = require('node:http');
const c = require('./lib/common');
const core = require('jwt-bearer-core');

const ROUNDS = Number(process.env.BENCH_KEYS_ROUNDS || 7);
const BATCH = Number(process.env.BENCH_KEYS_BATCH || 3000);
const N = 200;

async function runKeysFound() {
  const key = c.makeKey('ES256');
  const jwks = JSON.stringify({ keys: [{ ...key.publicJwk, kid: key.kid }] });
  const hits = {};
  let origin = '';
  const server = http.createServer((req, res) => {
    hits[req.url] = (hits[req.url] ?? 0) + 1;
    const send = (body) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' }).end(body), 3);
    if (req.url === '/jwks' || req.url.endsWith('-jwks')) send(jwks);
    else if (req.url.endsWith('.json')) {
      const name = req.url.slice(1, -'.json'.length);
      send(JSON.stringify({ client_id: `${origin}${req.url}`, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${origin}/${name}-jwks` }));
    } else res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  const issuer = 'https://as.example.com';
  const cimdId = `${origin}/warm.json`;
  const common = { issuer, offload: 'never', replayStore: new core.MemoryReplayStore({ max: 1_000_000 }) };
  const registered = core.createClientAuthenticator({ ...common, clients: [{ clientId: c.CLIENT_ID, jwksUri: `${origin}/jwks` }] });
  const documents = core.createClientAuthenticator({ ...common, clients: () => undefined, clientIdMetadataDocuments: { allowPrivateNetwork: true } });
  const request = (token) => ({ body: { client_assertion_type: c.CLIENT_ASSERTION_TYPE, client_assertion: token }, headers: {} });
  const mintFor = (id) => c.mint(key, issuer, { issuer: id, subject: id });

  try {
    // Warm both caches.
    await registered.authenticate(request(mintFor(c.CLIENT_ID)));
    await documents.authenticate(request(mintFor(cimdId)));

    async function measure(auth, id) {
      const tokens = Array.from({ length: BATCH }, () => mintFor(id));
      const t0 = process.hrtime.bigint();
      for (const t of tokens) await auth.authenticate(request(t));
      return BATCH / (Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const reg = [];
    const doc = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      // Interleaved, alternating which goes first, so drift affects both alike.
      if (i % 2 === 0) {
        reg.push(await measure(registered, c.CLIENT_ID));
        doc.push(await measure(documents, cimdId));
      } else {
        doc.push(await measure(documents, cimdId));
        reg.push(await measure(registered, c.CLIENT_ID));
      }
    }

    // B: a fresh authenticator and a document never seen, N requests at once.
    let firstError;
    const fresh = core.createClientAuthenticator({
      ...common,
      clients: () => undefined,
      clientIdMetadataDocuments: { allowPrivateNetwork: true },
      onError: (e) => (firstError ??= `${e.code}: ${e.detail}`),
    });
    const burstId = `${origin}/burst.json`;
    const settled = await Promise.allSettled(Array.from({ length: N }, () => fresh.authenticate(request(mintFor(burstId)))));
    const burst = {
      ok: settled.filter((s) => s.status === 'fulfilled').length,
      documentFetches: hits['/burst.json'] ?? 0,
      keySetFetches: hits['/burst-jwks'] ?? 0,
      firstError,
    };
    return { n: N, rounds: ROUNDS, batch: BATCH, registered: c.median(reg), document: c.median(doc), burst };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function keysFoundSection(k, budget, fmtRatio) {
  const ratio = k.document / k.registered;
  const out = [
    `### Keys found by the server: client ID metadata documents (ES256, warm caches, median of ${k.rounds} rounds of ${k.batch} sequential requests)`,
    '',
    c.table(
      ['client', 'authenticate/s'],
      [
        ['registered, jwksUri', c.fmtInt(k.registered)],
        ['client ID metadata document (jwks_uri)', c.fmtInt(k.document)],
      ],
    ),
    '',
    `${k.n} concurrent first requests of one new document client: ${k.burst.ok} accepted, ${k.burst.documentFetches} document fetch(es), ${k.burst.keySetFetches} key set fetch(es).`,
  ];
  budget.push({ check: 'metadata document client (warm) / registered jwksUri client', value: ratio, target: 0.9, fmt: fmtRatio });
  budget.push({
    check: `${k.n} concurrent first requests of a new document client: document + key set fetches`,
    value: k.burst.documentFetches + k.burst.keySetFetches,
    target: 2,
    exact: true,
    fmt: (n) => `${n} fetches`,
    ok: k.burst.documentFetches === 1 && k.burst.keySetFetches === 1 && k.burst.ok === k.n,
  });
  return out.join('\n');
}

module.exports = { runKeysFound, keysFoundSection };

if (require.main === module) {
  runKeysFound().then((k) => {
    const budget = [];
    console.log(keysFoundSection(k, budget, (r) => `${r.toFixed(3)}×`));
    for (const b of budget) {
      const ok = b.ok ?? b.value >= b.target;
      console.log(`${b.check}: ${b.fmt(b.value)} (target ${b.exact ? '=' : '≥'} ${b.fmt(b.target)}) ${ok ? 'met' : 'NOT MET'}`);
    }
  });
}
