import * as crypto from 'node:crypto';
import { createClientAuthenticator, createGrantVerifier } from '../src';
import { ALGORITHMS } from '../src/jose/algorithms';
import type { Jwk } from '../src/types';
import {
  importJwk,
  importJwkSet,
  importPublicKey,
  importSecret,
  MAX_KEYS_TRIED,
  MAX_VERIFY_COST,
  parseJwk,
  selectKeys,
  StaticKeySource,
  type KeyEntry,
} from '../src/trust/keys';
import {
  certificateInfo,
  CLIENT_ID,
  clientClaims,
  clientRequest,
  ecKeyPair,
  ed25519KeyPair,
  expectRejected,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  hostileRsaJwk,
  ISSUER,
  jwkWithKid,
  rsaKeyPair,
  secret,
  selfSignedCertificate,
  signJws,
  type TestKeyPair,
} from './helpers';

let rsaA: TestKeyPair;
let rsaB: TestKeyPair;
let certA: string;
let certB: string;
let ecKeys: TestKeyPair[];
let ed: TestKeyPair;

beforeAll(() => {
  rsaA = rsaKeyPair();
  rsaB = rsaKeyPair();
  ecKeys = Array.from({ length: MAX_KEYS_TRIED + 1 }, () => ecKeyPair('P-256'));
  ed = ed25519KeyPair();
  certA = selfSignedCertificate(rsaA, 'key-a');
  certB = selfSignedCertificate(rsaB, 'key-b');
});

function algs(e: KeyEntry | undefined): string[] {
  return e ? [...e.algorithms].sort() : [];
}

