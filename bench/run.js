'use strict';
// `npm run bench`: builds (the npm script), then runs every phase once and prints medians of
// several interleaved rounds, ending with the performance budget of docs/DESIGN.md §7, each line marked
// met / not met. A full run writes its report to bench/results/node-<major>.md (one per Node line)
// and rebuilds bench/RESULTS.md, the budget of every Node line measured, side by side.
//
// Phases: core (child process) → http (servers in child processes, load from here) → jwks →
// hostile (key sets and a JWKS sweep, DESIGN §9) → keys (metadata documents, DESIGN §11) →
// id-jag (ID-JAG and DPoP token routes, DESIGN §10) → memory (child process).
// Knobs (environment):
//   BENCH_ONLY=core,http,jwks,hostile,keys,id-jag,memory   run some phases only (no results are then written);
//                          BENCH_ONLY=hostile runs just the hostile-key-set and JWKS-sweep lines
//   BENCH_CORE_ROUNDS (5)  BENCH_HTTP_ROUNDS (3)  BENCH_HTTP_SECONDS (3)  BENCH_HTTP_WARMUP (1)
//   BENCH_HTTP_PRIME (0 s per target, once, before the rounds); HTTP durations are whole seconds
//   BENCH_PROFILE=1        write a --cpu-prof profile of each HTTP server child to bench/profiles/
//   BENCH_CONNECTIONS (10) BENCH_POOL (60000 pre-minted RS256 assertions for the HTTP phase)
//   BENCH_TARGETS=regex    HTTP targets to measure (e.g. 'express/(raw-)?client'); prints raw figures only
//   BENCH_IDJAG_ROUNDS (5) BENCH_IDJAG_SECONDS (3)
//   BENCH_NO_RESULTS=1     do not write bench/results/ nor bench/RESULTS.md

const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const c = require('./lib/common');
const { runHttp } = require('./http');
const { runJwks } = require('./jwks');
const { runHostile } = require('./hostile');
const { runKeysFound, keysFoundSection } = require('./keys-found');
const { runIdJag, ID_JAG_BUDGET } = require('./id-jag');
const { writeResults } = require('./lib/results');

const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
const PHASES = ['core', 'http', 'jwks', 'hostile', 'keys', 'id-jag', 'memory'];
const ONLY = new Set((process.env.BENCH_ONLY ?? PHASES.join(',')).split(',').map((s) => s.trim()));
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

function runChild(file, execArgv, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, file), [], { execArgv, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result;
    child.on('message', (msg) => {
      if (msg?.type === 'result') result = msg.result;
    });
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`${file} exited with ${code} and no result`))));
  });
}

function machine() {
  let model = 'unknown';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    model = os.cpus()[0]?.model ?? model;
  }
  const nproc = os.availableParallelism?.() ?? os.cpus().length;
  return { model, nproc, platform: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version, memory: os.totalmem(), load: os.loadavg() };
}

function versions() {
  const names = [
    ['jwt-bearer-core'],
    ['express-jwt-bearer'],
    ['koa-jwt-bearer'],
    ['jsonwebtoken', 'jwt-bearer-core'],
    ['jwks-rsa', 'jwt-bearer-core'],
    ['lru-cache', 'jwt-bearer-core'],
    ['express', 'express-jwt-bearer'],
    ['koa', 'koa-jwt-bearer'],
    ['autocannon', 'jwt-bearer-bench'],
    ['oidc-provider', 'jwt-bearer-bench'],
  ];
  return names.map(([n, from]) => `${n} ${c.versionOf(n, from)}`).join(', ');
}

/** Median of the per-round ratios a[i] / b[i] (the two were measured side by side in round i). */
function ratio(a, b) {
  if (!a || !b) return NaN;
  return c.median(a.map((x, i) => x / b[i]));
}

/** Figures other than budget lines that the per-line results keep (see lib/results.js). */
const facts = {};

// ------------------------------------------------------------------------------------------------

