/**
 * Interop with Authlib 1.2 (Python; Debian's python3-authlib with python3-requests), unmodified,
 * run as a child process (authlib_client.py) against both example apps over real HTTP.
 *
 * What it sends (authlib/oauth2/rfc7523/assertion.py; checked below from its own requests):
 * client assertions with iss = sub = client_id, **aud = the token endpoint URL**, a jti, iat and
 * exp = iat + 3600; `claims` on PrivateKeyJWT / ClientSecretJWT overrides aud. So a client needs
 * `audienceMode: 'legacy'` with the token endpoint URL in `audiences`, or `claims={'aud': issuer}`.
 * But with `claims`, Authlib 1.2 stores the jti it generates in that dict (`_sign` adds it when
 * missing), so every later assertion of that auth method re-sends the first jti: the second
 * request is a replay (refused unless the client is registered with `allowReuse`).
 * AssertionSession signs grant assertions with the audience the caller gives.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import { DEMO_ISSUER } from '../../examples/src/authorization-server';
import { FRAMEWORKS, runClientScript, sharedDemoKeys, startExample, type Example } from './helpers';

/** Debian's interpreter, where python3-authlib is installed. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(__dirname, 'authlib_client.py');

// A Python start and a few RSA signatures per test: more than Jest's default 5 s on a loaded
// machine, and bounded anyway by the child's own 60 s timeout.
jest.setTimeout(90_000);

const clientKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const secret = randomBytes(32).toString('base64url');

interface Step {
  step: string;
  access_token?: string;
  error?: string;
  sent: { client_assertion?: Record<string, unknown>; assertion?: Record<string, unknown> };
}

/** Runs the Authlib script against `example` (bounded: 60 s) and returns its steps by name. */
function runAuthlib(example: Example): Promise<Record<string, Step>> {
  return runClientScript<Step>(PYTHON, SCRIPT, {
    token_endpoint: example.tokenEndpoint,
    issuer: example.issuer,
    client_id: 'authlib-rs256',
    private_key: clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    secret_client_id: 'authlib-hs256',
    secret,
    grant_issuer: DEMO_ISSUER,
    grant_subject: 'alice@example.com',
    grant_key: sharedDemoKeys().issuer.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
}

describe.each(FRAMEWORKS)('Authlib (Python) against the %s example', (framework) => {
  const clients = [
    { clientId: 'authlib-rs256', publicKey: clientKey.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    { clientId: 'authlib-hs256', clientSecret: secret },
  ];

  test('legacy audience mode with the token endpoint URL in audiences: private_key_jwt, client_secret_jwt and the grant', async () => {
    const example = await startExample(framework, (issuer) => ({ keys: sharedDemoKeys(), clients, audienceMode: 'legacy', audiences: [`${issuer}/token`] }));
    try {
      const steps = await runAuthlib(example);
      const rs = steps.private_key_jwt!;
      expect(rs.error).toBeUndefined();
      expect(example.as.lookup(rs.access_token!)).toMatchObject({ client_id: 'authlib-rs256', client_auth: { method: 'private_key_jwt', alg: 'RS256' } });
      expect(rs.sent.client_assertion).toMatchObject({ iss: 'authlib-rs256', sub: 'authlib-rs256', aud: example.tokenEndpoint });
      const claims = rs.sent.client_assertion!;
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      expect(typeof claims.jti).toBe('string');

      const hs = steps.client_secret_jwt!;
      expect(example.as.lookup(hs.access_token!)).toMatchObject({ client_id: 'authlib-hs256', client_auth: { method: 'client_secret_jwt', alg: 'HS256' } });

      const grant = steps.grant!;
      expect(example.as.lookup(grant.access_token!)).toMatchObject({
        grant_type: JWT_BEARER_GRANT_TYPE,
        sub: 'alice@example.com',
        assertion_issuer: DEMO_ISSUER,
        scope: ['read'],
      });
      expect(grant.sent.assertion).toMatchObject({ iss: DEMO_ISSUER, sub: 'alice@example.com', aud: example.issuer });

      // claims={'aud': issuer}: accepted once, then the stored jti comes back.
      expect(steps.issuer_aud_first!.sent.client_assertion).toMatchObject({ aud: example.issuer });
      expect(steps.issuer_aud_first!.access_token).toBeDefined();
      expect(steps.issuer_aud_second!.sent.client_assertion!.jti).toBe(steps.issuer_aud_first!.sent.client_assertion!.jti);
      expect(steps.issuer_aud_second!.error).toBe('invalid_client');
      expect(example.logs.some((l) => l.includes('ERR_ASSERTION_REPLAYED') && l.includes('authlib-rs256'))).toBe(true);
    } finally {
      await example.close();
    }
  });

  test('strict audience mode (the default): its token endpoint aud is refused, the issuer aud accepted', async () => {
    const example = await startExample(framework, { keys: sharedDemoKeys(), clients });
    try {
      const steps = await runAuthlib(example);
      expect(steps.private_key_jwt!.error).toBe('invalid_client');
      expect(steps.client_secret_jwt!.error).toBe('invalid_client');
      expect(example.logs.filter((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes('audienceMode "legacy"'))).toHaveLength(2);
      expect(example.as.lookup(steps.issuer_aud_first!.access_token!)).toMatchObject({ client_id: 'authlib-rs256' });
      expect(steps.grant!.access_token).toBeDefined();
    } finally {
      await example.close();
    }
  });
});