describe('importJwk()', () => {
  it('imports RSA, EC and OKP public JWKs with the algorithms their type allows', () => {
    expect(algs(importJwk(rsaA.publicJwk))).toEqual(['PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512']);
    expect(algs(importJwk(ecKeys[0]!.publicJwk))).toEqual(['ES256']);
    expect(algs(importJwk(ecKeyPair('P-384').publicJwk))).toEqual(['ES384']);
    expect(algs(importJwk(ed.publicJwk))).toEqual(['Ed25519', 'EdDSA']);
  });

  it('restricts the key to the JWK alg member (RFC 7517 §4.4)', () => {
    expect(algs(importJwk({ ...rsaA.publicJwk, alg: 'PS384' }))).toEqual(['PS384']);
    expect(importJwk({ ...rsaA.publicJwk, alg: 'ES256' })).toBeUndefined();
  });

  it('keeps kid, and takes x5t / x5t#S256 members when there is no certificate', () => {
    const e = importJwk({ ...rsaA.publicJwk, kid: 'k', x5t: 'sha1thumb', 'x5t#S256': 'sha256thumb' });
    expect(e?.kid).toBe('k');
    expect(e?.x5t).toBe('sha1thumb');
    expect(e?.x5tS256).toBe('sha256thumb');
  });

  it('skips keys that are not for signatures, private, symmetric, malformed or unusable', () => {
    expect(importJwk({ ...rsaA.publicJwk, use: 'enc' })).toBeUndefined();
    expect(importJwk({ ...rsaA.publicJwk, key_ops: ['encrypt'] })).toBeUndefined();
    expect(importJwk({ ...rsaA.publicJwk, key_ops: ['verify'] })).toBeDefined();
    expect(importJwk({ ...rsaA.publicJwk, use: 'sig' })).toBeDefined();
    expect(importJwk(rsaA.privateJwk)).toBeUndefined();
    expect(importJwk({ kty: 'oct', k: 'c2VjcmV0' })).toBeUndefined();
    expect(importJwk({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' })).toBeUndefined();
    expect(importJwk({ kty: 'OKP', crv: 'X25519', x: crypto.generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x })).toBeUndefined();
    expect(importJwk(rsaKeyPair(1024).publicJwk)).toBeUndefined();
    expect(importJwk(null)).toBeUndefined();
    expect(importJwk([rsaA.publicJwk])).toBeUndefined();
    expect(importJwk('jwk')).toBeUndefined();
  });
});

describe('importPublicKey()', () => {
  it('accepts SPKI PEM, PKCS#1 PEM, a public KeyObject and a public JWK', () => {
    expect(algs(importPublicKey(rsaA.publicPem, 'publicKey'))).toContain('RS256');
    const pkcs1 = rsaA.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PUBLIC KEY');
    expect(algs(importPublicKey(pkcs1, 'publicKey'))).toContain('RS256');
    expect(algs(importPublicKey(ed.publicKey, 'publicKey'))).toEqual(['Ed25519', 'EdDSA']);
    expect(algs(importPublicKey(ecKeys[0]!.publicJwk, 'publicKey'))).toEqual(['ES256']);
  });

  it('refuses private keys in every form, naming the option', () => {
    expect(() => importPublicKey(rsaA.privatePem, 'opt.publicKey')).toThrow(/opt\.publicKey.*private key/);
    const pkcs1 = rsaA.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(() => importPublicKey(pkcs1, 'opt.publicKey')).toThrow(TypeError);
    const sec1 = ecKeys[0]!.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    expect(() => importPublicKey(sec1, 'opt.publicKey')).toThrow(TypeError);
    expect(() => importPublicKey(rsaA.privateKey, 'opt.publicKey')).toThrow(/opt\.publicKey must be a public key; a private key/);
    expect(() => importPublicKey(rsaA.privateJwk, 'opt.publicKey')).toThrow(/opt\.publicKey.*"d"/);
    expect(() => importPublicKey(crypto.createSecretKey(Buffer.alloc(32)), 'opt.publicKey')).toThrow(/secret key/);
  });

  it('refuses an RSA key under 2048 bits (RFC 7518 §3.3), garbage, and non-key values', () => {
    expect(() => importPublicKey(rsaKeyPair(1024).publicPem, 'opt.publicKey')).toThrow(
      /opt\.publicKey is not usable: RSA key has 1024 bits, at least 2048 required/,
    );
    expect(() => importPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', 'opt.publicKey')).toThrow(/not a valid PEM/);
    expect(() => importPublicKey({ kty: 'oct', k: 'abc' }, 'opt.publicKey')).toThrow(/not a usable public signing JWK/);
    expect(() => importPublicKey(42 as never, 'opt.publicKey')).toThrow(/must be a PEM string, a JWK or a KeyObject/);
  });

  it('accepts an X.509 certificate PEM and records its x5t / x5t#S256 thumbprints', () => {
    const e = importPublicKey(certA, 'publicKey');
    const info = certificateInfo(certA);
    expect(e.x5t).toBe(info.x5t);
    expect(e.x5tS256).toBe(info.x5tS256);
    expect(e.key.equals(rsaA.publicKey)).toBe(true);
  });
});

describe('importSecret()', () => {
  it('RFC 7518 §3.2: an HMAC key must be at least as long as the hash output', () => {
    expect(() => importSecret('x'.repeat(31), 'opt.clientSecret')).toThrow(/opt\.clientSecret must be at least 32 bytes/);
    expect(algs(importSecret('x'.repeat(32), 's'))).toEqual(['HS256']);
    expect(algs(importSecret('x'.repeat(48), 's'))).toEqual(['HS256', 'HS384']);
    expect(algs(importSecret(new Uint8Array(64), 's'))).toEqual(['HS256', 'HS384', 'HS512']);
    expect(() => importSecret(42 as never, 'opt.clientSecret')).toThrow(/string or a Uint8Array/);
  });
});

describe('importJwkSet()', () => {
  it('imports the usable keys and skips the others', () => {
    const entries = importJwkSet({ keys: [jwkWithKid(rsaA, 'a'), { kty: 'oct', k: 'x' }, { ...jwkWithKid(rsaB, 'b'), use: 'enc' }] }, 'jwks');
    expect(entries.map((e) => e.kid)).toEqual(['a']);
  });

  it('refuses a non-set, a private key and a set without a usable key, naming the option', () => {
    expect(() => importJwkSet({} as never, 'opt.jwks')).toThrow(/opt\.jwks must be a JWK Set/);
    expect(() => importJwkSet(null as never, 'opt.jwks')).toThrow(/opt\.jwks must be a JWK Set/);
    expect(() => importJwkSet({ keys: [rsaA.privateJwk] }, 'opt.jwks')).toThrow(/opt\.jwks\.keys\[0\] is a private key/);
    expect(() => importJwkSet({ keys: [{ kty: 'oct', k: 'x' }] }, 'opt.jwks')).toThrow(
      /opt\.jwks holds no usable signing key: oct key keys\[0\] is not an RSA, EC or OKP key/,
    );
  });
});

describe('selectKeys()', () => {
  let entries: KeyEntry[];
  beforeAll(() => {
    entries = [importJwk(jwkWithKid(rsaA, 'a'))!, importJwk(jwkWithKid(rsaB, 'b'))!, importJwk(ecKeys[0]!.publicJwk)!];
  });

  it('RFC 7515 §4.1.4: selects by kid among keys that fit the algorithm', () => {
    expect(selectKeys(entries, ALGORITHMS.RS256, { kid: 'b' })).toEqual({ keys: [entries[1]], miss: false });
    // kid of an RSA key for ES256: the RSA key does not fit, the kid-less EC key is tried.
    expect(selectKeys(entries, ALGORITHMS.ES256, { kid: 'a' })).toEqual({ keys: [entries[2]], miss: false });
    expect(selectKeys(entries, ALGORITHMS.RS256, { kid: 'zzz' })).toEqual({ keys: [], miss: true });
  });

  it('without kid or thumbprint, tries only keys of the algorithm type, at most MAX_KEYS_TRIED', () => {
    expect(selectKeys(entries, ALGORITHMS.ES256, {}).keys).toEqual([entries[2]]);
    expect(selectKeys(entries, ALGORITHMS.PS256, {}).keys).toEqual([entries[0], entries[1]]);
    expect(selectKeys(entries, ALGORITHMS.Ed25519, {})).toEqual({ keys: [], miss: true });
    const many = ecKeys.map((k) => importJwk(k.publicJwk)!);
    expect(selectKeys(many, ALGORITHMS.ES256, {}).keys).toHaveLength(MAX_KEYS_TRIED);
    expect(MAX_KEYS_TRIED).toBeLessThan(many.length);
  });

  it('RFC 7515 §4.1.7 / §4.1.8: selects by x5t#S256 or x5t, and falls back to keys without thumbprints', () => {
    const withThumbs = [importJwk({ ...rsaA.publicJwk, x5t: 'A1', 'x5t#S256': 'A256' })!, importJwk({ ...rsaB.publicJwk, x5t: 'B1', 'x5t#S256': 'B256' })!];
    expect(selectKeys(withThumbs, ALGORITHMS.RS256, { 'x5t#S256': 'B256' }).keys).toEqual([withThumbs[1]]);
    expect(selectKeys(withThumbs, ALGORITHMS.RS256, { x5t: 'A1' }).keys).toEqual([withThumbs[0]]);
    expect(selectKeys(withThumbs, ALGORITHMS.RS256, { x5t: 'nope' })).toEqual({ keys: [], miss: true });
    const bare = [importJwk(rsaA.publicJwk)!];
    expect(selectKeys(bare, ALGORITHMS.RS256, { 'x5t#S256': 'whatever' })).toEqual({ keys: bare, miss: false });
  });

  it('StaticKeySource offers the union of its keys algorithms', () => {
    const source = new StaticKeySource([importJwk(ecKeys[0]!.publicJwk)!, importJwk(ed.publicJwk)!]);
    expect([...source.algorithms].sort()).toEqual(['ES256', 'Ed25519', 'EdDSA']);
    expect(source.select(ALGORITHMS.EdDSA, {}).keys).toHaveLength(1);
  });
});

describe('key selection end to end (DESIGN §6)', () => {
  it('accepts an assertion without kid (Google, auth0, Salesforce, MSAL send none)', async () => {
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, jwks: { keys: [jwkWithKid(rsaA, 'a'), jwkWithKid(rsaB, 'b')] } }],
    });
    const token = signJws({ alg: 'RS256', typ: 'JWT' }, clientClaims(), rsaB.privateKey);
    await expect(clients.authenticate(clientRequest(token))).resolves.toMatchObject({ clientId: CLIENT_ID, method: 'private_key_jwt' });
  });

  it('tries at most MAX_KEYS_TRIED keys without a kid: a signature by a later key is not found by trial', async () => {
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, jwks: { keys: ecKeys.map((k) => k.publicJwk) } }],
    });
    const first = signJws({ alg: 'ES256' }, clientClaims(), ecKeys[MAX_KEYS_TRIED - 1]!.privateKey);
    await expect(clients.authenticate(clientRequest(first))).resolves.toMatchObject({ clientId: CLIENT_ID });
    const last = signJws({ alg: 'ES256' }, clientClaims(), ecKeys[MAX_KEYS_TRIED]!.privateKey);
    await expectRejected(clients.authenticate(clientRequest(last)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
  });

  it('selects by kid: a kid naming another key of the set fails, an unknown kid is ERR_KEY_NOT_FOUND', async () => {
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, jwks: { keys: [jwkWithKid(rsaA, 'a'), jwkWithKid(rsaB, 'b')] } }],
    });
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'RS256', kid: 'b' }, clientClaims(), rsaB.privateKey)))).resolves.toBeDefined();
    await expectRejected(clients.authenticate(clientRequest(signJws({ alg: 'RS256', kid: 'a' }, clientClaims(), rsaB.privateKey))), 'ERR_SIGNATURE_INVALID');
    await expectRejected(
      clients.authenticate(clientRequest(signJws({ alg: 'RS256', kid: 'c' }, clientClaims(), rsaB.privateKey))),
      'ERR_KEY_NOT_FOUND',
      'invalid_client',
      401,
    );
  });

  it('accepts a kid on the header when the registered PEM has none', async () => {
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsaA.publicPem }] });
    const token = signJws({ alg: 'RS256', kid: 'key-2024-01' }, grantClaims(), rsaA.privateKey);
    await expect(grants.verify(grantRequest(token))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
  });

  it('accepts a JWK registered with an explicit x5t#S256 member, selected by that thumbprint', async () => {
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [
        {
          clientId: CLIENT_ID,
          jwks: {
            keys: [
              { ...rsaA.publicJwk, 'x5t#S256': 'thumb-a' },
              { ...rsaB.publicJwk, 'x5t#S256': 'thumb-b' },
            ],
          },
        },
      ],
    });
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'RS256', 'x5t#S256': 'thumb-b' }, clientClaims(), rsaB.privateKey)))).resolves.toBeDefined();
    await expectRejected(
      clients.authenticate(clientRequest(signJws({ alg: 'RS256', 'x5t#S256': 'thumb-a' }, clientClaims(), rsaB.privateKey))),
      'ERR_SIGNATURE_INVALID',
    );
    await expectRejected(
      clients.authenticate(clientRequest(signJws({ alg: 'RS256', 'x5t#S256': 'thumb-c' }, clientClaims(), rsaB.privateKey))),
      'ERR_KEY_NOT_FOUND',
    );
  });

  it('selects by x5t#S256 among JWKs with x5c certificates', async () => {
    const a = certificateInfo(certA);
    const b = certificateInfo(certB);
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [
        {
          clientId: CLIENT_ID,
          jwks: {
            keys: [
              { ...rsaA.publicJwk, x5c: [a.der.toString('base64')] },
              { ...rsaB.publicJwk, x5c: [b.der.toString('base64')] },
            ],
          },
        },
      ],
    });
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'RS256', 'x5t#S256': b.x5tS256 }, clientClaims(), rsaB.privateKey)))).resolves.toBeDefined();
    // The thumbprint picks key A alone: B's signature is then not tried against B.
    await expectRejected(
      clients.authenticate(clientRequest(signJws({ alg: 'RS256', 'x5t#S256': a.x5tS256 }, clientClaims(), rsaB.privateKey))),
      'ERR_SIGNATURE_INVALID',
    );
    await expectRejected(
      clients.authenticate(clientRequest(signJws({ alg: 'RS256', 'x5t#S256': 'AAAA' }, clientClaims(), rsaB.privateKey))),
      'ERR_KEY_NOT_FOUND',
    );
  });

  it('selects by x5t (SHA-1) among JWKs with x5c certificates', async () => {
    const a = certificateInfo(certA);
    const b = certificateInfo(certB);
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [
        {
          clientId: CLIENT_ID,
          jwks: {
            keys: [
              { ...rsaA.publicJwk, x5c: [a.der.toString('base64')] },
              { ...rsaB.publicJwk, x5c: [b.der.toString('base64')] },
            ],
          },
        },
      ],
    });
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'RS256', x5t: b.x5t }, clientClaims(), rsaB.privateKey)))).resolves.toBeDefined();
    await expectRejected(clients.authenticate(clientRequest(signJws({ alg: 'RS256', x5t: a.x5t }, clientClaims(), rsaB.privateKey))), 'ERR_SIGNATURE_INVALID');
  });

  it('accepts a certificate PEM as publicKey and an assertion naming it by x5t#S256 or x5t', async () => {
    const a = certificateInfo(certA);
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: certA }] });
    await expect(grants.verify(grantRequest(signJws({ alg: 'RS256', 'x5t#S256': a.x5tS256 }, grantClaims(), rsaA.privateKey)))).resolves.toBeDefined();
    await expect(grants.verify(grantRequest(signJws({ alg: 'PS256', x5t: a.x5t }, grantClaims(), rsaA.privateKey)))).resolves.toBeDefined();
    await expectRejected(
      grants.verify(grantRequest(signJws({ alg: 'RS256', 'x5t#S256': 'AAAA' }, grantClaims(), rsaA.privateKey))),
      'ERR_KEY_NOT_FOUND',
      'invalid_grant',
    );
  });

  it('accepts a thumbprint on the header when the registered key has no certificate', async () => {
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsaA.publicPem }] });
    await expect(grants.verify(grantRequest(signJws({ alg: 'RS256', 'x5t#S256': 'AAAA' }, grantClaims(), rsaA.privateKey)))).resolves.toBeDefined();
  });

  it('a client_secret_jwt client verifies HS256 with its secret', async () => {
    const s = secret(32);
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, clientSecret: s }] });
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'HS256' }, clientClaims(), Buffer.from(s))))).resolves.toMatchObject({
      method: 'client_secret_jwt',
    });
  });
});

