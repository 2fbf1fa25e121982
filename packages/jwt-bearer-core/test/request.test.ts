import { createClientAuthenticator, createGrantVerifier, type ClientAuthenticator, type GrantVerifier } from '../src';
import { challengeHeaders, formBody, header, param, parseScope } from '../src/http/request';
import {
  CLIENT_ASSERTION_TYPE,
  CLIENT_ID,
  clientClaims,
  clientRequest,
  expectRejected,
  GRANT_ISSUER,
  GRANT_TYPE,
  grantClaims,
  grantRequest,
  ISSUER,
  rsaKeyPair,
  signJws,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let grants: GrantVerifier;
let clients: ClientAuthenticator;

beforeAll(() => {
  rsa = rsaKeyPair();
  grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }] });
  clients = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
});

const grantAssertion = (overrides: Record<string, unknown> = {}) => signJws({ alg: 'RS256', typ: 'JWT' }, grantClaims(overrides), rsa.privateKey);
const clientAssertion = (overrides: Record<string, unknown> = {}) => signJws({ alg: 'RS256', typ: 'JWT' }, clientClaims(overrides), rsa.privateKey);

describe('param()', () => {
  it('RFC 6749 §3.2: a parameter sent without a value is treated as omitted', () => {
    expect(param({ a: '' }, 'a', 'grant')).toBeUndefined();
    expect(param({ a: null }, 'a', 'grant')).toBeUndefined();
    expect(param({}, 'a', 'grant')).toBeUndefined();
    expect(param({ a: 'x' }, 'a', 'grant')).toBe('x');
  });

  it('RFC 6749 §3.2: a repeated parameter (an array) or a non-string is invalid_request ERR_PARAMETER_INVALID', () => {
    for (const value of [['a', 'b'], ['a'], { nested: 'x' }, 42, true]) {
      let caught: unknown;
      try {
        param({ a: value }, 'a', 'client');
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'ERR_PARAMETER_INVALID', error: 'invalid_request', status: 400 });
    }
  });
});

describe('formBody(), header(), parseScope(), challengeHeaders()', () => {
  it('formBody returns the body only when it is a plain object', () => {
    expect(formBody({ body: { a: '1' }, headers: {} })).toEqual({ a: '1' });
    expect(formBody({ body: undefined, headers: {} })).toBeUndefined();
    expect(formBody({ body: ['a'] as unknown as Record<string, unknown>, headers: {} })).toBeUndefined();
    expect(formBody({ body: 'a=1' as unknown as Record<string, unknown>, headers: {} })).toBeUndefined();
    expect(formBody(undefined as never)).toBeUndefined();
  });

  it('header returns the first of a repeated header and undefined when absent', () => {
    expect(header({ body: {}, headers: { authorization: ['Basic a', 'Basic b'] } }, 'authorization')).toBe('Basic a');
    expect(header({ body: {}, headers: { authorization: 'Basic a' } }, 'authorization')).toBe('Basic a');
    expect(header({ body: {}, headers: {} }, 'authorization')).toBeUndefined();
    expect(header({ body: {} } as never, 'authorization')).toBeUndefined();
  });

  it('RFC 6749 §3.3: parseScope accepts space-delimited scope-tokens and refuses anything else', () => {
    expect(parseScope('read')).toEqual(['read']);
    expect(parseScope('read write:all https://api.example/x')).toEqual(['read', 'write:all', 'https://api.example/x']);
    for (const bad of ['', ' read', 'read ', 'read  write', 'a"b', 'a\\b', 'caf\u00e9', 'a\tb', 'a\nb']) {
      expect(parseScope(bad)).toBeUndefined();
    }
  });

  it('RFC 6749 §5.2: challengeHeaders names the scheme of the Authorization header, and nothing without one', () => {
    expect(challengeHeaders({ body: {}, headers: { authorization: 'Basic abc' } }, ISSUER)).toEqual({ 'WWW-Authenticate': `Basic realm="${ISSUER}"` });
    expect(challengeHeaders({ body: {}, headers: { authorization: 'DPoP abc' } }, ISSUER)).toEqual({ 'WWW-Authenticate': `DPoP realm="${ISSUER}"` });
    expect(challengeHeaders({ body: {}, headers: {} }, ISSUER)).toEqual({});
    expect(challengeHeaders({ body: {}, headers: { authorization: '' } }, ISSUER)).toEqual({});
  });
});