function idJagSection(r, budget) {
  const out = [];
  out.push(
    `### ID-JAG token route (express-jwt-bearer on Express ${r.express}, \`serverOptions(app)\`; ${r.rounds} interleaved rounds of ${r.seconds} s, autocannon, ${r.connections} connections; fresh assertion and proof per request)`,
  );
  out.push('');
  const label = {
    plain: 'plain RFC 7523 grant (ES256)',
    'id-jag': 'ID-JAG (ES256) + client_secret_basic',
    'id-jag+dpop': 'ID-JAG bound by cnf.jkt + DPoP proof (ES256)',
  };
  out.push(
    c.table(
      ['route', 'req/s', 'server CPU µs/req', 'vs plain', 'vs plain by CPU'],
      Object.entries(r.routes).map(([name, m]) => [
        label[name] ?? name,
        c.fmtInt(m.rps),
        c.fmtInt(m.cpuPerRequest),
        name === 'plain' ? '' : c.fmtRatio(m.ratio),
        name === 'plain' ? '' : c.fmtRatio(m.cpuRatio),
      ]),
    ),
  );
  for (const [check, name, target] of ID_JAG_BUDGET) {
    budget.push({ check, value: r.routes[name].ratio, cpu: r.routes[name].cpuRatio, target, fmt: fmtBudgetRatio });
  }
  return out.join('\n');
}

function coreSection(core, budget) {
  const out = [];
  const R = core.results;
  const wide = `authenticate x${core.concurrency}`;
  const cols = ['raw', 'hand', 'jsonwebtoken', 'authenticate', 'verify', 'authenticate (jwksUri)', wide];
  out.push(`### Core: operations per second (median of ${core.rounds} rounds; one pass over a pool of pre-minted assertions per trial)`);
  out.push('');
  out.push(
    `Calls are awaited one at a time, except in the last column (${core.concurrency} calls in flight, as on a busy server): there the default \`offload: 'auto'\` verifies on libuv's thread pool and can use a second core, so that column is not comparable with the single-threaded floor and hand-written pipeline; it shows what a busy server gets.`,
  );
  out.push('');
  out.push(
    c.table(
      [
        'alg',
        'crypto.verify (floor)',
        'hand-written',
        'jsonwebtoken.verify',
        'authenticate',
        'verify (grant)',
        'authenticate, jwksUri',
        `authenticate, ${core.concurrency} in flight`,
      ],
      core.algorithms.map((alg) => [alg, ...cols.map((k) => (R[alg][k] ? c.fmtInt(c.median(R[alg][k])) : 'n/a'))]),
    ),
  );
  out.push('');
  out.push('### Core: ratios (median of per-round ratios)');
  out.push('');
  const rows = core.algorithms.map((alg) => {
    const r = R[alg];
    return [
      alg,
      c.fmtRatio(ratio(r.hand, r.raw)),
      c.fmtRatio(ratio(r.jsonwebtoken, r.raw)),
      c.fmtRatio(ratio(r.authenticate, r.raw)),
      c.fmtRatio(ratio(r.verify, r.raw)),
      c.fmtRatio(ratio(r.jsonwebtoken, r.hand)),
      c.fmtRatio(ratio(r.authenticate, r.hand)),
      c.fmtRatio(ratio(r.verify, r.hand)),
      c.fmtRatio(ratio(r['authenticate (jwksUri)'], r.hand)),
      c.fmtRatio(ratio(r[wide], r.authenticate)),
    ];
  });
  out.push(
    c.table(
      [
        'alg',
        'hand/floor',
        'jwt/floor',
        'authenticate/floor',
        'verify/floor',
        'jwt/hand',
        'authenticate/hand',
        'verify/hand',
        'authenticate jwksUri/hand',
        `${core.concurrency} in flight/one at a time`,
      ],
      rows,
    ),
  );
  for (const [alg, target] of [
    ['RS256', 0.65],
    ['ES256', 0.85],
  ]) {
    const r = R[alg];
    if (!r) continue;
    budget.push({ check: `core ${alg} authenticate / hand-written pipeline`, value: ratio(r.authenticate, r.hand), target, fmt: fmtBudgetRatio });
    budget.push({ check: `core ${alg} verify (grant) / hand-written pipeline`, value: ratio(r.verify, r.hand), target, fmt: fmtBudgetRatio });
  }
  return out.join('\n');
}

