/**
 * Interop with rack-oauth2 1.21 (Ruby; Debian's ruby-rack-oauth2, with json-jwt and httpclient),
 * unmodified, run as a child process (rack_oauth2_client.rb) against both example apps over real
 * HTTP.
 *
 * What it sends (lib/rack/oauth2/client.rb; checked below from its own requests):
 * `access_token!(:jwt_bearer)` (or `client_auth_method: :jwt_bearer`) builds a client assertion
 * with iss = sub = the client identifier, **aud = the absolute token endpoint URL**, a `jti`
 * (32 hex digits), iat and exp = iat + 180 s, signed by json-jwt with `private_key || secret`:
 * RS256 for an RSA key, HS256 for a secret (client_secret_jwt), `typ: JWT`, and a `kid` only when
 * the key is given as a JSON::JWK. So a client needs `audienceMode: 'legacy'` with the token
 * endpoint URL in `audiences`, or the caller passes its own `client_assertion:`. The jwt-bearer
 * grant (`client.jwt_bearer = assertion`) posts an assertion the application signed itself.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { JWT_BEARER_GRANT_TYPE, type Jwk } from 'jwt-bearer-core';
import { DEMO_ISSUER } from '../../examples/src/authorization-server';
import { FRAMEWORKS, runClientScript, sharedDemoKeys, startExample, type Example } from './helpers';

/** Debian's interpreter, where ruby-rack-oauth2 is installed. */
const RUBY = '/usr/bin/ruby';
const SCRIPT = join(__dirname, 'rack_oauth2_client.rb');
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

// A Ruby start (ActiveSupport is slow to load) and a few RSA signatures per test: more than
// Jest's default 5 s on a loaded machine, and bounded anyway by the child's own 60 s timeout.
jest.setTimeout(90_000);

const clientKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const unregisteredKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const secret = randomBytes(32).toString('base64url');
const pem = (key: typeof clientKey.privateKey) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

