import * as crypto from 'node:crypto';
import { createAssertion, createClientAuthenticator, createGrantVerifier, SUPPORTED_ALGORITHMS, type Algorithm, type ClientAuthenticator } from '../src';
import { ALGORITHMS, ALL_ALGORITHMS, isAlgorithm } from '../src/jose/algorithms';
import {
  b64url,
  clientClaims,
  clientRequest,
  ecKeyPair,
  ed25519KeyPair,
  ed448KeyPair,
  expectRejected,
  GRANT_ISSUER,
  grantRequest,
  ISSUER,
  rawSignature,
  rsaKeyPair,
  secret,
  signJws,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let p256: TestKeyPair;
let p384: TestKeyPair;
let p521: TestKeyPair;
let ed25519: TestKeyPair;
let ed448: TestKeyPair;
let hmac: string;
let pssOnly: crypto.KeyPairKeyObjectResult;
let clients: ClientAuthenticator;

beforeAll(() => {
  rsa = rsaKeyPair();
  p256 = ecKeyPair('P-256');
  p384 = ecKeyPair('P-384');
  p521 = ecKeyPair('P-521');
  ed25519 = ed25519KeyPair();
  ed448 = ed448KeyPair();
  hmac = secret(64);
  // An RSASSA-PSS key whose SPKI restricts it to SHA-256 (RFC 4055).
  pssOnly = crypto.generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256' });
  clients = createClientAuthenticator({
    issuer: ISSUER,
    clients: [
      { clientId: 'rsa', publicKey: rsa.publicPem },
      { clientId: 'p256', publicKey: p256.publicPem },
      { clientId: 'p384', publicKey: p384.publicJwk },
      { clientId: 'p521', publicKey: p521.publicKey },
      { clientId: 'ed25519', publicKey: ed25519.publicPem },
      { clientId: 'ed448', publicKey: ed448.publicPem },
      { clientId: 'hmac', clientSecret: hmac },
      { clientId: 'pss', publicKey: pssOnly.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    ],
  });
});

function signerFor(alg: Algorithm): { clientId: string; key: crypto.KeyObject | string } {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return { clientId: 'rsa', key: rsa.privateKey };
  if (alg === 'ES256') return { clientId: 'p256', key: p256.privateKey };
  if (alg === 'ES384') return { clientId: 'p384', key: p384.privateKey };
  if (alg === 'ES512') return { clientId: 'p521', key: p521.privateKey };
  if (alg === 'EdDSA' || alg === 'Ed25519') return { clientId: 'ed25519', key: ed25519.privateKey };
  return { clientId: 'hmac', key: hmac };
}

const assertion = (clientId: string, key: crypto.KeyObject | string | Uint8Array, algorithm?: Algorithm) =>
  createAssertion({ issuer: clientId, subject: clientId, audience: ISSUER, key, ...(algorithm ? { algorithm } : {}) });

describe('the algorithm table', () => {
  it('supports exactly RS/PS/ES 256/384/512, EdDSA, Ed25519 and HS256/384/512, never none', () => {
    expect([...SUPPORTED_ALGORITHMS].sort()).toEqual(
      ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'].sort(),
    );
    expect(ALL_ALGORITHMS).toBe(SUPPORTED_ALGORITHMS);
    expect(isAlgorithm('none')).toBe(false);
    expect(isAlgorithm('None')).toBe(false);
    expect(isAlgorithm('toString')).toBe(false);
    expect(isAlgorithm('__proto__')).toBe(false);
    expect(isAlgorithm(256)).toBe(false);
    expect(isAlgorithm('RS256')).toBe(true);
  });

  it('binds each algorithm to its key type, curve and size', () => {
    expect(ALGORITHMS.RS256.fits(rsa.publicKey)).toBe(true);
    expect(ALGORITHMS.RS256.fits(rsa.privateKey)).toBe(false);
    expect(ALGORITHMS.RS256.fits(rsaKeyPair(1024).publicKey)).toBe(false);
    expect(ALGORITHMS.RS256.fits(pssOnly.publicKey)).toBe(false);
    expect(ALGORITHMS.PS256.fits(pssOnly.publicKey)).toBe(true);
    expect(ALGORITHMS.ES256.fits(p256.publicKey)).toBe(true);
    expect(ALGORITHMS.ES384.fits(p256.publicKey)).toBe(false);
    expect(ALGORITHMS.ES512.fits(p521.publicKey)).toBe(true);
    expect(ALGORITHMS.EdDSA.fits(ed448.publicKey)).toBe(true);
    expect(ALGORITHMS.Ed25519.fits(ed448.publicKey)).toBe(false);
    expect(ALGORITHMS.Ed25519.fits(ed25519.publicKey)).toBe(true);
    expect(ALGORITHMS.HS256.fits(crypto.createSecretKey(Buffer.alloc(32)))).toBe(true);
    expect(ALGORITHMS.HS384.fits(crypto.createSecretKey(Buffer.alloc(32)))).toBe(false);
    expect(ALGORITHMS.HS256.fits(rsa.publicKey)).toBe(false);
    expect(ALGORITHMS.RS256.fits(crypto.createSecretKey(Buffer.alloc(256)))).toBe(false);
  });
});

describe('every algorithm verifies end to end (createAssertion → createClientAuthenticator)', () => {
  it.each(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'] as Algorithm[])(
    '%s',
    async (alg) => {
      const { clientId, key } = signerFor(alg);
      const token = assertion(clientId, key, alg);
      expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg });
      const principal = await clients.authenticate(clientRequest(token));
      expect(principal).toMatchObject({ clientId, header: { alg } });
      expect(principal!.method).toBe(alg.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt');
    },
  );

  it('EdDSA with an Ed448 key verifies; Ed25519 (the fully specified name) with an Ed448 key is refused', async () => {
    await expect(clients.authenticate(clientRequest(assertion('ed448', ed448.privateKey, 'EdDSA')))).resolves.toMatchObject({ clientId: 'ed448' });
    const wrong = signJws({ alg: 'Ed25519' }, clientClaims({ iss: 'ed448', sub: 'ed448' }), ed448.privateKey);
    await expectRejected(clients.authenticate(clientRequest(wrong)), 'ERR_ALGORITHM_NOT_ALLOWED', 'invalid_client', 401);
  });

  it('a grant verifies with the same algorithms', async () => {
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: ed25519.publicKey }] });
    const token = createAssertion({ issuer: GRANT_ISSUER, subject: 'alice', audience: ISSUER, key: ed25519.privateKey, algorithm: 'Ed25519' });
    await expect(grants.verify(grantRequest(token))).resolves.toMatchObject({ subject: 'alice', header: { alg: 'Ed25519' } });
  });
});