function httpSection(h, budget) {
  const out = [];
  const R = h.results;
  const med = (id, k) => c.median(R[id].map((m) => m[k]));
  const rps = (id) => R[id].map((m) => m.rps);
  // Inverse CPU per request, so that "higher is better" as for req/s.
  const eff = (id) => R[id].map((m) => 1 / m.cpuPerRequest);
  out.push(
    `### HTTP: req/s, latency (median of ${h.rounds} interleaved rounds of ${h.seconds} s after a ${h.warmup} s warm-up; autocannon, ${h.connections} connections, separate process, 127.0.0.1; fresh RS256 assertion per request)`,
  );
  out.push('');
  const rows = [];
  const appLabel = { express: 'express', 'express-plain': 'express (plain server)', koa: 'koa' };
  for (const app of ['express', 'express-plain', 'koa']) {
    for (const [route, label, raw] of [
      ['noop', 'no-op route', null],
      ['raw-client', 'hand-written client_credentials', null],
      ['client', 'clientAssertion + client_credentials', 'raw-client'],
      ['client-loop', "clientAssertion (offload: 'never') + client_credentials", 'raw-client'],
      ['raw-grant', 'hand-written jwt-bearer grant', null],
      ['grant', 'jwtBearerGrant + issueToken', 'raw-grant'],
    ]) {
      const id = `${app}/${route}`;
      if (!R[id]) continue;
      const bad = R[id].reduce((s, m) => s + m.non2xx + m.errors, 0);
      rows.push([
        `${appLabel[app]} ${label}`,
        c.fmtInt(med(id, 'rps')),
        med(id, 'p50').toFixed(1),
        med(id, 'p99').toFixed(1),
        c.fmtInt(med(id, 'cpuPerRequest')),
        c.median(R[id].map((m) => (m.rps * m.cpuPerRequest) / 1e6)).toFixed(2),
        route === 'noop' ? '' : c.fmtRatio(ratio(rps(id), rps(`${app}/noop`))),
        raw ? `${c.fmtRatio(ratio(rps(id), rps(`${app}/${raw}`)))} (cpu ${c.fmtRatio(ratio(eff(id), eff(`${app}/${raw}`)))})` : '',
        route.includes('client') ? `${c.fmtRatio(ratio(rps(id), rps('oidc-provider')))} (cpu ${c.fmtRatio(ratio(eff(id), eff('oidc-provider')))})` : '',
        bad ? String(bad) : '0',
      ]);
    }
  }
  const ob = R['oidc-provider'].reduce((s, m) => s + m.non2xx + m.errors, 0);
  rows.push([
    `oidc-provider ${h.oidcVersion} /token (private_key_jwt)`,
    c.fmtInt(med('oidc-provider', 'rps')),
    med('oidc-provider', 'p50').toFixed(1),
    med('oidc-provider', 'p99').toFixed(1),
    c.fmtInt(med('oidc-provider', 'cpuPerRequest')),
    c.median(R['oidc-provider'].map((m) => (m.rps * m.cpuPerRequest) / 1e6)).toFixed(2),
    c.fmtRatio(ratio(rps('oidc-provider'), rps('koa/noop'))),
    '',
    '1.00×',
    String(ob),
  ]);
  out.push(
    c.table(
      ['route', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'server cores busy', 'vs no-op', 'vs hand-written', 'vs oidc-provider', 'non-2xx/errors'],
      rows,
    ),
  );
  out.push('');
  out.push(
    '"express" is served with `serverOptions(app)` from express-jwt-bearer, as its README advises; "express (plain server)" is the same app behind Node\'s default `http.createServer(app)`, where Express\'s per-request prototype swap costs what the "Express with and without serverOptions" figures show: much on Node 20 and 22, little on 24 and later (bench/README.md). Each app runs in its own process.',
  );
  out.push('');
  out.push(
    "\"Server cores busy\" = req/s × CPU per request (all threads of the server process). The hand-written routes and `offload: 'never'` verify on the event loop (≤ 1 core); the middleware's default `offload: 'auto'` moves signature checks to libuv's thread pool while requests overlap, as oidc-provider does with WebCrypto (jose). The load generator needs most of the other core.",
  );
  out.push('');
  out.push(
    `Assertion pool: ${h.poolSize} pre-minted RS256 assertions (iss = sub = ${c.CLIENT_ID}, aud = ${h.issuer}, the issuer identifier of both oidc-provider and our servers); our servers' replay stores are replaced before each measurement, oidc-provider's is never reset and gets a disjoint part of the pool.`,
  );
  for (const fw of ['express', 'koa']) {
    budget.push({
      check: `${fw} clientAssertion route / hand-written route`,
      value: ratio(rps(`${fw}/client`), rps(`${fw}/raw-client`)),
      cpu: ratio(eff(`${fw}/client`), eff(`${fw}/raw-client`)),
      target: 0.85,
      fmt: fmtBudgetRatio,
    });
    budget.push({
      check: `${fw} jwtBearerGrant route / hand-written route`,
      value: ratio(rps(`${fw}/grant`), rps(`${fw}/raw-grant`)),
      cpu: ratio(eff(`${fw}/grant`), eff(`${fw}/raw-grant`)),
      target: 0.85,
      fmt: fmtBudgetRatio,
    });
  }
  const vsOidc = (id) => ({ value: ratio(rps(id), rps('oidc-provider')), cpu: ratio(eff(id), eff('oidc-provider')), target: 1.5, fmt: fmtBudgetRatio });
  budget.push({ check: 'express clientAssertion route / oidc-provider', ...vsOidc('express/client') });
  budget.push({ check: 'koa clientAssertion route / oidc-provider', ...vsOidc('koa/client') });
  // Not a budget line: what an Express app gets without serverOptions(app), and what a
  // hand-written route gets there, so the cost of Express's default server stays in sight.
  budget.push({ check: 'reference: express (plain server) clientAssertion route / oidc-provider', ...vsOidc('express-plain/client'), reference: true });
  budget.push({ check: 'reference: express (plain server) hand-written route / oidc-provider', ...vsOidc('express-plain/raw-client'), reference: true });
  // What serverOptions(app) buys on this Node line (the README quotes these, per line).
  const cpuOf = (id) => med(id, 'cpuPerRequest');
  facts.serverOptions = ['noop', 'raw-client', 'client'].map((route) => ({
    route,
    plainRps: med(`express-plain/${route}`, 'rps'),
    rps: med(`express/${route}`, 'rps'),
    ratio: ratio(rps(`express/${route}`), rps(`express-plain/${route}`)),
    plainCpu: cpuOf(`express-plain/${route}`),
    cpu: cpuOf(`express/${route}`),
  }));
  facts.koaNoopCpu = cpuOf('koa/noop');
  return out.join('\n');
}

