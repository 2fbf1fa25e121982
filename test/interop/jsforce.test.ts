/**
 * Interop with jsforce 3 (the Salesforce API client), unmodified, against both example apps:
 * Salesforce's OAuth 2.0 JWT bearer flow, the authorization grant of RFC 7523 §2.1.
 *
 * jsforce does not sign the assertion: its documentation has the app sign it (with jsonwebtoken,
 * as below) and hand it to `OAuth2#requestToken` / `Connection#authorize` with the jwt-bearer
 * grant type. What Salesforce defines, and the test signs: header `{ alg: RS256 }` (no kid),
 * claims iss = the connected app's consumer key, sub = the user name, **aud = the login URL**
 * (`https://login.salesforce.com`, `https://test.salesforce.com` or the My Domain URL), exp
 * (at most 3 minutes ahead), no iat, no jti. So the trusted issuer is the consumer key with the
 * app's certificate and its user names as `subjects`, and the login URL must be the server's
 * `issuer` or one of its `audiences` (here it is the issuer: the login URL is the example's own).
 *
 * Pointing it at 127.0.0.1: configuration only (`loginUrl`, or `tokenServiceUrl` with
 * `authzServiceUrl` for a token path other than Salesforce's `/services/oauth2/token`).
 * `Connection#authorize` also expects Salesforce's `id` and `instance_url` in the token response,
 * which a generic server does not send, so the test uses `OAuth2#requestToken`, then a
 * Connection on the access token to call an API stand-in.
 *
 * Pinned at 3.10.16: later 3.x releases depend on undici 8, which needs Node 22.
 */
import jwt from 'jsonwebtoken';
import { Connection, OAuth2 } from 'jsforce';
import { JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import {
  selfSignedCertificate,
  FRAMEWORKS,
  sharedDemoKeys,
  startExample,
  startResourceServer,
  type Example,
  type Framework,
  type ResourceServer,
} from './helpers';

// Real client libraries with RSA keys over HTTP: slower than Jest's default 5 s on a loaded machine.
jest.setTimeout(30_000);

const CONSUMER_KEY = '3MVG9interop.consumer.key';
const USERNAME = 'integration@example.com';
/** A connected app holds a certificate; its private key signs the assertions. */
const certificate = selfSignedCertificate('jsforce interop connected app');

/** The assertion a jsforce app signs for the JWT bearer flow, as Salesforce's documentation defines it. */
function salesforceAssertion(loginUrl: string, subject = USERNAME): string {
  return jwt.sign({ iss: CONSUMER_KEY, sub: subject, aud: loginUrl, exp: Math.floor(Date.now() / 1000) + 180 }, certificate.privateKey, {
    algorithm: 'RS256',
    noTimestamp: true,
  });
}

describe.each(FRAMEWORKS)('jsforce JWT bearer flow against the %s example', (framework: Framework) => {
  let example: Example;
  let api: ResourceServer;

  beforeAll(async () => {
    example = await startExample(framework, {
      keys: sharedDemoKeys(),
      issuers: [{ issuer: CONSUMER_KEY, publicKey: certificate.certificate, algorithms: ['RS256'], subjects: [USERNAME], scopes: ['api'] }],
    });
    api = await startResourceServer(
      () => example,
      (path, record) => (path === '/services/data/v62.0/limits' ? { DailyApiRequests: { Max: 15000, Remaining: 14999 }, for: record.sub } : undefined),
    );
  });
  afterAll(() => Promise.all([example.close(), api.close()]));

  /** jsforce's OAuth2 client for the example: the login URL is its issuer, the token URL its token endpoint. */
  const oauth2 = () => new OAuth2({ loginUrl: example.issuer, authzServiceUrl: `${example.issuer}/authorize`, tokenServiceUrl: example.tokenEndpoint });

  test('requestToken with the jwt-bearer grant: the token is for the user, and a Connection uses it', async () => {
    const token = await oauth2().requestToken({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: salesforceAssertion(example.issuer) });
    expect(example.as.lookup(token.access_token)).toMatchObject({ grant_type: JWT_BEARER_GRANT_TYPE, sub: USERNAME, assertion_issuer: CONSUMER_KEY });

    const conn = new Connection({ instanceUrl: api.url, accessToken: token.access_token });
    const limits = await conn.request<{ for: string }>('/services/data/v62.0/limits');
    expect(limits.for).toBe(USERNAME);
  });

  test('a user the connected app is not allowed to act for is refused: invalid_grant', async () => {
    await expect(
      oauth2().requestToken({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: salesforceAssertion(example.issuer, 'mallory@example.com') }),
    ).rejects.toMatchObject({
      name: 'invalid_grant',
    });
    expect(example.logs.some((l) => l.includes('ERR_SUBJECT_NOT_ALLOWED') && l.includes(CONSUMER_KEY))).toBe(true);
  });

  test("Salesforce's own login URL as aud is refused here unless it is listed in audiences: invalid_grant", async () => {
    await expect(
      oauth2().requestToken({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: salesforceAssertion('https://login.salesforce.com') }),
    ).rejects.toMatchObject({ name: 'invalid_grant' });
    expect(example.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(CONSUMER_KEY))).toBe(true);
  });
});
