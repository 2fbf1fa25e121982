/*
 * Property-based fuzzing of both adapters over HTTP (supertest against Express 5 and Koa 3 apps,
 * with and without the framework's own body parsers mounted first): random and mutated
 * parameters, bodies, content types, headers and JWTs, duplicated parameters, prototype-pollution
 * keys, and long pathological strings up to (and past) the size limits.
 *
 * Every answer is a well-formed RFC 6749 JSON error (400/401/503, known code, fixed description,
 * Cache-Control: no-store), the app's own answer for a request that is not for the middleware, or
 * — only for a genuine assertion's first use — a success; never a 500, never an unhandled
 * rejection or uncaught exception, always within 2 s.
 *
 * FUZZ_SEED / FUZZ_RUNS: see test/support/hostile/fuzz.ts.
 */
import * as http from 'node:http';
import fc from 'fast-check';
import { JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE, parseForm } from 'jwt-bearer-core';
import { FUZZ_RUNS, fuzzParams, longString, Minted, mutate, mutationArb, NASTY_CHARS, Tally } from '../support/hostile/fuzz';
import { encodeForm, rawRequest } from '../support/hostile/http';
import { b64u, segment } from '../support/hostile/keys';
import { APP_FALLBACK_BODY, HTTP_TARGETS, startTarget, type Target } from '../support/hostile/targets';
import { errorProblem, type Answer } from '../support/hostile/oauth';
import { watchProcessErrors, type ProcessErrors } from '../support/hostile/process';
import { clientAssertionFor, GRANT_ISSUER, GRANT_ISSUER_EC, grantAssertionFor, HS_SECRET, world } from '../support/hostile/world';
import { printStatistics } from '../support/verbose';

const w = world();
const BOUND_MS = 2000;
/** Jest timeout of each property: generous, and growing with FUZZ_RUNS. */
const PROPERTY_TIMEOUT_MS = 60_000 + FUZZ_RUNS * 600;
const tally = new Tally();
let guard: ProcessErrors;

type Variant = 'plain' | 'parser';
interface App {
  label: string;
  name: 'express' | 'koa';
  variant: Variant;
  target: Target;
}
const apps: App[] = [];

beforeAll(async () => {
  guard = watchProcessErrors();
  for (const name of HTTP_TARGETS) {
    for (const variant of ['plain', 'parser'] as const) {
      const target = await startTarget(name, { ...w.config(), bodyParser: variant === 'parser' });
      apps.push({ label: `${name}/${variant}`, name: name as 'express' | 'koa', variant, target });
    }
  }
});

afterAll(async () => {
  guard.stop();
  for (const app of apps) await app.target.close();
  printStatistics(tally.line('http'));
});

// Genuine tokens: a pool minted up front, plus fresh ones minted per case (EC: fast to sign).
const minted = new Minted();
const pool: string[] = [];
for (let i = 0; i < 8; i++) {
  pool.push(minted.add(grantAssertionFor(GRANT_ISSUER, w.rsa, { claims: { exp: Math.floor(Date.now() / 1000) + 600 } })));
  pool.push(minted.add(clientAssertionFor(['client-rsa', 'client-ec', 'client-ed', 'client-hs'][i % 4]!, [w.rsa, w.ec, w.ed, HS_SECRET][i % 4]!)));
}
const freshGrant = () => minted.add(grantAssertionFor(GRANT_ISSUER_EC, w.ec));
const freshClient = () => minted.add(clientAssertionFor('client-ec', w.ec));

const PARAM_KEYS = [
  'grant_type',
  'assertion',
  'scope',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'audience',
  'resource',
  'client-request-id',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__proto__[polluted]',
  'constructor[prototype][polluted]',
  'assertion[]',
  'grant_type[]',
  'client_assertion[0]',
  'a[b][c]',
  '',
];

type ValueSpec =
  | { kind: 'text'; text: string }
  | { kind: 'pool'; index: number }
  | { kind: 'mutated'; index: number; mutations: ReturnType<typeof mutationArb> extends fc.Arbitrary<infer M> ? M[] : never }
  | { kind: 'urn'; which: 'grant' | 'client' };

