import * as http from 'node:http';
import { createClientAuthenticator, createGrantVerifier, MemoryReplayStore, type ClientAuthenticatorOptions, type GrantVerifierOptions } from '../src';
import { resolveCommonOptions } from '../src/options';
import { CLIENT_ID, ecKeyPair, GRANT_ISSUER, ISSUER, rsaKeyPair, secret, type TestKeyPair } from './helpers';

let rsa: TestKeyPair;
let ec: TestKeyPair;
let smallRsa: TestKeyPair;

beforeAll(() => {
  rsa = rsaKeyPair();
  ec = ecKeyPair();
  smallRsa = rsaKeyPair(1024);
});

const client = (extra: Record<string, unknown> = {}) => ({ clientId: CLIENT_ID, publicKey: rsa.publicPem, ...extra });
const trusted = (extra: Record<string, unknown> = {}) => ({ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, ...extra });

function clientOptions(extra: Record<string, unknown> = {}): ClientAuthenticatorOptions {
  return { issuer: ISSUER, clients: [client()], ...extra } as ClientAuthenticatorOptions;
}
function grantOptions(extra: Record<string, unknown> = {}): GrantVerifierOptions {
  return { issuer: ISSUER, issuers: [trusted()], ...extra } as GrantVerifierOptions;
}

/** The TypeError message a factory throws for these options. */
function clientError(extra: Record<string, unknown>): string {
  try {
    createClientAuthenticator(clientOptions(extra));
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return (err as Error).message;
  }
  throw new Error(`createClientAuthenticator accepted ${Object.keys(extra).join(', ')}`);
}
function grantError(extra: Record<string, unknown>): string {
  try {
    createGrantVerifier(grantOptions(extra));
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return (err as Error).message;
  }
  throw new Error(`createGrantVerifier accepted ${Object.keys(extra).join(', ')}`);
}

describe('valid configurations', () => {
  it('accepts every option at once, for both factories', () => {
    const common = {
      audiences: ['https://as.example.com/token'],
      algorithms: ['RS256', 'ES256', 'HS256'],
      clockTolerance: 0,
      maxLifetime: 120,
      requireJti: true,
      replayStore: new MemoryReplayStore({ max: 10 }),
      maxAssertionLength: 4096,
      onError: () => undefined,
      onWarning: () => undefined,
      jwksOptions: {
        timeout: 100,
        cacheMaxAge: 0,
        cooldown: 0,
        staleIfError: 0,
        maxResponseBytes: 1024,
        maxKeys: 1,
        maxKeySets: 1,
        requestHeaders: { 'user-agent': 'test' },
        requestAgent: new http.Agent(),
      },
      now: () => Date.now(),
    };
    expect(() => createClientAuthenticator(clientOptions({ ...common, audienceMode: 'legacy' }))).not.toThrow();
    expect(() => createClientAuthenticator(clientOptions({ ...common, audienceMode: 'strict' }))).not.toThrow();
    expect(() => createGrantVerifier(grantOptions(common))).not.toThrow();
  });

  it('applies the documented defaults', () => {
    const client = resolveCommonOptions({ issuer: ISSUER }, 'client', []);
    expect(client.clockTolerance).toBe(30);
    expect(client.maxLifetime).toBe(300);
    expect(client.requireJti).toBe(true);
    expect(client.maxAssertionLength).toBe(16384);
    expect(client.audiences).toEqual([]);
    expect(client.algorithms.size).toBe(14);
    expect(client.jwks).toMatchObject({
      timeout: 5000,
      cacheMaxAge: 600,
      cooldown: 30,
      staleIfError: 3600,
      maxResponseBytes: 524288,
      maxKeys: 100,
      maxKeySets: 1000,
    });
    expect(client.replayStore).toBeInstanceOf(MemoryReplayStore);
    const grant = resolveCommonOptions({ issuer: ISSUER }, 'grant', []);
    expect(grant.maxLifetime).toBe(3600);
    expect(grant.requireJti).toBe(false);
    expect(grant.replayStore).toBe(client.replayStore);
    expect(Object.isFrozen(grant)).toBe(true);
  });

  it('accepts a lookup function for clients and issuers, and every key source kind', () => {
    expect(() => createClientAuthenticator({ issuer: ISSUER, clients: () => undefined })).not.toThrow();
    expect(() => createGrantVerifier({ issuer: ISSUER, issuers: async () => undefined })).not.toThrow();
    expect(() =>
      createClientAuthenticator({
        issuer: ISSUER,
        clients: [
          { clientId: 'a', publicKey: rsa.publicPem },
          { clientId: 'b', publicKey: rsa.publicKey },
          { clientId: 'c', publicKey: ec.publicJwk },
          { clientId: 'd', jwks: { keys: [ec.publicJwk] } },
          { clientId: 'e', jwksUri: 'https://c.example/jwks.json' },
          { clientId: 'f', clientSecret: secret(32) },
          { clientId: 'g', clientSecret: new Uint8Array(64) },
        ],
      }),
    ).not.toThrow();
  });
});

