/**
 * Client habits that authenticate a jwt-bearer grant request by other means than a client
 * assertion, on both example apps (the "Client compatibility" notes of the root README):
 *
 * - Box's JWT application auth posts `client_id` and `client_secret` in the body of the
 *   jwt-bearer grant (RFC 7523 §2.1) request;
 * - requests-oauthlib may add `Authorization: Basic` with the client's id and secret.
 *
 * The middleware authenticates client assertions only (RFC 7523 §2.2): such a request is verified
 * as a grant whose client is not authenticated, by design, and the secret is left to the app's
 * own handler. With a client assertion as well, it is two authentication methods in one request
 * (RFC 6749 §2.3), refused.
 */
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import { DEMO_SECRET_CLIENT_ID } from '../../examples/src/authorization-server';
import { FRAMEWORKS, grantAssertion, sharedDemoKeys, startExample, type Example } from './helpers';

describe.each(FRAMEWORKS)('grant requests with a client secret instead of a client assertion, %s example', (framework) => {
  let example: Example;
  beforeAll(async () => {
    example = await startExample(framework, { keys: sharedDemoKeys() });
  });
  afterAll(() => example.close());

  const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(example.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });

  test("Box's form (client_id and client_secret in the body): the grant is verified, the client is not authenticated", async () => {
    const response = await post({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: grantAssertion(example, 'box-user@example.com'),
      client_id: 'box-client',
      client_secret: 'box-secret',
    });
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    const record = example.as.lookup(access_token);
    expect(record).toMatchObject({ grant_type: JWT_BEARER_GRANT_TYPE, sub: 'box-user@example.com' });
    expect(record?.client_id).toBeUndefined();
  });

  test("requests-oauthlib's Basic header: the grant is verified, the client is not authenticated", async () => {
    const basic = Buffer.from('basic-client:basic-secret').toString('base64');
    const response = await post(
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantAssertion(example, 'basic-user@example.com') },
      { Authorization: `Basic ${basic}` },
    );
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect(example.as.lookup(access_token)?.client_id).toBeUndefined();
  });

  test('a client assertion together with client_secret is two methods in one request: 400 invalid_request', async () => {
    const clientAssertion = createAssertion({
      issuer: DEMO_SECRET_CLIENT_ID,
      subject: DEMO_SECRET_CLIENT_ID,
      audience: example.issuer,
      key: example.as.keys.clientSecret,
      algorithm: 'HS256',
    });
    const response = await post({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: grantAssertion(example, 'carol@example.com'),
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertion,
      client_secret: 'also-a-secret',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    expect(example.logs.some((l) => l.includes('ERR_MULTIPLE_CLIENT_AUTH'))).toBe(true);
  });
});
