import { createClientAuthenticator, createGrantVerifier, type ClientAuthenticator, type GrantVerifier } from '../src';
import fc from 'fast-check';
import { decodeAssertion, isCanonicalBase64url } from '../src/jose/jws';
import {
  b64url,
  CLIENT_ID,
  clientClaims,
  clientRequest,
  expectRejected,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  ISSUER,
  rsaKeyPair,
  signJws,
  unsignedJws,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let grants: GrantVerifier;
let clients: ClientAuthenticator;

beforeAll(() => {
  rsa = rsaKeyPair();
  grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }], maxAssertionLength: 2048 });
  clients = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }], maxAssertionLength: 2048 });
});

function decodeError(token: string, maxLength = 16384): { code: string; error: string; detail: string | undefined } {
  try {
    decodeAssertion(token, maxLength, 'grant');
  } catch (err) {
    const e = err as { code: string; error: string; detail: string | undefined };
    return { code: e.code, error: e.error, detail: e.detail };
  }
  throw new Error('decodeAssertion accepted the token');
}

describe('decodeAssertion()', () => {
  it('splits a compact JWS into header, payload, signing input and signature bytes', () => {
    const token = signJws({ alg: 'RS256', kid: 'k1' }, { iss: 'a', n: 1 }, rsa.privateKey);
    const decoded = decodeAssertion(token, 16384, 'grant');
    expect(decoded.header).toEqual({ alg: 'RS256', kid: 'k1' });
    expect(decoded.payload).toEqual({ iss: 'a', n: 1 });
    expect(decoded.signingInput.toString()).toBe(token.slice(0, token.lastIndexOf('.')));
    expect(decoded.signature).toEqual(Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url'));
  });

  it('RFC 7515 §2: refuses a signature in non-canonical base64url (same bytes, another spelling)', async () => {
    const token = signJws({ alg: 'RS256' }, grantClaims(), rsa.privateKey);
    const cut = token.lastIndexOf('.') + 1;
    const sig = token.slice(cut);
    // 256 signature bytes leave 4 unused bits in the last character: find another character
    // that decodes to the very same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = [...alphabet].map((c) => sig.slice(0, -1) + c).find((s) => s !== sig && Buffer.from(s, 'base64url').equals(Buffer.from(sig, 'base64url')));
    expect(twin).toBeDefined();
    const malleated = token.slice(0, cut) + twin;
    expect(decodeError(malleated)).toMatchObject({ code: 'ERR_ASSERTION_MALFORMED', detail: 'signature is not canonical base64url' });
    await expectRejected(grants.verify(grantRequest(malleated)), 'ERR_ASSERTION_MALFORMED', 'invalid_grant', 400);
    await expect(grants.verify(grantRequest(token))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
  });

  it('knows canonical base64url exactly as a decode and re-encode round trip does', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const roundTrip = (text: string) => Buffer.from(text, 'base64url').toString('base64url') === text;
    // Every last character after every length class, and then random texts.
    for (const prefix of ['', 'A', 'AB', 'ABC', 'ABCD']) {
      for (const c of alphabet) expect([prefix + c, isCanonicalBase64url(prefix + c)]).toEqual([prefix + c, roundTrip(prefix + c)]);
    }
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength: 400 }), (text) => isCanonicalBase64url(text) === roundTrip(text)),
      { numRuns: 2000, seed: 7515 },
    );
  });

  it('refuses an assertion longer than maxLength before decoding it (ERR_ASSERTION_TOO_LONG)', () => {
    const token = signJws({ alg: 'RS256' }, { pad: 'x'.repeat(3000) }, rsa.privateKey);
    expect(decodeError(token, token.length - 1).code).toBe('ERR_ASSERTION_TOO_LONG');
    expect(() => decodeAssertion(token, token.length, 'grant')).not.toThrow();
    // Garbage past the limit is refused for its length, not its content.
    expect(decodeError('!'.repeat(101), 100).code).toBe('ERR_ASSERTION_TOO_LONG');
  });

  it('RFC 7523 §2.1: refuses a JWE (five segments): the assertion must be a single signed JWT', () => {
    const e = decodeError('eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d');
    expect(e.code).toBe('ERR_ASSERTION_MALFORMED');
    expect(e.detail).toMatch(/JWE/);
  });

  it('refuses one, two and four segments', () => {
    expect(decodeError('abc').code).toBe('ERR_ASSERTION_MALFORMED');
    expect(decodeError('abc.def').code).toBe('ERR_ASSERTION_MALFORMED');
    expect(decodeError('abc.def.ghi.jkl').code).toBe('ERR_ASSERTION_MALFORMED');
  });

  it('refuses the JWS JSON serialisation', () => {
    const token = signJws({ alg: 'RS256' }, { iss: 'a' }, rsa.privateKey);
    const [h, p, s] = token.split('.');
    expect(decodeError(JSON.stringify({ protected: h, payload: p, signature: s })).code).toBe('ERR_ASSERTION_MALFORMED');
    expect(decodeError(JSON.stringify({ payload: p, signatures: [{ protected: h, signature: s }] })).code).toBe('ERR_ASSERTION_MALFORMED');
  });

  it('refuses segments that are not base64url (padding, +, /, spaces, empty)', () => {
    const header = b64url({ alg: 'RS256' });
    const payload = b64url({ iss: 'a' });
    expect(decodeError(`${header}=.${payload}.c2ln`).detail).toMatch(/header is not base64url/);
    expect(decodeError(`${header}.${payload}+/.c2ln`).detail).toMatch(/payload is not base64url/);
    expect(decodeError(`${header}.${payload}.c2ln=`).detail).toMatch(/signature/);
    expect(decodeError(`${header}.${payload}.`).detail).toMatch(/signature is empty/);
    expect(decodeError(`.${payload}.c2ln`).code).toBe('ERR_ASSERTION_MALFORMED');
    expect(decodeError(`${header}..c2ln`).code).toBe('ERR_ASSERTION_MALFORMED');
    expect(decodeError(`${header} .${payload}.c2ln`).code).toBe('ERR_ASSERTION_MALFORMED');
  });

  it('refuses a header or payload that is not JSON', () => {
    expect(decodeError(`${b64url('not json')}.${b64url({})}.c2ln`).detail).toMatch(/header is not JSON/);
    expect(decodeError(`${b64url({ alg: 'RS256' })}.${b64url('{"iss":')}.c2ln`).detail).toMatch(/payload is not JSON/);
  });

  it('refuses a header or payload that is JSON but not an object (array, string, number, null)', () => {
    for (const value of [[1, 2], 'str', 42, null, true]) {
      const json = b64url(JSON.stringify(value));
      expect(decodeError(`${json}.${b64url({})}.c2ln`).detail).toMatch(/header is not a JSON object/);
      expect(decodeError(`${b64url({ alg: 'RS256' })}.${json}.c2ln`).detail).toMatch(/payload is not a JSON object/);
    }
  });
});

