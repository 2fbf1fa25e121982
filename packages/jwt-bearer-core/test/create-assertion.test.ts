import * as crypto from 'node:crypto';
import { createAssertion, createClientAuthenticator, MemoryReplayStore, type CreateAssertionOptions } from '../src';
import { CLIENT_ID, clientRequest, ecKeyPair, ed25519KeyPair, ed448KeyPair, ISSUER, nowSeconds, rsaKeyPair, secret, type TestKeyPair } from './helpers';

let rsa: TestKeyPair;
let pss: crypto.KeyPairKeyObjectResult;
let p256: TestKeyPair;
let p384: TestKeyPair;
let p521: TestKeyPair;
let ed25519: TestKeyPair;
let ed448: TestKeyPair;

beforeAll(() => {
  rsa = rsaKeyPair();
  // jsonwebtoken signs PS256 only with a PSS key whose parameters say SHA-256 (RFC 4055).
  pss = crypto.generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256' });
  p256 = ecKeyPair('P-256');
  p384 = ecKeyPair('P-384');
  p521 = ecKeyPair('P-521');
  ed25519 = ed25519KeyPair();
  ed448 = ed448KeyPair();
});

function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString()),
  };
}

const base = (key: CreateAssertionOptions['key'], extra: Partial<CreateAssertionOptions> = {}): CreateAssertionOptions => ({
  issuer: CLIENT_ID,
  subject: CLIENT_ID,
  audience: ISSUER,
  key,
  ...extra,
});

describe('createAssertion() claims and header', () => {
  it('signs iss, sub, aud, iat, exp = iat + 60 and a random UUID jti, with typ JWT', () => {
    const before = nowSeconds();
    const { header, payload } = decode(createAssertion(base(rsa.privatePem)));
    const after = nowSeconds();
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(payload.iss).toBe(CLIENT_ID);
    expect(payload.sub).toBe(CLIENT_ID);
    expect(payload.aud).toBe(ISSUER);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(after);
    expect(payload.exp).toBe((payload.iat as number) + 60);
    expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(decode(createAssertion(base(rsa.privatePem))).payload.jti).not.toBe(payload.jti);
  });

  it('takes issuedAt, expiresIn, notBefore, jwtId, keyId, type, an audience array, claims and header parameters', () => {
    const { header, payload } = decode(
      createAssertion(
        base(rsa.privateKey, {
          audience: [ISSUER, 'https://other'],
          issuedAt: 1000,
          expiresIn: 300,
          notBefore: 990,
          jwtId: 'my-jti',
          keyId: 'k1',
          type: 'client-authentication+jwt',
          claims: { scope: 'read', custom: { a: 1 } },
          header: { x5t: 'thumb' },
        }),
      ),
    );
    expect(header).toEqual({ alg: 'RS256', typ: 'client-authentication+jwt', kid: 'k1', x5t: 'thumb' });
    expect(payload).toEqual({
      iss: CLIENT_ID,
      sub: CLIENT_ID,
      aud: [ISSUER, 'https://other'],
      iat: 1000,
      exp: 1300,
      nbf: 990,
      jti: 'my-jti',
      scope: 'read',
      custom: { a: 1 },
    });
  });

  it('issuedAt: null and jwtId: null leave iat and jti out; exp then counts from now', () => {
    const { payload } = decode(createAssertion(base(rsa.privatePem, { issuedAt: null, jwtId: null, expiresIn: 120 })));
    expect(payload).not.toHaveProperty('iat');
    expect(payload).not.toHaveProperty('jti');
    expect(Math.abs((payload.exp as number) - (nowSeconds() + 120))).toBeLessThanOrEqual(1);
  });

  it('omits sub when no subject is given (issuers with requireSubject: false)', () => {
    expect(decode(createAssertion({ issuer: 'svc', audience: ISSUER, key: rsa.privatePem })).payload).not.toHaveProperty('sub');
  });

  it('extra claims and header parameters cannot replace the ones it sets', () => {
    const { header, payload } = decode(
      createAssertion(base(rsa.privatePem, { claims: { iss: 'evil', aud: 'evil', exp: 1 }, header: { alg: 'none' }, issuedAt: 5000 })),
    );
    expect(payload.iss).toBe(CLIENT_ID);
    expect(payload.aud).toBe(ISSUER);
    expect(payload.exp).toBe(5060);
    expect(header.alg).toBe('RS256');
  });
});

describe('createAssertion() with an RSASSA-PSS key without parameters', () => {
  it('signs PS256 (which jsonwebtoken refuses for such a key) and the signature verifies', async () => {
    const bare = crypto.generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    const assertion = createAssertion(base(bare.privateKey));
    expect(decode(assertion).header.alg).toBe('PS256');
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, publicKey: bare.publicKey }],
      replayStore: new MemoryReplayStore(),
    });
    await expect(clients.authenticate(clientRequest(assertion))).resolves.toMatchObject({ clientId: CLIENT_ID, method: 'private_key_jwt' });
  });
});