describe('grant request shape (RFC 7521 §4.1, RFC 6749 §3.2)', () => {
  it('accepts a well-formed request', async () => {
    await expect(grants.verify(grantRequest(grantAssertion()))).resolves.toMatchObject({ issuer: GRANT_ISSUER });
  });

  it('refuses a request without a form body with invalid_request ERR_BODY_MISSING', async () => {
    await expectRejected(grants.verify({ body: undefined, headers: {} }), 'ERR_BODY_MISSING', 'invalid_request', 400);
  });

  it('RFC 7521 §4.1: refuses another grant_type with unsupported_grant_type', async () => {
    await expectRejected(
      grants.verify({ body: { grant_type: 'client_credentials', assertion: grantAssertion() }, headers: {} }),
      'ERR_GRANT_TYPE_UNSUPPORTED',
      'unsupported_grant_type',
      400,
    );
    await expectRejected(grants.verify({ body: { assertion: grantAssertion() }, headers: {} }), 'ERR_GRANT_TYPE_UNSUPPORTED');
  });

  it('RFC 7521 §4.1: refuses a request without the assertion parameter (invalid_request ERR_ASSERTION_MISSING)', async () => {
    await expectRejected(grants.verify({ body: { grant_type: GRANT_TYPE }, headers: {} }), 'ERR_ASSERTION_MISSING', 'invalid_request', 400);
  });

  it('RFC 6749 §3.2: an empty assertion value counts as absent', async () => {
    await expectRejected(grants.verify(grantRequest('')), 'ERR_ASSERTION_MISSING', 'invalid_request');
  });

  it('RFC 6749 §3.2: a repeated assertion, grant_type or scope parameter is invalid_request ERR_PARAMETER_INVALID', async () => {
    const a = grantAssertion();
    await expectRejected(grants.verify(grantRequest([a, a])), 'ERR_PARAMETER_INVALID', 'invalid_request', 400);
    await expectRejected(grants.verify({ body: { grant_type: [GRANT_TYPE, GRANT_TYPE], assertion: a }, headers: {} }), 'ERR_PARAMETER_INVALID');
    await expectRejected(grants.verify(grantRequest(a, { scope: ['read', 'write'] })), 'ERR_PARAMETER_INVALID');
  });

  it('RFC 6749 §3.3: a scope parameter that is not scope syntax is invalid_scope', async () => {
    await expectRejected(grants.verify(grantRequest(grantAssertion(), { scope: 'read  write' })), 'ERR_SCOPE_INVALID', 'invalid_scope', 400);
  });

  it('RFC 6749 §3.2: an empty scope parameter is treated as absent', async () => {
    const principal = await grants.verify(grantRequest(grantAssertion({ scope: 'from-claim' }), { scope: '' }));
    expect(principal.scope).toEqual(['from-claim']);
  });

  it('ignores unknown extra parameters (audience, MSAL telemetry, client-request-id)', async () => {
    const principal = await grants.verify(
      grantRequest(grantAssertion(), { audience: 'https://api', 'x-client-SKU': 'MSAL.Node', 'client-request-id': 'abc', foo: ['x', 'y'] }),
    );
    expect(principal.subject).toBeDefined();
  });
});

