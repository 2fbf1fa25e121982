/*
 * Property-based fuzzing of jwt-bearer-core (createGrantVerifier / createClientAuthenticator):
 *  - arbitrary request objects (any body shape, prototype-pollution keys, arrays, boxed values);
 *  - genuine assertions mutated (bit flips, segment swaps, non-JSON / non-object segments, …);
 *  - validly signed assertions with hostile headers and claims, judged against a reference model.
 * Never a 5xx other than 503, never an internal error, never an unhandled rejection, always within
 * 2 s; success only for a genuine assertion from a trusted key, and each jti only once.
 *
 * FUZZ_SEED / FUZZ_RUNS: see test/support/hostile/fuzz.ts.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  createClientAuthenticator,
  createGrantVerifier,
  isOAuthError,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  MemoryReplayStore,
  toErrorResponse,
  type TokenRequest,
} from 'jwt-bearer-core';
import {
  FUZZ_RUNS,
  FUZZ_SEED,
  fuzzParams,
  hostileJson,
  longString,
  Minted,
  modelVerdict,
  mutate,
  mutationArb,
  RAW_JSON_VALUES,
  Tally,
} from '../support/hostile/fuzz';
import { b64u, seconds, signInput } from '../support/hostile/keys';
import { errorProblem, type Answer } from '../support/hostile/oauth';
import { realProcess, watchProcessErrors, type ProcessErrors } from '../support/hostile/process';
import { AS_ISSUER, clientAssertionFor, GRANT_ISSUER, GRANT_ISSUER_EC, grantAssertionFor, HS_SECRET, TOKEN_ENDPOINT, world } from '../support/hostile/world';
import { printStatistics } from '../support/verbose';

const w = world();
const NOW = Date.now();
const BOUND_MS = 2000;
/** Jest timeout of each property: generous, and growing with FUZZ_RUNS. */
const PROPERTY_TIMEOUT_MS = 60_000 + FUZZ_RUNS * 300;
const tally = new Tally();
let guard: ProcessErrors;

beforeAll(() => {
  guard = watchProcessErrors();
});

afterAll(() => {
  guard.stop();
  printStatistics(tally.line('core'));
});

type Use = 'grant' | 'client';

function configs() {
  const c = w.config({ now: () => NOW, replayStore: new MemoryReplayStore({ max: 100_000 }) });
  return { grant: createGrantVerifier(c.grant!), client: createClientAuthenticator(c.client!) };
}

/** The form that sends `token` as a grant assertion or as a client assertion. */
function assertionForm(use: Use, token: string): Record<string, unknown> {
  return use === 'grant'
    ? { grant_type: JWT_BEARER_GRANT_TYPE, assertion: token }
    : { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: token };
}

/** Why a rejection is not a proper refusal, or undefined. */
function refusalProblem(err: unknown): string | undefined {
  if (!isOAuthError(err)) return `not an OAuthError: ${String(err)}`;
  if (err.code === 'ERR_INTERNAL') return `internal error: ${err.detail}`;
  const r = toErrorResponse(err);
  const answer: Answer = {
    status: r.status,
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: r.body,
    text: JSON.stringify(r.body),
    ms: 0,
  };
  return errorProblem(answer);
}

/** Runs `fn`, timing it; the outcome and the elapsed milliseconds. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { value, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

/** Hands `request` to the grant verifier or to the client authenticator (with `authOptions`) of `verifiers`, timed. */
function timedVerify(verifiers: ReturnType<typeof configs>, use: Use, request: TokenRequest, authOptions?: { required: boolean }) {
  return timed<unknown>(() => (use === 'grant' ? verifiers.grant.verify(request) : verifiers.client.authenticate(request, authOptions)));
}

/** Checks an outcome came within the bound and, if refused, was refused properly; whether it was refused. */
function refusedProperly(r: { error?: unknown; ms: number }): boolean {
  expect(r.ms).toBeLessThan(BOUND_MS);
  if (r.error === undefined) return false;
  expect(refusalProblem(r.error)).toBeUndefined();
  return true;
}

