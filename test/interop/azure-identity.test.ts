/**
 * Interop with @azure/identity 4's ClientCertificateCredential, unmodified, against both example
 * apps over real HTTP. It drives @azure/msal-node (see msal-node.test.ts for what MSAL signs):
 * one client assertion, aud = the token endpoint URL, cached and re-sent with the same `jti` for
 * 600 s. So the client needs the same configuration as MSAL: `audienceMode: 'legacy'` with the
 * token endpoint URL in `audiences`, and `allowReuse: true` with `maxLifetime: 600` on its
 * registration.
 *
 * Pointing it at 127.0.0.1: the credential takes `authorityHost` and a tenant, and MSAL then
 * fetches `<authorityHost>/<tenant>/v2.0/.well-known/openid-configuration`, over https only. A
 * small TLS server on 127.0.0.1 (a self-signed certificate the credential trusts through its
 * `tlsOptions.ca` pipeline option) serves that document; the token endpoint it names is the
 * example's plain-http one, which `allowInsecureConnection` lets the credential call.
 * `disableInstanceDiscovery` keeps MSAL from asking login.microsoftonline.com about the
 * authority. No network, no patch.
 *
 * The credential has no option to skip MSAL's access-token cache, so each request asks for a
 * scope set no earlier token covers ("read", "write", "read write"): each one reaches the token
 * endpoint, with the one cached assertion.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ClientCertificateCredential, type ClientCertificateCredentialOptions } from '@azure/identity';
import {
  advancedClock,
  certificateRegistration,
  decodeJwt,
  FRAMEWORKS,
  selfSignedCertificate,
  startWithRegistrations,
  type Framework,
  type TestCertificate,
} from './helpers';

// Real client libraries with RSA keys over HTTP: slower than Jest's default 5 s on a loaded machine.
jest.setTimeout(30_000);

/** A pipeline policy of the credential's HTTP client (its `additionalPolicies` option). */
type PipelinePolicy = NonNullable<ClientCertificateCredentialOptions['additionalPolicies']>[number]['policy'];

const TENANT = 'interop-tenant';
const clientCertificate: TestCertificate = selfSignedCertificate('azure-identity interop client');
const tlsCertificate: TestCertificate = selfSignedCertificate('127.0.0.1', '127.0.0.1');

/**
 * The authority host: an https server on 127.0.0.1 that serves the tenant's OpenID configuration,
 * naming `tokenEndpoint`, and nothing else.
 */
async function startAuthorityHost(tokenEndpoint: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer({ key: tlsCertificate.privateKey, cert: tlsCertificate.certificate }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const base = `https://${req.headers.host}/${TENANT}`;
    if (req.method === 'GET' && req.url === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          issuer: `${base}/v2.0`,
          token_endpoint: tokenEndpoint,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
        }),
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Starts the example (legacy audience mode unless `strict`) with `clientId` registered by certificate, its authority host, and a clock. */
async function startForIdentity(framework: Framework, clientId: string, registration: { allowReuse?: boolean; maxLifetime?: number }, strict = false) {
  const clock = advancedClock();
  const example = await startWithRegistrations(framework, [certificateRegistration(clientId, clientCertificate, registration)], strict ? 'strict' : 'legacy', {
    now: clock.now,
  });
  const authority = await startAuthorityHost(example.tokenEndpoint);
  return { example, authority, clock, close: () => Promise.all([example.close(), authority.close()]) };
}

/** A ClientCertificateCredential for `clientId` at `authorityHost`, and the form bodies it posts (recorded by a pipeline policy). */
function credential(authorityHost: string, clientId: string): { credential: ClientCertificateCredential; sent: URLSearchParams[] } {
  const sent: URLSearchParams[] = [];
  const recorder: PipelinePolicy = {
    name: 'recordForm',
    sendRequest: (request, next) => {
      if (typeof request.body === 'string') sent.push(new URLSearchParams(request.body));
      return next(request);
    },
  };
  const cred = new ClientCertificateCredential(
    TENANT,
    clientId,
    { certificate: clientCertificate.certificate + clientCertificate.privateKey },
    {
      authorityHost,
      disableInstanceDiscovery: true,
      allowInsecureConnection: true,
      tlsOptions: { ca: tlsCertificate.certificate },
      sendCertificateChain: true,
      additionalPolicies: [{ policy: recorder, position: 'perCall' }],
    },
  );
  return { credential: cred, sent };
}

/**
 * The credential's error for a refused token request: an AuthenticationRequiredError whose cause
 * is MSAL's ServerError, carrying the OAuth error code.
 */
async function expectRefused(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err?.name).toBe('AuthenticationRequiredError');
  expect(err?.cause).toMatchObject({ name: 'ServerError', errorCode: 'invalid_client' });
}

