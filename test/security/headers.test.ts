/*
 * Header-borne attacks: keys named or embedded by the token (jku, x5u, jwk) must never be fetched
 * or used; encrypted, JSON-serialised and nested tokens are not signed JWTs and are refused.
 */
import type { ClientRegistration, TrustedIssuer } from 'jwt-bearer-core';
import { parts, segment, signJws } from '../support/hostile/keys';
import { JwksServer } from '../support/hostile/jwks-server';
import { ALL_TARGETS, startTarget, type Target } from '../support/hostile/targets';
import { CLIENT, expectAccepted, expectRefused, GRANT, USES, type Use } from '../support/hostile/uses';
import { clientAssertionFor, clientParams, grantAssertionFor, grantParams, world } from '../support/hostile/world';

const w = world();
const REMOTE_ISSUER = 'https://remote-idp.example.test';

let attacker: JwksServer;
let legit: JwksServer;

beforeAll(async () => {
  attacker = await new JwksServer().start();
  attacker.keys = [w.attacker.publicJwk];
  legit = await new JwksServer().start();
  legit.keys = [w.rsa.publicJwk];
});

afterAll(async () => {
  await attacker.stop();
  await legit.stop();
});

function config() {
  const c = w.config();
  c.client!.clients = [...(c.client!.clients as ClientRegistration[]), { clientId: 'client-remote', jwksUri: legit.url }];
  c.grant!.issuers = [...(c.grant!.issuers as TrustedIssuer[]), { issuer: REMOTE_ISSUER, jwksUri: legit.url }];
  return c;
}

/** The attacker's header members under test, all pointing at the attacker's server or key. */
function hostile(kind: 'jku' | 'x5u' | 'jwk', kid: string): Record<string, unknown> {
  if (kind === 'jku') return { kid, jku: `${attacker.base}/jwks.json` };
  if (kind === 'x5u') return { kid, x5u: `${attacker.base}/cert.pem` };
  return { kid, jwk: { ...w.attacker.publicJwk, kid } };
}