describe('signature encodings (RFC 7518 §3.4, RFC 7515 §5.2)', () => {
  it('RFC 7518 §3.4: refuses an ECDSA signature in DER form (JWS uses R || S)', async () => {
    for (const [alg, id, pair] of [
      ['ES256', 'p256', p256],
      ['ES384', 'p384', p384],
      ['ES512', 'p521', p521],
    ] as const) {
      const claims = clientClaims({ iss: id, sub: id });
      const der = signJws({ alg }, claims, pair.privateKey, { der: true });
      await expectRejected(clients.authenticate(clientRequest(der)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
      // The same claims in R || S form verify.
      await expect(clients.authenticate(clientRequest(signJws({ alg }, claims, pair.privateKey)))).resolves.toBeDefined();
    }
  });

  it('refuses a signature of the wrong length (truncated or extended) for every family', async () => {
    for (const alg of ['RS256', 'PS384', 'ES256', 'EdDSA', 'HS256', 'HS512'] as Algorithm[]) {
      const { clientId, key } = signerFor(alg);
      const input = `${b64url({ alg })}.${b64url(clientClaims({ iss: clientId, sub: clientId }))}`;
      const sig = rawSignature(alg, input, key);
      for (const bad of [sig.subarray(0, sig.length - 1), Buffer.concat([sig, Buffer.from([0])]), sig.subarray(0, 1)]) {
        const token = `${input}.${bad.toString('base64url')}`;
        await expectRejected(clients.authenticate(clientRequest(token)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
      }
    }
  });

  it('RFC 7523 §3 item 9: refuses a signature over different content (a flipped payload byte)', async () => {
    const token = assertion('rsa', rsa.privateKey, 'RS256');
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = `${h}.${b64url({ ...payload, sub: 'rsa', extra: 1 })}.${s}`;
    await expectRejected(clients.authenticate(clientRequest(tampered)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
  });

  it('an RSASSA-PSS key restricted to SHA-256 verifies PS256 and refuses PS384 as an invalid assertion, not a server error', async () => {
    const claims = () => clientClaims({ iss: 'pss', sub: 'pss' });
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'PS256' }, claims(), pssOnly.privateKey)))).resolves.toMatchObject({ clientId: 'pss' });
    // node:crypto refuses to use the restricted key with SHA-384 at all (it throws); any PS384
    // signature is an invalid assertion, never a 500.
    const err = await expectRejected(clients.authenticate(clientRequest(signJws({ alg: 'PS384' }, claims(), rsa.privateKey))), 'ERR_SIGNATURE_INVALID');
    expect(err.error).toBe('invalid_client');
    expect(err.status).toBe(401);
  });
});
