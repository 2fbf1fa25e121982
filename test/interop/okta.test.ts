/**
 * Interop with Okta's management SDK (`@okta/okta-sdk-nodejs` 8), unmodified, against both
 * example apps: `authorizationMode: 'PrivateKey'` authenticates with private_key_jwt on the
 * client credentials grant, then calls the API with the token.
 *
 * What it signs (src/jwt.js, makeJwt; checked below): header `{ alg, typ: JWT, kid? }` (alg from
 * the key: RS256 for RSA, ES256 for EC; kid from the JWK or `keyId`); claims iss = sub =
 * client_id, **aud = `<orgUrl>/oauth2/v1/token`** (the token endpoint URL), iat, exp = iat + 300,
 * a jti. It also sends a `DPoP` proof header on that request, which a server without DPoP
 * ignores. So the client needs `audienceMode: 'legacy'` with `<orgUrl>/oauth2/v1/token` in
 * `audiences`; the strict default refuses it.
 *
 * Pointing it at 127.0.0.1: `orgUrl` may be plain http on 127.0.0.1 (it is the example's
 * issuer here), but the token path is fixed at `/oauth2/v1/token` and the API at `/api/v1/...`.
 * The SDK's own `requestExecutor` option (a RequestExecutor subclass) sends each request to the
 * example's token endpoint or to a small resource server instead; only the URL changes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Client, RequestExecutor } from '@okta/okta-sdk-nodejs';
import type { ClientRegistration, Jwk } from 'jwt-bearer-core';
import { FRAMEWORKS, sharedDemoKeys, startExample, startResourceServer, type Example, type Framework, type ResourceServer } from './helpers';

// Real client libraries with RSA keys over HTTP: slower than Jest's default 5 s on a loaded machine.
jest.setTimeout(30_000);

const OKTA_TOKEN_PATH = '/oauth2/v1/token';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/**
 * The two service apps: an RSA key given as a JWK with its kid, another as PEM (no kid). RSA
 * only: 8.1.0 signs the DPoP proof it adds to every token request with RS256 whatever the key
 * (src/dpop.js), so an EC key fails inside the SDK (tested at the end).
 */
interface OktaApp {
  kind: string;
  clientId: string;
  alg: string;
  /** What the SDK's `privateKey` option takes: a JWK or a PEM. */
  privateKey: Jwk | string;
  registration: ClientRegistration;
}

