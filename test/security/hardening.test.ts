/*
 * Issue 12 (outside security review) regression tests over HTTP, on the core and on both adapters:
 * each test fails without the fix it names.
 */
import fc from 'fast-check';
import { MemoryReplayStore, UNIFORM_CLIENT_DESCRIPTION, type ClientRegistration, type TrustedIssuer } from 'jwt-bearer-core';
import { b64u, parts, signJws } from '../support/hostile/keys';
import { ALL_TARGETS, HTTP_TARGETS, startTarget, type Target } from '../support/hostile/targets';
import { expectOAuthError, type Answer } from '../support/hostile/oauth';
import { CLIENT, expectAccepted, expectRefused, GRANT, USES, type Use } from '../support/hostile/uses';
import { AS_ISSUER, clientAssertionFor, GRANT_ISSUER, grantAssertionFor, world } from '../support/hostile/world';

const w = world();
const MAX_ASSERTION_LENGTH = 16384;

const PLACEHOLDER = 'deep-value-placeholder';

/** JSON text of `depth` nested arrays (or objects) around a string, built as text: no recursion anywhere. */
function nestedJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}"RS256"${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}"RS256"${'}'.repeat(depth)}`;
}

/** A genuinely signed assertion of `use` whose header or claim `member` is nested `depth` deep. */
function deepToken(use: Use, where: 'header' | 'claims', member: string, kind: 'array' | 'object', depth: number): string {
  const template = use.mint(w.rsa, where === 'header' ? { header: { [member]: PLACEHOLDER }, signAs: 'RS256' } : { claims: { [member]: PLACEHOLDER } });
  const [h, p] = parts(template);
  const swap = (seg: string) => b64u(Buffer.from(seg, 'base64url').toString('utf8').replace(`"${PLACEHOLDER}"`, nestedJson(depth, kind)));
  return signJws(where === 'header' ? swap(h) : h, where === 'claims' ? swap(p) : p, w.rsa.privateKey, 'RS256');
}

/** The deepest such assertion within the default length limit (≈ 6,000 levels of arrays). */
function deepest(use: Use, where: 'header' | 'claims', member: string, kind: 'array' | 'object'): string {
  let low = 0;
  let high = 10_000;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (deepToken(use, where, member, kind, mid).length <= MAX_ASSERTION_LENGTH) low = mid;
    else high = mid - 1;
  }
  return deepToken(use, where, member, kind, low);
}

/** Accepted (a member nobody reads), or a well-formed 4xx: never a 5xx. */
function expectNoServerError(answer: Answer): boolean {
  if (answer.status === 200) return true;
  expectOAuthError(answer);
  expect(answer.status).toBeLessThan(500);
  return answer.status < 500;
}

const HEADER_MEMBERS = ['alg', 'typ', 'crit', 'kid', 'cty', 'x5t', 'x5t#S256', 'jku', 'x5u', 'jwk', 'b64', 'zip'];
const CLAIM_MEMBERS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'client_id', 'cnf', 'extra'];

describe.each(ALL_TARGETS)('%s', (name) => {
  describe('finding 1: no untrusted value is serialised without a bound (DESIGN §9)', () => {
    let t: Target;
    beforeAll(async () => {
      t = await startTarget(name, w.config());
    });
    afterAll(() => t.close());

    describe.each(USES)('$name assertion', (use: Use) => {
      test.each(HEADER_MEMBERS)('header member %s nested ~6,000 deep is never a 5xx', async (member) => {
        const token = deepest(use, 'header', member, 'array');
        expect(Buffer.from(parts(token)[0], 'base64url').toString().split('[').length - 1).toBeGreaterThan(5000);
        expectNoServerError(await use.send(t, token));
      });

      test.each(CLAIM_MEMBERS)('claim %s nested ~6,000 deep in a genuinely signed assertion is never a 5xx', async (member) => {
        expectNoServerError(await use.send(t, deepest(use, 'claims', member, 'array')));
      });

      test('property: any header or claim member, nested as arrays or objects to any depth, is never a 5xx', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...HEADER_MEMBERS.map((m) => ['header', m] as const), ...CLAIM_MEMBERS.map((m) => ['claims', m] as const)),
            fc.constantFrom('array' as const, 'object' as const),
            fc.integer({ min: 1, max: 3000 }),
            async ([where, member], kind, depth) => {
              return expectNoServerError(await use.send(t, deepToken(use, where, member, kind, depth)));
            },
          ),
          { numRuns: 40 },
        );
      });

      test('a deep header is refused as malformed before it is parsed; a long typ string gets a bounded detail', async () => {
        const [, payload] = parts(use.mint(w.rsa));
        const deepHeader = b64u(`{"alg":"RS256","kid":${JSON.stringify(w.rsa.kid)},"typ":${nestedJson(5500, 'array')}}`);
        expectRefused(t, use, await use.send(t, signJws(deepHeader, payload, w.rsa.privateKey, 'RS256')), 'ERR_ASSERTION_MALFORMED');
        const longTyp = b64u(JSON.stringify({ alg: 'RS256', kid: w.rsa.kid, typ: 'x'.repeat(11_000) }));
        expectRefused(t, use, await use.send(t, signJws(longTyp, payload, w.rsa.privateKey, 'RS256')), 'ERR_TYPE_INVALID');
        expect(t.events[t.events.length - 1]!.detail!.length).toBeLessThan(300);
      });

      test('claims nested as deep as real assertions do (32 levels) are still accepted', async () => {
        expectAccepted(await use.send(t, deepToken(use, 'claims', 'authorization_details', 'object', 31)));
      });
    });
  });

  describe('finding 4: replay records keyed by (iss, jti) across both uses (DESIGN §8)', () => {
    let t: Target;
    beforeAll(async () => {
      const config = w.config({ replayStore: new MemoryReplayStore() });
      // The usual service-account shape: one party registered as a client and as a trusted issuer.
      config.grant!.issuers = [...(config.grant!.issuers as TrustedIssuer[]), { issuer: 'client-rsa', jwks: { keys: [w.rsa.publicJwk as never] } }];
      t = await startTarget(name, config);
    });
    afterAll(() => t.close());

    test('a used client assertion is refused as a grant, and a used grant assertion as a client assertion', async () => {
      const first = clientAssertionFor('client-rsa', w.rsa, { claims: { sub: 'client-rsa' } });
      expectAccepted(await CLIENT.send(t, first));
      expectRefused(t, GRANT, await GRANT.send(t, first), 'ERR_ASSERTION_REPLAYED');
      const second = clientAssertionFor('client-rsa', w.rsa);
      expectAccepted(await GRANT.send(t, second));
      expectRefused(t, CLIENT, await CLIENT.send(t, second), 'ERR_ASSERTION_REPLAYED');
    });
  });

  describe('finding 5: one party cannot exhaust a shared replay store', () => {
    let t: Target;
    beforeAll(async () => {
      t = await startTarget(name, w.config({ replayStore: new MemoryReplayStore({ max: 40, maxPerParty: 10 }) }));
    });
    afterAll(() => t.close());

    test('a party over its share gets 503 with Retry-After from its earliest expiry; the others keep working', async () => {
      const now = Date.now();
      for (let i = 0; i < 10; i += 1) expectAccepted(await GRANT.send(t, grantAssertionFor(GRANT_ISSUER, w.rsa, { now })));
      const full = await GRANT.send(t, grantAssertionFor(GRANT_ISSUER, w.rsa, { now }));
      expectOAuthError(full, 'temporarily_unavailable');
      expect(t.lastCode()).toBe('ERR_REPLAY_STORE_FULL');
      // The entries live until exp (iat + 60) + clockTolerance (30): about 90 s, never a constant 1.
      const retryAfter = Number(full.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(85);
      expect(retryAfter).toBeLessThanOrEqual(91);
      expectAccepted(await CLIENT.send(t, clientAssertionFor('client-ec', w.ec)));
      expectAccepted(await GRANT.send(t, grantAssertionFor('https://svc.example.test', w.ec)));
    });
  });

  describe('finding 7: lookup functions (DESIGN §9)', () => {
    let t: Target;
    beforeAll(async () => {
      const config = w.config();
      const table: Record<string, ClientRegistration> = { 'client-rsa': { clientId: 'client-rsa', jwks: { keys: [w.rsa.publicJwk as never] } } };
      const issuers: Record<string, TrustedIssuer> = { [GRANT_ISSUER]: { issuer: GRANT_ISSUER, publicKey: w.rsa.publicPem } };
      config.client!.clients = (id: string) => table[id];
      config.grant!.issuers = async (iss: string) => issuers[iss];
      t = await startTarget(name, config);
    });
    afterAll(() => t.close());

    test.each(['__proto__', 'constructor', 'toString', 'valueOf'])('a client or issuer named %s is unknown (4xx), never a 500', async (id) => {
      expectRefused(t, CLIENT, await CLIENT.send(t, clientAssertionFor(id, w.rsa)), 'ERR_CLIENT_UNKNOWN');
      expectRefused(t, GRANT, await GRANT.send(t, grantAssertionFor(id, w.rsa)), 'ERR_ISSUER_UNTRUSTED');
    });
  });

  describe('finding 7: lookups that answer for another id, or never answer', () => {
    let t: Target;
    const never = new Promise<undefined>(() => undefined);
    beforeAll(async () => {
      const config = w.config();
      // A case-insensitive store: CLIENT-RSA finds client-rsa's record. And an issuer lookup that never settles.
      const table: Record<string, ClientRegistration> = { 'client-rsa': { clientId: 'client-rsa', jwks: { keys: [w.rsa.publicJwk as never] } } };
      config.client!.clients = (id: string) => table[id.toLowerCase()];
      config.grant!.issuers = () => never;
      config.grant!.lookupTimeout = 150;
      t = await startTarget(name, config);
    });
    afterAll(() => t.close());

    test('a record for another id is unknown (4xx) with a configuration warning, never a 500; the exact id still works', async () => {
      expectRefused(t, CLIENT, await CLIENT.send(t, clientAssertionFor('CLIENT-RSA', w.rsa)), 'ERR_CLIENT_UNKNOWN');
      expect(t.warnings.map((e) => e.code)).toContain('WARN_LOOKUP_MISMATCH');
      expectAccepted(await CLIENT.send(t, clientAssertionFor('client-rsa', w.rsa)));
    });

    test('a lookup that never settles is a 503 after lookupTimeout, never a hang', async () => {
      const started = Date.now();
      const answer = await GRANT.send(t, grantAssertionFor(GRANT_ISSUER, w.rsa));
      expectOAuthError(answer, 'temporarily_unavailable');
      expect(answer.status).toBe(503);
      expect(t.lastCode()).toBe('ERR_TRUST_LOOKUP_FAILED');
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  describe("finding 9: errorDescriptions 'uniform' (DESIGN §9)", () => {
    let t: Target;
    beforeAll(async () => {
      const config = w.config();
      config.client!.errorDescriptions = 'uniform';
      t = await startTarget(name, config);
    });
    afterAll(() => t.close());

    test('unknown client, algorithm not allowed, key not found and a bad signature answer one sentence; onError keeps the codes', async () => {
      const cases: Array<[string, string]> = [
        [clientAssertionFor('nobody', w.rsa), 'ERR_CLIENT_UNKNOWN'],
        [clientAssertionFor('client-hs', w.rsa), 'ERR_ALGORITHM_NOT_ALLOWED'],
        [clientAssertionFor('client-rsa', w.rsa, { header: { kid: 'other' } }), 'ERR_KEY_NOT_FOUND'],
        [signJws(...(parts(clientAssertionFor('client-rsa', w.rsa)).slice(0, 2) as [string, string]), w.attacker.privateKey, 'RS256'), 'ERR_SIGNATURE_INVALID'],
        ['not.a.jwt', 'ERR_ASSERTION_MALFORMED'],
      ];
      for (const [token, code] of cases) {
        const answer = await CLIENT.send(t, token);
        expectRefused(t, CLIENT, answer, code);
        expect(answer.body.error_description).toBe(UNIFORM_CLIENT_DESCRIPTION);
      }
    });

    test('after the signature is verified, the answer is detailed again (the client is known to be who it says)', async () => {
      const answer = await CLIENT.send(t, clientAssertionFor('client-rsa', w.rsa, { claims: { aud: 'https://elsewhere.example' } }));
      expectRefused(t, CLIENT, answer, 'ERR_AUDIENCE_INVALID');
      expect(answer.body.error_description).not.toBe(UNIFORM_CLIENT_DESCRIPTION);
    });

    test('grants are not affected', async () => {
      const answer = await GRANT.send(t, grantAssertionFor('https://nobody.example', w.rsa));
      expectRefused(t, GRANT, answer, 'ERR_ISSUER_UNTRUSTED');
      expect(answer.body.error_description).not.toBe(UNIFORM_CLIENT_DESCRIPTION);
    });
  });

  test('the default (detailed) descriptions still tell the codes apart', async () => {
    const t = await startTarget(name, w.config());
    try {
      const unknown = await CLIENT.send(t, clientAssertionFor('nobody', w.rsa));
      const bad = await CLIENT.send(t, clientAssertionFor('client-rsa', w.rsa, { header: { kid: 'other' } }));
      expect(unknown.body.error_description).not.toBe(bad.body.error_description);
      expect(AS_ISSUER).toMatch(/^https:/);
    } finally {
      await t.close();
    }
  });
});

describe.each(HTTP_TARGETS)('%s: the scope ceiling over HTTP (DESIGN §8, issue 12 finding 6)', (name) => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(name, w.config());
  });
  afterAll(() => t.close());

  test('signed "read", asked "read write admin": the grant and the token response say "read"', async () => {
    const answer = await GRANT.send(t, grantAssertionFor(GRANT_ISSUER, w.rsa, { claims: { scope: 'read' } }), { scope: 'read write admin' });
    expectAccepted(answer);
    expect(answer.body.grant.scope).toEqual(['read']);
    expect(answer.body.scope).toBe('read');
  });

  test('a parameter that leaves nothing of the claim is invalid_scope', async () => {
    const answer = await GRANT.send(t, grantAssertionFor(GRANT_ISSUER, w.rsa, { claims: { scope: 'read' } }), { scope: 'admin' });
    expectOAuthError(answer, 'invalid_scope');
  });

  test('the scope taken from the claim alone is stated; an unchanged request scope is not added', async () => {
    const fromClaim = await GRANT.send(t, grantAssertionFor(GRANT_ISSUER, w.rsa, { claims: { scope: 'read write' } }));
    expect(fromClaim.body.scope).toBe('read write');
    const asAsked = await GRANT.send(t, grantAssertionFor(GRANT_ISSUER, w.rsa), { scope: 'read' });
    expectAccepted(asAsked);
    expect(asAsked.body.scope).toBeUndefined();
  });
});
