/**
 * An MCP-style authorization server (Express) for enterprise-managed authorization: a demo MCP
 * endpoint protected by access tokens, its RFC 9728 protected-resource metadata, RFC 8414
 * authorization-server metadata built from the middleware's `metadata`, and a token endpoint that
 * accepts
 *
 *   - ID-JAGs (draft-ietf-oauth-identity-assertion-authz-grant) from a demo enterprise IdP whose
 *     key is generated at start, presented by a client authenticated with `client_secret_basic`
 *     (through `authenticatedClient`) or `private_key_jwt` (through `clientAssertion()`), with or
 *     without DPoP (RFC 9449);
 *   - `client_credentials` for clients authenticated with `private_key_jwt`.
 *
 * Access tokens are opaque, audience-bound to the resource they were issued for, and DPoP-bound
 * (`token_type: DPoP`, `cnf.jkt`) when the request carried a DPoP proof. Development only: the
 * IdP lives in the same process so that `npm run demo` can show an exchange end to end.
 *
 * Run: `npm run build && node examples/dist/mcp-authorization-server.js` (port from PORT, default 3100).
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders, RequestListener } from 'node:http';
import express, { type RequestHandler } from 'express';
import * as expressJwtBearer from 'express-jwt-bearer';
import { createAssertion, ID_JAG_TYPE, mergeMetadata, OAuthError, type ClientRegistration, type GrantPrincipal } from 'express-jwt-bearer';
import Koa from 'koa';
import * as koaJwtBearer from 'koa-jwt-bearer';

/** A token the demo MCP endpoint accepts. */
export interface IssuedToken {
  subject: string;
  clientId: string;
  /** The resource the token is for (RFC 8707 audience). */
  resource: string;
  scope: string[];
  /** RFC 7638 thumbprint of the key the token is bound to, for DPoP tokens. */
  jkt?: string;
  expiresAt: number;
}

/** Options of {@link createMcpAuthorizationServer}. */
export interface McpAuthorizationServerOptions {
  /** The server's own base URL: its issuer identifier. */
  baseUrl: string;
  /** Clients registered for `client_secret_basic`: client_id → secret. */
  basicClients?: Record<string, string>;
  /** Clients registered for `private_key_jwt`. */
  keyClients?: ClientRegistration[];
  /** Which adapter serves it. Default `'express'` (the same server on Koa, for the interop tests). */
  framework?: 'express' | 'koa';
}

/** The demo enterprise IdP: its issuer, its key (generated at start), and how it mints ID-JAGs. */
export interface DemoIdp {
  issuer: string;
  publicKey: KeyObject;
  /** Mints an ID-JAG, as the IdP's RFC 8693 token exchange would return it. */
  mint(o: { subject: string; clientId: string; audience: string; resource: string; scope?: string; jkt?: string }): string;
}

export function createDemoIdp(issuer = 'https://idp.example.com'): DemoIdp {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    issuer,
    publicKey,
    mint: (o) =>
      createAssertion({
        issuer,
        subject: o.subject,
        audience: o.audience,
        key: privateKey,
        keyId: 'idp-1',
        type: ID_JAG_TYPE,
        expiresIn: 300,
        claims: {
          client_id: o.clientId,
          resource: o.resource,
          ...(o.scope !== undefined ? { scope: o.scope } : {}),
          ...(o.jkt !== undefined ? { cnf: { jkt: o.jkt } } : {}),
        },
      }),
  };
}

const SCOPES = ['tools.read', 'tools.call'];