describe('hostile key sets: RSA size and exponent refused at import (DESIGN §9, issue 12 finding 2)', () => {
  const huge = (2n ** 3071n) | 1n;

  it('refuses a JWK outside 2048–8192 bits or with an exponent above 2^32, with the reason', () => {
    expect(importJwk(hostileRsaJwk(3072, huge))).toBeUndefined();
    expect(parseJwk(hostileRsaJwk(3072, huge, { kid: 'h' }))).toBe('RSA key (kid "h") has a public exponent above 2^32');
    expect(parseJwk(hostileRsaJwk(2048, 2n ** 32n + 1n))).toMatch(/public exponent above 2\^32/);
    expect(parseJwk(hostileRsaJwk(8192 + 64, 65537n))).toBe('RSA key has 8256 bits, at most 8192 accepted');
    expect(parseJwk(rsaKeyPair(1024).publicJwk, 'keys[0]')).toBe('RSA key keys[0] has 1024 bits, at least 2048 required');
    // The limits themselves are accepted.
    expect(importJwk(hostileRsaJwk(8192, 65537n))).toBeDefined();
    expect(importJwk(hostileRsaJwk(2048, 2n ** 32n - 1n))).toBeDefined();
  });

  it('refuses such keys given as a PEM, a KeyObject, a certificate and inside an inline jwks, naming the option', () => {
    const key = crypto.createPublicKey({ key: hostileRsaJwk(3072, huge) as crypto.JsonWebKey, format: 'jwk' });
    const pem = key.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => importPublicKey(pem, 'opt.publicKey')).toThrow(/opt\.publicKey is not usable: RSA key has a public exponent above 2\^32/);
    expect(() => importPublicKey(key, 'opt.publicKey')).toThrow(/opt\.publicKey is not usable: RSA key has a public exponent above 2\^32/);
    const cert = selfSignedCertificate({ ...rsaA, publicKey: key } as TestKeyPair, 'hostile');
    expect(() => importPublicKey(cert, 'opt.publicKey')).toThrow(/opt\.publicKey is not usable: RSA key has a public exponent above 2\^32/);
    expect(() => importJwkSet({ keys: [hostileRsaJwk(3072, huge, { kid: 'h' })] }, 'opt.jwks')).toThrow(
      /opt\.jwks holds no usable signing key: RSA key keys\[0\] \(kid "h"\) has a public exponent above 2\^32/,
    );
    // Issue 14: a JWKS whose only key is a 1024-bit RSA key says why.
    expect(() =>
      createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, jwks: { keys: [jwkWithKid(rsaKeyPair(1024), 'old')] } }] }),
    ).toThrow(/clients\[0\]\.jwks" holds no usable signing key: RSA key keys\[0\] \(kid "old"\) has 1024 bits, at least 2048 required/);
  });
});