interface Decoded {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

interface Step {
  step: string;
  access_token?: string;
  status?: number;
  error?: string;
  grant_type?: string;
  client_assertion_type?: string;
  sent: { client_assertion?: Decoded; assertion?: Decoded };
}

/** Runs the rack-oauth2 script against `example` (bounded: 60 s) and returns its steps by name. */
function runRackOAuth2(example: Example): Promise<Record<string, Step>> {
  return runClientScript<Step>(RUBY, SCRIPT, {
    token_endpoint: example.tokenEndpoint,
    issuer: example.issuer,
    client_id: 'rack-oauth2-rs256',
    private_key: pem(clientKey.privateKey),
    jwk_client_id: 'rack-oauth2-rs256-kid',
    kid: 'rsa-1',
    secret_client_id: 'rack-oauth2-hs256',
    secret,
    unregistered_key: pem(unregisteredKey.privateKey),
    grant_issuer: DEMO_ISSUER,
    grant_subject: 'alice@example.com',
    grant_key: pem(sharedDemoKeys().issuer.privateKey),
  });
}

describe.each(FRAMEWORKS)('rack-oauth2 (Ruby) against the %s example', (framework) => {
  const clients = [
    { clientId: 'rack-oauth2-rs256', publicKey: clientKey.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    { clientId: 'rack-oauth2-rs256-kid', jwks: { keys: [{ ...(clientKey.publicKey.export({ format: 'jwk' }) as Jwk), kid: 'rsa-1' }] } },
    { clientId: 'rack-oauth2-hs256', clientSecret: secret },
  ];

  test('legacy audience mode with the token endpoint URL in audiences: private_key_jwt, client_secret_jwt and the grant', async () => {
    const example = await startExample(framework, (issuer) => ({ keys: sharedDemoKeys(), clients, audienceMode: 'legacy', audiences: [`${issuer}/token`] }));
    try {
      const steps = await runRackOAuth2(example);

      const rs = steps.private_key_jwt!;
      expect(rs.error).toBeUndefined();
      expect(rs.grant_type).toBe('client_credentials');
      expect(rs.client_assertion_type).toBe(CLIENT_ASSERTION_TYPE);
      expect(example.as.lookup(rs.access_token!)).toMatchObject({
        grant_type: 'client_credentials',
        client_id: 'rack-oauth2-rs256',
        client_auth: { method: 'private_key_jwt', alg: 'RS256' },
        scope: ['read'],
      });
      const { header, claims } = rs.sent.client_assertion!;
      expect(header).toEqual({ typ: 'JWT', alg: 'RS256' });
      expect(claims).toMatchObject({ iss: 'rack-oauth2-rs256', sub: 'rack-oauth2-rs256', aud: example.tokenEndpoint });
      expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
      expect(claims.jti).toMatch(/^[0-9a-f]{32}$/);
      // iat is Time.now and exp 3.minutes.from_now, read one after the other: 180 s, or 181 across a second.
      expect((claims.exp as number) - (claims.iat as number)).toBeGreaterThanOrEqual(180);
      expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(181);

      const hs = steps.client_secret_jwt!;
      expect(example.as.lookup(hs.access_token!)).toMatchObject({ client_id: 'rack-oauth2-hs256', client_auth: { method: 'client_secret_jwt', alg: 'HS256' } });
      expect(hs.sent.client_assertion!.header).toEqual({ typ: 'JWT', alg: 'HS256' });
      expect(hs.sent.client_assertion!.claims).toMatchObject({ iss: 'rack-oauth2-hs256', sub: 'rack-oauth2-hs256', aud: example.tokenEndpoint });

      const kid = steps.private_key_jwt_jwk!;
      expect(example.as.lookup(kid.access_token!)).toMatchObject({
        client_id: 'rack-oauth2-rs256-kid',
        client_auth: { method: 'private_key_jwt', alg: 'RS256' },
      });
      expect(kid.sent.client_assertion!.header).toEqual({ typ: 'JWT', alg: 'RS256', kid: 'rsa-1' });

      const grant = steps.grant!;
      expect(grant.grant_type).toBe(JWT_BEARER_GRANT_TYPE);
      expect(example.as.lookup(grant.access_token!)).toMatchObject({
        grant_type: JWT_BEARER_GRANT_TYPE,
        sub: 'alice@example.com',
        assertion_issuer: DEMO_ISSUER,
        client_id: 'rack-oauth2-rs256',
        client_auth: { method: 'private_key_jwt', alg: 'RS256' },
        scope: ['read'],
      });
      expect(grant.sent.assertion!.claims).toMatchObject({ iss: DEMO_ISSUER, sub: 'alice@example.com', aud: example.issuer });
      expect(grant.sent.client_assertion!.claims).toMatchObject({ iss: 'rack-oauth2-rs256', aud: example.tokenEndpoint });

      // `client_assertion:` given by the caller is sent as it is.
      const own = steps.own_assertion!;
      expect(own.sent.client_assertion!.claims).toMatchObject({ aud: example.issuer });
      expect(example.as.lookup(own.access_token!)).toMatchObject({ client_id: 'rack-oauth2-rs256' });

      // The middleware verified what the gem sent, one request after the other.
      expect(example.authenticated.map((c) => c.clientId)).toEqual([
        'rack-oauth2-rs256',
        'rack-oauth2-hs256',
        'rack-oauth2-rs256-kid',
        'rack-oauth2-rs256',
        'rack-oauth2-rs256',
      ]);

      const refused = steps.unregistered_key!;
      expect(refused.access_token).toBeUndefined();
      expect(refused.status).toBe(401);
      expect(refused.error).toBe('invalid_client');
      expect(example.logs.some((l) => l.includes('ERR_SIGNATURE_INVALID') && l.includes('rack-oauth2-rs256'))).toBe(true);
    } finally {
      await example.close();
    }
  });

  test('strict audience mode (the default): its token endpoint aud is refused, a client_assertion with the issuer aud accepted', async () => {
    const example = await startExample(framework, { keys: sharedDemoKeys(), clients });
    try {
      const steps = await runRackOAuth2(example);
      for (const step of ['private_key_jwt', 'client_secret_jwt', 'private_key_jwt_jwk', 'grant', 'unregistered_key']) {
        expect({ step, error: steps[step]!.error }).toEqual({ step, error: 'invalid_client' });
      }
      expect(example.logs.filter((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes('audienceMode "legacy"'))).toHaveLength(4);
      expect(example.as.lookup(steps.own_assertion!.access_token!)).toMatchObject({ client_id: 'rack-oauth2-rs256' });
    } finally {
      await example.close();
    }
  });
});
