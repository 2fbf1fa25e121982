/**
 * Interop with the real MCP client, @modelcontextprotocol/client 2.4.0 (pinned): its
 * CrossAppAccessProvider, exchangeJwtAuthGrant, DpopSession and PrivateKeyJwtProvider against the
 * example MCP authorization server (examples/src/mcp-authorization-server.ts), served by
 * express-jwt-bearer and by koa-jwt-bearer, over HTTP on 127.0.0.1. The flows that sign with the
 * SDK's own keys (DPoP, private_key_jwt) run in a child Node.js process: the SDK loads jose with a
 * dynamic import(), which Jest's CommonJS sandbox cannot run on Node 20.
 */

interface SdkRun {
  result?: string;
  tokens?: { access_token: string; token_type: string; scope?: string };
  thumbprint?: string;
  error?: string;
}

/** Runs fixtures/mcp-sdk-client.mjs in `mode` against `base`. */
function runSdk(mode: string, base: string, env: Record<string, string> = {}): Promise<SdkRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(__dirname, 'fixtures', 'mcp-sdk-client.mjs'), mode, base],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (err: Error | null, stdout: string) => {
        if (err) return reject(err);
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as SdkRun);
      },
    );
  });
}
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { auth, CrossAppAccessProvider, exchangeJwtAuthGrant, type CrossAppAccessContext } from '@modelcontextprotocol/client';
import { ID_JAG_GRANT_PROFILE } from 'jwt-bearer-core';
import { startMcpAuthorizationServer } from '../../examples/src/mcp-authorization-server';

const AGENT = 'mcp-agent';
const AGENT_SECRET = 'mcp-agent-secret';
const SERVICE = 'mcp-service';
const serviceKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

jest.setTimeout(30_000);

type Example = Awaited<ReturnType<typeof startMcpAuthorizationServer>>;

describe.each(['express', 'koa'] as const)('@modelcontextprotocol/client 2.4.0 against the MCP example on %s', (framework) => {
  let example: Example;
  const minted: string[] = [];

  beforeAll(async () => {
    example = await startMcpAuthorizationServer(0, {
      framework,
      basicClients: { [AGENT]: AGENT_SECRET },
      keyClients: [{ clientId: SERVICE, publicKey: serviceKey.publicKey }],
    });
  });
  afterAll(() => example.close());

  /** What the enterprise IdP's token exchange would return to the agent, for the resource the client discovered. */
  const assertion = () => (ctx: CrossAppAccessContext) => {
    const jag = example.idp.mint({
      subject: 'alice@example.com',
      clientId: AGENT,
      audience: ctx.authorizationServerUrl,
      resource: ctx.resourceUrl,
      scope: 'tools.read tools.call',
    });
    minted.push(jag);
    return jag;
  };

  test('the example publishes RFC 9728 and RFC 8414 metadata built from the middleware', async () => {
    const prm = await (await fetch(`${example.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(prm).toMatchObject({ resource: `${example.baseUrl}/mcp`, authorization_servers: [example.baseUrl] });
    const asm = (await (await fetch(`${example.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(asm).toMatchObject({
      issuer: example.baseUrl,
      token_endpoint: `${example.baseUrl}/token`,
      authorization_grant_profiles_supported: [ID_JAG_GRANT_PROFILE],
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
    });
    expect(asm.grant_types_supported).toEqual(['client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer']);
    expect(asm.dpop_signing_alg_values_supported).toContain('ES256');
  });

  test('exchangeJwtAuthGrant: the plain ID-JAG exchange with client_secret_basic', async () => {
    const jag = example.idp.mint({ subject: 'alice@example.com', clientId: AGENT, audience: example.baseUrl, resource: example.resource, scope: 'tools.read' });
    const tokens = await exchangeJwtAuthGrant({ tokenEndpoint: `${example.baseUrl}/token`, jwtAuthGrant: jag, clientId: AGENT, clientSecret: AGENT_SECRET });
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'tools.read' });
    expect(example.tokens.get(tokens.access_token)).toMatchObject({ subject: 'alice@example.com', clientId: AGENT, resource: example.resource });
    // The same ID-JAG again: single use (the MCP extension requires replay detection).
    await expect(
      exchangeJwtAuthGrant({ tokenEndpoint: `${example.baseUrl}/token`, jwtAuthGrant: jag, clientId: AGENT, clientSecret: AGENT_SECRET }),
    ).rejects.toThrow();
  });

  test('exchangeJwtAuthGrant with a wrong client secret is refused (401 invalid_client)', async () => {
    const jag = example.idp.mint({ subject: 'alice@example.com', clientId: AGENT, audience: example.baseUrl, resource: example.resource });
    await expect(
      exchangeJwtAuthGrant({ tokenEndpoint: `${example.baseUrl}/token`, jwtAuthGrant: jag, clientId: AGENT, clientSecret: 'wrong' }),
    ).rejects.toThrow(/invalid_client|client authentication/i);
  });

  test('CrossAppAccessProvider: the full discovery path from the MCP endpoint, then a call with the token', async () => {
    const provider = new CrossAppAccessProvider({ assertion: assertion(), clientId: AGENT, clientSecret: AGENT_SECRET, expectedIssuer: example.baseUrl });
    const result = await auth(provider, { serverUrl: `${example.baseUrl}/mcp` });
    expect(result).toBe('AUTHORIZED');
    const tokens = provider.tokens()!;
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'tools.read tools.call' });
    const call = await fetch(`${example.baseUrl}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(call.status).toBe(200);
    expect(await call.json()).toMatchObject({ subject: 'alice@example.com', client: AGENT, bound: false });
  });

  test('CrossAppAccessProvider with DPoP: the ID-JAG bound by cnf.jkt gives a DPoP-bound token', async () => {
    const run = await runSdk('dpop', example.baseUrl);
    expect(run).toMatchObject({ result: 'AUTHORIZED', tokens: { token_type: 'DPoP', scope: 'tools.read tools.call' } });
    // Bound to the SDK's key: its RFC 7638 thumbprint is the one this library computed from the proof.
    expect(example.tokens.get(run.tokens!.access_token)).toMatchObject({ jkt: run.thumbprint, clientId: AGENT });
    // A bearer presentation of a DPoP-bound token is refused.
    const call = await fetch(`${example.baseUrl}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${run.tokens!.access_token}` } });
    expect(call.status).toBe(401);
  });

  test("an ID-JAG bound to another key than the client's DPoP key is refused", async () => {
    const before = example.tokens.size;
    const run = await runSdk('dpop-other-key', example.baseUrl);
    expect(run.result).toBeUndefined();
    expect(run.error).toMatch(/invalid_grant|proof-of-possession/i);
    expect(example.tokens.size).toBe(before);
  });

  test('PrivateKeyJwtProvider: client_credentials with private_key_jwt through clientAssertion()', async () => {
    const run = await runSdk('private-key-jwt', example.baseUrl, { SERVICE_JWK: JSON.stringify(serviceKey.privateKey.export({ format: 'jwk' })) });
    // The SDK's scope selection asks for what the protected-resource metadata lists.
    expect(run).toMatchObject({ result: 'AUTHORIZED', tokens: { token_type: 'Bearer', scope: 'tools.read tools.call' } });
    expect(example.tokens.get(run.tokens!.access_token)).toMatchObject({ subject: SERVICE, clientId: SERVICE, resource: example.resource });
  });
});
