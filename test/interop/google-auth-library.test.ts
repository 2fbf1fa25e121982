/**
 * Interop with google-auth-library 10's service-account client (`new JWT({ email, key, scopes })`),
 * unmodified, against both example apps: the jwt-bearer grant as Google's own token endpoint sees
 * it.
 *
 * Its token URL is fixed (https://oauth2.googleapis.com/token, in build/src/gtoken/getToken.js),
 * so a gaxios request interceptor on the client's transporter sends that one request to the
 * example instead. The interceptor changes only where the request goes: the form body, and the
 * assertion in it, are the library's own bytes (checked below against what reached the server).
 *
 * What the library signs (build/src/gtoken/jwsSign.js): header { alg: RS256 } (no kid, no typ);
 * claims iss = the service account email, aud = 'https://oauth2.googleapis.com/token', scope =
 * the space-separated scopes, iat, exp = iat + 3600, sub only with `subject` (domain-wide
 * delegation), no jti. So the trusted issuer needs `requireSubject: false`, and the grant needs the
 * Google token URL in `audiences`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { JWT } from 'google-auth-library';
import { JWT_BEARER_GRANT_TYPE, type TrustedIssuer } from 'jwt-bearer-core';
import { decodeJwt, FRAMEWORKS, sharedDemoKeys, startExample, type Example } from './helpers';

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const EMAIL = 'interop-test@demo-project.iam.gserviceaccount.com';
const SCOPES = ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/devstorage.read_only'];

const serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** The service account's private key, as in a Google key file (PKCS#8 PEM). */
const PRIVATE_KEY = serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function trustedIssuer(overrides: Partial<TrustedIssuer> = {}): TrustedIssuer {
  return {
    issuer: EMAIL,
    publicKey: serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    algorithms: ['RS256'],
    requireSubject: false,
    scopes: SCOPES,
    ...overrides,
  };
}

/** What the interceptor saw: the library's form body, as it was about to be sent. */
interface Redirected {
  url: string;
  body: string;
}

/**
 * A service-account client whose token request goes to `tokenEndpoint`. Only the URL of the one
 * request to Google's token endpoint is changed; anything else would fail the test.
 */
function serviceAccountClient(tokenEndpoint: string, options: { subject?: string } = {}): { jwt: JWT; redirected: Redirected[] } {
  const jwt = new JWT({ email: EMAIL, key: PRIVATE_KEY, scopes: SCOPES, ...options });
  const redirected: Redirected[] = [];
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (config.url.href !== GOOGLE_TOKEN_URL) throw new Error(`unexpected request to ${config.url.href}`);
      redirected.push({ url: config.url.href, body: String(config.body) });
      config.url = new URL(tokenEndpoint);
      // gaxios 7 would otherwise load node-fetch (ESM) through a dynamic import(), which Jest's
      // CommonJS runtime cannot do; Node's own fetch carries the same request.
      config.fetchImplementation = fetch;
      return config;
    },
  });
  return { jwt, redirected };
}

describe.each(FRAMEWORKS)('google-auth-library JWT client against the %s example', (framework) => {
  let example: Example;
  let strictExample: Example;

  beforeAll(async () => {
    [example, strictExample] = await Promise.all([
      // Google's assertions name Google's token URL in aud: the operator lists it in audiences.
      // Without sub the token is for the service account itself, so a subjects list names it too.
      startExample(framework, { keys: sharedDemoKeys(), issuers: [trustedIssuer({ subjects: [EMAIL, 'alice@example.com'] })], audiences: [GOOGLE_TOKEN_URL] }),
      startExample(framework, { keys: sharedDemoKeys(), issuers: [trustedIssuer()] }),
    ]);
  });
  afterAll(() => Promise.all([example.close(), strictExample.close()]));

  test('authorize() gets the access token the example issued for the service account', async () => {
    const { jwt, redirected } = serviceAccountClient(example.tokenEndpoint);
    const credentials = await jwt.authorize();
    expect(typeof credentials.access_token).toBe('string');

    const record = example.as.lookup(credentials.access_token!);
    expect(record).toMatchObject({
      grant_type: JWT_BEARER_GRANT_TYPE,
      sub: EMAIL, // no sub claim: the subject is the issuer
      assertion_issuer: EMAIL,
      scope: SCOPES, // from the assertion's scope claim
    });
    expect(record?.client_id).toBeUndefined();

    // The cached token is what the client then puts on API calls.
    const { token } = await jwt.getAccessToken();
    expect(token).toBe(credentials.access_token);
    const headers = await jwt.getRequestHeaders();
    expect(headers.get('authorization')).toBe(`Bearer ${credentials.access_token}`);
    expect(redirected).toHaveLength(1);

    // The assertion is the library's own: Google's token URL as aud, scope as a claim, no sub, no jti.
    const form = new URLSearchParams(redirected[0]!.body);
    expect(form.get('grant_type')).toBe(JWT_BEARER_GRANT_TYPE);
    const { header, claims } = decodeJwt(form.get('assertion')!);
    expect(header).toEqual({ alg: 'RS256' });
    expect(claims).toMatchObject({ iss: EMAIL, aud: GOOGLE_TOKEN_URL, scope: SCOPES.join(' ') });
    expect(claims.sub).toBeUndefined();
    expect(claims.jti).toBeUndefined();
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });

  test('getAccessToken() with a subject (domain-wide delegation): the token is for the user', async () => {
    const { jwt } = serviceAccountClient(example.tokenEndpoint, { subject: 'alice@example.com' });
    const { token } = await jwt.getAccessToken();
    expect(example.as.lookup(token!)).toMatchObject({ sub: 'alice@example.com', assertion_issuer: EMAIL, scope: SCOPES });
  });

  test('a subject the issuer may not assert is refused: invalid_grant', async () => {
    const { jwt } = serviceAccountClient(example.tokenEndpoint, { subject: 'mallory@example.com' });
    await expect(jwt.authorize()).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/^invalid_grant:/) });
  });

  test("without Google's token URL in audiences, the grant is refused: invalid_grant", async () => {
    const { jwt, redirected } = serviceAccountClient(strictExample.tokenEndpoint);
    await expect(jwt.authorize()).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/^invalid_grant:/) });
    expect(redirected).toHaveLength(1); // refused once, not retried
    expect(strictExample.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(EMAIL))).toBe(true);
  });
});