// Genuine tokens, minted once, and their record.
const minted = new Minted();
const grantPool: string[] = [];
const clientPool: string[] = [];
for (let i = 0; i < 12; i++) {
  const opts = { now: NOW, claims: { exp: seconds(NOW) + 600 } };
  grantPool.push(minted.add(grantAssertionFor(GRANT_ISSUER, w.rsa, opts)), minted.add(grantAssertionFor(GRANT_ISSUER_EC, w.ec, opts)));
  const key = [w.rsa, w.ec, w.ed, HS_SECRET][i % 4]!;
  const id = ['client-rsa', 'client-ec', 'client-ed', 'client-hs'][i % 4]!;
  clientPool.push(minted.add(clientAssertionFor(id, key, { ...opts, claims: { exp: seconds(NOW) + 200 } })));
}

const PARAM_NAMES = [
  'grant_type',
  'assertion',
  'scope',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
];

const anyValue = fc.oneof(
  fc.anything({
    maxDepth: 2,
    withNullPrototype: true,
    withBoxedValues: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    withMap: true,
    withSet: true,
    withDate: true,
    withBigInt: true,
  }),
  fc.constantFrom(JWT_BEARER_GRANT_TYPE, JWT_BEARER_CLIENT_ASSERTION_TYPE, '', null, undefined),
  fc.nat(grantPool.length - 1).map((i) => grantPool[i]!),
  fc.nat(clientPool.length - 1).map((i) => clientPool[i]!),
  fc.array(
    fc.nat(grantPool.length - 1).map((i) => grantPool[i]!),
    { maxLength: 3 },
  ),
  longString(20_000),
);

const bodyArb = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 10 })), anyValue, { maxKeys: 8 }) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        kind: fc.constantFrom('grant', 'client'),
        overrides: fc.dictionary(fc.constantFrom(...PARAM_NAMES), anyValue, { maxKeys: 3 }),
      })
      .map(({ kind, overrides }) => ({
        ...(kind === 'grant'
          ? { grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantPool[0] }
          : { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: clientPool[0] }),
        ...overrides,
      })),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);

const headersArb = fc.dictionary(
  fc.constantFrom('authorization', 'content-type', 'x-forwarded-for', '__proto__'),
  fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.constant(undefined)),
  { maxKeys: 3 },
);

test('the process-error watch is subscribed where Node reports unhandled rejections (self-check)', () => {
  const before = guard.unhandledRejections.length;
  const reason = new Error('synthetic unhandled rejection');
  const promise = Promise.reject(reason);
  promise.catch(() => undefined);
  // What Node does for a rejection nobody handles, then for its late handling (which Jest also
  // listens to, so the synthetic report does not fail this test).
  realProcess.emit('unhandledRejection', reason, promise);
  realProcess.emit('rejectionHandled', promise);
  expect(guard.unhandledRejections.length).toBe(before + 1);
  guard.unhandledRejections.splice(before, 1);
});

/** Checks the (iss, jti) of an accepted assertion was not accepted before under `label`. */
function expectFirstSuccess(label: string, accepted: unknown): void {
  const claims = (accepted as { claims: Record<string, unknown> }).claims;
  expect(minted.firstSuccess(label, claims.iss, claims.jti)).toBe(true);
}

/** Deepest nesting of arrays and objects in JSON text: string literals removed, then brackets counted. */
function textDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of text.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth -= 1;
  }
  return deepest;
}

