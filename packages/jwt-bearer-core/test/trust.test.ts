import { createClientAuthenticator, createGrantVerifier, type ClientRegistration, type RejectionEvent, type TrustedIssuer, type WarningEvent } from '../src';
import { resolveCommonOptions } from '../src/options';
import { clientTrust, issuerTrust } from '../src/trust/registry';
import {
  CLIENT_ID,
  clientClaims,
  clientRequest,
  ecKeyPair,
  expectRejected,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  ISSUER,
  rsaKeyPair,
  secret,
  signJws,
  type TestKeyPair,
} from './helpers';
import { faultLinesOnly } from '../../../test/support/fault-log';

// These tests provoke 5xx without an onError hook: the core's line on console.error is expected.
faultLinesOnly();

let rsa: TestKeyPair;
let rotated: TestKeyPair;
let ec: TestKeyPair;

beforeAll(() => {
  rsa = rsaKeyPair();
  rotated = rsaKeyPair();
  ec = ecKeyPair();
});

const clientToken = (id = CLIENT_ID, key = rsa.privateKey) => signJws({ alg: 'RS256' }, clientClaims({ iss: id, sub: id }), key);
const grantToken = (iss = GRANT_ISSUER, key = rsa.privateKey) => signJws({ alg: 'RS256' }, grantClaims({ iss }), key);

describe('registrations as arrays', () => {
  it('resolves listed clients and issuers, and only those', async () => {
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
    await expect(clients.authenticate(clientRequest(clientToken()))).resolves.toMatchObject({ clientId: CLIENT_ID });
    await expectRejected(clients.authenticate(clientRequest(clientToken('unknown'))), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }] });
    await expect(grants.verify(grantRequest(grantToken()))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
    await expectRejected(grants.verify(grantRequest(grantToken('https://unknown.example'))), 'ERR_ISSUER_UNTRUSTED', 'invalid_grant', 400);
  });

  it('does not resolve inherited property names as registrations', async () => {
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
    for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      await expectRejected(clients.authenticate(clientRequest(clientToken(id))), 'ERR_CLIENT_UNKNOWN');
    }
  });
});