describe.each(FRAMEWORKS)('@azure/identity ClientCertificateCredential against the %s example', (framework) => {
  test('three token requests with one cached assertion across the 300 s mark: accepted with allowReuse and maxLifetime 600', async () => {
    const clientId = 'identity-reuse';
    const { example, authority, clock, close } = await startForIdentity(framework, clientId, { allowReuse: true, maxLifetime: 600 });
    try {
      const { credential: cred, sent } = credential(authority.url, clientId);
      const first = await cred.getToken('read');
      clock.advance(120);
      const second = await cred.getToken('write');
      clock.advance(280); // 400 s after the assertion was signed, by the server's clock
      const third = await cred.getToken(['read', 'write']);

      const tokens = [first, second, third].map((t) => t.token);
      expect(new Set(tokens).size).toBe(3);
      expect(example.as.lookup(first.token)).toMatchObject({ client_id: clientId, scope: ['read'], client_auth: { method: 'private_key_jwt', alg: 'PS256' } });
      expect(example.as.lookup(second.token)).toMatchObject({ client_id: clientId, scope: ['write'] });
      expect(example.as.lookup(third.token)).toMatchObject({ client_id: clientId, scope: ['read', 'write'] });

      const assertions = sent.map((form) => form.get('client_assertion'));
      expect(assertions).toHaveLength(3);
      expect(new Set(assertions).size).toBe(1);
      const { header, claims } = decodeJwt(assertions[0]!);
      // sendCertificateChain: the certificate travels in x5c.
      expect(header).toMatchObject({
        alg: 'PS256',
        'x5t#S256': Buffer.from(clientCertificate.thumbprintSha256, 'hex').toString('base64url'),
        x5c: [clientCertificate.der],
      });
      expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: example.tokenEndpoint });
      // The authority host served discovery once; the token requests went to the example.
      expect(authority.requests).toEqual([`GET /${TENANT}/v2.0/.well-known/openid-configuration`]);
    } finally {
      await close();
    }
  });

  test('without allowReuse the second request is refused as a replay: 401 invalid_client', async () => {
    const clientId = 'identity-no-reuse';
    const { example, authority, clock, close } = await startForIdentity(framework, clientId, {});
    try {
      const { credential: cred, sent } = credential(authority.url, clientId);
      await cred.getToken('read');
      clock.advance(120);
      await expectRefused(cred.getToken('write'));
      clock.advance(280);
      await expectRefused(cred.getToken(['read', 'write']));
      expect(new Set(sent.map((form) => form.get('client_assertion'))).size).toBe(1);
      expect(example.logs.some((l) => l.includes('ERR_ASSERTION_REPLAYED') && l.includes(clientId))).toBe(true);
    } finally {
      await close();
    }
  });

  test('in the strict audience mode (the default) its token-endpoint aud is refused: 401 invalid_client', async () => {
    const clientId = 'identity-strict';
    const { example, authority, close } = await startForIdentity(framework, clientId, { allowReuse: true, maxLifetime: 600 }, true);
    try {
      await expectRefused(credential(authority.url, clientId).credential.getToken('read'));
      expect(example.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(clientId))).toBe(true);
    } finally {
      await close();
    }
  });
});
