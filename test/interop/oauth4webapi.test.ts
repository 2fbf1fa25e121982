/**
 * Interop with oauth4webapi 3 (panva), unmodified, against both example apps over real HTTP:
 * private_key_jwt (RS256, ES256, Ed25519) and client_secret_jwt, on client_credentials and on the
 * jwt-bearer grant (through its generic token endpoint request), plus introspection.
 *
 * What it sends (read from node_modules/oauth4webapi/build/index.js, clientAssertionPayload, and
 * checked below on the wire): `aud` = the authorization server's `issuer` as a single string;
 * iss = sub = client_id; jti, iat, nbf, exp = iat + 60; header { alg, kid? } with no `typ`; the
 * Ed25519 algorithm is named `Ed25519`; and a `client_id` form parameter next to the assertion.
 */
import * as oauth from 'oauth4webapi';
import { createAssertion, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import {
  decodeJwt,
  expectGrantIssued,
  FRAMEWORKS,
  grantAssertion,
  interopSuite,
  recordingFetch,
  serverMetadata,
  sharedDemoKeys,
  startWithClients,
  webCryptoKeyPair,
  type Example,
} from './helpers';

const { clients, clientAuth, expectRefused } = interopSuite('o4w', oauth);

describe.each(FRAMEWORKS)('oauth4webapi against the %s example', (framework) => {
  let example: Example;
  let as: oauth.AuthorizationServer;
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  beforeAll(async () => {
    example = await startWithClients(framework, clients);
    as = serverMetadata(example);
  });
  afterAll(() => example.close());

  describe.each(['RS256', 'ES256', 'Ed25519', 'HS256'] as const)('%s client', (kind) => {
    const client = () => clients.find((c) => c.kind === kind)!;

    test('client_credentials: the token is issued to the client, authenticated by its assertion', async () => {
      const c = client();
      const sent: URLSearchParams[] = [];
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        { client_id: c.clientId },
        clientAuth(c),
        { scope: 'read write' },
        {
          ...insecure,
          [oauth.customFetch]: recordingFetch(sent),
        },
      );
      const token = await oauth.processClientCredentialsResponse(as, { client_id: c.clientId }, response);
      expect(token.token_type).toBe('bearer'); // oauth4webapi lower-cases it
      expect(token.scope).toBe('read write');
      const record = example.as.lookup(token.access_token);
      expect(record).toMatchObject({ grant_type: 'client_credentials', sub: c.clientId, client_id: c.clientId, client_auth: { method: c.method, alg: c.alg } });

      // What the library put on the wire.
      expect(sent).toHaveLength(1);
      const form = sent[0]!;
      expect(form.get('client_id')).toBe(c.clientId);
      const { header, claims } = decodeJwt(form.get('client_assertion')!);
      expect(header.alg).toBe(c.alg);
      expect(header.kid).toBe(c.kid);
      expect(claims.aud).toBe(example.issuer);
      expect(claims).toMatchObject({ iss: c.clientId, sub: c.clientId });
    });

    test('jwt-bearer grant with client authentication (genericTokenEndpointRequest)', async () => {
      const c = client();
      const response = await oauth.genericTokenEndpointRequest(
        as,
        { client_id: c.clientId },
        clientAuth(c),
        JWT_BEARER_GRANT_TYPE,
        { assertion: grantAssertion(example, 'alice@example.com'), scope: 'read' },
        insecure,
      );
      const token = await oauth.processGenericTokenEndpointResponse(as, { client_id: c.clientId }, response);
      expect(token.scope).toBe('read');
      expectGrantIssued(example, token.access_token, 'alice@example.com', c);
    });

    test('introspection, authenticated by the client assertion', async () => {
      const c = client();
      const issued = await oauth.processClientCredentialsResponse(
        as,
        { client_id: c.clientId },
        await oauth.clientCredentialsGrantRequest(as, { client_id: c.clientId }, clientAuth(c), {}, insecure),
      );
      const response = await oauth.introspectionRequest(as, { client_id: c.clientId }, clientAuth(c), issued.access_token, insecure);
      const result = await oauth.processIntrospectionResponse(as, { client_id: c.clientId }, response);
      expect(result).toMatchObject({ active: true, client_id: c.clientId, sub: c.clientId, scope: 'read' });
    });
  });

  test('jwt-bearer grant without client authentication (None): the unauthenticated client_id is not trusted', async () => {
    const response = await oauth.genericTokenEndpointRequest(
      as,
      { client_id: 'anyone' },
      oauth.None(),
      JWT_BEARER_GRANT_TYPE,
      { assertion: grantAssertion(example, 'bob@example.com') },
      insecure,
    );
    const token = await oauth.processGenericTokenEndpointResponse(as, { client_id: 'anyone' }, response);
    const record = example.as.lookup(token.access_token);
    expect(record).toMatchObject({ sub: 'bob@example.com', scope: [] });
    expect(record?.client_id).toBeUndefined();
  });

  test('a key the client is not registered with is refused: 401 invalid_client', async () => {
    const c = clients.find((x) => x.kind === 'ES256')!;
    const other = await webCryptoKeyPair('ES256');
    await expectRefused(
      oauth
        .clientCredentialsGrantRequest(as, { client_id: c.clientId }, oauth.PrivateKeyJwt(other.privateKey), {}, insecure)
        .then((r) => oauth.processClientCredentialsResponse(as, { client_id: c.clientId }, r)),
      401,
      'invalid_client',
    );
  });

  test('a grant assertion of an untrusted issuer is refused: 400 invalid_grant', async () => {
    const c = clients.find((x) => x.kind === 'RS256')!;
    const stranger = createAssertion({
      issuer: 'https://stranger.example',
      subject: 'alice',
      audience: example.issuer,
      key: sharedDemoKeys().issuer.privateKey,
    });
    await expectRefused(
      oauth
        .genericTokenEndpointRequest(as, { client_id: c.clientId }, clientAuth(c), JWT_BEARER_GRANT_TYPE, { assertion: stranger }, insecure)
        .then((r) => oauth.processGenericTokenEndpointResponse(as, { client_id: c.clientId }, r)),
      400,
      'invalid_grant',
    );
  });

  test('an assertion made out to the token endpoint URL (modifyAssertion) is refused in strict audience mode', async () => {
    const c = clients.find((x) => x.kind === 'Ed25519')!;
    const toTokenEndpoint: oauth.ModifyAssertionOptions = {
      [oauth.modifyAssertion]: (_header, payload) => {
        payload.aud = example.tokenEndpoint;
      },
    };
    await expectRefused(
      oauth
        .clientCredentialsGrantRequest(as, { client_id: c.clientId }, clientAuth(c, toTokenEndpoint), {}, insecure)
        .then((r) => oauth.processClientCredentialsResponse(as, { client_id: c.clientId }, r)),
      401,
      'invalid_client',
    );
    expect(example.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(c.clientId))).toBe(true);
  });
});

describe('oauth4webapi and audienceMode: legacy', () => {
  test.each(FRAMEWORKS)('%s: a token endpoint aud is accepted when listed in audiences, with a warning', async (framework) => {
    const example = await startWithClients(framework, clients, 'legacy');
    try {
      const as: oauth.AuthorizationServer = { issuer: example.issuer, token_endpoint: example.tokenEndpoint };
      const c = clients.find((x) => x.kind === 'HS256')!;
      const options: oauth.ModifyAssertionOptions = {
        [oauth.modifyAssertion]: (_header, payload) => {
          payload.aud = example.tokenEndpoint;
        },
      };
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        { client_id: c.clientId },
        clientAuth(c, options),
        {},
        { [oauth.allowInsecureRequests]: true },
      );
      const token = await oauth.processClientCredentialsResponse(as, { client_id: c.clientId }, response);
      expect(example.as.lookup(token.access_token)).toMatchObject({ client_id: c.clientId });
      expect(example.logs.some((l) => l.includes('WARN_LEGACY_AUDIENCE') && l.includes(c.clientId))).toBe(true);
    } finally {
      await example.close();
    }
  });
});