const valueArb: fc.Arbitrary<ValueSpec> = fc.oneof(
  fc
    .constantFrom('', ' ', 'null', 'undefined', '[object Object]', 'true', '-1', '1e400', '%00', 'read write', 'a"b', 'client-ec', 'client-rsa')
    .map((text) => ({ kind: 'text' as const, text })),
  fc.string({ unit: 'grapheme', maxLength: 24 }).map((text) => ({ kind: 'text' as const, text })),
  fc.string({ unit: 'binary', maxLength: 24 }).map((text) => ({ kind: 'text' as const, text })),
  fc.nat(pool.length - 1).map((index) => ({ kind: 'pool' as const, index })),
  fc
    .record({ index: fc.nat(pool.length - 1), mutations: fc.array(mutationArb(pool.length), { minLength: 1, maxLength: 2 }) })
    .map((r) => ({ kind: 'mutated' as const, ...r })),
  fc.constantFrom('grant', 'client').map((which) => ({ kind: 'urn' as const, which: which as 'grant' | 'client' })),
  longString(3000).map((text) => ({ kind: 'text' as const, text })),
);

function resolveValue(v: ValueSpec): string {
  switch (v.kind) {
    case 'text':
      return v.text;
    case 'pool':
      return pool[v.index]!;
    case 'mutated':
      return v.mutations.reduce((t, m) => mutate(t, m, pool), pool[v.index]!);
    case 'urn':
      return v.which === 'grant' ? JWT_BEARER_GRANT_TYPE : JWT_BEARER_CLIENT_ASSERTION_TYPE;
  }
}

const FORM_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded;charset=ISO-8859-1',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/x-www-form-urlencoded; charset="UTF-8"',
  'application/x-www-form-urlencoded; charset=utf-16',
  'application/x-www-form-urlencoded; foo=bar; charset=',
  'application/x-www-form-urlencoded ; charset = utf-8',
];
const OTHER_TYPES = [
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=xyz',
  'application/x-www-form-urlencoded, application/json',
  'application/jwt',
  'application/x-www-form-urlencodedx',
  '*/*',
];
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const contentTypeArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FORM_TYPES) },
  { weight: 3, arbitrary: fc.constantFrom(...OTHER_TYPES) },
  { weight: 1, arbitrary: fc.string({ unit: printable, minLength: 1, maxLength: 60 }).map((s) => s.trim() || 'x') },
);
const authorizationArb = fc.oneof(
  fc.constantFrom(`Basic ${Buffer.from('client-ec:secret').toString('base64')}`, 'Bearer abc', 'Basic', 'garbage', 'Basic %%%', `Basic ${'A'.repeat(6000)}`),
  fc.string({ unit: printable, maxLength: 40 }),
);

const isForm = (contentType: string | undefined) => contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';

interface Sent {
  app: App;
  route: '/token' | '/client';
  contentType: string | undefined;
  body: string;
}

/** Why the answer breaks the properties, or undefined. */
function judge(sent: Sent, answer: Answer): string | undefined {
  if (!(answer.ms < BOUND_MS)) return `answered in ${Math.round(answer.ms)} ms`;
  const handler = answer.headers['x-handler'];
  const form = isForm(sent.contentType) ? parseForm(sent.body) : undefined;
  if (handler === 'app') {
    if (answer.status !== 400 || JSON.stringify(answer.body) !== JSON.stringify(APP_FALLBACK_BODY)) return 'bad app fallback answer';
    if (sent.app.variant === 'plain' && form && [form.grant_type].flat().includes(JWT_BEARER_GRANT_TYPE)) {
      return 'a jwt-bearer grant request was passed on to the app';
    }
    return undefined;
  }
  if (handler === 'app-parser') {
    if (sent.app.variant !== 'parser') return 'app parser error without a parser';
    return answer.status >= 400 && answer.status < 500 ? undefined : `app parser answered ${answer.status}`;
  }
  if (handler !== undefined) return `answered by ${String(handler)} with ${answer.status}`;
  if (answer.status === 200) {
    // Only a genuine assertion, first used, may succeed; and only when sent as a form.
    if (!form) return 'success without a form body';
    const principals: Array<[string, string, { claims: Record<string, unknown> }]> = [];
    if (sent.route === '/token') principals.push(['grant', 'assertion', answer.body?.grant]);
    if (answer.body?.client) principals.push(['client', 'client_assertion', answer.body.client]);
    if (principals.length === 0 || principals.some(([, , p]) => p === undefined)) return 'success without a principal';
    for (const [use, param, principal] of principals) {
      const value = form[param];
      if (typeof value !== 'string' || !minted.isGenuine(value)) return `${use} accepted a token that is not genuine: ${String(value).slice(0, 80)}`;
      if (!minted.firstSuccess(`${sent.app.label}:${use}`, principal.claims.iss, principal.claims.jti)) return `${use} replay accepted`;
    }
    tally.note('successes');
    return undefined;
  }
  return errorProblem(answer);
}