describe('createAssertion() keys and default algorithms', () => {
  it.each([
    ['an RSA PEM', () => rsa.privatePem, 'RS256'],
    ['an RSA KeyObject', () => rsa.privateKey, 'RS256'],
    ['an RSA private JWK', () => rsa.privateJwk, 'RS256'],
    ['an RSASSA-PSS key', () => pss.privateKey, 'PS256'],
    ['a P-256 key', () => p256.privateKey, 'ES256'],
    ['a P-384 PEM', () => p384.privatePem, 'ES384'],
    ['a P-521 JWK', () => p521.privateJwk, 'ES512'],
    ['an Ed25519 key', () => ed25519.privateKey, 'EdDSA'],
    ['an Ed448 key', () => ed448.privateKey, 'EdDSA'],
    ['a string secret', () => secret(32), 'HS256'],
    ['a Uint8Array secret', () => new Uint8Array(64).fill(3), 'HS256'],
    ['a secret KeyObject', () => crypto.createSecretKey(Buffer.alloc(32, 1)), 'HS256'],
  ] as const)('defaults to the algorithm of %s', (_name, key, alg) => {
    expect(decode(createAssertion(base(key()))).header.alg).toBe(alg);
  });

  it('signs with an explicit algorithm', () => {
    expect(decode(createAssertion(base(rsa.privatePem, { algorithm: 'PS512' }))).header.alg).toBe('PS512');
    expect(decode(createAssertion(base(ed25519.privateKey, { algorithm: 'Ed25519' }))).header.alg).toBe('Ed25519');
    expect(decode(createAssertion(base(secret(64), { algorithm: 'HS512' }))).header.alg).toBe('HS512');
  });

  it('produces assertions the client authenticator accepts, for PEM, JWK, KeyObject and secret keys', async () => {
    const s = secret(32);
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      replayStore: new MemoryReplayStore(),
      clients: [
        { clientId: 'rsa', publicKey: rsa.publicJwk },
        { clientId: 'ed', publicKey: ed25519.publicKey },
        { clientId: 'hs', clientSecret: s },
        { clientId: 'pss', publicKey: pss.publicKey },
      ],
    });
    const sign = (id: string, key: CreateAssertionOptions['key']) => createAssertion({ issuer: id, subject: id, audience: ISSUER, key });
    await expect(clients.authenticate(clientRequest(sign('rsa', rsa.privateJwk)))).resolves.toMatchObject({ clientId: 'rsa' });
    await expect(clients.authenticate(clientRequest(sign('ed', ed25519.privatePem)))).resolves.toMatchObject({ clientId: 'ed' });
    await expect(clients.authenticate(clientRequest(sign('hs', Buffer.from(s))))).resolves.toMatchObject({ clientId: 'hs' });
    await expect(clients.authenticate(clientRequest(sign('pss', pss.privateKey)))).resolves.toMatchObject({ clientId: 'pss' });
  });
});

describe('createAssertion() refuses bad options with a TypeError', () => {
  it.each([
    ['options not an object', null],
    ['issuer missing', { audience: ISSUER, key: 'x'.repeat(32) }],
    ['issuer empty', { issuer: '', audience: ISSUER, key: 'x'.repeat(32) }],
    ['subject empty', { issuer: 'a', subject: '', audience: ISSUER, key: 'x'.repeat(32) }],
    ['subject not a string', { issuer: 'a', subject: 5, audience: ISSUER, key: 'x'.repeat(32) }],
    ['audience missing', { issuer: 'a', key: 'x'.repeat(32) }],
    ['audience empty array', { issuer: 'a', audience: [], key: 'x'.repeat(32) }],
    ['key of the wrong type', { issuer: 'a', audience: ISSUER, key: 42 }],
    ['algorithm none', { issuer: 'a', audience: ISSUER, key: 'x'.repeat(32), algorithm: 'none' }],
  ])('%s', (_name, options) => {
    expect(() => createAssertion(options as unknown as CreateAssertionOptions)).toThrow(TypeError);
  });

  it('names the option in the message', () => {
    expect(() => createAssertion({ issuer: '', audience: ISSUER, key: 'k' })).toThrow(/"issuer"/);
    expect(() => createAssertion({ issuer: 'a', audience: '', key: 'k' })).toThrow(/"audience"/);
    expect(() => createAssertion({ issuer: 'a', audience: ISSUER, key: 42 as never })).toThrow(/"key"/);
  });

  it('refuses a key type it cannot sign with (X25519)', () => {
    const { privateKey } = crypto.generateKeyPairSync('x25519');
    expect(() => createAssertion(base(privateKey))).toThrow(/unsupported key type x25519/);
  });

  it("refuses a 1024-bit RSA key with its own TypeError saying why, not jsonwebtoken's error (RFC 7518 §3.3)", () => {
    const weak = rsaKeyPair(1024);
    for (const key of [weak.privateKey, weak.privatePem, weak.privateJwk]) {
      let thrown: unknown;
      try {
        createAssertion(base(key));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as Error).message).toBe(
        'createAssertion: option "key" is not usable: the RS256 key has 1024 bits, at least 2048 required (RFC 7518 §3.3)',
      );
    }
    expect(() => createAssertion(base(weak.privateKey, { algorithm: 'PS384' }))).toThrow(/the PS384 key has 1024 bits, at least 2048 required/);
  });
});
