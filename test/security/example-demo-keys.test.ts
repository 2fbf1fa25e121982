/*
 * Issue 12 finding 10: the example server's dev-only GET /demo/keys must not be readable by a
 * web page through DNS rebinding. Such a page reaches 127.0.0.1 under its own name, so the
 * request's Host is that name: the route answers only to the server's own loopback names.
 */
import { request } from 'node:http';
import { createAssertion, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import { banner, DEMO_ISSUER } from '../../examples/src/authorization-server';
import { FRAMEWORKS, startExample, type Example } from '../interop/helpers';

/** GET /demo/keys on 127.0.0.1 with a chosen Host header. */
function getKeys(example: Example, host: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(example.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/demo/keys', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(FRAMEWORKS)('GET /demo/keys of the %s example', (framework) => {
  let example: Example;
  beforeAll(async () => {
    example = await startExample(framework);
  });
  afterAll(() => example.close());

  test('answers its own loopback names', async () => {
    const { port } = new URL(example.url);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const answer = await getKeys(example, host);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toHaveProperty('clients');
    }
  });

  test('refuses a rebinding page (Host: its own name), another port, and odd spellings', async () => {
    const { port } = new URL(example.url);
    for (const host of [
      `attacker.example:${port}`,
      'attacker.example',
      `127.0.0.1.nip.io:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
      `localhost.attacker.example:${port}`,
      `0x7f000001:${port}`,
    ]) {
      const answer = await getKeys(example, host);
      expect([host, answer.status]).toEqual([host, 404]);
      expect(answer.body).not.toContain('private_jwk');
    }
  });

  test('the start banner says the route exists for the demo only', () => {
    const text = banner(framework, example, example.as, { store: example.as.replayStore, description: 'memory', close: async () => undefined });
    expect(text).toMatch(/\/demo\/keys/);
    expect(text).toMatch(/exists for the demo only/);
    expect(text).toMatch(/DNS-rebinding pages are refused/);
  });
});

describe.each(FRAMEWORKS)('the %s example issues no more than the issuer signed (issue 12 finding 6)', (framework) => {
  let example: Example;
  beforeAll(async () => {
    example = await startExample(framework);
  });
  afterAll(() => example.close());

  test('an assertion signed with scope "read" and presented with scope=read write gets a token for read only', async () => {
    const { issuer } = example.as.keys;
    const assertion = createAssertion({
      issuer: DEMO_ISSUER,
      subject: 'alice@example.com',
      audience: example.as.issuer,
      key: issuer.privateKey,
      keyId: issuer.keyId,
      algorithm: issuer.algorithm,
      claims: { scope: 'read' },
    });
    const response = await fetch(example.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion, scope: 'read write' }).toString(),
    });
    const body = (await response.json()) as { access_token: string; scope: string };
    expect(response.status).toBe(200);
    expect(body.scope).toBe('read');
    expect(example.as.lookup(body.access_token)).toMatchObject({ scope: ['read'] });
  });
});
