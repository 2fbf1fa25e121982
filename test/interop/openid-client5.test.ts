/**
 * Interop with openid-client 5 (panva; the `openid-client5` alias of openid-client@5.7.0),
 * unmodified, against both example apps over real HTTP: private_key_jwt (RS256, ES256, EdDSA)
 * and client_secret_jwt on client_credentials, on the jwt-bearer grant, and on introspection.
 *
 * What it sends (lib/helpers/client.js, authFor; checked below on the wire): `aud` = the array
 * `[issuer, token_endpoint]` (deduplicated), iss = sub = client_id, jti, iat, exp = iat + 60,
 * header { alg, kid? } with Ed25519 named `EdDSA`, and `client_id` next to the assertion. The
 * array names this server twice, but the token endpoint URL is not the issuer, so RFC 10070's
 * strict rule (the issuer as the sole value) refuses it. Two ways to accept it here:
 *
 * - the server: `audienceMode: 'legacy'` with the token endpoint URL in `audiences` (every value is
 *   then this server's, so the list passes);
 * - the client: openid-client 5's own `clientAssertionPayload: { aud: issuer }` per call.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Issuer, errors, type Client, type ClientMetadata } from 'openid-client5';
import { JWT_BEARER_GRANT_TYPE, type ClientRegistration, type Jwk } from 'jwt-bearer-core';
import { FRAMEWORKS, grantAssertion, startWithRegistrations, type Example } from './helpers';

/** A client of openid-client 5: its metadata, its private JWK Set (if any), its registration here, and the alg it signs with. */
interface V5Client {
  kind: 'RS256' | 'ES256' | 'EdDSA' | 'HS256';
  metadata: ClientMetadata;
  jwks?: { keys: Jwk[] };
  registration: ClientRegistration;
  alg: string;
}

function keyClient(kind: 'RS256' | 'ES256' | 'EdDSA', kid: string | undefined): V5Client {
  const clientId = `oidc5-${kind.toLowerCase()}`;
  const { privateKey, publicKey } =
    kind === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : kind === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  // A plain object of this realm: openid-client 5 checks the JWK Set with isPlainObject.
  const withKid = (jwk: Jwk): Jwk => (kid === undefined ? { ...jwk } : { ...jwk, kid });
  return {
    kind,
    alg: kind,
    metadata: { client_id: clientId, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: kind },
    jwks: { keys: [withKid(privateKey.export({ format: 'jwk' }) as Jwk)] },
    registration: { clientId, jwks: { keys: [withKid(publicKey.export({ format: 'jwk' }) as Jwk)] } },
  };
}

