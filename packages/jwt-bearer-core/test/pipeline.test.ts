import {
  createClientAuthenticator,
  createGrantVerifier,
  MemoryReplayStore,
  type ClientAuthenticator,
  type ClientAuthenticatorOptions,
  type GrantVerifier,
  type GrantVerifierOptions,
} from '../src';
import {
  CLIENT_ID,
  clientClaims,
  clientRequest,
  ecKeyPair,
  expectRejected,
  fixedNow,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  ISSUER,
  NOW,
  rsaKeyPair,
  secret,
  signJws,
  unsignedJws,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let p256: TestKeyPair;
let p384: TestKeyPair;
let hmac: string;

beforeAll(() => {
  rsa = rsaKeyPair();
  p256 = ecKeyPair('P-256');
  p384 = ecKeyPair('P-384');
  hmac = secret(32);
});

function clientsWith(extra: Partial<ClientAuthenticatorOptions> = {}): ClientAuthenticator {
  return createClientAuthenticator({
    issuer: ISSUER,
    clients: [
      { clientId: CLIENT_ID, publicKey: rsa.publicPem },
      { clientId: 'ps-only', publicKey: rsa.publicPem, algorithms: ['PS256'] },
      { clientId: 'secret-client', clientSecret: hmac },
      { clientId: 'ec-client', publicKey: p256.publicPem },
      { clientId: 'jwks-client', jwks: { keys: [{ ...rsa.publicJwk, kid: 'r1' }] } },
    ],
    now: fixedNow(),
    replayStore: new MemoryReplayStore(),
    ...extra,
  });
}

function grantsWith(extra: Partial<GrantVerifierOptions> = {}): GrantVerifier {
  return createGrantVerifier({
    issuer: ISSUER,
    issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }],
    now: fixedNow(),
    replayStore: new MemoryReplayStore(),
    ...extra,
  });
}

const cClaims = (overrides: Record<string, unknown> = {}) => clientClaims(overrides, NOW);
const gClaims = (overrides: Record<string, unknown> = {}) => grantClaims(overrides, NOW);
const asClient = (id: string, overrides: Record<string, unknown> = {}) => cClaims({ iss: id, sub: id, ...overrides });

/** The default verifiers of the describe block running: see {@link freshVerifiers}. */
let clients: ClientAuthenticator;
let grants: GrantVerifier;

/** Gives the calling describe block its own default `clients` and `grants` (and replay stores), made before its tests, once the keys exist. */
function freshVerifiers(): void {
  beforeAll(() => {
    clients = clientsWith();
    grants = grantsWith();
  });
}

/** An RS256 client assertion or grant assertion, the default claims with `overrides`, given to the default verifiers. */
const client = (overrides: Record<string, unknown>) => clients.authenticate(clientRequest(signJws({ alg: 'RS256' }, cClaims(overrides), rsa.privateKey)));
const grant = (overrides: Record<string, unknown>) => grants.verify(grantRequest(signJws({ alg: 'RS256' }, gClaims(overrides), rsa.privateKey)));