describe('client request shape (RFC 7521 §4.2, RFC 6749 §2.3 and §3.2)', () => {
  it('authenticate resolves undefined when the request carries no client assertion parameters', async () => {
    await expect(clients.authenticate({ body: { grant_type: 'client_credentials' }, headers: {} })).resolves.toBeUndefined();
    await expect(clients.authenticate({ body: undefined, headers: {} })).resolves.toBeUndefined();
    await expect(clients.authenticate({ body: { client_assertion: '', client_assertion_type: '' }, headers: {} })).resolves.toBeUndefined();
    await expect(clients.authenticate({ body: { client_id: CLIENT_ID, client_secret: 'x' }, headers: { authorization: 'Basic x' } })).resolves.toBeUndefined();
  });

  it('authenticate with required: true refuses a request without a client assertion (401 invalid_client ERR_CLIENT_AUTH_REQUIRED)', async () => {
    const err = await expectRejected(
      clients.authenticate({ body: { grant_type: 'client_credentials' }, headers: { authorization: 'Basic x' } }, { required: true }),
      'ERR_CLIENT_AUTH_REQUIRED',
      'invalid_client',
      401,
    );
    expect(err.headers['WWW-Authenticate']).toBe(`Basic realm="${ISSUER}"`);
    await expectRejected(clients.authenticate({ body: undefined, headers: {} }, { required: true }), 'ERR_CLIENT_AUTH_REQUIRED');
  });

  it('accepts a well-formed client assertion', async () => {
    await expect(clients.authenticate(clientRequest(clientAssertion()))).resolves.toMatchObject({ clientId: CLIENT_ID });
  });

  it('RFC 7521 §4.2: client_assertion without client_assertion_type is invalid_request', async () => {
    await expectRejected(
      clients.authenticate({ body: { client_assertion: clientAssertion() }, headers: {} }),
      'ERR_CLIENT_ASSERTION_TYPE_MISSING',
      'invalid_request',
      400,
    );
  });

  it('RFC 7521 §4.2: client_assertion_type without client_assertion is invalid_request', async () => {
    await expectRejected(
      clients.authenticate({ body: { client_assertion_type: CLIENT_ASSERTION_TYPE }, headers: {} }),
      'ERR_CLIENT_ASSERTION_MISSING',
      'invalid_request',
      400,
    );
    await expectRejected(clients.authenticate(clientRequest('')), 'ERR_CLIENT_ASSERTION_MISSING');
  });

  it('RFC 7523 §2.2: an unsupported client_assertion_type is 401 invalid_client', async () => {
    await expectRejected(
      clients.authenticate(clientRequest(clientAssertion(), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' })),
      'ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED',
      'invalid_client',
      401,
    );
  });

  it('RFC 6749 §2.3: an Authorization header together with client_assertion is invalid_request ERR_MULTIPLE_CLIENT_AUTH', async () => {
    await expectRejected(
      clients.authenticate(clientRequest(clientAssertion(), {}, { authorization: 'Basic czZCaGRSa3F0Mzo=' })),
      'ERR_MULTIPLE_CLIENT_AUTH',
      'invalid_request',
      400,
    );
  });

  it('RFC 6749 §2.3: client_secret together with client_assertion is invalid_request ERR_MULTIPLE_CLIENT_AUTH', async () => {
    await expectRejected(clients.authenticate(clientRequest(clientAssertion(), { client_secret: 'hunter2' })), 'ERR_MULTIPLE_CLIENT_AUTH', 'invalid_request');
  });

  it('RFC 7521 §4.2: a client_id that differs from the assertion subject is invalid_request ERR_CLIENT_ID_MISMATCH', async () => {
    await expectRejected(
      clients.authenticate(clientRequest(clientAssertion(), { client_id: 'someone-else' })),
      'ERR_CLIENT_ID_MISMATCH',
      'invalid_request',
      400,
    );
    await expect(clients.authenticate(clientRequest(clientAssertion(), { client_id: CLIENT_ID }))).resolves.toMatchObject({ clientId: CLIENT_ID });
  });

  it('RFC 6749 §3.2: repeated client_assertion, client_assertion_type or client_id is invalid_request ERR_PARAMETER_INVALID', async () => {
    const a = clientAssertion();
    await expectRejected(clients.authenticate(clientRequest([a, a])), 'ERR_PARAMETER_INVALID', 'invalid_request', 400);
    await expectRejected(
      clients.authenticate(clientRequest(a, { client_assertion_type: [CLIENT_ASSERTION_TYPE, CLIENT_ASSERTION_TYPE] })),
      'ERR_PARAMETER_INVALID',
    );
    await expectRejected(clients.authenticate(clientRequest(a, { client_id: [CLIENT_ID, CLIENT_ID] })), 'ERR_PARAMETER_INVALID');
  });

  it('ignores unknown extra parameters', async () => {
    const principal = await clients.authenticate(
      clientRequest(clientAssertion(), { audience: 'x', 'x-client-SKU': 'MSAL.Node', 'x-client-VER': '2', 'client-request-id': '1', scope: 'a b' }),
    );
    expect(principal?.clientId).toBe(CLIENT_ID);
  });
});