describe('hostile key sets: key choice bounded on every branch (DESIGN §9, issue 12 finding 2)', () => {
  const rs256 = ALGORITHMS.RS256;
  let calls: jest.SpyInstance;
  beforeEach(() => {
    calls = jest.spyOn(rs256, 'verify');
  });
  afterEach(() => calls.mockRestore());

  /** Verifies one junk assertion against `keys` and returns the signature checks it cost. */
  async function checksFor(keys: Jwk[], header: Record<string, unknown>): Promise<number> {
    const clients = createClientAuthenticator({ issuer: ISSUER, offload: 'never', clients: [{ clientId: CLIENT_ID, jwks: { keys } }] });
    const junk = signJws({ alg: 'RS256', ...header }, clientClaims(), rsaA.privateKey);
    calls.mockClear();
    await expectRejected(clients.authenticate(clientRequest(junk)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
    return calls.mock.calls.length;
  }

  const hundred = (extra: (i: number) => Record<string, unknown>, bits = 3072, e = 65537n) =>
    Array.from({ length: 100 }, (_, i) => hostileRsaJwk(bits, e, extra(i)));

  it.each([
    ['100 keys sharing one kid', () => hundred(() => ({ kid: 'k' })), { kid: 'k' }],
    ['100 keys sharing one x5t#S256', () => hundred(() => ({ 'x5t#S256': 'same' })), { 'x5t#S256': 'same' }],
    ['100 keys sharing one x5t', () => hundred(() => ({ x5t: 'same' })), { x5t: 'same' }],
    ['100 keys without kid, no hint', () => hundred(() => ({})), {}],
    ['100 unnamed keys, a kid that names none', () => hundred(() => ({})), { kid: 'nope' }],
    ['100 keys without thumbprints, a thumbprint that names none', () => hundred(() => ({})), { 'x5t#S256': 'nope' }],
  ])('%s (3072-bit): at most MAX_KEYS_TRIED checks, within the cost budget', async (_name, keys, header) => {
    const checks = await checksFor(keys(), header);
    expect(checks).toBeGreaterThan(0);
    expect(checks).toBeLessThanOrEqual(MAX_KEYS_TRIED);
    // 3072-bit keys cost (3072/2048)² = 2.25 checks of a 2048-bit key each: three fit the budget.
    expect(checks).toBe(Math.floor(MAX_VERIFY_COST / 2.25));
  });

  it('100 keys of 2048 bits sharing one kid: MAX_KEYS_TRIED checks', async () => {
    expect(
      await checksFor(
        hundred(() => ({ kid: 'k' }), 2048),
        { kid: 'k' },
      ),
    ).toBe(MAX_KEYS_TRIED);
  });

  it('100 keys with the largest exponent accepted sharing one kid: one check (each costs more than the budget)', async () => {
    expect(
      await checksFor(
        hundred(() => ({ kid: 'k' }), 3072, 2n ** 32n - 1n),
        { kid: 'k' },
      ),
    ).toBe(1);
  });
});

describe('x5t / x5t#S256 compared without base64 padding (DESIGN §9, issue 13: MSAL for Python pads them)', () => {
  it('finds a certificate named by a padded x5t or x5t#S256', async () => {
    const info = certificateInfo(certB);
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: certB }] });
    const padded = (s: string) => `${s}${'='.repeat((4 - (s.length % 4)) % 4)}`;
    expect(padded(info.x5t)).toMatch(/=$/); // SHA-1: 20 bytes, 27 characters, one "=" of padding
    await expect(grants.verify(grantRequest(signJws({ alg: 'RS256', x5t: padded(info.x5t) }, grantClaims(), rsaB.privateKey)))).resolves.toBeDefined();
    await expect(
      grants.verify(grantRequest(signJws({ alg: 'RS256', 'x5t#S256': padded(info.x5tS256) }, grantClaims(), rsaB.privateKey))),
    ).resolves.toBeDefined();
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [
        {
          clientId: CLIENT_ID,
          jwks: {
            keys: [
              { ...rsaA.publicJwk, x5t: 'dGh1bWI=' },
              { ...rsaB.publicJwk, x5t: 'b3RoZXI' },
            ],
          },
        },
      ],
    });
    // Padding on either side: the JWK member and the header.
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'RS256', x5t: 'dGh1bWI' }, clientClaims(), rsaA.privateKey)))).resolves.toBeDefined();
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'RS256', x5t: 'b3RoZXI=' }, clientClaims(), rsaB.privateKey)))).resolves.toBeDefined();
  });
});
