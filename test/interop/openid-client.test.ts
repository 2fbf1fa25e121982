/**
 * Interop with openid-client 6 (panva), unmodified, against both example apps over real HTTP:
 * private_key_jwt (RS256, ES256, Ed25519) and client_secret_jwt, on client_credentials and on the
 * jwt-bearer grant (genericGrantRequest), plus introspection and RFC 8414 discovery.
 *
 * openid-client 6 builds its client assertions with oauth4webapi (its PrivateKeyJwt and
 * ClientSecretJwt return oauth4webapi's), so it sends what oauth4webapi sends: `aud` = the
 * discovered or configured `issuer` as a single string, which our strict audience mode requires.
 * Checked below on the wire.
 */
import * as client from 'openid-client';
import { JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import {
  decodeJwt,
  expectGrantIssued,
  FRAMEWORKS,
  grantAssertion,
  interopSuite,
  recordingFetch,
  serverMetadata,
  startWithClients,
  webCryptoKeyPair,
  type Example,
} from './helpers';

const { clients, clientAuth, expectRefused } = interopSuite('oidc', client);

describe.each(FRAMEWORKS)('openid-client against the %s example', (framework) => {
  let example: Example;
  let server: client.ServerMetadata;

  /** A Configuration for the client, allowed to use http on 127.0.0.1. */
  function configure(c: { clientId: string }, auth: client.ClientAuth): client.Configuration {
    const config = new client.Configuration(server, c.clientId, undefined, auth);
    client.allowInsecureRequests(config);
    return config;
  }

  beforeAll(async () => {
    example = await startWithClients(framework, clients);
    server = serverMetadata(example);
  });
  afterAll(() => example.close());

  describe.each(['RS256', 'ES256', 'Ed25519', 'HS256'] as const)('%s client', (kind) => {
    const find = () => clients.find((c) => c.kind === kind)!;

    test('client_credentials (clientCredentialsGrant)', async () => {
      const c = find();
      const sent: URLSearchParams[] = [];
      const config = configure(c, clientAuth(c));
      config[client.customFetch] = recordingFetch(sent);
      const token = await client.clientCredentialsGrant(config, { scope: 'write' });
      expect(token.scope).toBe('write');
      expect(token.expiresIn()).toBeGreaterThan(3500);
      expect(example.as.lookup(token.access_token)).toMatchObject({
        grant_type: 'client_credentials',
        sub: c.clientId,
        client_id: c.clientId,
        client_auth: { method: c.method, alg: c.alg },
      });

      const form = sent[0]!;
      const { header, claims } = decodeJwt(form.get('client_assertion')!);
      expect(header.alg).toBe(c.alg);
      expect(claims.aud).toBe(example.issuer);
      expect(claims).toMatchObject({ iss: c.clientId, sub: c.clientId });
      expect(typeof claims.jti).toBe('string');
    });

    test('jwt-bearer grant with client authentication (genericGrantRequest)', async () => {
      const c = find();
      const config = configure(c, clientAuth(c));
      const token = await client.genericGrantRequest(config, JWT_BEARER_GRANT_TYPE, {
        assertion: grantAssertion(example, 'carol@example.com'),
        scope: 'read write',
      });
      expect(token.scope).toBe('read write');
      expectGrantIssued(example, token.access_token, 'carol@example.com', c);
    });

    test('introspection (tokenIntrospection)', async () => {
      const c = find();
      const config = configure(c, clientAuth(c));
      const { access_token } = await client.genericGrantRequest(config, JWT_BEARER_GRANT_TYPE, { assertion: grantAssertion(example, 'dave@example.com') });
      const result = await client.tokenIntrospection(config, access_token);
      expect(result).toMatchObject({ active: true, sub: 'dave@example.com', client_id: c.clientId, iss: example.issuer });
      expect((await client.tokenIntrospection(config, 'not-a-token')).active).toBe(false);
    });
  });

  test('discovery of the example metadata (RFC 8414), then private_key_jwt with the discovered issuer as aud', async () => {
    const c = clients.find((x) => x.kind === 'Ed25519')!;
    const sent: URLSearchParams[] = [];
    const config = await client.discovery(new URL(example.issuer), c.clientId, undefined, clientAuth(c), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    expect(config.serverMetadata()).toMatchObject({ issuer: example.issuer, token_endpoint: example.tokenEndpoint });
    config[client.customFetch] = recordingFetch(sent);
    const token = await client.clientCredentialsGrant(config);
    expect(example.as.lookup(token.access_token)).toMatchObject({ client_id: c.clientId, client_auth: { alg: 'Ed25519' } });
    expect(decodeJwt(sent[0]!.get('client_assertion')!).claims.aud).toBe(example.issuer);
  });

  test('jwt-bearer grant without client authentication (None)', async () => {
    const config = configure({ clientId: 'public-app' }, client.None());
    const token = await client.genericGrantRequest(config, JWT_BEARER_GRANT_TYPE, { assertion: grantAssertion(example, 'erin@example.com'), scope: 'read' });
    const record = example.as.lookup(token.access_token);
    expect(record).toMatchObject({ sub: 'erin@example.com', scope: ['read'] });
    expect(record?.client_id).toBeUndefined();
  });

  test('a replayed grant assertion is refused: 400 invalid_grant', async () => {
    const c = clients.find((x) => x.kind === 'HS256')!;
    const config = configure(c, clientAuth(c));
    const assertion = grantAssertion(example, 'frank@example.com');
    await client.genericGrantRequest(config, JWT_BEARER_GRANT_TYPE, { assertion });
    await expectRefused(client.genericGrantRequest(config, JWT_BEARER_GRANT_TYPE, { assertion }), 400, 'invalid_grant');
  });

  test('a scope beyond what the issuer may grant is refused: 400 invalid_scope', async () => {
    const c = clients.find((x) => x.kind === 'ES256')!;
    await expectRefused(
      client.genericGrantRequest(configure(c, clientAuth(c)), JWT_BEARER_GRANT_TYPE, {
        assertion: grantAssertion(example, 'gina@example.com'),
        scope: 'admin',
      }),
      400,
      'invalid_scope',
    );
  });

  test('a key the client is not registered with is refused: 401 invalid_client', async () => {
    const c = clients.find((x) => x.kind === 'RS256')!;
    const other = await webCryptoKeyPair('RS256');
    await expectRefused(client.clientCredentialsGrant(configure(c, client.PrivateKeyJwt({ key: other.privateKey, kid: 'rsa-1' }))), 401, 'invalid_client');
  });

  test('an assertion made out to the token endpoint URL (modifyAssertion) is refused in strict audience mode', async () => {
    const c = clients.find((x) => x.kind === 'ES256')!;
    const auth = clientAuth(c, {
      [client.modifyAssertion]: (_header, payload) => {
        payload.aud = [example.issuer, example.tokenEndpoint];
      },
    });
    // An array naming the issuer and another value is refused too: the issuer must be the sole value.
    await expectRefused(client.clientCredentialsGrant(configure(c, auth)), 401, 'invalid_client');
  });
});

describe('openid-client and audienceMode: legacy', () => {
  test.each(FRAMEWORKS)('%s: a token endpoint aud is refused by default and accepted once listed in audiences', async (framework) => {
    const strict = await startWithClients(framework, clients);
    const legacy = await startWithClients(framework, clients, 'legacy');
    try {
      const c = clients.find((x) => x.kind === 'RS256')!;
      const run = (example: Example) => {
        const config = new client.Configuration(
          { issuer: example.issuer, token_endpoint: example.tokenEndpoint },
          c.clientId,
          undefined,
          clientAuth(c, {
            [client.modifyAssertion]: (_header, payload) => {
              payload.aud = example.tokenEndpoint;
            },
          }),
        );
        client.allowInsecureRequests(config);
        return client.clientCredentialsGrant(config);
      };
      await expectRefused(run(strict), 401, 'invalid_client');
      const token = await run(legacy);
      expect(legacy.as.lookup(token.access_token)).toMatchObject({ client_id: c.clientId });
      expect(legacy.logs.some((l) => l.includes('WARN_LEGACY_AUDIENCE'))).toBe(true);
    } finally {
      await Promise.all([strict.close(), legacy.close()]);
    }
  });
});