function jwksSection(j, budget) {
  const out = [];
  out.push(`### JWKS: key set fetches caused by ${j.n} concurrent verifications (jwks-rsa fetch through our cache; cooldown ${j.cooldown} s for this test)`);
  out.push('');
  const rows = [
    ['one new kid, cold cache', j.newKidCold],
    ['one kid rotated in, warm cache, cooldown passed', j.rotatedKidWarm],
    [`${j.n} random unknown kids, cold cache`, j.unknownKidsCold],
    [`${j.n} random unknown kids, warm cache, cooldown passed`, j.unknownKidsWarm],
  ].map(([label, r]) => [label, String(r.fetches), String(r.ok), `${r.refused}${r.codes.length ? ` (${r.codes.join(', ')})` : ''}`, r.ms.toFixed(0)]);
  out.push(c.table(['case', 'fetches', 'accepted', 'refused', 'ms'], rows));
  const cnt = (n) => `${n} fetch${n === 1 ? '' : 'es'}`;
  budget.push({
    check: `JWKS: ${j.n} concurrent verifications of one new kid (cold)`,
    value: j.newKidCold.fetches,
    target: 1,
    exact: true,
    fmt: cnt,
    ok: j.newKidCold.fetches === 1 && j.newKidCold.ok === j.n,
  });
  budget.push({
    check: `JWKS: ${j.n} concurrent verifications of a rotated-in kid (warm)`,
    value: j.rotatedKidWarm.fetches,
    target: 1,
    exact: true,
    fmt: cnt,
    ok: j.rotatedKidWarm.fetches === 1 && j.rotatedKidWarm.ok === j.n,
  });
  const worst = Math.max(j.unknownKidsCold.fetches, j.unknownKidsWarm.fetches);
  budget.push({
    check: `JWKS: ${j.n} random unknown kids (cold and warm, worst)`,
    value: worst,
    target: 2,
    max: true,
    fmt: cnt,
    ok: worst <= 2 && j.unknownKidsCold.ok === 0 && j.unknownKidsWarm.ok === 0,
  });
  return out.join('\n');
}

