import {
  clientAuthenticationRequired,
  createClientAuthenticator,
  createGrantVerifier,
  ERROR_CODES,
  isOAuthError,
  OAuthError,
  toErrorResponse,
  type ErrorCode,
  type RejectionEvent,
} from '../src';
import {
  CLIENT_ID,
  clientClaims,
  clientRequest,
  expectRejected,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  ISSUER,
  rejection,
  rsaKeyPair,
  signJws,
  SUBJECT,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let other: TestKeyPair;

beforeAll(() => {
  rsa = rsaKeyPair();
  other = rsaKeyPair();
});

describe('OAuthError', () => {
  it('RFC 7521 §4.1.1 / §4.2.1: one code is invalid_grant for a grant and invalid_client for a client assertion', () => {
    const grant = new OAuthError('ERR_SIGNATURE_INVALID');
    expect(grant.error).toBe('invalid_grant');
    expect(grant.status).toBe(400);
    const client = new OAuthError('ERR_SIGNATURE_INVALID', { use: 'client' });
    expect(client.error).toBe('invalid_client');
    expect(client.status).toBe(401);
  });

  it('carries error, status, statusCode, description, message, code, headers, expose and name', () => {
    const err = new OAuthError('ERR_ASSERTION_EXPIRED', { use: 'grant', detail: 'exp 5 is past', headers: { 'X-A': '1' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('OAuthError');
    expect(err.code).toBe('ERR_ASSERTION_EXPIRED');
    expect(err.error).toBe('invalid_grant');
    expect(err.status).toBe(400);
    expect(err.statusCode).toBe(400);
    expect(err.description).toBe(ERROR_CODES.ERR_ASSERTION_EXPIRED.description);
    expect(err.message).toBe(err.description);
    expect(err.headers).toEqual({ 'X-A': '1' });
    expect(err.expose).toBe(true);
    expect(err.detail).toBe('exp 5 is past');
  });

  it('keeps the cause for 5xx errors', () => {
    const cause = new Error('redis down');
    const err = new OAuthError('ERR_REPLAY_STORE_UNAVAILABLE', { cause });
    expect(err.cause).toBe(cause);
    expect(new OAuthError('ERR_INTERNAL').cause).toBeUndefined();
  });

  it('maps every code to its status: 400 request/grant/scope errors, 401 client errors, 503 unavailable, 500 internal', () => {
    expect(new OAuthError('ERR_PARAMETER_INVALID', { use: 'client' }).status).toBe(400);
    expect(new OAuthError('ERR_SCOPE_INVALID').error).toBe('invalid_scope');
    expect(new OAuthError('ERR_SCOPE_INVALID').status).toBe(400);
    expect(new OAuthError('ERR_GRANT_TYPE_UNSUPPORTED').error).toBe('unsupported_grant_type');
    expect(new OAuthError('ERR_CLIENT_AUTH_REQUIRED').status).toBe(401);
    expect(new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { use: 'client' }).error).toBe('temporarily_unavailable');
    expect(new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { use: 'client' }).status).toBe(503);
    expect(new OAuthError('ERR_INTERNAL').error).toBe('server_error');
    expect(new OAuthError('ERR_INTERNAL').status).toBe(500);
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      for (const use of ['grant', 'client'] as const) {
        const err = new OAuthError(code, { use });
        expect([400, 401, 500, 503]).toContain(err.status);
        expect(err.description.length).toBeGreaterThan(10);
      }
    }
  });

  it('RFC 9110 §10.2.3: a 503 says when to retry (Retry-After in whole seconds, default 1); other statuses do not', () => {
    expect(new OAuthError('ERR_REPLAY_STORE_UNAVAILABLE').headers).toEqual({ 'Retry-After': '1' });
    expect(new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { retryAfter: 29.2 }).headers['Retry-After']).toBe('30');
    expect(new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { retryAfter: -3 }).headers['Retry-After']).toBe('1');
    expect(new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { retryAfter: Number.NaN }).headers['Retry-After']).toBe('1');
    expect(new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { retryAfter: 1e21 }).headers['Retry-After']).toBe('2147483647');
    expect(new OAuthError('ERR_TRUST_LOOKUP_FAILED', { headers: { 'Retry-After': '120' } }).headers['Retry-After']).toBe('120');
    expect(new OAuthError('ERR_SIGNATURE_INVALID', { use: 'client', retryAfter: 5 }).headers).toEqual({});
    expect(new OAuthError('ERR_INTERNAL', { retryAfter: 5 }).headers).toEqual({});
    expect(toErrorResponse(new OAuthError('ERR_REPLAY_STORE_FULL')).headers).toMatchObject({ 'Retry-After': '1', 'Cache-Control': 'no-store' });
  });

  it('keeps detail off enumeration and JSON.stringify', () => {
    const err = new OAuthError('ERR_AUDIENCE_INVALID', { use: 'client', detail: 'aud "https://secret.internal" is wrong' });
    expect(Object.keys(err)).not.toContain('detail');
    expect(Object.getOwnPropertyDescriptor(err, 'detail')?.enumerable).toBe(false);
    const json = JSON.stringify(err);
    expect(json).not.toContain('secret.internal');
    expect(JSON.parse(json)).toEqual({ error: 'invalid_client', error_description: ERROR_CODES.ERR_AUDIENCE_INVALID.description });
    expect(JSON.stringify({ ...err })).not.toContain('secret.internal');
  });

  it('isOAuthError recognises instances and look-alikes from another copy of the package, nothing else', () => {
    expect(isOAuthError(new OAuthError('ERR_INTERNAL'))).toBe(true);
    expect(isOAuthError({ name: 'OAuthError', code: 'ERR_INTERNAL', error: 'server_error', status: 500 })).toBe(true);
    // Without a status there is nothing to answer with: not taken for an OAuthError.
    expect(isOAuthError({ name: 'OAuthError', code: 'ERR_INTERNAL' })).toBe(false);
    expect(toErrorResponse({ name: 'OAuthError', code: 'ERR_INTERNAL' }).status).toBe(500);
    expect(isOAuthError({ name: 'OAuthError', code: 'ERR_NOT_A_CODE' })).toBe(false);
    expect(isOAuthError({ name: 'OAuthError', code: 'toString' })).toBe(false);
    expect(isOAuthError(new Error('x'))).toBe(false);
    expect(isOAuthError(null)).toBe(false);
    expect(isOAuthError('OAuthError')).toBe(false);
  });
});