describe('header: alg (RFC 7515 §4.1.1, RFC 8725 §3.1, RFC 7523 §3 item 9)', () => {
  freshVerifiers();

  it.each(['none', 'None', 'NONE'])('RFC 7523 §3 item 9: refuses alg %s (an unsigned JWT) for both uses', async (alg) => {
    await expectRejected(clients.authenticate(clientRequest(unsignedJws({ alg, typ: 'JWT' }, cClaims()))), 'ERR_ALGORITHM_NOT_ALLOWED', 'invalid_client', 401);
    await expectRejected(grants.verify(grantRequest(unsignedJws({ alg }, gClaims()))), 'ERR_ALGORITHM_NOT_ALLOWED', 'invalid_grant', 400);
  });

  it('refuses a header without alg, or with a non-string or unknown alg', async () => {
    for (const header of [{}, { alg: 256 }, { alg: 'RS1' }, { alg: 'rs256' }, { alg: 'HS1' }]) {
      await expectRejected(clients.authenticate(clientRequest(unsignedJws(header, cClaims()))), 'ERR_ALGORITHM_NOT_ALLOWED');
    }
  });

  it('refuses an algorithm outside the global algorithms list (and accepts the listed one)', async () => {
    const rsOnly = clientsWith({ algorithms: ['RS256'], clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
    await expectRejected(
      rsOnly.authenticate(clientRequest(signJws({ alg: 'PS256' }, cClaims(), rsa.privateKey))),
      'ERR_ALGORITHM_NOT_ALLOWED',
      'invalid_client',
    );
    await expect(rsOnly.authenticate(clientRequest(signJws({ alg: 'RS256' }, cClaims(), rsa.privateKey)))).resolves.toBeDefined();
  });

  it('checks alg against the global list before looking up the client or issuer (DESIGN §5 step 2 before step 3)', async () => {
    const looked: string[] = [];
    const rsOnly = createClientAuthenticator({
      issuer: ISSUER,
      algorithms: ['RS256'],
      clients: (id) => {
        looked.push(id);
        return undefined;
      },
    });
    await expectRejected(
      rsOnly.authenticate(clientRequest(signJws({ alg: 'PS256' }, cClaims(), rsa.privateKey))),
      'ERR_ALGORITHM_NOT_ALLOWED',
      'invalid_client',
    );
    expect(looked).toEqual([]);
    await expectRejected(rsOnly.authenticate(clientRequest(signJws({ alg: 'RS256' }, cClaims(), rsa.privateKey))), 'ERR_CLIENT_UNKNOWN');
    expect(looked).toEqual([CLIENT_ID]);
    const grantsRsOnly = createGrantVerifier({ issuer: ISSUER, algorithms: ['RS256'], issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }] });
    await expectRejected(
      grantsRsOnly.verify(grantRequest(signJws({ alg: 'PS256' }, gClaims({ iss: 'https://unknown.example' }), rsa.privateKey))),
      'ERR_ALGORITHM_NOT_ALLOWED',
    );
  });

  it("refuses an algorithm outside the client's own algorithms list", async () => {
    await expectRejected(clients.authenticate(clientRequest(signJws({ alg: 'RS256' }, asClient('ps-only'), rsa.privateKey))), 'ERR_ALGORITHM_NOT_ALLOWED');
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'PS256' }, asClient('ps-only'), rsa.privateKey)))).resolves.toMatchObject({
      clientId: 'ps-only',
    });
  });

  it('refuses HS256 against a client registered with an RSA public key', async () => {
    await expectRejected(clients.authenticate(clientRequest(signJws({ alg: 'HS256' }, cClaims(), hmac))), 'ERR_ALGORITHM_NOT_ALLOWED', 'invalid_client');
  });

  it('RFC 8725 §2.1: refuses HS256 signed with the bytes of the RSA public key PEM as the secret (key confusion)', async () => {
    const confused = signJws({ alg: 'HS256' }, cClaims(), Buffer.from(rsa.publicPem));
    await expectRejected(clients.authenticate(clientRequest(confused)), 'ERR_ALGORITHM_NOT_ALLOWED', 'invalid_client', 401);
    const confusedJwks = signJws({ alg: 'HS256', kid: 'r1' }, asClient('jwks-client'), Buffer.from(rsa.publicPem));
    await expectRejected(clients.authenticate(clientRequest(confusedJwks)), 'ERR_ALGORITHM_NOT_ALLOWED');
    const grantConfused = signJws({ alg: 'HS256' }, gClaims(), Buffer.from(rsa.publicPem));
    await expectRejected(grants.verify(grantRequest(grantConfused)), 'ERR_ALGORITHM_NOT_ALLOWED', 'invalid_grant');
  });

  it('refuses RS256 against a client_secret_jwt client', async () => {
    await expectRejected(
      clients.authenticate(clientRequest(signJws({ alg: 'RS256' }, asClient('secret-client'), rsa.privateKey))),
      'ERR_ALGORITHM_NOT_ALLOWED',
    );
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'HS256' }, asClient('secret-client'), hmac)))).resolves.toMatchObject({
      method: 'client_secret_jwt',
    });
  });

  it('refuses ES384 against a P-256 key (the curve fixes the algorithm)', async () => {
    await expectRejected(clients.authenticate(clientRequest(signJws({ alg: 'ES384' }, asClient('ec-client'), p256.privateKey))), 'ERR_ALGORITHM_NOT_ALLOWED');
    await expectRejected(clients.authenticate(clientRequest(signJws({ alg: 'ES384' }, asClient('ec-client'), p384.privateKey))), 'ERR_ALGORITHM_NOT_ALLOWED');
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'ES256' }, asClient('ec-client'), p256.privateKey)))).resolves.toBeDefined();
  });
});

