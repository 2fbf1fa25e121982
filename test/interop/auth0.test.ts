/**
 * Interop with Auth0's Node.js SDK (`auth0` 7), unmodified, against both example apps: its
 * ManagementClient authenticates with `clientAssertionSigningKey` (private_key_jwt) on the
 * client credentials grant before it calls the Management API.
 *
 * What it signs (dist/cjs/management/wrapper/token-provider.js, buildClientAssertion; checked
 * below): header `{ alg }` (RS256 unless `clientAssertionSigningAlg`), no kid; claims iss = sub =
 * client_id, **aud = `https://<domain>/`, trailing slash included**, iat, exp = iat + 180, a UUID
 * jti; the form also carries `client_id` and `audience` (the API it wants, ignored here). So the
 * server's `issuer` must be exactly `https://<domain>/` with the slash: RFC 3986 §6.2.1
 * comparison does no slash folding, and that one value passes the strict audience mode.
 *
 * Pointing it at 127.0.0.1: its URLs are `https://<domain>/oauth/token` and
 * `https://<domain>/api/v2/...`, with no option for a scheme or port. Its `fetch` option (the
 * SDK's own, for mTLS and proxies) is given a fetch that sends each request to 127.0.0.1 instead:
 * the token request to the example, the API request to a small resource server that accepts only
 * access tokens the example issued. Only the URL changes; method, headers and body are the SDK's.
 */
import { generateKeyPairSync } from 'node:crypto';
import { ManagementClient } from 'auth0';
import { decodeJwt, FRAMEWORKS, sharedDemoKeys, startExample, startResourceServer, type Example, type Framework, type ResourceServer } from './helpers';

// Real client libraries with RSA keys over HTTP: slower than Jest's default 5 s on a loaded machine.
jest.setTimeout(30_000);

const DOMAIN = 'interop-tenant.auth0.example';
const CLIENT_ID = 'auth0-m2m-client';
const API_AUDIENCE = `https://${DOMAIN}/api/v2/`;

const clientKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_KEY = clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A fetch that sends the SDK's requests for `https://<DOMAIN>` to 127.0.0.1, and records them. */
function localFetch(tokenEndpoint: string, apiBase: string, seen: { url: string; body?: string }[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.host !== DOMAIN) throw new Error(`unexpected request to ${url.href}`);
    seen.push({ url: url.href, ...(typeof init?.body === 'string' ? { body: init.body } : {}) });
    const target = url.pathname === '/oauth/token' ? tokenEndpoint : `${apiBase}${url.pathname}${url.search}`;
    return fetch(target, init);
  };
}

describe.each(FRAMEWORKS)('auth0 ManagementClient (clientAssertionSigningKey) against the %s example', (framework: Framework) => {
  let example: Example;
  let api: ResourceServer;

  /** The example with issuer `issuer` and the auth0 client registered by its public key. */
  const start = (issuer: string) =>
    startExample(
      framework,
      { keys: sharedDemoKeys(), clients: [{ clientId: CLIENT_ID, publicKey: clientKey.publicKey.export({ type: 'spki', format: 'pem' }).toString() }] },
      issuer,
    );

  beforeAll(async () => {
    example = await start(`https://${DOMAIN}/`);
    // The Management API stand-in: tenant settings for a token the example issued.
    api = await startResourceServer(
      () => example,
      (path, record) => (path === '/api/v2/tenants/settings' ? { friendly_name: `tenant of ${record.client_id}` } : undefined),
    );
  });
  afterAll(() => Promise.all([example.close(), api.close()]));

  test('with issuer "https://<domain>/" (trailing slash) the token is issued, and the API call carries it', async () => {
    const seen: { url: string; body?: string }[] = [];
    const management = new ManagementClient({
      domain: DOMAIN,
      clientId: CLIENT_ID,
      clientAssertionSigningKey: PRIVATE_KEY,
      audience: API_AUDIENCE,
      fetch: localFetch(`${example.url}/token`, api.url, seen),
    });
    const settings = await management.tenants.settings.get();
    expect(settings).toMatchObject({ friendly_name: `tenant of ${CLIENT_ID}` });

    expect(seen.map((s) => s.url)).toEqual([`https://${DOMAIN}/oauth/token`, `https://${DOMAIN}/api/v2/tenants/settings`]);
    const form = new URLSearchParams(seen[0]!.body);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('audience')).toBe(API_AUDIENCE); // not ours: ignored
    const { header, claims } = decodeJwt(form.get('client_assertion')!);
    expect(header).toEqual({ alg: 'RS256' });
    expect(claims).toMatchObject({ iss: CLIENT_ID, sub: CLIENT_ID, aud: `https://${DOMAIN}/` });
    expect((claims.exp as number) - (claims.iat as number)).toBe(180);
    expect(typeof claims.jti).toBe('string');
    expect(example.authenticated.at(-1)).toMatchObject({ clientId: CLIENT_ID, method: 'private_key_jwt' });
  });

  test('with issuer "https://<domain>" (no trailing slash) its aud is refused: 401 invalid_client', async () => {
    const bare = await start(`https://${DOMAIN}`);
    try {
      const management = new ManagementClient({
        domain: DOMAIN,
        clientId: CLIENT_ID,
        clientAssertionSigningKey: PRIVATE_KEY,
        audience: API_AUDIENCE,
        fetch: localFetch(`${bare.url}/token`, api.url, []),
      });
      await expect(management.tenants.settings.get()).rejects.toMatchObject({ statusCode: 401, body: { error: 'invalid_client' } });
      expect(bare.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(CLIENT_ID))).toBe(true);
    } finally {
      await bare.close();
    }
  });
});