describe('toErrorResponse', () => {
  it('RFC 6749 §5.2: answers { error, error_description } JSON with Cache-Control: no-store and Pragma: no-cache', () => {
    const res = toErrorResponse(new OAuthError('ERR_ASSERTION_REPLAYED', { detail: 'jti "abc" reused' }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_grant', error_description: ERROR_CODES.ERR_ASSERTION_REPLAYED.description });
    expect(res.headers['Cache-Control']).toBe('no-store');
    expect(res.headers.Pragma).toBe('no-cache');
    expect(res.headers['Content-Type']).toMatch(/^application\/json/);
    expect(JSON.stringify(res)).not.toContain('abc');
  });

  it('keeps the error headers (WWW-Authenticate)', () => {
    const res = toErrorResponse(new OAuthError('ERR_CLIENT_UNKNOWN', { use: 'client', headers: { 'WWW-Authenticate': 'Basic realm="x"' } }));
    expect(res.status).toBe(401);
    expect(res.headers['WWW-Authenticate']).toBe('Basic realm="x"');
    expect(res.headers['Cache-Control']).toBe('no-store');
  });

  it('turns anything that is not an OAuthError into 500 server_error without message or stack', () => {
    const err = new Error('ECONNREFUSED 10.0.0.7:6379 secret-host');
    const res = toErrorResponse(err);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error', error_description: ERROR_CODES.ERR_INTERNAL.description });
    const text = JSON.stringify(res);
    expect(text).not.toContain('secret-host');
    expect(text).not.toContain('ECONNREFUSED');
    expect(text).not.toContain('at ');
    expect(toErrorResponse('a string').status).toBe(500);
    expect(toErrorResponse(undefined).body.error).toBe('server_error');
    expect(toErrorResponse(undefined).headers['Cache-Control']).toBe('no-store');
  });
});

describe('401 invalid_client and WWW-Authenticate', () => {
  it('RFC 6749 §5.2: clientAuthenticationRequired answers 401 with a WWW-Authenticate of the scheme the client used in the Authorization header', () => {
    const err = clientAuthenticationRequired({ body: {}, headers: { authorization: 'Basic czZCaGRSa3F0Mzo=' } }, ISSUER);
    expect(err.code).toBe('ERR_CLIENT_AUTH_REQUIRED');
    expect(err.status).toBe(401);
    expect(err.error).toBe('invalid_client');
    expect(err.headers['WWW-Authenticate']).toBe(`Basic realm="${ISSUER}"`);
    expect(toErrorResponse(err).headers['WWW-Authenticate']).toBe(`Basic realm="${ISSUER}"`);
    expect(err.detail).toMatch(/Authorization header/);
  });

  it('RFC 6749 §5.2: no WWW-Authenticate when the request had no Authorization header', () => {
    const err = clientAuthenticationRequired({ body: {}, headers: {} }, ISSUER);
    expect(err.status).toBe(401);
    expect(err.headers['WWW-Authenticate']).toBeUndefined();
    expect(err.detail).toMatch(/no client assertion/);
  });

  it('RFC 6749 §5.2: an invalid_client from authenticate() carries WWW-Authenticate when the request used the Authorization header', async () => {
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
    const request = clientRequest(
      'x.y.z',
      { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' },
      {
        authorization: 'Bearer abc',
      },
    );
    const err = await expectRejected(clients.authenticate(request), 'ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED', 'invalid_client', 401);
    expect(err.headers['WWW-Authenticate']).toBe(`Bearer realm="${ISSUER}"`);
    const plain = await rejection(clients.authenticate(clientRequest('x.y.z', { client_assertion_type: 'other' })));
    expect(plain.headers['WWW-Authenticate']).toBeUndefined();
  });

  it('strips quotes and backslashes from the realm and falls back to Basic for an odd header', () => {
    const err = clientAuthenticationRequired({ body: {}, headers: { authorization: ['  ,,,'] } }, 'https://a"b\\c');
    expect(err.headers['WWW-Authenticate']).toBe('Basic realm="https://abc"');
  });
});

describe('onError hook', () => {
  it('receives code, error, status, detail, use, issuer and subject (and clientId from the context) for a grant rejection', async () => {
    const events: RejectionEvent[] = [];
    const grants = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }],
      onError: (e) => events.push(e),
    });
    const forged = signJws({ alg: 'RS256' }, grantClaims(), other.privateKey);
    await expectRejected(grants.verify(grantRequest(forged), { clientId: 'c1' }), 'ERR_SIGNATURE_INVALID');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
      error: 'invalid_grant',
      status: 400,
      use: 'grant',
      issuer: GRANT_ISSUER,
      subject: SUBJECT,
      clientId: 'c1',
    });
    expect(events[0]!.detail).toMatch(/signature/);
  });

  it('receives code, detail, issuer, subject and clientId for a client rejection', async () => {
    const events: RejectionEvent[] = [];
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }],
      onError: (e) => events.push(e),
    });
    const bad = signJws({ alg: 'RS256' }, clientClaims({ aud: 'https://elsewhere.example' }), rsa.privateKey);
    await expectRejected(clients.authenticate(clientRequest(bad)), 'ERR_AUDIENCE_INVALID', 'invalid_client', 401);
    expect(events).toEqual([
      expect.objectContaining({
        code: 'ERR_AUDIENCE_INVALID',
        error: 'invalid_client',
        status: 401,
        use: 'client',
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        clientId: CLIENT_ID,
        detail: expect.stringContaining('elsewhere'),
      }),
    ]);
  });

  it('is called once for every kind of rejection, with the code the caller sees', async () => {
    const events: RejectionEvent[] = [];
    const grants = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, scopes: ['read'] }],
      onError: (e) => events.push(e),
    });
    const cases: Array<[ReturnType<typeof grantRequest> | { body: undefined; headers: Record<string, never> }, ErrorCode]> = [
      [{ body: undefined, headers: {} }, 'ERR_BODY_MISSING'],
      [grantRequest(undefined), 'ERR_ASSERTION_MISSING'],
      [grantRequest(['a', 'b']), 'ERR_PARAMETER_INVALID'],
      [grantRequest('not-a-jwt'), 'ERR_ASSERTION_MALFORMED'],
      [grantRequest(signJws({ alg: 'RS256' }, grantClaims({ iss: 'https://unknown' }), rsa.privateKey)), 'ERR_ISSUER_UNTRUSTED'],
      [grantRequest(signJws({ alg: 'RS256' }, grantClaims({ exp: 1000, iat: 900 }), rsa.privateKey)), 'ERR_ASSERTION_EXPIRED'],
      [grantRequest(signJws({ alg: 'RS256' }, grantClaims(), rsa.privateKey), { scope: 'write' }), 'ERR_SCOPE_INVALID'],
    ];
    for (const [request, code] of cases) {
      const before = events.length;
      const err = await rejection(grants.verify(request as never));
      expect(err.code).toBe(code);
      expect(events.length).toBe(before + 1);
      expect(events[events.length - 1]!.code).toBe(code);
      expect(events[events.length - 1]!.detail).toEqual(expect.any(String));
    }
  });

  it('reports a 5xx with its cause', async () => {
    const events: RejectionEvent[] = [];
    const cause = new Error('store down');
    const grants = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }],
      replayStore: { claim: () => Promise.reject(cause) },
      onError: (e) => events.push(e),
    });
    await expectRejected(
      grants.verify(grantRequest(signJws({ alg: 'RS256' }, grantClaims(), rsa.privateKey))),
      'ERR_REPLAY_STORE_UNAVAILABLE',
      'temporarily_unavailable',
      503,
    );
    expect(events[0]!.cause).toBe(cause);
    expect(events[0]!.status).toBe(503);
  });

  it('a hook that throws does not change the answer (rejections stay rejections, successes stay successes)', async () => {
    let calls = 0;
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }],
      onError: () => {
        calls += 1;
        throw new Error('logger broke');
      },
    });
    const bad = signJws({ alg: 'RS256' }, clientClaims(), other.privateKey);
    await expectRejected(clients.authenticate(clientRequest(bad)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
    expect(calls).toBe(1);
    const good = signJws({ alg: 'RS256' }, clientClaims(), rsa.privateKey);
    await expect(clients.authenticate(clientRequest(good))).resolves.toMatchObject({ clientId: CLIENT_ID });
    expect(calls).toBe(1);
  });
});