/** Builds the app for `baseUrl`; `idp` is the trusted enterprise IdP. */
export function createMcpAuthorizationServer(options: McpAuthorizationServerOptions, idp: DemoIdp) {
  const issuer = options.baseUrl;
  const resource = `${issuer}/mcp`;
  const basicClients = options.basicClients ?? {};
  const tokens = new Map<string, IssuedToken>();

  // RFC 6749 §2.3.1 client_secret_basic: the app's own client authentication.
  // Express's `req` and Koa's `ctx` both carry the request headers.
  function basicClient(req: { headers: IncomingHttpHeaders }): string | undefined {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    const text = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) return undefined;
    const id = decodeURIComponent(text.slice(0, colon));
    const secret = decodeURIComponent(text.slice(colon + 1));
    return Object.hasOwn(basicClients, id) && basicClients[id] === secret ? id : undefined;
  }

  function issue(p: { subject: string; clientId: string; resource: string; scope: string[]; jkt?: string }) {
    const accessToken = randomBytes(24).toString('base64url');
    tokens.set(accessToken, { ...p, expiresAt: Date.now() + 300_000 });
    return {
      access_token: accessToken,
      token_type: p.jkt ? 'DPoP' : 'Bearer',
      expires_in: 300,
      ...(p.scope.length > 0 ? { scope: p.scope.join(' ') } : {}),
    };
  }

  const clientOptions = { issuer, clients: options.keyClients ?? (() => undefined), required: false };
  const grantOptions = {
    issuer,
    issuers: [{ issuer: idp.issuer, publicKey: idp.publicKey, profiles: ['id-jag' as const], scopes: SCOPES }],
    resources: [resource],
    requireResource: true,
    authenticatedClient: basicClient,
    dpop: { tokenEndpoint: `${issuer}/token` },
    issueToken: (p: GrantPrincipal) =>
      issue({ subject: p.subject, clientId: p.clientId!, resource: p.resource[0] ?? resource, scope: p.scope, ...(p.dpop ? { jkt: p.dpop.jkt } : {}) }),
  };
  const clients = expressJwtBearer.clientAssertion(clientOptions);
  const grant = expressJwtBearer.jwtBearerGrant(grantOptions);

  // client_credentials (RFC 6749 §4.4) for clients that authenticated with private_key_jwt.
  function clientCredentials(body: Record<string, unknown>, clientId: string | undefined) {
    if (clientId === undefined) throw new OAuthError('ERR_CLIENT_AUTH_REQUIRED', { use: 'client' });
    const requested = typeof body.scope === 'string' && body.scope !== '' ? body.scope.split(' ') : SCOPES;
    return issue({ subject: clientId, clientId, resource, scope: requested.filter((s: string) => SCOPES.includes(s)) });
  }

  const protectedResource = {
    resource,
    authorization_servers: [issuer],
    scopes_supported: SCOPES,
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: grant.metadata.dpop_signing_alg_values_supported,
  };

  // Development only: the demo IdP's token exchange, reduced to its answer (an ID-JAG for the
  // asked subject, client, resource, scope and key), so a client in another process can get one.
  function demoIdJag(body: Record<string, unknown>): { id_jag: string } {
    const text = (name: string) => (typeof body[name] === 'string' && body[name] !== '' ? (body[name] as string) : undefined);
    return {
      id_jag: idp.mint({
        subject: text('subject') ?? 'alice@example.com',
        clientId: text('client_id') ?? 'mcp-agent',
        audience: text('audience') ?? issuer,
        resource: text('resource') ?? resource,
        ...(text('scope') !== undefined ? { scope: text('scope') } : {}),
        ...(text('jkt') !== undefined ? { jkt: text('jkt') } : {}),
      }),
    };
  }

  // The demo MCP endpoint: a token for this resource, presented with the scheme it was issued for.
  function mcp(authorization: string | undefined): { status: number; headers: Record<string, string>; body: unknown } {
    const [scheme, value] = (authorization ?? '').split(' ');
    const token = value ? tokens.get(value) : undefined;
    if (!token || token.expiresAt < Date.now() || token.resource !== resource || scheme !== (token.jkt ? 'DPoP' : 'Bearer')) {
      return {
        status: 401,
        headers: { 'WWW-Authenticate': `Bearer resource_metadata="${issuer}/.well-known/oauth-protected-resource/mcp"` },
        body: { error: 'invalid_token' },
      };
    }
    return { status: 200, headers: {}, body: { ok: true, subject: token.subject, client: token.clientId, scope: token.scope, bound: token.jkt !== undefined } };
  }

  const metadata = mergeMetadata(
    // RFC 8414 §2 makes authorization_endpoint and response_types_supported REQUIRED for a server
    // with an authorization endpoint, and MCP clients insist on both: this one refuses every
    // response type, and says so with an empty list.
    {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      response_types_supported: [],
      token_endpoint: `${issuer}/token`,
      grant_types_supported: ['client_credentials'],
      scopes_supported: SCOPES,
    },
    grant.metadata,
    clients.metadata,
    { token_endpoint_auth_methods_supported: ['client_secret_basic'] },
  );

  let app: RequestListener;
  if (options.framework === 'koa') {
    const kclients = koaJwtBearer.clientAssertion(clientOptions);
    const kgrant = koaJwtBearer.jwtBearerGrant(grantOptions);
    const koa = new Koa<Koa.DefaultState & koaJwtBearer.JwtBearerState>();
    koa.silent = true;
    koa.use(async (ctx, next) => {
      if (ctx.method === 'GET' && ctx.path === '/.well-known/oauth-authorization-server') ctx.body = metadata;
      else if (ctx.method === 'GET' && ctx.path === '/.well-known/oauth-protected-resource/mcp') ctx.body = protectedResource;
      else if (ctx.method === 'GET' && ctx.path === '/authorize') {
        ctx.status = 400;
        ctx.body = { error: 'unsupported_response_type' };
      } else if (ctx.method === 'POST' && ctx.path === '/demo/idp/id-jag') {
        ctx.body = demoIdJag(Object.fromEntries(new URLSearchParams(await readText(ctx.req))));
      } else if (ctx.method === 'POST' && ctx.path === '/mcp') {
        const answer = mcp(ctx.headers.authorization);
        ctx.status = answer.status;
        ctx.set(answer.headers);
        ctx.body = answer.body;
      } else if (ctx.method === 'POST' && ctx.path === '/token') {
        await kclients(ctx, () =>
          kgrant(ctx, async () => {
            const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
            ctx.set('Cache-Control', 'no-store');
            if (body.grant_type !== 'client_credentials') {
              ctx.status = 400;
              ctx.body = { error: 'unsupported_grant_type' };
              return;
            }
            try {
              ctx.body = clientCredentials(body, ctx.state.jwtBearer?.client?.clientId);
            } catch (err) {
              const error = err as OAuthError;
              ctx.status = error.status;
              ctx.set(error.headers);
              ctx.body = error.toJSON();
            }
          }),
        );
      } else await next();
    });
    // Koa's callback() returns a promise that never rejects: Koa answers every error itself.
    const callback = koa.callback();
    app = (req, res) => void callback(req, res);
  } else {
    const e = express();
    e.use(express.urlencoded({ extended: false }));
    e.get('/.well-known/oauth-authorization-server', (_req, res) => {
      res.json(metadata);
    });
    // RFC 9728 §3: the metadata of the protected resource at path /mcp.
    e.get('/.well-known/oauth-protected-resource/mcp', (_req, res) => {
      res.json(protectedResource);
    });
    const credentials: RequestHandler = (req, res, next) => {
      if (req.body?.grant_type !== 'client_credentials') return next();
      res.set('Cache-Control', 'no-store').json(clientCredentials(req.body, req.jwtBearer?.client?.clientId));
    };
    e.post('/token', clients, grant, credentials, (_req, res) => {
      res.status(400).set('Cache-Control', 'no-store').json({ error: 'unsupported_grant_type' });
    });
    e.get('/authorize', (_req, res) => {
      res.status(400).json({ error: 'unsupported_response_type' });
    });
    e.post('/demo/idp/id-jag', (req, res) => {
      res.json(demoIdJag(req.body ?? {}));
    });
    e.post('/mcp', (req, res) => {
      const answer = mcp(req.headers.authorization);
      res.status(answer.status).set(answer.headers).json(answer.body);
    });
    e.use(((err, _req, res, next) => {
      if (!(err instanceof OAuthError)) return next(err);
      res.status(err.status).set(err.headers).set('Cache-Control', 'no-store').json(err.toJSON());
    }) as express.ErrorRequestHandler);
    app = e;
  }

  return { app, metadata, tokens, resource, grant, clients };
}

function readText(req: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 16384) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/** Starts the example on 127.0.0.1:`port` (0 for any), its issuer being its own URL. */
export async function startMcpAuthorizationServer(
  port = 0,
  options: Omit<McpAuthorizationServerOptions, 'baseUrl'> = { basicClients: { 'mcp-agent': 'mcp-agent-secret' } },
) {
  const http = await import('node:http');
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idp = createDemoIdp();
  const example = createMcpAuthorizationServer({ ...options, baseUrl }, idp);
  server.on('request', example.app);
  return { ...example, idp, baseUrl, server, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

if (require.main === module) {
  startMcpAuthorizationServer(Number(process.env.PORT ?? 3100)).then(
    ({ baseUrl }) => console.log(`MCP authorization server on ${baseUrl} (metadata: ${baseUrl}/.well-known/oauth-authorization-server)`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