describe.each(ALL_TARGETS)('%s', (name) => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(name, config());
  });
  afterAll(() => t.close());

  describe.each(USES)('$name assertion', (use: Use) => {
    describe.each(['jku', 'x5u', 'jwk'] as const)('%s header', (kind) => {
      test(`an attacker-signed assertion naming the attacker's ${kind} is refused and nothing is fetched`, async () => {
        const token = use.mint(w.rsa, { header: hostile(kind, w.attacker.kid), signAs: 'RS256' });
        const forged = signJws(parts(token)[0], parts(token)[1], w.attacker.privateKey, 'RS256');
        expectRefused(t, use, await use.send(t, forged), 'ERR_KEY_NOT_FOUND', 'ERR_SIGNATURE_INVALID');
        expect(attacker.requests).toBe(0);
      });

      test(`an attacker-signed assertion with ${kind} and the registered key's kid is refused`, async () => {
        const [h, p] = parts(use.mint(w.rsa, { header: hostile(kind, w.rsa.kid) }));
        expectRefused(t, use, await use.send(t, signJws(h, p, w.attacker.privateKey, 'RS256')), 'ERR_SIGNATURE_INVALID');
        expect(attacker.requests).toBe(0);
      });

      test(`a genuine assertion carrying an attacker ${kind} is judged by the registered key alone`, async () => {
        expectAccepted(await use.send(t, use.mint(w.rsa, { header: hostile(kind, w.rsa.kid) })));
        expect(attacker.requests).toBe(0);
      });
    });

    test('an assertion embedding every attacker key reference at once is refused', async () => {
      const header = { ...hostile('jku', w.attacker.kid), ...hostile('x5u', w.attacker.kid), ...hostile('jwk', w.attacker.kid) };
      const [h, p] = parts(use.mint(w.rsa, { header }));
      expectRefused(t, use, await use.send(t, signJws(h, p, w.attacker.privateKey, 'RS256')), 'ERR_KEY_NOT_FOUND', 'ERR_SIGNATURE_INVALID');
      expect(attacker.requests).toBe(0);
    });

    describe('not a compact JWS', () => {
      test('a five-segment JWE is refused as malformed', async () => {
        const jwe = [segment({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: w.rsa.kid }), 'ZW5jcnlwdGVka2V5', 'aXY', 'Y2lwaGVydGV4dA', 'dGFn'].join('.');
        expectRefused(t, use, await use.send(t, jwe), 'ERR_ASSERTION_MALFORMED');
        expect(t.events[t.events.length - 1]?.detail).toMatch(/JWE/);
      });

      test('a direct-encryption JWE (empty key segment) is refused as malformed', async () => {
        const jwe = [segment({ alg: 'dir', enc: 'A128CBC-HS256' }), '', 'aXY', 'Y2lwaGVydGV4dA', 'dGFn'].join('.');
        expectRefused(t, use, await use.send(t, jwe), 'ERR_ASSERTION_MALFORMED');
      });

      test('the flattened JSON serialisation of a genuine JWS is refused', async () => {
        const [h, p, s] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, JSON.stringify({ protected: h, payload: p, signature: s })), 'ERR_ASSERTION_MALFORMED');
      });

      test('the general JSON serialisation of a genuine JWS is refused', async () => {
        const [h, p, s] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, JSON.stringify({ payload: p, signatures: [{ protected: h, signature: s }] })), 'ERR_ASSERTION_MALFORMED');
      });

      test('a base64url-wrapped JSON serialisation is refused', async () => {
        const [h, p, s] = parts(use.mint(w.rsa));
        const wrapped = Buffer.from(JSON.stringify({ protected: h, payload: p, signature: s })).toString('base64url');
        expectRefused(t, use, await use.send(t, wrapped), 'ERR_ASSERTION_MALFORMED');
      });
    });

    describe('nested JWT', () => {
      test('a signed JWT whose payload is another JWT (cty JWT) is refused', async () => {
        const inner = use.mint(w.rsa);
        const outer = signJws({ alg: 'RS256', typ: 'JWT', cty: 'JWT', kid: w.rsa.kid }, Buffer.from(inner).toString('base64url'), w.rsa.privateKey);
        expectRefused(t, use, await use.send(t, outer), 'ERR_ASSERTION_MALFORMED');
      });

      test.each(['JWT', 'jwt', 'application/jwt', 'application/JWT'])('a genuine claim set declared as nested (cty %s) is refused', async (cty) => {
        expectRefused(t, use, await use.send(t, use.mint(w.rsa, { header: { cty } })), 'ERR_ASSERTION_MALFORMED');
        expect(t.events[t.events.length - 1]?.detail).toMatch(/nested/);
      });
    });
  });

  describe('registered remote key set', () => {
    test.each([
      ['grant', GRANT],
      ['client', CLIENT],
    ] as const)('a symmetric (oct) key published in the JWKS never enables HS256 (%s)', async (_label, use) => {
      const secret = Buffer.from('a published HMAC key of at least thirty-two bytes!!');
      const before = legit.keys;
      legit.keys = [...before, { kty: 'oct', k: secret.toString('base64url'), kid: 'hmac-1', alg: 'HS256', use: 'sig' }];
      try {
        const header = { alg: 'HS256', kid: 'hmac-1' };
        const token =
          use === GRANT
            ? grantAssertionFor(REMOTE_ISSUER, w.rsa, { header, signAs: 'RS256' })
            : clientAssertionFor('client-remote', w.rsa, { header, signAs: 'RS256' });
        const [h, p] = parts(token);
        const forged = signJws(h, p, secret, 'HS256');
        const answer = use === GRANT ? await t.token(grantParams(forged)) : await t.client(clientParams(forged));
        expectRefused(t, use, answer, 'ERR_ALGORITHM_NOT_ALLOWED');
      } finally {
        legit.keys = before;
      }
    });

    test.each([
      ['grant', GRANT],
      ['client', CLIENT],
    ] as const)('an attacker jku never replaces the registered jwksUri (%s)', async (_label, use) => {
      const header = { ...hostile('jku', w.attacker.kid), ...hostile('x5u', w.attacker.kid) };
      const before = legit.requests;
      const token =
        use === GRANT
          ? grantAssertionFor(REMOTE_ISSUER, w.rsa, { header, signAs: 'RS256' })
          : clientAssertionFor('client-remote', w.rsa, { header, signAs: 'RS256' });
      const [h, p] = parts(token);
      const forged = signJws(h, p, w.attacker.privateKey, 'RS256');
      const send = (a: string) => (use === GRANT ? t.token(grantParams(a)) : t.client(clientParams(a)));
      expectRefused(t, use, await send(forged), 'ERR_KEY_NOT_FOUND', 'ERR_SIGNATURE_INVALID');
      // The genuine one, naming the same hostile URLs, verifies with the registered set.
      const genuine =
        use === GRANT
          ? grantAssertionFor(REMOTE_ISSUER, w.rsa, { header: { ...header, kid: w.rsa.kid } })
          : clientAssertionFor('client-remote', w.rsa, { header: { ...header, kid: w.rsa.kid } });
      expectAccepted(await send(genuine));
      expect(attacker.requests).toBe(0);
      expect(legit.hits.slice(before).every((path) => path === '/jwks.json')).toBe(true);
      expect(legit.requests - before).toBeLessThanOrEqual(1);
    });
  });
});