function memorySection(m) {
  return [
    `### Memory: MemoryReplayStore with ${c.fmtInt(m.entries)} distinct jtis (node --expose-gc, keys as the core builds them)`,
    '',
    c.table(
      ['measure', 'value'],
      [
        ['heap + external bytes per entry (marginal)', `${Math.round(m.bytesPerEntry)} B`],
        ['bytes per entry, including the store itself', `${Math.round(m.bytesPerEntryWithPreallocation)} B`],
        ['RSS before → after', `${c.fmtBytes(m.rssBefore)} → ${c.fmtBytes(m.rssAfter)}`],
        ['claims per second while filling', c.fmtInt(m.claimsPerSecond)],
        ['full store refuses the next claim (fails closed)', m.refusedWhenFull ? 'yes' : 'NO'],
      ],
    ),
  ].join('\n');
}

function hostileSection(h, budget) {
  const { cpu, sweep } = h;
  const out = [];
  out.push(
    "### Hostile key sets: CPU per junk assertion (random signature), as a ratio to one ordinary RS256 verification (median of per-round ratios; process CPU time; `offload: 'never'`; signatures below every modulus, so each key tried costs a full check)",
  );
  out.push('');
  out.push(
    `The set of issue 12 finding 2 itself (100 × RSA-3072 with 3072-bit public exponents sharing one kid) is ${cpu.refusedAtImport ? 'refused at import' : 'NOT refused at import'}. Ordinary RS256 verification: ${cpu.ordinaryUs.toFixed(0)} µs CPU.`,
  );
  out.push('');
  out.push(
    c.table(
      ['key set', 'µs CPU per junk assertion', 'ratio'],
      cpu.rows.map((r) => [r.name, r.us.toFixed(0), c.fmtRatio(r.ratio)]),
    ),
  );
  out.push('');
  out.push(
    'RSA-8192 is a reference line, not counted: one such key costs ≈ 16 checks of a 2048-bit key by itself, hostile or not; the bound is on how many keys one assertion can make us try.',
  );
  out.push('');
  out.push(
    `### JWKS sweep: junk assertions through ${sweep.ids} known client ids, each with its own jwksUri (default maxKeySets 1000), ${sweep.sweeps} sweeps within one cooldown`,
  );
  out.push('');
  out.push(
    c.table(
      ['URIs fetched', 'fetches', 'most fetches of one URI', 's'],
      [[String(sweep.uris), String(sweep.fetches), String(sweep.maxPerUri), sweep.seconds.toFixed(1)]],
    ),
  );
  const counted = cpu.rows.filter((r) => !r.name.includes('8192'));
  const worst = Math.max(...counted.map((r) => r.ratio));
  budget.push({
    check: 'hostile key sets: worst CPU per junk assertion / ordinary RS256 verification',
    value: worst,
    target: 5,
    max: true,
    fmt: fmtBudgetRatio,
    ok: cpu.refusedAtImport && worst <= 5,
  });
  const ref = cpu.rows.find((r) => r.name.includes('8192'));
  if (ref)
    budget.push({
      check: 'reference: 100 × RSA-8192 sharing one kid / ordinary RS256 verification',
      value: ref.ratio,
      target: 5,
      max: true,
      fmt: fmtBudgetRatio,
      reference: true,
    });
  const cnt = (n) => String(n);
  budget.push({ check: `JWKS: fetches per URI per interval, sweep through ${sweep.ids} known ids`, value: sweep.maxPerUri, target: 1, max: true, fmt: cnt });
  return out.join('\n');
}

