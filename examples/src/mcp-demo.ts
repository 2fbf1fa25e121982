/**
 * The ID-JAG part of `npm run demo`: starts the MCP example authorization server
 * (mcp-authorization-server.ts) on 127.0.0.1, then plays an MCP client of an enterprise:
 *
 *   1. discovers the authorization server from the MCP endpoint's RFC 9728 metadata;
 *   2. gets an ID-JAG for alice from the demo IdP and exchanges it with client_secret_basic;
 *   3. calls the MCP endpoint with the token;
 *   4. gets an ID-JAG bound to a DPoP key (cnf.jkt) and exchanges it with a DPoP proof;
 *   5. refused: the ID-JAG of step 2 again (single use).
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { jwkThumbprint, JWT_BEARER_GRANT_TYPE, type Jwk } from 'jwt-bearer-core';
import { startMcpAuthorizationServer } from './mcp-authorization-server';

/** One exchange of the demo. */
export interface McpDemoStep {
  name: string;
  status: number;
  body: unknown;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Runs the demo; returns its steps. `log` prints (default `console.log`). */
export async function main(log: (line: string) => void = console.log): Promise<McpDemoStep[]> {
  const example = await startMcpAuthorizationServer();
  const base = example.baseUrl;
  const steps: McpDemoStep[] = [];
  const basic = `Basic ${Buffer.from('mcp-agent:mcp-agent-secret').toString('base64')}`;
  const record = async (name: string, res: Response) => {
    const body = await res.json();
    steps.push({ name, status: res.status, body });
    log(`\n${name}\n  -> ${res.status} ${JSON.stringify(body)}`);
    return body as Record<string, unknown>;
  };
  try {
    const prm = await record('1. GET /.well-known/oauth-protected-resource/mcp (RFC 9728)', await fetch(`${base}/.well-known/oauth-protected-resource/mcp`));
    const asUrl = (prm.authorization_servers as string[])[0]!;
    const asm = await record(
      "   GET /.well-known/oauth-authorization-server (RFC 8414, from the middleware's metadata)",
      await fetch(`${asUrl}/.well-known/oauth-authorization-server`),
    );
    const tokenEndpoint = asm.token_endpoint as string;

    const jag = example.idp.mint({
      subject: 'alice@example.com',
      clientId: 'mcp-agent',
      audience: asUrl,
      resource: prm.resource as string,
      scope: 'tools.read',
    });
    const exchange = (assertion: string, headers: Record<string, string> = {}) =>
      fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: basic, ...headers },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }),
      });
    const token = await record('2. POST /token: the ID-JAG from the IdP, client_secret_basic', await exchange(jag));
    await record(
      '3. POST /mcp with the access token',
      await fetch(`${base}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token.access_token as string}` } }),
    );

    const dpop = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = dpop.publicKey.export({ format: 'jwk' }) as Jwk;
    const bound = example.idp.mint({
      subject: 'alice@example.com',
      clientId: 'mcp-agent',
      audience: asUrl,
      resource: prm.resource as string,
      scope: 'tools.call',
      jkt: jwkThumbprint(jwk),
    });
    const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64({ jti: randomUUID(), htm: 'POST', htu: tokenEndpoint, iat: Math.floor(Date.now() / 1000) })}`;
    const proof = `${input}.${sign('sha256', Buffer.from(input), { key: dpop.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    await record('4. POST /token: an ID-JAG bound to a DPoP key (cnf.jkt), with a DPoP proof (RFC 9449)', await exchange(bound, { dpop: proof }));
    await record('5. POST /token: the ID-JAG of step 2 again (refused: single use)', await exchange(jag));
  } finally {
    await example.close();
  }
  return steps;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