describe('registrations from a lookup function', () => {
  it('resolves a registration from a sync function and an async function', async () => {
    const sync = createClientAuthenticator({
      issuer: ISSUER,
      clients: (id) => (id === CLIENT_ID ? { clientId: CLIENT_ID, publicKey: rsa.publicPem } : undefined),
    });
    await expect(sync.authenticate(clientRequest(clientToken()))).resolves.toMatchObject({ clientId: CLIENT_ID });
    const asyncLookup = createGrantVerifier({
      issuer: ISSUER,
      issuers: async (iss) => (iss === GRANT_ISSUER ? { issuer: GRANT_ISSUER, publicKey: rsa.publicPem } : undefined),
    });
    await expect(asyncLookup.verify(grantRequest(grantToken()))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
  });

  it('passes the unverified sub (client) / iss (grant) to the lookup', async () => {
    const seen: string[] = [];
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: (id) => {
        seen.push(id);
        return undefined;
      },
    });
    await expectRejected(clients.authenticate(clientRequest(clientToken('abc'))), 'ERR_CLIENT_UNKNOWN');
    expect(seen).toEqual(['abc']);
  });

  it('treats undefined and null as unknown: invalid_client ERR_CLIENT_UNKNOWN / invalid_grant ERR_ISSUER_UNTRUSTED', async () => {
    for (const answer of [undefined, null]) {
      const clients = createClientAuthenticator({ issuer: ISSUER, clients: async () => answer });
      await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
      const grants = createGrantVerifier({ issuer: ISSUER, issuers: () => answer });
      await expectRejected(grants.verify(grantRequest(grantToken())), 'ERR_ISSUER_UNTRUSTED', 'invalid_grant', 400);
    }
  });

  it('a lookup that throws is 503 temporarily_unavailable ERR_TRUST_LOOKUP_FAILED, with the cause reported', async () => {
    const events: RejectionEvent[] = [];
    const failure = new Error('database unreachable');
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: () => {
        throw failure;
      },
      onError: (e) => events.push(e),
    });
    const err = await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_TRUST_LOOKUP_FAILED', 'temporarily_unavailable', 503);
    expect(err.cause).toBe(failure);
    expect(events[0]).toMatchObject({ code: 'ERR_TRUST_LOOKUP_FAILED', status: 503, cause: failure, clientId: CLIENT_ID });
  });

  it('a lookup that rejects is 503 ERR_TRUST_LOOKUP_FAILED (never invalid_* or success)', async () => {
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: () => Promise.reject(new Error('timeout')) });
    await expectRejected(grants.verify(grantRequest(grantToken())), 'ERR_TRUST_LOOKUP_FAILED', 'temporarily_unavailable', 503);
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a lookup that rejects with a non-Error must still be a 503
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: async () => Promise.reject('not even an Error') });
    await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_TRUST_LOOKUP_FAILED', 'temporarily_unavailable', 503);
  });

  it('accepts a thenable that is not a native Promise', async () => {
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: () =>
        ({
          then: (resolve: (r: ClientRegistration) => void) => resolve({ clientId: CLIENT_ID, publicKey: rsa.publicPem }),
        }) as unknown as Promise<ClientRegistration>,
    });
    await expect(clients.authenticate(clientRequest(clientToken()))).resolves.toMatchObject({ clientId: CLIENT_ID });
  });

  it('a bad registration returned by the lookup is 500 server_error ERR_INTERNAL (the server is at fault, not the client)', async () => {
    const bad: unknown[] = [
      { clientId: CLIENT_ID },
      { clientId: CLIENT_ID, publicKey: rsa.privatePem },
      { clientId: CLIENT_ID, clientSecret: 'short' },
      { clientId: CLIENT_ID, publicKey: rsa.publicPem, jwksUri: 'https://x.example/jwks' },
      { clientId: CLIENT_ID, publicKey: rsa.publicPem, unknownField: 1 },
      { clientId: CLIENT_ID, publicKey: rsa.publicPem, algorithms: 'ES256' },
      { clientId: CLIENT_ID, publicKey: rsa.publicPem, allowReuse: 'yes' },
      { clientId: CLIENT_ID, publicKey: rsa.publicPem, maxLifetime: 0 },
    ];
    for (const registration of bad) {
      const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => registration as ClientRegistration });
      const err = await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_INTERNAL', 'server_error', 500);
      expect(err.detail).toEqual(expect.any(String));
    }
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: () => ({ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, scopes: 'read' }) as never });
    await expectRejected(grants.verify(grantRequest(grantToken())), 'ERR_INTERNAL', 'server_error', 500);
  });

  it('a bad registration is 500 ERR_INTERNAL even when its key is already cached (a subjects string is no substring allow-list)', async () => {
    let subjects: unknown = ['alice', 'bob'];
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: () => ({ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, subjects }) as TrustedIssuer });
    const as = (sub: string) => grants.verify(grantRequest(signJws({ alg: 'RS256' }, grantClaims({ sub }), rsa.privateKey)));
    await expect(as('alice')).resolves.toMatchObject({ subject: 'alice' });
    subjects = 'alice,bob';
    await expectRejected(as('ali'), 'ERR_INTERNAL', 'server_error', 500);
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => ({ clientId: CLIENT_ID, publicKey: rsa.publicPem, extra: subjects }) as never });
    await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_INTERNAL');
  });

  it('DESIGN §9: a registration for another identifier than the one looked up is unknown (401), with a configuration warning', async () => {
    const warnings: WarningEvent[] = [];
    const events: RejectionEvent[] = [];
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: () => ({ clientId: 'someone-else', publicKey: rsa.publicPem }),
      onWarning: (e) => warnings.push(e),
      onError: (e) => events.push(e),
    });
    await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
    expect(warnings).toEqual([expect.objectContaining({ code: 'WARN_LOOKUP_MISMATCH', detail: expect.stringContaining('"someone-else"') })]);
    expect(events[0]!.detail).toMatch(/^configuration: clients lookup/);
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: () => ({ issuer: 'https://other.example', publicKey: rsa.publicPem }) });
    await expectRejected(grants.verify(grantRequest(grantToken())), 'ERR_ISSUER_UNTRUSTED', 'invalid_grant', 400);
  });

  it('DESIGN §9: a lookup result that is not a plain object is unknown (4xx), never a 500', async () => {
    for (const result of [
      'not an object',
      42,
      true,
      [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }],
      () => undefined,
      new Map(),
      Object.assign(new (class Registration {})(), { clientId: CLIENT_ID, publicKey: rsa.publicPem }),
    ]) {
      const warnings: WarningEvent[] = [];
      const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => result as never, onWarning: (e) => warnings.push(e) });
      await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
      expect(warnings).toHaveLength(1);
    }
  });

  it('issue 12 finding 7: (id) => table[id] answers __proto__, constructor, toString, hasOwnProperty as unknown (4xx), never 500', async () => {
    const table: Record<string, ClientRegistration> = { [CLIENT_ID]: { clientId: CLIENT_ID, publicKey: rsa.publicPem } };
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: (id) => table[id] });
    const grantTable: Record<string, TrustedIssuer> = { [GRANT_ISSUER]: { issuer: GRANT_ISSUER, publicKey: rsa.publicPem } };
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: async (iss) => grantTable[iss] });
    for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      await expectRejected(clients.authenticate(clientRequest(clientToken(id))), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
      await expectRejected(grants.verify(grantRequest(grantToken(id))), 'ERR_ISSUER_UNTRUSTED', 'invalid_grant', 400);
    }
    await expect(clients.authenticate(clientRequest(clientToken()))).resolves.toMatchObject({ clientId: CLIENT_ID });
  });

  it('issue 12 finding 7: a case-insensitive store answering CLIENT-A with client-a is unknown, not a 500 and not client-a', async () => {
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: (id) => ({ clientId: id.toLowerCase(), publicKey: rsa.publicPem }) });
    await expect(clients.authenticate(clientRequest(clientToken('client-a')))).resolves.toMatchObject({ clientId: 'client-a' });
    await expectRejected(clients.authenticate(clientRequest(clientToken('CLIENT-A'))), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
  });

  it('DESIGN §9: a lookup that never settles answers 503 ERR_TRUST_LOOKUP_FAILED after lookupTimeout (ms)', async () => {
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => new Promise<never>(() => {}), lookupTimeout: 50 });
    const started = Date.now();
    const err = await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_TRUST_LOOKUP_FAILED', 'temporarily_unavailable', 503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(err.headers['Retry-After']).toBe('1');
    expect(err.detail).toMatch(/lookupTimeout \(50 ms\)/);
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: () => new Promise<never>(() => {}), lookupTimeout: 20 });
    await expectRejected(grants.verify(grantRequest(grantToken())), 'ERR_TRUST_LOOKUP_FAILED', 'temporarily_unavailable', 503);
  });

  it('issue 12 finding 7: the cache refuses on a warm hit what it refuses cold (two key sources; algorithms as a string)', async () => {
    let extra: Record<string, unknown> = {};
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: (id) => ({ clientId: id, publicKey: rsa.publicPem, ...extra }) as ClientRegistration,
    });
    const ecToken = signJws({ alg: 'ES256' }, clientClaims({ iss: CLIENT_ID, sub: CLIENT_ID }), ec.privateKey);
    await expect(clients.authenticate(clientRequest(clientToken()))).resolves.toBeDefined(); // warms the cache
    extra = { jwks: { keys: [ec.publicJwk] } };
    await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_INTERNAL', 'server_error', 500);
    await expectRejected(clients.authenticate(clientRequest(ecToken)), 'ERR_INTERNAL', 'server_error', 500);
    extra = { algorithms: 'ES256' };
    await expectRejected(clients.authenticate(clientRequest(clientToken())), 'ERR_INTERNAL', 'server_error', 500);
    // And the same registrations cold, in a fresh authenticator, are refused alike.
    const cold = createClientAuthenticator({ issuer: ISSUER, clients: (id) => ({ clientId: id, publicKey: rsa.publicPem, algorithms: 'ES256' }) as never });
    await expectRejected(cold.authenticate(clientRequest(clientToken())), 'ERR_INTERNAL', 'server_error', 500);
  });

  it('a lookup that returns the same registration object for two identifiers never lets the second verify with the first one keys', async () => {
    const shared: ClientRegistration = { clientId: CLIENT_ID, publicKey: rsa.publicPem };
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => shared });
    await expect(clients.authenticate(clientRequest(clientToken(CLIENT_ID)))).resolves.toMatchObject({ clientId: CLIENT_ID });
    // Same object again, now for 'victim': must not authenticate as 'victim' with CLIENT_ID's key.
    await expectRejected(clients.authenticate(clientRequest(clientToken('victim'))), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
  });

  it('picks up a rotated key when the app updates the registration object in place', async () => {
    const registration: ClientRegistration = { clientId: CLIENT_ID, publicKey: rsa.publicPem };
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => registration });
    await expect(clients.authenticate(clientRequest(clientToken(CLIENT_ID, rsa.privateKey)))).resolves.toBeDefined();
    registration.publicKey = rotated.publicPem;
    await expect(clients.authenticate(clientRequest(clientToken(CLIENT_ID, rotated.privateKey)))).resolves.toBeDefined();
    // The revoked key no longer works.
    await expectRejected(clients.authenticate(clientRequest(clientToken(CLIENT_ID, rsa.privateKey))), 'ERR_SIGNATURE_INVALID', 'invalid_client');
  });

  it('picks up changed subjects / scopes of an issuer (they are read from the registration of each lookup)', async () => {
    let scopes = ['read'];
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: () => ({ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, scopes }) });
    await expect(grants.verify(grantRequest(grantToken(), { scope: 'read' }))).resolves.toBeDefined();
    scopes = ['write'];
    await expectRejected(grants.verify(grantRequest(grantToken(), { scope: 'read' })), 'ERR_SCOPE_INVALID');
  });
});