describe('header: crit, cty, typ', () => {
  freshVerifiers();

  it('RFC 7515 §4.1.11: refuses a crit header (no extension is understood)', async () => {
    for (const crit of [['exp'], [], ['b64']]) {
      await expectRejected(
        clients.authenticate(clientRequest(signJws({ alg: 'RS256', crit, exp: 1 }, cClaims(), rsa.privateKey))),
        'ERR_CRIT_UNSUPPORTED',
        'invalid_client',
      );
      await expectRejected(grants.verify(grantRequest(signJws({ alg: 'RS256', crit }, gClaims(), rsa.privateKey))), 'ERR_CRIT_UNSUPPORTED', 'invalid_grant');
    }
  });

  it('RFC 7519 §5.2: refuses a nested JWT (cty JWT or application/jwt, any case, RFC 7515 §4.1.10)', async () => {
    for (const cty of ['JWT', 'jwt', 'application/jwt', 'Application/JWT']) {
      await expectRejected(grants.verify(grantRequest(signJws({ alg: 'RS256', cty }, gClaims(), rsa.privateKey))), 'ERR_ASSERTION_MALFORMED', 'invalid_grant');
      await expectRejected(
        clients.authenticate(clientRequest(signJws({ alg: 'RS256', cty }, cClaims(), rsa.privateKey))),
        'ERR_ASSERTION_MALFORMED',
        'invalid_client',
      );
    }
  });

  it.each([
    'JWT',
    'jwt',
    'application/jwt',
    'client-authentication+jwt',
    'Client-Authentication+JWT',
    'application/client-authentication+jwt',
    'APPLICATION/CLIENT-AUTHENTICATION+JWT',
    undefined,
  ])('RFC 10070: a client assertion with typ %s is accepted', async (typ) => {
    await expect(clients.authenticate(clientRequest(signJws({ alg: 'RS256', typ }, cClaims(), rsa.privateKey)))).resolves.toMatchObject({
      clientId: CLIENT_ID,
    });
  });

  it.each(['at+jwt', 'JOSE', 'dpop+jwt', 'secevent+jwt', 'logout+jwt', 'jwt ', '', 1, ['JWT']])(
    'RFC 8725 §3.11: a client assertion with typ %p is refused (ERR_TYPE_INVALID)',
    async (typ) => {
      await expectRejected(
        clients.authenticate(clientRequest(signJws({ alg: 'RS256', typ }, cClaims(), rsa.privateKey))),
        'ERR_TYPE_INVALID',
        'invalid_client',
        401,
      );
    },
  );

  it.each(['JWT', 'jwt', 'application/jwt', 'JOSE', 'jose', 'application/jose', 'APPLICATION/JOSE', undefined])(
    'a grant assertion with typ %s is accepted (RFC 7515 §4.1.9: the application/ prefix may be left out)',
    async (typ) => {
      await expect(grants.verify(grantRequest(signJws({ alg: 'RS256', typ }, gClaims(), rsa.privateKey)))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
    },
  );

  it.each(['client-authentication+jwt', 'application/client-authentication+jwt', 'at+jwt', 'dpop+jwt'])(
    'RFC 8725 §3.11: a grant assertion explicitly typed %s is refused (ERR_TYPE_INVALID)',
    async (typ) => {
      await expectRejected(grants.verify(grantRequest(signJws({ alg: 'RS256', typ }, gClaims(), rsa.privateKey))), 'ERR_TYPE_INVALID', 'invalid_grant', 400);
    },
  );
});

describe('time claims (RFC 7523 §3 items 4-6, RFC 7519 §4.1.4-6), clockTolerance 30 s', () => {
  freshVerifiers();

  it('RFC 7523 §3 item 4: refuses an assertion without exp (both uses)', async () => {
    await expectRejected(client({ exp: undefined }), 'ERR_CLAIM_MISSING', 'invalid_client');
    await expectRejected(grant({ exp: undefined }), 'ERR_CLAIM_MISSING', 'invalid_grant');
  });

  it('RFC 7519 §2: refuses exp, nbf or iat that is not a NumericDate', async () => {
    await expectRejected(grant({ exp: String(NOW + 60) }), 'ERR_CLAIM_INVALID');
    await expectRejected(grant({ nbf: 'yesterday' }), 'ERR_CLAIM_INVALID');
    await expectRejected(client({ iat: null }), 'ERR_CLAIM_INVALID');
  });

  it('RFC 7523 §3 item 4: accepts exp just past within clockTolerance', async () => {
    await expect(grant({ iat: NOW - 100, exp: NOW - 29 })).resolves.toBeDefined();
    await expect(client({ iat: NOW - 100, exp: NOW - 29 })).resolves.toBeDefined();
  });

  it('RFC 7523 §3 item 4: refuses exp past beyond clockTolerance (ERR_ASSERTION_EXPIRED)', async () => {
    await expectRejected(grant({ iat: NOW - 100, exp: NOW - 30 }), 'ERR_ASSERTION_EXPIRED', 'invalid_grant', 400);
    await expectRejected(client({ iat: NOW - 100, exp: NOW - 31 }), 'ERR_ASSERTION_EXPIRED', 'invalid_client', 401);
  });

  it('honours a configured clockTolerance, including 0', async () => {
    const strict = clientsWith({ clockTolerance: 0 });
    const sign = (o: Record<string, unknown>) => clientRequest(signJws({ alg: 'RS256' }, cClaims(o), rsa.privateKey));
    await expectRejected(strict.authenticate(sign({ iat: NOW - 10, exp: NOW })), 'ERR_ASSERTION_EXPIRED');
    await expect(strict.authenticate(sign({ iat: NOW - 10, exp: NOW + 1 }))).resolves.toBeDefined();
    await expectRejected(strict.authenticate(sign({ nbf: NOW + 1 })), 'ERR_ASSERTION_NOT_YET_VALID');
    await expectRejected(strict.authenticate(sign({ iat: NOW + 1 })), 'ERR_ASSERTION_ISSUED_IN_FUTURE');
  });

  it('RFC 7523 §3 item 5: accepts nbf in the future within tolerance, refuses it beyond', async () => {
    await expect(grant({ nbf: NOW + 30 })).resolves.toBeDefined();
    await expectRejected(grant({ nbf: NOW + 31 }), 'ERR_ASSERTION_NOT_YET_VALID', 'invalid_grant');
    await expectRejected(client({ nbf: NOW + 31 }), 'ERR_ASSERTION_NOT_YET_VALID', 'invalid_client');
  });

  it('RFC 7523 §3 item 6: accepts iat in the future within tolerance, refuses it beyond', async () => {
    await expect(client({ iat: NOW + 30 })).resolves.toBeDefined();
    await expectRejected(client({ iat: NOW + 31 }), 'ERR_ASSERTION_ISSUED_IN_FUTURE', 'invalid_client');
    await expectRejected(grant({ iat: NOW + 31 }), 'ERR_ASSERTION_ISSUED_IN_FUTURE', 'invalid_grant');
  });

  it('RFC 7523 §3 item 6: maxLifetime via iat: accepted up to maxLifetime + tolerance after iat (client default 300 s)', async () => {
    await expect(client({ iat: NOW - 330, exp: NOW + 60 })).resolves.toBeDefined();
    await expectRejected(client({ iat: NOW - 331, exp: NOW + 60 }), 'ERR_ASSERTION_LIFETIME_EXCEEDED', 'invalid_client');
  });

  it('RFC 7523 §3 item 6: maxLifetime via iat for grants (default 3600 s) and a configured value', async () => {
    await expect(grant({ iat: NOW - 3630, exp: NOW + 60 })).resolves.toBeDefined();
    await expectRejected(grant({ iat: NOW - 3631, exp: NOW + 60 }), 'ERR_ASSERTION_LIFETIME_EXCEEDED', 'invalid_grant');
    const short = grantsWith({ maxLifetime: 60, clockTolerance: 0 });
    const sign = (o: Record<string, unknown>) => grantRequest(signJws({ alg: 'RS256' }, gClaims(o), rsa.privateKey));
    await expect(short.verify(sign({ iat: NOW - 60 }))).resolves.toBeDefined();
    await expectRejected(short.verify(sign({ iat: NOW - 61, exp: NOW + 600 })), 'ERR_ASSERTION_LIFETIME_EXCEEDED');
  });

  it('RFC 7521 §5.2: maxLifetime without iat: an exp further than maxLifetime + tolerance from now is refused', async () => {
    await expect(client({ iat: undefined, exp: NOW + 330 })).resolves.toBeDefined();
    await expectRejected(client({ iat: undefined, exp: NOW + 331 }), 'ERR_ASSERTION_LIFETIME_EXCEEDED', 'invalid_client');
    await expect(grant({ iat: undefined, exp: NOW + 3630 })).resolves.toBeDefined();
    await expectRejected(grant({ iat: undefined, exp: NOW + 3631 }), 'ERR_ASSERTION_LIFETIME_EXCEEDED', 'invalid_grant');
  });

  it('accepts a far exp with a fresh iat (MSAL signs 600 s, Google 3600 s): it dies at iat + maxLifetime anyway', async () => {
    await expect(client({ iat: NOW, exp: NOW + 600 })).resolves.toBeDefined();
    await expect(client({ iat: NOW - 5, exp: NOW + 86400 * 365 })).resolves.toBeDefined();
    await expect(grant({ iat: NOW, exp: NOW + 3600 * 24 })).resolves.toBeDefined();
  });
});

describe('identity claims (RFC 7523 §3 items 1, 2, 7)', () => {
  freshVerifiers();

  it('RFC 7523 §3 item 1: refuses an assertion without iss (both uses)', async () => {
    await expectRejected(grant({ iss: undefined }), 'ERR_CLAIM_MISSING', 'invalid_grant');
    await expectRejected(client({ iss: undefined }), 'ERR_CLAIM_MISSING', 'invalid_client');
  });

  it('RFC 7519 §4.1.1: refuses an iss that is not a non-empty string', async () => {
    await expectRejected(grant({ iss: 42 }), 'ERR_CLAIM_INVALID');
    await expectRejected(grant({ iss: '' }), 'ERR_CLAIM_INVALID');
    await expectRejected(grant({ iss: [GRANT_ISSUER] }), 'ERR_CLAIM_INVALID');
  });

  it('RFC 7523 §3 item 2: refuses an assertion without sub (both uses, by default)', async () => {
    await expectRejected(grant({ sub: undefined }), 'ERR_CLAIM_MISSING', 'invalid_grant');
    await expectRejected(client({ sub: undefined }), 'ERR_CLAIM_MISSING', 'invalid_client');
    await expectRejected(client({ sub: 7 }), 'ERR_CLAIM_INVALID', 'invalid_client');
  });

  it('RFC 7519 §4.1.7: a jti that is not a non-empty string is refused', async () => {
    await expectRejected(client({ jti: 5 }), 'ERR_CLAIM_INVALID');
    await expectRejected(grant({ jti: '' }), 'ERR_CLAIM_INVALID');
  });
});