describe.each(['grant', 'client'] as const)('%s', (use) => {
  test(
    'arbitrary request objects: refused well-formed, or accepted only for a genuine first use, within the bound',
    async () => {
      const verifiers = configs();
      await fc.assert(
        fc.asyncProperty(bodyArb, headersArb, fc.boolean(), async (body, headers, required) => {
          tally.add(`${use} arbitrary requests`);
          const request = { body: body as Record<string, unknown>, headers: headers as Record<string, string | string[] | undefined> };
          const r = await timedVerify(verifiers, use, request, { required });
          if (refusedProperly(r)) return;
          const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
          if (r.value === undefined) {
            // Only a client authenticator without a client assertion resolves nothing.
            expect(use === 'client' && !required).toBe(true);
            for (const name of ['client_assertion', 'client_assertion_type']) expect([undefined, null, '']).toContain(b[name]);
            return;
          }
          const token = b[use === 'grant' ? 'assertion' : 'client_assertion'];
          expect(typeof token === 'string' && minted.isGenuine(token)).toBe(true);
          expectFirstSuccess(`core-arbitrary-${use}`, r.value);
          tally.note(`${use} arbitrary requests accepted`);
        }),
        fuzzParams(use === 'grant' ? 1 : 2, 10),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    'genuine assertions, mutated: refused well-formed unless still genuine, and never twice',
    async () => {
      const verifiers = configs();
      const pool = use === 'grant' ? grantPool : clientPool;
      await fc.assert(
        fc.asyncProperty(fc.nat(pool.length - 1), fc.array(mutationArb(pool.length), { minLength: 1, maxLength: 3 }), async (index, mutations) => {
          tally.add(`${use} mutated tokens`);
          const token = mutations.reduce((t, m) => mutate(t, m, pool), pool[index]!);
          const r = await timedVerify(verifiers, use, { body: assertionForm(use, token), headers: {} });
          if (refusedProperly(r)) return;
          expect(minted.isGenuine(token)).toBe(true);
          expectFirstSuccess(`core-mutated-${use}`, r.value);
          tally.note(`${use} mutated tokens accepted`);
        }),
        fuzzParams(use === 'grant' ? 3 : 4, 10),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    'validly signed hostile headers and claims: accepted exactly when the reference model accepts',
    async () => {
      const verifiers = configs();
      const now = NOW / 1000;
      const t = seconds(NOW);
      const party = use === 'grant' ? GRANT_ISSUER : 'client-rsa';
      const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
      const used = new Set<string>();
      const DELETE = Symbol('delete');
      const pick = (...values: unknown[]) => fc.constantFrom<unknown>(...values);
      const claimArbs = {
        iss: fc.oneof(pick(party, party, party, 'client-ec', GRANT_ISSUER_EC, 'https://evil.example', '', DELETE), hostileJson()),
        sub: fc.oneof(pick(use === 'grant' ? 'alice' : party, use === 'grant' ? 'alice' : party, 'client-ec', '', DELETE), hostileJson()),
        aud: fc.oneof(
          pick(AS_ISSUER, AS_ISSUER, [AS_ISSUER], TOKEN_ENDPOINT, [AS_ISSUER, TOKEN_ENDPOINT], [], [AS_ISSUER, 1], `${AS_ISSUER}/`, 'x', DELETE),
          hostileJson(),
        ),
        exp: fc.oneof(pick(t + 60, t + 60, t + 250, t + 4000, t + 1e6, NOW + 60_000, t - 29, t - 30, t - 31, 1e308, -1, '9999999999', DELETE), hostileJson()),
        iat: fc.oneof(pick(t, t, t - 250, t - 299, t - 330, t - 331, t - 3600, t - 3631, t + 29, t + 31, NOW, DELETE), hostileJson()),
        nbf: fc.oneof(pick(t, t + 29, t + 31, t + 1e6, NOW, DELETE), hostileJson()),
        jti: fc.oneof(fc.uuid(), fc.uuid(), pick('fixed-jti', 'fixed-jti-2', '', 5, DELETE), hostileJson()),
        scope: fc.oneof(pick('read write', '', 'a  b', 'a"b', 'x\\y', ['read'], DELETE)),
      };
      const headerArbs = {
        alg: fc.oneof(pick(...RSA_ALGS, 'RS256', 'RS256', 'none', 'HS256', 'ES256', 'EdDSA', 'rs256', DELETE), hostileJson()),
        typ: pick('JWT', 'jwt', 'JOSE', 'application/jwt', 'client-authentication+jwt', 'application/client-authentication+JWT', 'at+jwt', '', 5, DELETE),
        kid: fc.oneof(pick('rsa-1', 'rsa-1', 'ec-1', 'unknown', 5, DELETE), hostileJson()),
        crit: pick(['exp'], [], DELETE, DELETE, DELETE, DELETE),
        cty: pick('JWT', 'application/JWT', 'json', 'jwt+json', DELETE, DELETE, DELETE),
        extra: pick('jku', 'x5u', 'jwk', 'b64', 'zip', DELETE),
      };
      const rawMember = fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('iss', 'exp', 'aud', 'jti', '__proto__', 'constructor', 'x'), fc.constantFrom(...RAW_JSON_VALUES)) },
      );
      type Override = readonly ['claim' | 'header', string, unknown];
      const override: fc.Arbitrary<Override> = fc.oneof(
        ...Object.entries(claimArbs).map(([k, arb]) => (arb as fc.Arbitrary<unknown>).map((v): Override => ['claim', k, v])),
        ...Object.entries(headerArbs).map(([k, arb]) => (arb as fc.Arbitrary<unknown>).map((v): Override => ['header', k, v])),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(override, { maxLength: 3 }), rawMember, async (overrides, raw) => {
          tally.add(`${use} signed hostile claims`);
          const payload: Record<string, unknown> = {
            iss: party,
            sub: use === 'grant' ? 'alice' : party,
            aud: AS_ISSUER,
            iat: t,
            exp: t + 60,
            jti: randomUUID(),
          };
          const header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT', kid: 'rsa-1' };
          for (const [where, k, v] of overrides) {
            const target = where === 'claim' ? payload : header;
            if (k === 'extra') {
              if (v !== DELETE) header[v as string] = v === 'b64' ? false : v === 'jwk' ? w.attacker.publicJwk : 'http://127.0.0.1:9/';
            } else if (v === DELETE) delete target[k];
            else target[k] = v;
          }
          const headerText = JSON.stringify(header);
          let payloadText = JSON.stringify(payload);
          if (raw) payloadText = `{"${raw[0]}":${raw[1]}${payloadText.length > 2 ? ',' : ''}${payloadText.slice(1)}`;
          const seenHeader = JSON.parse(headerText) as Record<string, unknown>;
          const seenPayload = JSON.parse(payloadText) as Record<string, unknown>;
          const signAs = typeof seenHeader.alg === 'string' && RSA_ALGS.includes(seenHeader.alg) ? seenHeader.alg : 'RS256';
          const input = `${b64u(headerText)}.${b64u(payloadText)}`;
          const token = `${input}.${signInput(signAs, w.rsa.privateKey, input).toString('base64url')}`;

          // The verifier refuses a segment nesting more than 32 levels before parsing it (DESIGN §9);
          // judged on the text, since a later duplicate member hides a deep one from JSON.parse.
          const verdict =
            textDepth(headerText) > 32 || textDepth(payloadText) > 32
              ? 'ERR_ASSERTION_MALFORMED'
              : modelVerdict(seenHeader, seenPayload, {
                  use,
                  now: NOW,
                  issuer: AS_ISSUER,
                  audiences: [TOKEN_ENDPOINT],
                  party,
                  algorithms: new Set(use === 'grant' ? RSA_ALGS : ['RS256']),
                  kid: use === 'grant' ? undefined : 'rsa-1',
                  maxLifetime: use === 'grant' ? 3600 : 300,
                  tolerance: 30,
                  used,
                });
          const r = await timedVerify(verifiers, use, { body: assertionForm(use, token), headers: {} });
          expect(r.ms).toBeLessThan(BOUND_MS);
          const actual = r.error === undefined ? 'accepted' : `refused ${isOAuthError(r.error) ? r.error.code : String(r.error)}`;
          const expected = verdict === undefined ? 'accepted' : `refused (${verdict})`;
          if ((verdict === undefined) !== (r.error === undefined)) {
            throw new Error(`model says ${expected}, verifier ${actual}\nheader ${headerText}\npayload ${payloadText}\nnow ${now}`);
          }
          if (r.error !== undefined) expect(refusalProblem(r.error)).toBeUndefined();
          else tally.note(`${use} signed hostile claims accepted`);
        }),
        fuzzParams(use === 'grant' ? 5 : 6, 10),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

test('no unhandled rejection or uncaught exception during the run', () => {
  expect(FUZZ_SEED).toEqual(expect.any(Number));
  expect(guard.unhandledRejections).toEqual([]);
  expect(guard.uncaughtExceptions).toEqual([]);
  // The model-based property saw both outcomes, so it discriminates.
  for (const use of ['grant', 'client']) {
    const cases = tally.counts[`${use} signed hostile claims`] ?? 0;
    const accepted = tally.observed[`${use} signed hostile claims accepted`] ?? 0;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(cases);
  }
});