async function send(sent: Sent, headers: Record<string, string> = {}): Promise<Answer> {
  const t = sent.app.target;
  const params = sent.body;
  return sent.route === '/token' ? t.token(params, headers, sent.contentType) : t.client(params, headers, sent.contentType);
}

function check(sent: Sent, answer: Answer): void {
  const problem = judge(sent, answer);
  if (problem !== undefined) {
    throw new Error(
      `${sent.app.label} ${sent.route}: ${problem}\n  content-type ${JSON.stringify(sent.contentType)}\n  body ${JSON.stringify(sent.body.slice(0, 400))}\n  answer ${answer.status} ${answer.text.slice(0, 300)}`,
    );
  }
}

const appIndex = () => fc.nat(3);

test('the fuzzed apps are up (two adapters × with and without body parsers)', () => {
  expect(apps.map((a) => a.label)).toEqual(['express/plain', 'express/parser', 'koa/plain', 'koa/parser']);
});

test(
  'random parameters, bodies, content types and headers',
  async () => {
    const requestArb = fc.record({
      app: appIndex(),
      route: fc.constantFrom('/token' as const, '/client' as const),
      base: fc.constantFrom('grant', 'client', 'both', 'none'),
      extra: fc.array(
        fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PARAM_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), valueArb),
        { maxLength: 5 },
      ),
      drop: fc.subarray(['grant_type', 'assertion', 'client_assertion', 'client_assertion_type']),
      encoding: fc.constantFrom('form', 'form', 'form', 'raw', 'json', 'garbage'),
      contentType: contentTypeArb,
      authorization: fc.option(authorizationArb, { nil: undefined, freq: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        tally.add('random requests');
        const entries: Array<[string, string]> = [];
        if (r.base === 'grant' || r.base === 'both') entries.push(['grant_type', JWT_BEARER_GRANT_TYPE], ['assertion', freshGrant()]);
        if (r.base === 'client' || r.base === 'both') {
          entries.push(['client_assertion_type', JWT_BEARER_CLIENT_ASSERTION_TYPE], ['client_assertion', freshClient()]);
        }
        const kept = entries.filter(([k]) => !r.drop.includes(k));
        for (const [k, v] of r.extra) kept.push([k, resolveValue(v)]);
        let body: string;
        if (r.encoding === 'form') {
          const form = new URLSearchParams();
          for (const [k, v] of kept) form.append(k, v);
          body = form.toString();
        } else if (r.encoding === 'raw') {
          body = kept.map(([k, v]) => `${k}=${v}`).join('&');
        } else if (r.encoding === 'json') {
          const obj: Record<string, unknown> = {};
          for (const [k, v] of kept) obj[k] = k in obj ? [obj[k], v].flat() : v;
          body = JSON.stringify(obj);
        } else {
          body = kept.map(([k, v]) => `${k}${v}`).join(NASTY_CHARS[kept.length % NASTY_CHARS.length]!);
        }
        const sent: Sent = { app: apps[r.app]!, route: r.route, contentType: r.contentType, body };
        check(sent, await send(sent, r.authorization === undefined ? {} : { authorization: r.authorization }));
      }),
      fuzzParams(101, 10),
    );
  },
  PROPERTY_TIMEOUT_MS,
);