describe('every bad option throws a TypeError naming it', () => {
  it('options that are not an object', () => {
    expect(() => createClientAuthenticator(undefined as never)).toThrow(/options must be an object/);
    expect(() => createGrantVerifier('x' as never)).toThrow(TypeError);
  });

  it('issuer missing, empty or not a string', () => {
    expect(clientError({ issuer: undefined })).toMatch(/"issuer"/);
    expect(grantError({ issuer: '' })).toMatch(/"issuer"/);
    expect(grantError({ issuer: 42 })).toMatch(/"issuer"/);
  });

  it('an unknown option name (a typo must not pass silently)', () => {
    expect(clientError({ audience: ISSUER })).toMatch(/unknown option "audience"/);
    expect(grantError({ clockSkew: 5 })).toMatch(/unknown option "clockSkew"/);
    // audienceMode belongs to client authentication only.
    expect(grantError({ audienceMode: 'legacy' })).toMatch(/unknown option "audienceMode"/);
  });

  it('audiences that are not an array of non-empty strings', () => {
    expect(clientError({ audiences: ISSUER })).toMatch(/"audiences"/);
    expect(clientError({ audiences: [''] })).toMatch(/"audiences"/);
  });

  it('RFC 8725 §3.1: algorithms containing none (any case), unknown names, or empty', () => {
    expect(clientError({ algorithms: ['RS256', 'none'] })).toMatch(/"algorithms" must not contain "none"/);
    expect(grantError({ algorithms: ['None'] })).toMatch(/"algorithms" must not contain "none"/);
    expect(grantError({ algorithms: ['RS1'] })).toMatch(/"algorithms" contains unsupported algorithm "RS1"/);
    expect(grantError({ algorithms: [] })).toMatch(/"algorithms"/);
    expect(grantError({ algorithms: 'RS256' })).toMatch(/"algorithms"/);
  });

  it('numbers out of range: clockTolerance, maxLifetime, maxAssertionLength', () => {
    expect(clientError({ clockTolerance: -1 })).toMatch(/"clockTolerance"/);
    expect(clientError({ clockTolerance: Number.NaN })).toMatch(/"clockTolerance"/);
    expect(clientError({ clockTolerance: '30' })).toMatch(/"clockTolerance"/);
    expect(grantError({ maxLifetime: 0 })).toMatch(/"maxLifetime"/);
    expect(grantError({ maxLifetime: Infinity })).toMatch(/"maxLifetime"/);
    expect(grantError({ maxAssertionLength: 10 })).toMatch(/"maxAssertionLength"/);
    expect(grantError({ maxAssertionLength: 1000.5 })).toMatch(/"maxAssertionLength" must be an integer/);
  });

  it('requireJti, replayStore, now, onError, onWarning of the wrong type', () => {
    expect(clientError({ requireJti: 'yes' })).toMatch(/"requireJti"/);
    expect(clientError({ replayStore: {} })).toMatch(/"replayStore"/);
    expect(clientError({ now: 1234 })).toMatch(/"now"/);
    expect(clientError({ onError: 'log' })).toMatch(/"onError"/);
    expect(clientError({ onWarning: {} })).toMatch(/"onWarning"/);
  });

  it('jwksOptions that are not an object, have unknown names, or bad values', () => {
    expect(clientError({ jwksOptions: 5 })).toMatch(/"jwksOptions"/);
    expect(clientError({ jwksOptions: { ttl: 5 } })).toMatch(/unknown option "ttl" in jwksOptions/);
    expect(clientError({ jwksOptions: { timeout: 0 } })).toMatch(/"jwksOptions\.timeout"/);
    expect(clientError({ jwksOptions: { cacheMaxAge: -1 } })).toMatch(/"jwksOptions\.cacheMaxAge"/);
    expect(clientError({ jwksOptions: { cooldown: Number.NaN } })).toMatch(/"jwksOptions\.cooldown"/);
    expect(clientError({ jwksOptions: { staleIfError: -5 } })).toMatch(/"jwksOptions\.staleIfError"/);
    expect(clientError({ jwksOptions: { maxResponseBytes: 1.5 } })).toMatch(/"jwksOptions\.maxResponseBytes"/);
    expect(clientError({ jwksOptions: { maxKeys: 0 } })).toMatch(/"jwksOptions\.maxKeys"/);
    expect(clientError({ jwksOptions: { maxKeySets: 0 } })).toMatch(/"jwksOptions\.maxKeySets"/);
    expect(clientError({ jwksOptions: { requestHeaders: { 'x-a': 1 } } })).toMatch(/"jwksOptions\.requestHeaders"/);
    expect(clientError({ jwksOptions: { requestHeaders: 'x' } })).toMatch(/"jwksOptions\.requestHeaders"/);
    expect(clientError({ jwksOptions: { requestAgent: 'proxy' } })).toMatch(/"jwksOptions\.requestAgent"/);
  });

  it('audienceMode other than strict or legacy', () => {
    expect(clientError({ audienceMode: 'lax' })).toMatch(/"audienceMode"/);
    expect(clientError({ audienceMode: 'STRICT' })).toMatch(/"audienceMode"/);
  });

  it('clients / issuers missing, empty, or not an array or function', () => {
    expect(clientError({ clients: undefined })).toMatch(/"clients" is required/);
    expect(clientError({ clients: [] })).toMatch(/"clients" must not be empty/);
    expect(clientError({ clients: { [CLIENT_ID]: client() } })).toMatch(/"clients"/);
    expect(grantError({ issuers: undefined })).toMatch(/"issuers" is required/);
    expect(grantError({ issuers: [] })).toMatch(/"issuers" must not be empty/);
  });

  it('a registration that is not an object, has an unknown field, or lacks its identifier', () => {
    expect(clientError({ clients: ['s6BhdRkqt3'] })).toMatch(/"clients\[0\]" must be an object/);
    expect(clientError({ clients: [client({ client_id: 'x' })] })).toMatch(/unknown option "client_id" in clients\[0\]/);
    expect(clientError({ clients: [client({ clientId: '' })] })).toMatch(/"clients\[0\]\.clientId"/);
    expect(grantError({ issuers: [trusted({ issuer: undefined })] })).toMatch(/"issuers\[0\]\.issuer"/);
    // Issuer-only fields are unknown on a client.
    expect(clientError({ clients: [client({ scopes: ['a'] })] })).toMatch(/unknown option "scopes" in clients\[0\]/);
  });

  it('a duplicate clientId or issuer', () => {
    expect(clientError({ clients: [client(), client()] })).toMatch(/"clients\[1\]\.clientId" repeats "s6BhdRkqt3"/);
    expect(grantError({ issuers: [trusted(), trusted()] })).toMatch(/"issuers\[1\]\.issuer" repeats/);
  });

  it('two key sources, or none', () => {
    expect(clientError({ clients: [client({ jwksUri: 'https://c.example/jwks' })] })).toMatch(
      /"clients\[0\]" must have exactly one key source.*jwksUri, publicKey/,
    );
    expect(clientError({ clients: [{ clientId: CLIENT_ID }] })).toMatch(/"clients\[0\]" must have exactly one key source.*found none/);
    expect(grantError({ issuers: [trusted({ secret: secret(32) })] })).toMatch(/"issuers\[0\]" must have exactly one key source/);
  });

  it('a bad jwksUri (not http(s), not a URL, empty)', () => {
    expect(clientError({ clients: [{ clientId: CLIENT_ID, jwksUri: 'ftp://c.example/jwks' }] })).toMatch(/"clients\[0\]\.jwksUri" must be an https: URL/);
    expect(clientError({ clients: [{ clientId: CLIENT_ID, jwksUri: 'not a url' }] })).toMatch(/"clients\[0\]\.jwksUri"/);
    expect(clientError({ clients: [{ clientId: CLIENT_ID, jwksUri: '' }] })).toMatch(/"clients\[0\]\.jwksUri"/);
  });

  it('a private key given as publicKey (PEM, KeyObject, JWK)', () => {
    expect(clientError({ clients: [{ clientId: CLIENT_ID, publicKey: rsa.privatePem }] })).toMatch(/"clients\[0\]\.publicKey".*private key/);
    expect(clientError({ clients: [{ clientId: CLIENT_ID, publicKey: rsa.privateKey }] })).toMatch(/"clients\[0\]\.publicKey".*private key/);
    expect(grantError({ issuers: [{ issuer: GRANT_ISSUER, publicKey: ec.privateJwk }] })).toMatch(/"issuers\[0\]\.publicKey".*private/);
    expect(clientError({ clients: [{ clientId: CLIENT_ID, jwks: { keys: [ec.privateJwk] } }] })).toMatch(/"clients\[0\]\.jwks"\.keys\[0\] is a private key/);
  });

  it('RFC 7518 §3.3: an RSA public key under 2048 bits is refused at configuration', () => {
    expect(clientError({ clients: [{ clientId: CLIENT_ID, publicKey: smallRsa.publicPem }] })).toMatch(
      /"clients\[0\]\.publicKey" is not usable: RSA key has 1024 bits, at least 2048 required/,
    );
    expect(clientError({ clients: [{ clientId: CLIENT_ID, publicKey: smallRsa.publicKey }] })).toMatch(/"clients\[0\]\.publicKey"/);
    expect(clientError({ clients: [{ clientId: CLIENT_ID, jwks: { keys: [smallRsa.publicJwk] } }] })).toMatch(/"clients\[0\]\.jwks" holds no usable/);
  });

  it('RFC 7518 §3.2: an HMAC secret shorter than 32 bytes is refused', () => {
    expect(clientError({ clients: [{ clientId: CLIENT_ID, clientSecret: 'x'.repeat(31) }] })).toMatch(/"clients\[0\]\.clientSecret" must be at least 32 bytes/);
    expect(grantError({ issuers: [{ issuer: GRANT_ISSUER, secret: new Uint8Array(16) }] })).toMatch(/"issuers\[0\]\.secret"/);
    expect(clientError({ clients: [{ clientId: CLIENT_ID, clientSecret: 12345 }] })).toMatch(/"clients\[0\]\.clientSecret"/);
  });

  it('a bad publicKey or jwks value', () => {
    expect(clientError({ clients: [{ clientId: CLIENT_ID, publicKey: 'not a pem' }] })).toMatch(/"clients\[0\]\.publicKey" is not a valid PEM/);
    expect(clientError({ clients: [{ clientId: CLIENT_ID, jwks: [ec.publicJwk] }] })).toMatch(/"clients\[0\]\.jwks" must be a JWK Set/);
  });

  it('per-registration algorithms that are invalid or leave nothing usable', () => {
    expect(clientError({ clients: [client({ algorithms: ['none'] })] })).toMatch(/"clients\[0\]\.algorithms" must not contain "none"/);
    expect(clientError({ clients: [client({ algorithms: [] })] })).toMatch(/"clients\[0\]\.algorithms"/);
    // An RSA key cannot do ES256 / HS256.
    expect(clientError({ clients: [client({ algorithms: ['ES256'] })] })).toMatch(/"clients\[0\]" has no usable algorithm/);
    expect(clientError({ algorithms: ['HS256'], clients: [client()] })).toMatch(/"clients\[0\]" has no usable algorithm/);
  });

  it('issuer-only fields of the wrong type: subjects, scopes, requireSubject', () => {
    expect(grantError({ issuers: [trusted({ subjects: 'alice' })] })).toMatch(/"issuers\[0\]\.subjects"/);
    expect(grantError({ issuers: [trusted({ subjects: [1] })] })).toMatch(/"issuers\[0\]\.subjects"/);
    expect(grantError({ issuers: [trusted({ scopes: 'read' })] })).toMatch(/"issuers\[0\]\.scopes"/);
    expect(grantError({ issuers: [trusted({ requireSubject: 'no' })] })).toMatch(/"issuers\[0\]\.requireSubject"/);
  });
});
describe('configured URLs and the issuer identifier', () => {
  it('issue 12 finding 11: a jwksUri over plain http to a remote host is a TypeError at configuration, for clients and issuers', () => {
    expect(() => createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, jwksUri: 'http://idp.example.com/jwks' }] })).toThrow(
      /option "clients\[0\]\.jwksUri" must be an https: URL/,
    );
    expect(() => createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, jwksUri: 'http://idp.example.com/jwks' }] })).toThrow(
      /option "issuers\[0\]\.jwksUri" must be an https: URL/,
    );
    expect(() => createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, jwksUri: 'http://127.0.0.1:4000/jwks' }] })).not.toThrow();
  });

  it('issue 14: refuses an issuer that is not an https URL with a TypeError naming RFC 8414 §2', () => {
    for (const issuer of ['as', 'as.example.com', 'http://as.example.com', 'urn:example:as', 'ftp://as.example.com']) {
      expect(() => createClientAuthenticator({ issuer, clients: [{ clientId: CLIENT_ID, clientSecret: 'x'.repeat(32) }] })).toThrow(
        /option "issuer" must be an https URL, the authorization server's issuer identifier \(RFC 8414 §2\)/,
      );
    }
    expect(() => createGrantVerifier({ issuer: 'https://as.example.com?tenant=1', issuers: [{ issuer: GRANT_ISSUER, secret: 'x'.repeat(32) }] })).toThrow(
      /option "issuer" must have no query or fragment \(RFC 8414 §2\)/,
    );
  });

  it('accepts http: to a loopback host, for development and tests', () => {
    expect(() =>
      createClientAuthenticator({ issuer: 'http://localhost:3000', clients: [{ clientId: CLIENT_ID, clientSecret: 'x'.repeat(32) }] }),
    ).not.toThrow();
    expect(() =>
      createClientAuthenticator({ issuer: 'http://127.0.0.1:3000/', clients: [{ clientId: CLIENT_ID, clientSecret: 'x'.repeat(32) }] }),
    ).not.toThrow();
  });
});