const secret = randomBytes(32).toString('base64url');
const CLIENTS: V5Client[] = [
  keyClient('RS256', 'rsa-1'),
  keyClient('ES256', undefined), // no kid: the server tries the registered key
  keyClient('EdDSA', 'ed-1'),
  {
    kind: 'HS256',
    alg: 'HS256',
    metadata: { client_id: 'oidc5-hs256', client_secret: secret, token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS256' },
    registration: { clientId: 'oidc5-hs256', clientSecret: secret },
  },
];
const registrations = CLIENTS.map((c) => c.registration);

/** The example as openid-client 5 sees it. */
function issuerOf(example: Example): Issuer {
  return new Issuer({
    issuer: example.issuer,
    token_endpoint: example.tokenEndpoint,
    introspection_endpoint: example.as.introspectionEndpoint,
  });
}

/** An openid-client 5 Client of `issuer` for `c`, with its private keys. */
function clientFor(issuer: Issuer, c: V5Client): Client {
  return new issuer.Client(c.metadata, c.jwks);
}

/** openid-client 5's OPError for a refused request: the OAuth `error` and the HTTP status. */
async function expectRefused(promise: Promise<unknown>, status: number, error: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(errors.OPError);
  expect((err as errors.OPError).error).toBe(error);
  expect((err as errors.OPError).response?.statusCode).toBe(status);
}

describe.each(FRAMEWORKS)('openid-client 5 against the %s example', (framework) => {
  let legacy: Example;
  let strict: Example;

  beforeAll(async () => {
    [legacy, strict] = await Promise.all([startWithRegistrations(framework, registrations, 'legacy'), startWithRegistrations(framework, registrations)]);
  });
  afterAll(() => Promise.all([legacy.close(), strict.close()]));

  describe.each(CLIENTS.map((c) => [c.kind, c] as const))('%s client', (_kind, c) => {
    test('legacy audience mode: client_credentials, the jwt-bearer grant and introspection', async () => {
      const client = clientFor(issuerOf(legacy), c);
      const cc = await client.grant({ grant_type: 'client_credentials', scope: 'read write' });
      expect(legacy.as.lookup(cc.access_token!)).toMatchObject({
        grant_type: 'client_credentials',
        client_id: c.registration.clientId,
        scope: ['read', 'write'],
        client_auth: { method: c.metadata.token_endpoint_auth_method, alg: c.alg },
      });

      const grant = await client.grant({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantAssertion(legacy, 'carol@example.com'), scope: 'read' });
      expect(legacy.as.lookup(grant.access_token!)).toMatchObject({
        grant_type: JWT_BEARER_GRANT_TYPE,
        sub: 'carol@example.com',
        client_id: c.registration.clientId,
      });

      const introspection = await client.introspect(grant.access_token!);
      expect(introspection).toMatchObject({ active: true, sub: 'carol@example.com', client_id: c.registration.clientId });

      // Each accepted request used the legacy audience, and the hook said so.
      expect(legacy.logs.filter((l) => l.includes('WARN_LEGACY_AUDIENCE') && l.includes(c.registration.clientId)).length).toBeGreaterThanOrEqual(3);
    });

    test('strict audience mode: its [issuer, token_endpoint] aud is refused (401 invalid_client)', async () => {
      const client = clientFor(issuerOf(strict), c);
      await expectRefused(client.grant({ grant_type: 'client_credentials' }), 401, 'invalid_client');
      const refusal = strict.logs.find((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(c.registration.clientId));
      expect(refusal).toBeDefined();
    });

    test('strict audience mode with clientAssertionPayload { aud: issuer }: accepted', async () => {
      const client = clientFor(issuerOf(strict), c);
      const token = await client.grant({ grant_type: 'client_credentials' }, { clientAssertionPayload: { aud: strict.issuer } });
      expect(strict.as.lookup(token.access_token!)).toMatchObject({ client_id: c.registration.clientId, client_auth: { alg: c.alg } });
    });
  });

  test('RFC 8414 discovery (Issuer.discover) of the example metadata, then a token', async () => {
    const issuer = await Issuer.discover(`${legacy.issuer}/.well-known/oauth-authorization-server`);
    expect(issuer.metadata).toMatchObject({ issuer: legacy.issuer, token_endpoint: legacy.tokenEndpoint });
    const c = CLIENTS.find((x) => x.kind === 'ES256')!;
    const token = await clientFor(issuer, c).grant({ grant_type: 'client_credentials' });
    expect(legacy.as.lookup(token.access_token!)).toMatchObject({ client_id: c.registration.clientId });
  });

  test('a replayed grant assertion is refused: 400 invalid_grant', async () => {
    const client = clientFor(issuerOf(legacy), CLIENTS[0]!);
    const assertion = grantAssertion(legacy, 'frank@example.com');
    await client.grant({ grant_type: JWT_BEARER_GRANT_TYPE, assertion });
    await expectRefused(client.grant({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }), 400, 'invalid_grant');
  });

  test('what it signs: aud [issuer, token_endpoint], iss = sub = client_id, exp = iat + 60, a jti, the kid it was given', async () => {
    const c = CLIENTS.find((x) => x.kind === 'RS256')!;
    await clientFor(issuerOf(legacy), c).grant({ grant_type: 'client_credentials' });
    const { header, claims } = legacy.authenticated.at(-1)!;
    expect(header).toMatchObject({ alg: 'RS256', kid: 'rsa-1' });
    expect(claims).toMatchObject({ iss: c.registration.clientId, sub: c.registration.clientId, aud: [legacy.issuer, legacy.tokenEndpoint] });
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    expect(typeof claims.jti).toBe('string');
  });
});