describe('malformed assertions through the verifiers (RFC 7521 §4.1.1 / §4.2.1: an invalid assertion is invalid_grant / invalid_client)', () => {
  const malformed: Array<[string, string]> = [
    ['garbage', 'not-a-jwt'],
    ['JWE', 'eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'],
    ['bad base64url', 'a$b.c.d'],
    ['non-object header', unsignedJws([1], {})],
    ['non-object payload', unsignedJws({ alg: 'RS256' }, '"x"')],
    ['unsigned JWT (empty signature)', `${b64url({ alg: 'none' })}.${b64url(grantClaims())}.`],
  ];

  it.each(malformed)('RFC 7521 §4.1.1: a grant with a %s assertion is invalid_grant ERR_ASSERTION_MALFORMED', async (_name, token) => {
    await expectRejected(grants.verify(grantRequest(token)), 'ERR_ASSERTION_MALFORMED', 'invalid_grant', 400);
  });

  it.each(malformed)('RFC 7521 §4.2.1: a client assertion that is a %s is invalid_client ERR_ASSERTION_MALFORMED', async (_name, token) => {
    await expectRejected(clients.authenticate(clientRequest(token)), 'ERR_ASSERTION_MALFORMED', 'invalid_client', 401);
  });

  it('RFC 7521 §4.1.1: an over-long grant assertion is invalid_grant ERR_ASSERTION_TOO_LONG (maxAssertionLength)', async () => {
    const long = signJws({ alg: 'RS256' }, grantClaims({ pad: 'x'.repeat(2000) }), rsa.privateKey);
    expect(long.length).toBeGreaterThan(2048);
    await expectRejected(grants.verify(grantRequest(long)), 'ERR_ASSERTION_TOO_LONG', 'invalid_grant', 400);
    const short = signJws({ alg: 'RS256' }, grantClaims(), rsa.privateKey);
    await expect(grants.verify(grantRequest(short))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
  });

  it('RFC 7521 §4.2.1: an over-long client assertion is invalid_client ERR_ASSERTION_TOO_LONG', async () => {
    const long = signJws({ alg: 'RS256' }, clientClaims({ pad: 'x'.repeat(2000) }), rsa.privateKey);
    await expectRejected(clients.authenticate(clientRequest(long)), 'ERR_ASSERTION_TOO_LONG', 'invalid_client', 401);
  });

  it('the default maxAssertionLength is 16384 characters', async () => {
    const defaults = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }] });
    const base = signJws({ alg: 'RS256' }, grantClaims({ pad: '' }), rsa.privateKey);
    // Every 3 bytes of claim add 4 base64url characters.
    const fill = 'x'.repeat(Math.floor(((16384 - base.length) * 3) / 4) - 3);
    const atLimit = signJws({ alg: 'RS256' }, grantClaims({ pad: fill }), rsa.privateKey);
    expect(atLimit.length).toBeLessThanOrEqual(16384);
    expect(atLimit.length).toBeGreaterThan(16300);
    await expect(defaults.verify(grantRequest(atLimit))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
    const over = signJws({ alg: 'RS256' }, grantClaims({ pad: `${fill}xxxxxxxx` }), rsa.privateKey);
    expect(over.length).toBeGreaterThan(16384);
    await expectRejected(defaults.verify(grantRequest(over)), 'ERR_ASSERTION_TOO_LONG');
  });
});