describe.each(['grant', 'client'] as const)('mutated genuine %s assertions in otherwise valid requests', (use) => {
  test(
    'are refused well-formed unless still genuine, and never accepted twice',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          appIndex(),
          fc.nat(pool.length - 1),
          fc.array(mutationArb(pool.length), { minLength: 1, maxLength: 3 }),
          fc.boolean(),
          async (app, index, mutations, fresh) => {
            tally.add(`mutated ${use} tokens`);
            const base = fresh ? (use === 'grant' ? freshGrant() : freshClient()) : pool[index]!;
            const token = mutations.reduce((t, m) => mutate(t, m, pool), base);
            const body =
              use === 'grant'
                ? encodeForm({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: token })
                : encodeForm({ client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: token });
            const sent: Sent = { app: apps[app]!, route: use === 'grant' ? '/token' : '/client', contentType: 'application/x-www-form-urlencoded', body };
            check(sent, await send(sent));
          },
        ),
        fuzzParams(use === 'grant' ? 102 : 103, 5),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

test(
  'long pathological strings up to and past the size limits',
  async () => {
    const big = fc.oneof(
      // Assertions around maxAssertionLength (16384) and bodies around bodyLimit (100 KiB).
      fc.record({ param: fc.constantFrom('assertion', 'client_assertion'), value: longString(17_000) }),
      fc.record({ param: fc.constantFrom('scope', 'client_id', 'grant_type', 'x'), value: longString(110_000) }),
      fc.record({
        param: fc.constantFrom('assertion', 'client_assertion'),
        // A header segment of deeply nested JSON, or of one huge string, right under the limit.
        value: fc.constantFrom(
          `${b64u(`${'['.repeat(5000)}${']'.repeat(5000)}`)}.${segment({ iss: 'x' })}.AAAA`,
          `${segment({ alg: 'RS256' })}.${b64u(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`)}.AAAA`,
          `${segment({ alg: 'RS256', kid: 'k'.repeat(12_000) })}.${segment({ iss: GRANT_ISSUER })}.AAAA`,
          `${'A'.repeat(8000)}.${'B'.repeat(8000)}.${'C'.repeat(300)}`,
          `${'.'.repeat(16_384)}`,
          `${'a.'.repeat(8192)}`,
        ),
      }),
      fc.record({ param: fc.constant('many'), value: fc.integer({ min: 100, max: 12_000 }).map((n) => 'a=1&'.repeat(n)) }),
    );
    await fc.assert(
      fc.asyncProperty(
        appIndex(),
        fc.constantFrom('/token' as const, '/client' as const),
        big,
        fc.constantFrom(...FORM_TYPES.slice(0, 3)),
        async (app, route, { param, value }, contentType) => {
          tally.add('long pathological inputs');
          const base =
            route === '/token'
              ? { grant_type: JWT_BEARER_GRANT_TYPE, assertion: freshGrant() }
              : { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: freshClient() };
          const body = param === 'many' ? `${value}${encodeForm(base)}` : encodeForm({ ...base, [param]: value });
          const sent: Sent = { app: apps[app]!, route, contentType, body };
          check(sent, await send(sent));
        },
      ),
      fuzzParams(104, 1),
    );
  },
  PROPERTY_TIMEOUT_MS,
);

test(
  'HTTP-level variations: no or repeated Content-Type, chunked bodies, declared lengths, odd headers',
  async () => {
    const variation = fc.constantFrom(
      'no-content-type',
      'two-content-types',
      'chunked',
      'empty',
      'huge-declared-length',
      'expect-continue',
      'long-header',
      'two-authorizations',
    );
    await fc.assert(
      fc.asyncProperty(appIndex(), fc.constantFrom('/token' as const, '/client' as const), variation, async (app, route, v) => {
        const a = apps[app]!;
        // body-parser (the app's own parser, which runs before the middleware) drains a body it
        // refuses before answering, so a declared gigabyte that never comes is never answered there.
        if (v === 'huge-declared-length' && a.label === 'express/parser') return;
        tally.add('HTTP-level variations');
        const body =
          route === '/token'
            ? encodeForm({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: freshGrant() })
            : encodeForm({ client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: freshClient() });
        const FORM = 'application/x-www-form-urlencoded';
        let headers: string[] = ['content-type', FORM, 'content-length', String(Buffer.byteLength(body))];
        let sentBody: string | undefined = body;
        let chunked = false;
        let contentType: string | undefined = FORM;
        switch (v) {
          case 'no-content-type':
            headers = ['content-length', String(Buffer.byteLength(body))];
            contentType = undefined;
            break;
          case 'two-content-types':
            headers = ['content-type', FORM, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))];
            break;
          case 'chunked':
            headers = ['content-type', FORM, 'transfer-encoding', 'chunked'];
            chunked = true;
            break;
          case 'empty':
            headers = ['content-type', FORM, 'content-length', '0'];
            sentBody = '';
            break;
          case 'huge-declared-length':
            // Declared far past every limit: must be refused from the header, without waiting.
            headers = ['content-type', FORM, 'content-length', '1000000000'];
            break;
          case 'expect-continue':
            headers.push('expect', '100-continue');
            break;
          case 'long-header':
            headers.push('x-padding', 'p'.repeat(8000));
            break;
          case 'two-authorizations':
            headers.push('authorization', 'Basic Zm9vOmJhcg==', 'authorization', 'Bearer x');
            break;
        }
        let answer: Answer;
        try {
          answer = await rawRequest(a.target.url!, { path: route, headers, body: sentBody, chunked, timeoutMs: 5000 });
        } catch (err) {
          // The huge declared length: the server answers, then closes the half-sent request.
          if (v === 'huge-declared-length' && /socket hang up|ECONNRESET|EPIPE/.test((err as Error).message)) return;
          throw err;
        }
        check({ app: a, route, contentType, body: sentBody ?? '' }, answer);
      }),
      fuzzParams(105, 1),
    );
  },
  PROPERTY_TIMEOUT_MS,
);

test(
  'control: benign variations of a valid request succeed (unknown parameters, charsets, media type case, client telemetry)',
  async () => {
    await fc.assert(
      fc.asyncProperty(
        appIndex(),
        fc.constantFrom('grant', 'client', 'both'),
        fc.dictionary(
          fc.constantFrom('audience', 'resource', 'x-client-SKU', 'x-client-VER', 'client-request-id', 'foo', 'state'),
          fc.string({ unit: 'grapheme', maxLength: 20 }),
          { maxKeys: 4 },
        ),
        fc.constantFrom(...FORM_TYPES.filter((t) => !/utf-16|charset=$/.test(t))),
        async (app, kind, extra, contentType) => {
          tally.add('benign variations');
          const params: Record<string, string> = { ...extra };
          if (kind !== 'client') Object.assign(params, { grant_type: JWT_BEARER_GRANT_TYPE, assertion: freshGrant() });
          if (kind !== 'grant') Object.assign(params, { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: freshClient() });
          const sent: Sent = { app: apps[app]!, route: kind === 'client' ? '/client' : '/token', contentType, body: encodeForm(params) };
          const answer = await send(sent);
          check(sent, answer);
          expect(answer.status).toBe(200);
        },
      ),
      fuzzParams(106, 1),
    );
  },
  PROPERTY_TIMEOUT_MS,
);

/** Sends the headers and part of a form body, then drops the connection. */
function abortMidBody(baseUrl: string, path: string, body: string, after: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(new URL(path, baseUrl), {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length + 1000) },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(body.slice(0, after));
    setTimeout(() => req.destroy(), 15);
  });
}

test('clients that drop the connection mid-body leave every app healthy', async () => {
  for (const app of apps) {
    for (const route of ['/token', '/client'] as const) {
      const body =
        route === '/token'
          ? encodeForm({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: freshGrant() })
          : encodeForm({ client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: freshClient() });
      for (const after of [0, 10, Math.floor(body.length / 2), body.length]) {
        tally.add('dropped connections');
        await abortMidBody(app.target.url!, route, body, after);
      }
      const sent: Sent = { app, route, contentType: 'application/x-www-form-urlencoded', body };
      const answer = await send(sent);
      check(sent, answer);
      expect(answer.status).toBe(200);
    }
  }
  expect(guard.unhandledRejections).toEqual([]);
  expect(guard.uncaughtExceptions).toEqual([]);
});

test('no unhandled rejection or uncaught exception during the run, and nothing polluted', () => {
  expect(guard.unhandledRejections).toEqual([]);
  expect(guard.uncaughtExceptions).toEqual([]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(tally.observed.successes ?? 0).toBeGreaterThan(0);
});