describe('the Trust cache of registrations from a lookup (keys parsed once per content)', () => {
  const options = () => resolveCommonOptions({ issuer: ISSUER }, 'client', []);

  it('reuses the parsed key source for an equal registration returned as a new object', async () => {
    const trust = clientTrust((id: string) => ({ clientId: id, publicKey: rsa.publicPem }), options());
    const first = await trust.resolve(CLIENT_ID);
    const second = await trust.resolve(CLIENT_ID);
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second!.source).toBe(first!.source);
    expect(second!.algorithms).toBe(first!.algorithms);
  });

  it('caches by content: inline JWK Sets, JWKs, secrets (string and bytes) and jwksUri', async () => {
    const materials: Array<Partial<ClientRegistration>> = [
      { jwks: { keys: [ec.publicJwk] } },
      { publicKey: ec.publicJwk },
      { clientSecret: secret(32) },
      { clientSecret: new Uint8Array(32).fill(7) },
      { jwksUri: 'https://client.example/jwks.json' },
    ];
    for (const material of materials) {
      const trust = clientTrust((id: string) => ({ clientId: id, ...structuredClone(material) }), options());
      const a = await trust.resolve('c');
      const b = await trust.resolve('c');
      expect(b!.source).toBe(a!.source);
    }
  });

  it('parses again when the key material, the identifier or the algorithms differ', async () => {
    let pem = rsa.publicPem;
    // eslint-disable-next-line prefer-const -- set later in the test; the lookup reads it on every call
    let algorithms: ClientRegistration['algorithms'];
    const trust = clientTrust((id: string) => ({ clientId: id, publicKey: pem, ...(algorithms ? { algorithms } : {}) }), options());
    const a = await trust.resolve('c');
    pem = rotated.publicPem;
    const b = await trust.resolve('c');
    expect(b!.source).not.toBe(a!.source);
    const other = await trust.resolve('d');
    expect(other!.source).not.toBe(b!.source);
    algorithms = ['PS256'];
    const restricted = await trust.resolve('c');
    expect([...restricted!.algorithms]).toEqual(['PS256']);
  });

  it('keeps the registration of each lookup on the party (so subjects and scopes are current)', async () => {
    let n = 0;
    const trust = issuerTrust(
      (iss: string) => ({ issuer: iss, publicKey: rsa.publicPem, scopes: [`s${++n}`] }) as TrustedIssuer,
      resolveCommonOptions({ issuer: ISSUER }, 'grant', []),
    );
    const a = await trust.resolve(GRANT_ISSUER);
    const b = await trust.resolve(GRANT_ISSUER);
    expect(a!.registration.scopes).toEqual(['s1']);
    expect(b!.registration.scopes).toEqual(['s2']);
    expect(b!.source).toBe(a!.source);
  });

  it('a KeyObject publicKey (no content key) still resolves on every lookup', async () => {
    const trust = clientTrust((id: string) => ({ clientId: id, publicKey: rsa.publicKey }), options());
    expect((await trust.resolve('c'))!.id).toBe('c');
    expect((await trust.resolve('c'))!.id).toBe('c');
  });

  it('an array is compiled once at configuration and resolved synchronously', () => {
    const trust = clientTrust([{ clientId: 'c', publicKey: rsa.publicPem }], options());
    const party = trust.resolve('c');
    expect(party).not.toBeInstanceOf(Promise);
    expect((party as { id: string }).id).toBe('c');
    expect(trust.resolve('c')).toBe(party);
  });
});