const APPS: OktaApp[] = [
  {
    kind: 'RSA JWK with kid',
    clientId: 'okta-service-rsa',
    alg: 'RS256',
    privateKey: { ...(rsa.privateKey.export({ format: 'jwk' }) as Jwk), kid: 'okta-rsa-1' },
    registration: { clientId: 'okta-service-rsa', jwks: { keys: [{ ...(rsa.publicKey.export({ format: 'jwk' }) as Jwk), kid: 'okta-rsa-1' }] } },
  },
  {
    kind: 'RSA PEM without kid',
    clientId: 'okta-service-pem',
    alg: 'RS256',
    privateKey: rsaPem.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    registration: { clientId: 'okta-service-pem', publicKey: rsaPem.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  },
];

/** A RequestExecutor that sends the SDK's requests for `orgUrl` to 127.0.0.1 targets, recording the form bodies. */
function localExecutor(orgUrl: string, tokenEndpoint: string, apiBase: string, sent: URLSearchParams[]): RequestExecutor {
  class LocalRequestExecutor extends RequestExecutor {
    override fetch(request: Parameters<RequestExecutor['fetch']>[0]): ReturnType<RequestExecutor['fetch']> {
      const url = new URL(request.url ?? '');
      if (url.origin !== new URL(orgUrl).origin) throw new Error(`unexpected request to ${url.href}`);
      if (typeof request.body === 'string') sent.push(new URLSearchParams(request.body));
      const target = url.pathname === OKTA_TOKEN_PATH ? tokenEndpoint : `${apiBase}${url.pathname}${url.search}`;
      return super.fetch({ ...request, url: target });
    }
  }
  return new LocalRequestExecutor();
}

describe.each(FRAMEWORKS)('@okta/okta-sdk-nodejs (PrivateKey) against the %s example', (framework: Framework) => {
  let legacy: Example;
  let strict: Example;
  let api: ResourceServer;
  /** The example whose tokens the API stand-in accepts: the one the client at hand talks to. */
  let current: Example;
  const registrations = APPS.map((a) => a.registration);

  beforeAll(async () => {
    [legacy, strict] = await Promise.all([
      startExample(framework, (issuer) => ({
        keys: sharedDemoKeys(),
        clients: registrations,
        audienceMode: 'legacy',
        audiences: [`${issuer}${OKTA_TOKEN_PATH}`],
      })),
      startExample(framework, { keys: sharedDemoKeys(), clients: registrations }),
    ]);
    // The API stand-in answers GET /api/v1/users/me for a token the current example issued.
    api = await startResourceServer(
      () => current,
      (path, record) =>
        path === '/api/v1/users/me' ? { id: '00u-interop', status: 'ACTIVE', profile: { login: `${record.client_id}@example.com` } } : undefined,
    );
  });
  afterAll(() => Promise.all([legacy.close(), strict.close(), api.close()]));

  function oktaClient(example: Example, app: OktaApp, sent: URLSearchParams[]): Client {
    current = example;
    return new Client({
      orgUrl: example.issuer,
      authorizationMode: 'PrivateKey',
      clientId: app.clientId,
      scopes: ['read'], // this server's scope names (Okta's would be okta.users.read)
      privateKey: app.privateKey,
      requestExecutor: localExecutor(example.issuer, example.tokenEndpoint, api.url, sent),
    });
  }

  describe.each(APPS.map((a) => [a.kind, a] as const))('%s', (_kind, app) => {
    test('legacy audience mode with <orgUrl>/oauth2/v1/token in audiences: the token is issued and the API call carries it', async () => {
      const sent: URLSearchParams[] = [];
      const user = await oktaClient(legacy, app, sent).userApi.getUser({ userId: 'me' });
      expect(user.profile?.login).toBe(`${app.clientId}@example.com`);

      expect(legacy.authenticated.at(-1)).toMatchObject({ clientId: app.clientId, method: 'private_key_jwt', header: { alg: app.alg } });
      const { header, claims } = legacy.authenticated.at(-1)!;
      expect(header.kid).toBe(app.clientId === 'okta-service-rsa' ? 'okta-rsa-1' : undefined);
      expect(claims).toMatchObject({ iss: app.clientId, sub: app.clientId, aud: `${legacy.issuer}${OKTA_TOKEN_PATH}` });
      expect((claims.exp as number) - (claims.iat as number)).toBe(300);
      expect(sent[0]?.get('scope')).toBe('read');
      expect(sent[0]?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      expect(legacy.logs.some((l) => l.includes('WARN_LEGACY_AUDIENCE') && l.includes(app.clientId))).toBe(true);
    });

    test('strict audience mode (the default): its token-endpoint aud is refused, 401 invalid_client', async () => {
      await expect(oktaClient(strict, app, []).userApi.getUser({ userId: 'me' })).rejects.toMatchObject({ status: 401 });
      // The log line points at the option that accepts it.
      expect(strict.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(app.clientId) && l.includes('audienceMode "legacy"'))).toBe(true);
    });
  });

  test('an EC key fails inside the SDK (its DPoP proof is always RS256): no request is sent', async () => {
    const sent: URLSearchParams[] = [];
    const app: OktaApp = { ...APPS[0]!, clientId: 'okta-service-ec', privateKey: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const before = legacy.authenticated.length;
    await expect(oktaClient(legacy, app, sent).userApi.getUser({ userId: 'me' })).rejects.toThrow('unsupported algorithm');
    expect(sent).toHaveLength(0);
    expect(legacy.authenticated).toHaveLength(before);
  });
});