/** Budget figures with three decimals, so that a ratio just under its target does not print as equal to it. */
const fmtBudgetRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(3)}×` : 'n/a');

function budgetSection(budget) {
  const rows = budget.map((b) => {
    const ok = b.ok ?? (b.exact ? b.value === b.target : b.max ? b.value <= b.target : b.value >= b.target);
    b.met = ok;
    const target = b.exact ? `= ${b.fmt(b.target)}` : b.max ? `≤ ${b.fmt(b.target)}` : `≥ ${b.fmt(b.target)}`;
    b.targetText = target;
    const status = b.reference ? `(${ok ? 'would be met' : 'would not be met'})` : ok ? 'met' : 'NOT MET';
    return [b.check, b.fmt(b.value), b.cpu === undefined ? '' : fmtBudgetRatio(b.cpu), target, status];
  });
  return [
    '### Budget ([docs/DESIGN.md §7](../docs/DESIGN.md#7-performance-budget))',
    '',
    c.table(['check', 'measured', 'by server CPU/request', 'target', 'status'], rows),
    '',
    'Status is judged on the measured figure (req/s for HTTP). "By server CPU/request" is the same ratio computed from the',
    "server process's CPU time per request instead of its throughput: less sensitive to a busy machine, shown as a cross-check.",
    '"express" lines are Express served with `serverOptions(app)`; the "reference" lines, not counted, show the same app',
    "behind Node's default server (on Node 20 and 22 Express itself then costs ≈ 65–240 µs more per request; bench/README.md).",
  ].join('\n');
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const m = machine();
  const header = [
    `## jwt-bearer benchmarks — ${new Date().toISOString()}`,
    '',
    `- machine: ${m.nproc} × ${m.model} (nproc ${m.nproc}), ${c.fmtBytes(m.memory)} RAM, ${m.platform}, load average at start ${m.load.map((x) => x.toFixed(2)).join(' ')}`,
    `- Node ${m.node}; ${versions()}`,
    '- command: `npm run bench` (= `npm run build && node bench/run.js`)',
  ].join('\n');
  console.log(header);
  console.log('');
  const sections = [];
  const budget = [];

  if (ONLY.has('core')) {
    c.log(`[${elapsed()}] core …`);
    const core = await runChild('core.js', ['--expose-gc'], { BENCH_CORE_ROUNDS: String(env('BENCH_CORE_ROUNDS', 5)) });
    const s = coreSection(core, budget);
    console.log(`${s}\n`);
    sections.push(s);
  }
  if (ONLY.has('http')) {
    c.log(`[${elapsed()}] http …`);
    const h = await runHttp({
      // autocannon runs whole seconds (it rounds a duration up).
      seconds: Math.ceil(env('BENCH_HTTP_SECONDS', 3)),
      warmup: Math.ceil(env('BENCH_HTTP_WARMUP', 1)),
      prime: Math.ceil(env('BENCH_HTTP_PRIME', 0)),
      rounds: env('BENCH_HTTP_ROUNDS', 3),
      poolSize: env('BENCH_POOL', 60_000),
      connections: env('BENCH_CONNECTIONS', 10),
      profile: process.env.BENCH_PROFILE === '1',
      filter: process.env.BENCH_TARGETS,
    });
    if (process.env.BENCH_TARGETS) {
      for (const [id, ms] of Object.entries(h.results)) {
        console.log(`${id}: ${ms.map((x) => `${c.fmtInt(x.rps)} req/s p50 ${x.p50} p99 ${x.p99} cpu ${x.cpuPerRequest.toFixed(0)}µs`).join(' | ')}`);
      }
    } else {
      const s = httpSection(h, budget);
      console.log(`${s}\n`);
      sections.push(s);
    }
  }
  if (ONLY.has('jwks')) {
    c.log(`[${elapsed()}] jwks …`);
    const s = jwksSection(await runJwks(), budget);
    console.log(`${s}\n`);
    sections.push(s);
  }
  if (ONLY.has('hostile')) {
    c.log(`[${elapsed()}] hostile …`);
    const s = hostileSection(await runHostile(), budget);
    console.log(`${s}\n`);
    sections.push(s);
  }
  if (ONLY.has('keys')) {
    c.log(`[${elapsed()}] keys …`);
    const s = keysFoundSection(await runKeysFound(), budget, fmtBudgetRatio);
    console.log(`${s}\n`);
    sections.push(s);
  }
  if (ONLY.has('id-jag')) {
    c.log(`[${elapsed()}] id-jag …`);
    const s = idJagSection(await runIdJag({ rounds: env('BENCH_IDJAG_ROUNDS', 5), seconds: env('BENCH_IDJAG_SECONDS', 3) }), budget);
    console.log(`${s}\n`);
    sections.push(s);
  }
  if (ONLY.has('memory')) {
    c.log(`[${elapsed()}] memory …`);
    const s = memorySection(await runChild('memory.js', ['--expose-gc']));
    console.log(`${s}\n`);
    sections.push(s);
  }
  const b = budgetSection(budget);
  console.log(b);
  console.log('');
  const counted = budget.filter((x) => !x.reference);
  const met = counted.filter((x) => x.met).length;
  const footer = `${met} of ${counted.length} budget lines met; total run time ${elapsed()}.`;
  console.log(footer);

  const all = PHASES.every((p) => ONLY.has(p));
  if (all && process.env.BENCH_NO_RESULTS !== '1') {
    const written = writeResults(__dirname, { machine: m, versions: versions(), header, budget, budgetText: b, footer, sections, facts });
    for (const file of written) c.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
