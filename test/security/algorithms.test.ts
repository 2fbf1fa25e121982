/*
 * Algorithm attacks: unsigned tokens, key confusion, algorithm / key-type mismatch, `crit`, and
 * signature stripping — against the core and both adapters, for grants and client assertions.
 */
import { createGrantVerifier, type ClientRegistration } from 'jwt-bearer-core';
import { b64u, parts, segment, signInput, signJws } from '../support/hostile/keys';
import { ALL_TARGETS, startTarget, type Target } from '../support/hostile/targets';
import { expectAccepted, expectRefused, USES } from '../support/hostile/uses';
import { AS_ISSUER, clientAssertionFor, clientParams, HS_SECRET, world } from '../support/hostile/world';

const w = world();

function config() {
  const c = w.config();
  c.client!.clients = [
    ...(c.client!.clients as ClientRegistration[]),
    { clientId: 'client-mixed', jwks: { keys: [w.rsa.publicJwk as never, w.ec.publicJwk as never] } },
  ];
  return c;
}

test.each(['none', 'None', 'NONE'])('"%s" cannot be configured as an algorithm', (alg) => {
  expect(() => createGrantVerifier({ issuer: AS_ISSUER, algorithms: [alg as never], issuers: [{ issuer: 'x', publicKey: w.rsa.publicPem }] })).toThrow(
    TypeError,
  );
});

