/**
 * `npm run demo`, in process: the demo's main() against each example listening on 127.0.0.1:0,
 * exactly as a user runs it against `npm start` (it discovers the issuer, fetches the dev-only
 * demo keys, and makes its seven exchanges over HTTP).
 */
import { JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import { main, type DemoStep } from '../../examples/src/demo';
import { mint } from '../../examples/src/mint-assertion';
import { FRAMEWORKS, startExample, type Example } from './helpers';

describe.each(FRAMEWORKS)('npm run demo against the %s example', (framework) => {
  let example: Example;
  let steps: DemoStep[];
  const output: string[] = [];

  beforeAll(async () => {
    example = await startExample(framework);
    steps = await main({ asUrl: example.url, log: (line) => output.push(line) });
  });
  afterAll(() => example.close());

  test('every exchange gets the expected status', () => {
    expect(steps.map((s) => [s.status, (s.body as { error?: string }).error ?? null])).toEqual([
      [200, null], // client_credentials, private_key_jwt
      [200, null], // client_credentials, client_secret_jwt
      [200, null], // jwt-bearer grant
      [200, null], // grant + client authentication
      [200, null], // introspection
      [401, 'invalid_client'], // replayed client assertion
      [401, 'invalid_client'], // aud = token endpoint URL
    ]);
    expect(steps.map((s) => s.expectedStatus)).toEqual(steps.map((s) => s.status));
    expect(steps.every((s) => s.ok)).toBe(true);
    expect(output.at(-1)).toBe('All 7 exchanges went as expected.');
  });

  test('the tokens are what the demo asked for', () => {
    const [pkj, csj, grant, both, introspection] = steps.map((s) => s.body as Record<string, string>);
    expect(example.as.lookup(pkj!.access_token!)).toMatchObject({
      sub: 'demo-client',
      client_auth: { method: 'private_key_jwt', alg: 'ES256' },
      scope: ['read', 'write'],
    });
    expect(example.as.lookup(csj!.access_token!)).toMatchObject({ sub: 'demo-secret-client', client_auth: { method: 'client_secret_jwt', alg: 'HS256' } });
    expect(example.as.lookup(grant!.access_token!)).toMatchObject({ sub: 'alice@example.com', assertion_issuer: 'demo-issuer', scope: ['read'] });
    expect(example.as.lookup(both!.access_token!)).toMatchObject({ sub: 'bob@example.com', client_id: 'demo-client' });
    expect(introspection).toMatchObject({ active: true, sub: 'bob@example.com', client_id: 'demo-client' });
  });

  test('the refusals are the replay and the audience check, as the server logged them', () => {
    expect(example.logs).toHaveLength(2);
    expect(example.logs[0]).toContain('ERR_ASSERTION_REPLAYED');
    expect(example.logs[1]).toContain('ERR_AUDIENCE_INVALID');
  });

  test('it prints each request and response', () => {
    const text = output.join('\n');
    expect(text).toContain(`POST ${example.tokenEndpoint}`);
    expect(text).toContain(`POST ${example.as.introspectionEndpoint}`);
    expect(text).toContain('← 401 Unauthorized');
    expect(text).toContain(`"aud":"${example.tokenEndpoint}"`);
  });
});

describe('npm run demo when the example does not serve the demo keys', () => {
  test('fails with the reason instead of reporting success', async () => {
    const example = await startExample('express', { serveDemoKeys: false });
    try {
      await expect(main({ asUrl: example.url, log: () => {} })).rejects.toThrow(/demo\/keys answered 404/);
    } finally {
      await example.close();
    }
  });
});

/** The README's curl walkthrough: assertions from mint-assertion, posted as curl posts them. */
describe.each(FRAMEWORKS)('the curl walkthrough (mint-assertion) against the %s example', (framework) => {
  let example: Example;
  beforeAll(async () => {
    example = await startExample(framework);
  });
  afterAll(() => example.close());

  const post = (path: string, form: Record<string, string>) =>
    fetch(`${example.url}${path}`, { method: 'POST', body: new URLSearchParams(form) }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));
  const clientAuth = async (who: string, ...extra: string[]) => ({
    client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
    client_assertion: await mint([who, ...extra], example.url),
  });

  test('client_credentials with each demo client, a grant, introspection, and the audience refusal', async () => {
    const first = await post('/token', { grant_type: 'client_credentials', scope: 'read write', ...(await clientAuth('demo-client')) });
    expect(first).toMatchObject({ status: 200, body: { token_type: 'Bearer', scope: 'read write' } });
    expect((await post('/token', { grant_type: 'client_credentials', ...(await clientAuth('demo-secret-client')) })).status).toBe(200);

    const grant = await post('/token', {
      grant_type: JWT_BEARER_GRANT_TYPE,
      scope: 'read',
      assertion: await mint(['demo-issuer', 'alice@example.com'], example.url),
    });
    expect(grant).toMatchObject({ status: 200, body: { scope: 'read' } });
    const introspection = await post('/introspect', { token: grant.body.access_token as string, ...(await clientAuth('demo-secret-client')) });
    expect(introspection).toMatchObject({ status: 200, body: { active: true, sub: 'alice@example.com' } });

    const injected = await post('/token', { grant_type: 'client_credentials', ...(await clientAuth('demo-client', '--aud', example.tokenEndpoint)) });
    expect(injected).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  test('bad arguments are refused with the usage line', async () => {
    await expect(mint([], example.url)).rejects.toThrow(/^usage:/);
    await expect(mint(['demo-issuer'], example.url)).rejects.toThrow(/^usage:/);
    await expect(mint(['demo-client', '--aud'], example.url)).rejects.toThrow(/^usage:/);
  });
});