describe.each(ALL_TARGETS)('%s', (name) => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(name, config());
  });
  afterAll(() => t.close());

  describe.each(USES)('$name assertion', (use) => {
    test('control: an untampered RSA and EC assertion are accepted', async () => {
      expectAccepted(await use.send(t, use.mint(w.rsa)));
      expectAccepted(await use.send(t, use.mint(w.ec)));
    });

    describe('unsigned (alg none)', () => {
      test.each(['none', 'None', 'NONE', 'nOnE'])('alg "%s" with an empty signature is refused', async (alg) => {
        const [, p] = parts(use.mint(w.rsa));
        const answer = await use.send(t, `${segment({ alg, typ: 'JWT' })}.${p}.`);
        expectRefused(t, use, answer, 'ERR_ASSERTION_MALFORMED', 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test.each(['none', 'None', 'NONE'])('alg "%s" carrying a genuine signature of the same payload is refused', async (alg) => {
        const [, p, s] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, `${segment({ alg, typ: 'JWT' })}.${p}.${s}`), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('an unsigned token without an alg member is refused', async () => {
        const [, p] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, `${segment({ typ: 'JWT' })}.${p}.AAAA`), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('an unsigned token with only two segments is refused', async () => {
        const [, p] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, `${segment({ alg: 'none' })}.${p}`), 'ERR_ASSERTION_MALFORMED');
      });
    });

    describe('key confusion (HMAC keyed with the public key)', () => {
      const rsaSecrets: Array<[string, () => Buffer]> = [
        ['SPKI PEM bytes', () => Buffer.from(w.rsa.publicPem)],
        ['SPKI PEM bytes without the final newline', () => Buffer.from(w.rsa.publicPem.trimEnd())],
        ['PKCS#1 PEM bytes', () => Buffer.from(w.rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString())],
        ['SPKI DER bytes', () => w.rsa.publicKey.export({ type: 'spki', format: 'der' })],
        ['public JWK JSON', () => Buffer.from(JSON.stringify(w.rsa.publicJwk))],
      ];
      test.each(rsaSecrets)('HS256 keyed with the RSA key’s %s is refused', async (_label, secret) => {
        const [h, p] = parts(use.mint(w.rsa, { header: { alg: 'HS256' }, signAs: 'RS256' }));
        const forged = `${h}.${p}.${signInput('HS256', secret(), `${h}.${p}`).toString('base64url')}`;
        expectRefused(t, use, await use.send(t, forged), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test.each(['HS384', 'HS512'])('%s keyed with the RSA PEM is refused', async (alg) => {
        const header = { alg, typ: 'JWT' };
        const [, p] = parts(use.mint(w.rsa));
        const forged = signJws(segment(header), p, Buffer.from(w.rsa.publicPem), alg);
        expectRefused(t, use, await use.send(t, forged), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('HS256 keyed with the EC key’s PEM is refused', async () => {
        const [, p] = parts(use.mint(w.ec));
        const forged = signJws(segment({ alg: 'HS256', typ: 'JWT', kid: w.ec.kid }), p, Buffer.from(w.ec.publicPem), 'HS256');
        expectRefused(t, use, await use.send(t, forged), 'ERR_ALGORITHM_NOT_ALLOWED');
      });
    });

    describe('algorithm / key type mismatch', () => {
      test('RS256 in the header, signed with the EC key, for an EC-keyed party is refused', async () => {
        const token = use.mint(w.ec, { header: { alg: 'RS256' }, signAs: 'ES256' });
        expectRefused(t, use, await use.send(t, token), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('ES256 in the header, signed with the RSA key, for an RSA-keyed party is refused', async () => {
        const token = use.mint(w.rsa, { header: { alg: 'ES256' }, signAs: 'RS256' });
        expectRefused(t, use, await use.send(t, token), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('ES384 with a P-256 key (curve mismatch) is refused', async () => {
        const token = use.mint(w.ec, { header: { alg: 'ES384' }, signAs: 'ES384' });
        expectRefused(t, use, await use.send(t, token), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('PS256 in the header over a PKCS#1 v1.5 (RS256) signature is refused', async () => {
        // The client's JWK names RS256, so PS256 is not even allowed for it; the issuer's bare PEM allows both.
        const token = use.mint(w.rsa, { header: { alg: 'PS256' }, signAs: 'RS256' });
        expectRefused(t, use, await use.send(t, token), 'ERR_SIGNATURE_INVALID', 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('RS256 in the header over a PSS signature is refused', async () => {
        const token = use.mint(w.rsa, { header: { alg: 'RS256' }, signAs: 'PS256' });
        expectRefused(t, use, await use.send(t, token), 'ERR_SIGNATURE_INVALID');
        expect(t.events[t.events.length - 1]?.detail).toMatch(/does not verify/);
      });

      test('an ES256 signature in DER instead of R||S is refused', async () => {
        const [h, p] = parts(use.mint(w.ec));
        const der = (await import('node:crypto')).sign('sha256', Buffer.from(`${h}.${p}`), w.ec.privateKey);
        expectRefused(t, use, await use.send(t, `${h}.${p}.${b64u(der)}`), 'ERR_SIGNATURE_INVALID');
      });

      test('EdDSA in the header for an RSA-keyed party is refused', async () => {
        const [, p] = parts(use.mint(w.rsa));
        const forged = signJws(segment({ alg: 'EdDSA', typ: 'JWT' }), p, w.ed.privateKey, 'EdDSA');
        expectRefused(t, use, await use.send(t, forged), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test('an algorithm name in another case ("rs256") is refused', async () => {
        const token = use.mint(w.rsa, { header: { alg: 'rs256' }, signAs: 'RS256' });
        expectRefused(t, use, await use.send(t, token), 'ERR_ALGORITHM_NOT_ALLOWED');
      });

      test.each([
        ['an array', ['RS256']],
        ['an object', { name: 'RS256' }],
        ['a number', 256],
        ['null', null],
      ])('an alg that is %s is refused', async (_label, alg) => {
        const token = use.mint(w.rsa, { header: { alg }, signAs: 'RS256' });
        expectRefused(t, use, await use.send(t, token), 'ERR_ALGORITHM_NOT_ALLOWED');
      });
    });

    describe('crit', () => {
      test('a signed assertion with crit ["exp"] is refused', async () => {
        const token = use.mint(w.rsa, { header: { crit: ['exp'], exp: 1 } });
        expectRefused(t, use, await use.send(t, token), 'ERR_CRIT_UNSUPPORTED');
      });

      test('a signed assertion with an empty crit list is refused', async () => {
        expectRefused(t, use, await use.send(t, use.mint(w.rsa, { header: { crit: [] } })), 'ERR_CRIT_UNSUPPORTED');
      });

      test('an unencoded-payload assertion (b64 false, crit ["b64"]) is refused', async () => {
        expectRefused(t, use, await use.send(t, use.mint(w.rsa, { header: { b64: false, crit: ['b64'] } })), 'ERR_CRIT_UNSUPPORTED');
      });
    });

    describe('signature stripping', () => {
      test('valid header and payload with an empty signature is refused', async () => {
        const [h, p] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, `${h}.${p}.`), 'ERR_ASSERTION_MALFORMED');
      });

      test('valid header and payload without the signature segment is refused', async () => {
        const [h, p] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, `${h}.${p}`), 'ERR_ASSERTION_MALFORMED');
      });

      test('valid header and payload with the signature of another genuine assertion is refused', async () => {
        const [h, p] = parts(use.mint(w.rsa));
        const [, , other] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, `${h}.${p}.${other}`), 'ERR_SIGNATURE_INVALID');
      });

      test.each([
        ['two bytes long', () => 'AA'],
        ['missing its last three bytes', (s: string) => s.slice(0, -4)],
        ['cut in half', (s: string) => s.slice(0, s.length / 2)],
      ])('valid header and payload with a signature %s is refused', async (_label, cut) => {
        const [h, p, s] = parts(use.mint(w.rsa));
        // A cut can leave a non-canonical last character (refused as malformed before any key is
        // used) or a canonical but short signature (refused by the check): either way a refusal.
        expectRefused(t, use, await use.send(t, `${h}.${p}.${cut(s)}`), 'ERR_SIGNATURE_INVALID', 'ERR_ASSERTION_MALFORMED');
      });

      test('a padded (=) signature is refused', async () => {
        const [h, p, s] = parts(use.mint(w.rsa));
        expectRefused(t, use, await use.send(t, `${h}.${p}.${s}==`), 'ERR_ASSERTION_MALFORMED');
      });

      test('a signature in standard base64 (+ /) is refused', async () => {
        const [h, p, s] = parts(use.mint(w.rsa));
        const standard = Buffer.from(s, 'base64url').toString('base64');
        const sig = standard.includes('+') || standard.includes('/') ? standard : `${standard}+`;
        expectRefused(t, use, await use.send(t, `${h}.${p}.${sig}`), 'ERR_ASSERTION_MALFORMED');
      });

      test.each(['HS256', 'PS256', 'RS512'])('the header switched to %s with the original RS256 signature is refused', async (alg) => {
        const [, p, s] = parts(use.mint(w.rsa));
        expectRefused(
          t,
          use,
          await use.send(t, `${segment({ alg, typ: 'JWT', kid: w.rsa.kid })}.${p}.${s}`),
          'ERR_ALGORITHM_NOT_ALLOWED',
          'ERR_SIGNATURE_INVALID',
        );
      });
    });
  });

  describe('client-specific key types', () => {
    test('control: the HS256 client and the mixed-JWKS client are accepted with their own keys', async () => {
      expectAccepted(await t.client(clientParams(clientAssertionFor('client-hs', HS_SECRET))));
      expectAccepted(await t.client(clientParams(clientAssertionFor('client-mixed', w.rsa))));
      expectAccepted(await t.client(clientParams(clientAssertionFor('client-mixed', w.ec))));
    });

    test('an RS256 assertion for a client registered with a shared secret is refused', async () => {
      const answer = await t.client(clientParams(clientAssertionFor('client-hs', w.rsa)));
      expectRefused(t, USES[1]!, answer, 'ERR_ALGORITHM_NOT_ALLOWED');
    });

    test('an HS256 assertion keyed with the wrong secret is refused', async () => {
      const answer = await t.client(clientParams(clientAssertionFor('client-hs', `${HS_SECRET}!`)));
      expectRefused(t, USES[1]!, answer, 'ERR_SIGNATURE_INVALID');
    });

    test('RS256 naming the kid of the EC key in a mixed JWKS is refused', async () => {
      const token = clientAssertionFor('client-mixed', w.rsa, { header: { kid: w.ec.kid } });
      expectRefused(t, USES[1]!, await t.client(clientParams(token)), 'ERR_KEY_NOT_FOUND');
    });

    test('ES256 naming the kid of the RSA key in a mixed JWKS is refused', async () => {
      const token = clientAssertionFor('client-mixed', w.ec, { header: { kid: w.rsa.kid } });
      expectRefused(t, USES[1]!, await t.client(clientParams(token)), 'ERR_KEY_NOT_FOUND');
    });
  });
});
