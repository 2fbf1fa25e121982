/**
 * The part of the example authorization server that does not depend on the web framework: the
 * demo keys and registrations, an in-memory token issuer, the handlers of the app's own
 * endpoints (client_credentials, introspection, metadata, JWK Set, the dev-only key endpoint),
 * the replay store choice (memory, or Redis when `REDIS_URL` is set), and `serve()`, which starts
 * an HTTP server on 127.0.0.1.
 *
 * express-server.ts and koa-server.ts wire the same model into each framework, with the
 * jwt-bearer middleware in front of it.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  clientAuthenticationRequired,
  MemoryReplayStore,
  OAuthError,
  SUPPORTED_ALGORITHMS,
  toErrorResponse,
  type AudienceMode,
  type ClientAuthenticatorOptions,
  type ClientPrincipal,
  type ClientRegistration,
  type GrantPrincipal,
  type GrantVerifierOptions,
  type Jwk,
  type JwkSet,
  type JwtBearerResult,
  type RejectionEvent,
  type ReplayStore,
  type TokenResponse,
  type TrustedIssuer,
  type WarningEvent,
} from 'jwt-bearer-core';

/** The address every example listens on: this machine only. */
export const HOST = '127.0.0.1';
/** `PORT` when set, else 3000. */
export const DEFAULT_PORT = 3000;

export const DEMO_CLIENT_ID = 'demo-client';
export const DEMO_SECRET_CLIENT_ID = 'demo-secret-client';
export const DEMO_ISSUER = 'demo-issuer';
/** What demo-issuer may put in a grant's scope. */
export const DEMO_ISSUER_SCOPES = ['read', 'write'];
/** What any client may ask for with client_credentials. */
export const CLIENT_SCOPES = ['read', 'write'];
/** The scope of a client_credentials token when the request names none. */
export const DEFAULT_CLIENT_SCOPE = ['read'];
/** Seconds an access token of this example lives. */
export const TOKEN_LIFETIME = 3600;

// ---------------------------------------------------------------------------------------------
// Demo keys and registrations
// ---------------------------------------------------------------------------------------------

/** A key pair generated at start, kept in memory only. */
export interface DemoKeyPair {
  /** Signing key (never written anywhere; served only by the dev-only `GET /demo/keys`). */
  privateKey: KeyObject;
  /** Its public half as a JWK, with `kid`, `alg` and `use`. */
  publicJwk: Jwk;
  /** The RFC 7638 thumbprint, used as `kid`. */
  keyId: string;
  /** The JWS algorithm the key is registered for. */
  algorithm: 'ES256' | 'RS256';
}

/** The secrets of the demo registrations. */
export interface DemoKeys {
  /** `demo-client`: `private_key_jwt` with an EC P-256 key (ES256). */
  client: DemoKeyPair;
  /** `demo-secret-client`: `client_secret_jwt` (HS256) with a 32-byte random secret, base64url. */
  clientSecret: string;
  /** `demo-issuer`: a trusted issuer of grant assertions with an RSA key (RS256). */
  issuer: DemoKeyPair;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK. */
export function jwkThumbprint(jwk: Jwk): string {
  const members: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] };
  const names = members[jwk.kty];
  if (!names) throw new TypeError(`jwkThumbprint: unsupported kty ${jwk.kty}`);
  const canonical = JSON.stringify(Object.fromEntries(names.map((name) => [name, jwk[name]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

function keyPair(privateKey: KeyObject, algorithm: DemoKeyPair['algorithm']): DemoKeyPair {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as Jwk;
  const keyId = jwkThumbprint(jwk);
  return { privateKey, keyId, algorithm, publicJwk: { ...jwk, kid: keyId, alg: algorithm, use: 'sig' } };
}

/** Generates the demo keys: an EC P-256 pair, an RSA-2048 pair and a client secret. */
export function generateDemoKeys(): DemoKeys {
  return {
    client: keyPair(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'),
    clientSecret: randomBytes(32).toString('base64url'),
    issuer: keyPair(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256'),
  };
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/** A framework-free HTTP answer, written by each framework's glue. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { status, headers: { ...headers }, body };
}

/** An RFC 6749 §5.2 error of the app's own handlers (the middleware answers its own). */
function oauthError(status: number, error: string, description: string): HttpResult {
  return json(status, { error, error_description: description }, NO_STORE);
}

function errorResult(err: unknown): HttpResult {
  const { status, headers, body } = toErrorResponse(err);
  return { status, headers, body };
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/** What the example remembers about an access token it issued (in memory only). */
export interface IssuedToken {
  access_token: string;
  /** `client_credentials` or the jwt-bearer grant URN. */
  grant_type: string;
  /** Who the token is for: the client (client_credentials) or the grant's subject. */
  sub: string;
  /** The authenticated client, if any. */
  client_id?: string;
  /** How the client authenticated, and with which JWS algorithm. */
  client_auth?: { method: ClientPrincipal['method']; alg: string };
  /** The grant assertion's issuer, for tokens issued on the jwt-bearer grant. */
  assertion_issuer?: string;
  scope: string[];
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

/** A line of log output; `false` turns logging off. */
export type Logger = ((line: string) => void) | false;

/** Options of {@link AuthorizationServer}. Every one has a default. */
export interface AuthorizationServerOptions {
  /** This server's issuer identifier (RFC 8414). Default `http://127.0.0.1:${PORT:-3000}`. */
  issuer?: string;
  /** The demo keys. Default: generated now. */
  keys?: DemoKeys;
  /** Clients registered besides demo-client and demo-secret-client. */
  clients?: ClientRegistration[];
  /** Issuers trusted besides demo-issuer. */
  issuers?: TrustedIssuer[];
  /**
   * Other values that identify this server in `aud` (both middlewares). Grant assertions may name
   * any of them; client assertions only in `audienceMode: 'legacy'`. Default `[]`.
   */
  audiences?: string[];
  /** `'strict'` (default): a client assertion's `aud` must be exactly the issuer. */
  audienceMode?: AudienceMode;
  /** Where used `jti`s are recorded. Default: a new `MemoryReplayStore` for this server. */
  replayStore?: ReplayStore;
  /** Whether `GET /demo/keys` serves the demo secrets to loopback callers. Default `true`. */
  serveDemoKeys?: boolean;
  /** Where rejections and legacy-audience warnings are logged. Default: nowhere. */
  log?: Logger;
}

/**
 * A small authorization server: it registers the demo clients and the demo issuer, issues opaque
 * access tokens (kept in memory) for the jwt-bearer grant and for client_credentials, and answers
 * introspection. The jwt-bearer middleware does all assertion checking; this class only decides
 * what a verified principal gets.
 */
export class AuthorizationServer {
  readonly issuer: string;
  /** `${issuer}/token`, `${issuer}/introspect`, `${issuer}/jwks`: the example serves its issuer's origin. */
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  readonly keys: DemoKeys;
  readonly clients: ClientRegistration[];
  readonly issuers: TrustedIssuer[];
  readonly audiences: string[];
  readonly audienceMode: AudienceMode;
  readonly replayStore: ReplayStore;
  readonly serveDemoKeys: boolean;
  private readonly log: (line: string) => void;
  private readonly tokens = new Map<string, IssuedToken>();
  private static readonly MAX_TOKENS = 10_000;

  constructor(options: AuthorizationServerOptions = {}) {
    this.issuer = options.issuer ?? `http://${HOST}:${portFromEnv()}`;
    const base = this.issuer.replace(/\/+$/, '');
    this.tokenEndpoint = `${base}/token`;
    this.introspectionEndpoint = `${base}/introspect`;
    this.jwksUri = `${base}/jwks`;
    this.keys = options.keys ?? generateDemoKeys();
    this.clients = [
      { clientId: DEMO_CLIENT_ID, jwks: { keys: [this.keys.client.publicJwk] }, algorithms: ['ES256'] },
      { clientId: DEMO_SECRET_CLIENT_ID, clientSecret: this.keys.clientSecret, algorithms: ['HS256'] },
      ...(options.clients ?? []),
    ];
    this.issuers = [
      { issuer: DEMO_ISSUER, jwks: { keys: [this.keys.issuer.publicJwk] }, algorithms: ['RS256'], scopes: DEMO_ISSUER_SCOPES },
      ...(options.issuers ?? []),
    ];
    this.audiences = [...(options.audiences ?? [])];
    this.audienceMode = options.audienceMode ?? 'strict';
    this.replayStore = options.replayStore ?? new MemoryReplayStore();
    this.serveDemoKeys = options.serveDemoKeys ?? true;
    const log = options.log ?? false;
    this.log = log === false ? () => {} : log;
  }

  /** Options for `clientAssertion()` (add `required`). */
  clientOptions(): ClientAuthenticatorOptions {
    return {
      issuer: this.issuer,
      audiences: this.audiences,
      audienceMode: this.audienceMode,
      clients: this.clients,
      replayStore: this.replayStore,
      onError: (event) => this.logRejection(event),
      onWarning: (event) => this.logWarning(event),
    };
  }

  /** Options for `jwtBearerGrant()` (add `issueToken`). */
  grantOptions(): GrantVerifierOptions {
    return {
      issuer: this.issuer,
      audiences: this.audiences,
      issuers: this.issuers,
      replayStore: this.replayStore,
      onError: (event) => this.logRejection(event),
    };
  }

  private logRejection(event: RejectionEvent): void {
    const who = event.clientId ?? event.issuer ?? '?';
    this.log(`[jwt-bearer] refused ${event.use} assertion of ${JSON.stringify(who)}: ${event.status} ${event.error} ${event.code} (${event.detail ?? ''})`);
  }

  private logWarning(event: WarningEvent): void {
    this.log(`[jwt-bearer] warning for ${JSON.stringify(event.clientId ?? event.issuer)}: ${event.code} (${event.detail})`);
  }

  /** `issueToken` of `jwtBearerGrant()`: the grant's subject gets a token with the requested scope. */
  issueForGrant(principal: GrantPrincipal, client?: ClientPrincipal): TokenResponse {
    return this.issue({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      sub: principal.subject,
      client,
      assertion_issuer: principal.issuer,
      scope: principal.scope,
    });
  }

  /**
   * `POST /token` after the jwt-bearer middleware: the app's own grant types. Only
   * client_credentials here, for a client the `clientAssertion()` middleware authenticated.
   */
  tokenRequest(body: Record<string, unknown> | undefined, principal: JwtBearerResult | undefined, headers: IncomingMessage['headers']): HttpResult {
    const params = body ?? {};
    const grantType = params.grant_type;
    if (typeof grantType !== 'string' || grantType === '') {
      return oauthError(400, 'invalid_request', 'The grant_type parameter is required.');
    }
    if (grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'The grant type is not supported.');
    }
    const client = principal?.client;
    if (!client) return errorResult(clientAuthenticationRequired({ body: params, headers }, this.issuer));
    const scope = params.scope;
    if (scope !== undefined && typeof scope !== 'string') return oauthError(400, 'invalid_request', 'The scope parameter must be given once.');
    const requested = scope ? scope.split(' ') : DEFAULT_CLIENT_SCOPE;
    if (!requested.every((s) => CLIENT_SCOPES.includes(s))) {
      return errorResult(new OAuthError('ERR_SCOPE_INVALID', { use: 'client', detail: `scope ${JSON.stringify(scope)}` }));
    }
    const token = this.issue({ grant_type: 'client_credentials', sub: client.clientId, client, scope: requested });
    return json(200, token, NO_STORE);
  }

  /** `POST /introspect` (RFC 7662) after `clientAssertion()`: any authenticated client may ask. */
  introspect(body: Record<string, unknown> | undefined, client: ClientPrincipal | undefined): HttpResult {
    if (!client) return errorResult(new OAuthError('ERR_CLIENT_AUTH_REQUIRED', { use: 'client' }));
    const token = body?.token;
    if (typeof token !== 'string' || token === '') return oauthError(400, 'invalid_request', 'The token parameter is required once.');
    const record = this.lookup(token);
    if (!record) return json(200, { active: false }, NO_STORE);
    return json(
      200,
      {
        active: true,
        scope: record.scope.join(' '),
        ...(record.client_id !== undefined ? { client_id: record.client_id } : {}),
        sub: record.sub,
        token_type: 'Bearer',
        exp: record.exp,
        iat: record.iat,
        iss: this.issuer,
        grant_type: record.grant_type,
        ...(record.client_auth ? { client_auth_method: record.client_auth.method, client_auth_alg: record.client_auth.alg } : {}),
        ...(record.assertion_issuer !== undefined ? { assertion_issuer: record.assertion_issuer } : {}),
      },
      NO_STORE,
    );
  }

  /** The live record of an access token this server issued, if any. */
  lookup(accessToken: string): IssuedToken | undefined {
    const record = this.tokens.get(accessToken);
    if (!record) return undefined;
    if (record.exp <= Math.floor(Date.now() / 1000)) {
      this.tokens.delete(accessToken);
      return undefined;
    }
    return record;
  }

  /** `GET /.well-known/oauth-authorization-server` (RFC 8414). */
  metadata(): HttpResult {
    const algs = SUPPORTED_ALGORITHMS.filter((a) => !a.startsWith('HS'));
    return json(200, {
      issuer: this.issuer,
      token_endpoint: this.tokenEndpoint,
      introspection_endpoint: this.introspectionEndpoint,
      jwks_uri: this.jwksUri,
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:jwt-bearer', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...algs, 'HS256', 'HS384', 'HS512'],
      introspection_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_jwt'],
      introspection_endpoint_auth_signing_alg_values_supported: [...algs, 'HS256', 'HS384', 'HS512'],
      scopes_supported: CLIENT_SCOPES,
    });
  }

  /** `GET /jwks`: the demo issuer's public JWK Set. */
  jwks(): HttpResult {
    const set: JwkSet = { keys: [this.keys.issuer.publicJwk] };
    return json(200, set, { 'Content-Type': 'application/jwk-set+json' });
  }

  /**
   * `GET /demo/keys`, DEVELOPMENT ONLY: the demo private keys and client secret, so that
   * `npm run demo` can sign assertions. Answered only to a loopback peer on a loopback socket,
   * and only when the request's `Host` is this server's own loopback name: a web page that
   * rebinds its own DNS name to 127.0.0.1 sends its name as `Host` and is refused.
   */
  demoKeys(socket: { localAddress?: string; remoteAddress?: string }, host: string | undefined): HttpResult {
    if (!this.serveDemoKeys || !isLoopback(socket.localAddress) || !isLoopback(socket.remoteAddress) || !this.isOwnLoopbackHost(host)) {
      return json(404, { error: 'not_found' });
    }
    const { client, clientSecret, issuer } = this.keys;
    const privateJwk = (pair: DemoKeyPair) => ({ ...(pair.privateKey.export({ format: 'jwk' }) as Jwk), kid: pair.keyId, alg: pair.algorithm });
    return json(
      200,
      {
        warning: 'DEVELOPMENT ONLY: these are the private keys of the demo registrations. Never expose this endpoint.',
        issuer: this.issuer,
        token_endpoint: this.tokenEndpoint,
        introspection_endpoint: this.introspectionEndpoint,
        clients: {
          [DEMO_CLIENT_ID]: { token_endpoint_auth_method: 'private_key_jwt', alg: client.algorithm, kid: client.keyId, private_jwk: privateJwk(client) },
          [DEMO_SECRET_CLIENT_ID]: { token_endpoint_auth_method: 'client_secret_jwt', alg: 'HS256', client_secret: clientSecret },
        },
        issuers: {
          [DEMO_ISSUER]: { alg: issuer.algorithm, kid: issuer.keyId, scopes: DEMO_ISSUER_SCOPES, private_jwk: privateJwk(issuer) },
        },
      },
      NO_STORE,
    );
  }

  /**
   * Whether a `Host` header names this server by a loopback name: its issuer's host, or
   * `localhost`, `127.0.0.1` or `[::1]` with the issuer's port (DNS rebinding defence).
   */
  private isOwnLoopbackHost(host: string | undefined): boolean {
    if (typeof host !== 'string' || host.length === 0 || host.length > 270) return false;
    let asked: URL;
    try {
      asked = new URL(`http://${host}`);
    } catch {
      return false;
    }
    // Only names written as they are (no numeric or trailing-dot spellings URL would normalise).
    if (asked.host !== host.toLowerCase()) return false;
    const own = new URL(this.issuer);
    return asked.host === own.host || (asked.port === own.port && ['localhost', '127.0.0.1', '[::1]'].includes(asked.hostname));
  }

  /** Anything else. */
  notFound(): HttpResult {
    return json(404, { error: 'not_found' });
  }

  private issue(input: { grant_type: string; sub: string; client?: ClientPrincipal | undefined; assertion_issuer?: string; scope: string[] }): TokenResponse {
    const now = Math.floor(Date.now() / 1000);
    const record: IssuedToken = {
      access_token: randomBytes(32).toString('base64url'),
      grant_type: input.grant_type,
      sub: input.sub,
      ...(input.client ? { client_id: input.client.clientId, client_auth: { method: input.client.method, alg: input.client.header.alg } } : {}),
      ...(input.assertion_issuer !== undefined ? { assertion_issuer: input.assertion_issuer } : {}),
      scope: input.scope,
      iat: now,
      exp: now + TOKEN_LIFETIME,
    };
    this.remember(record);
    return { access_token: record.access_token, token_type: 'Bearer', expires_in: TOKEN_LIFETIME, scope: record.scope.join(' ') };
  }

  /** Keeps at most MAX_TOKENS records: expired ones go first, then the oldest. */
  private remember(record: IssuedToken): void {
    if (this.tokens.size >= AuthorizationServer.MAX_TOKENS) {
      const now = Math.floor(Date.now() / 1000);
      for (const [key, value] of this.tokens) if (value.exp <= now) this.tokens.delete(key);
      while (this.tokens.size >= AuthorizationServer.MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    }
    this.tokens.set(record.access_token, record);
  }
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** `PORT` from the environment (a whole number 0–65535), else 3000. */
export function portFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PORT;
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`PORT must be a port number, not ${JSON.stringify(raw)}`);
  return port;
}

// ---------------------------------------------------------------------------------------------
// Replay store: memory, or Redis when REDIS_URL is set
// ---------------------------------------------------------------------------------------------

/** The replay store the example runs with, and how to release it. */
export interface ReplayStoreChoice {
  store: ReplayStore;
  /** For the start-up banner. */
  description: string;
  close(): Promise<void>;
}

/** A URL with its password replaced, for printing. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/**
 * A `MemoryReplayStore` by default; with `REDIS_URL`, a `RedisReplayStore` on an ioredis client,
 * so that several processes of the server share one record of used `jti`s. ioredis is loaded only
 * then, so the default path needs neither Redis nor the ioredis package.
 */
export async function replayStoreFromEnv(env: NodeJS.ProcessEnv = process.env, log: Logger = false): Promise<ReplayStoreChoice> {
  const url = env.REDIS_URL;
  if (!url) {
    return { store: new MemoryReplayStore(), description: 'memory (this process only; set REDIS_URL to share it through Redis)', close: async () => {} };
  }
  const [{ default: Redis }, { RedisReplayStore }] = await Promise.all([import('ioredis'), import('jwt-bearer-redis')]);
  const client = new Redis(url);
  let lastError = '';
  // ioredis reports connection trouble as 'error' events and keeps reconnecting; each claim
  // made meanwhile fails after RedisReplayStore's timeout with 503 temporarily_unavailable.
  client.on('error', (err: Error) => {
    if (err.message !== lastError && log) log(`[redis] ${err.message}`);
    lastError = err.message;
  });
  client.on('ready', () => {
    lastError = '';
  });
  return {
    store: new RedisReplayStore({ client }),
    description: `Redis at ${redactUrl(url)}`,
    close: async () => {
      // QUIT politely when connected (bounded: a hung Redis must not hold the shutdown), then
      // drop the connection and stop reconnecting in any case.
      if (client.status === 'ready') {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([client.quit().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
        clearTimeout(timer);
      }
      client.disconnect();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/** A running example server. */
export interface RunningServer {
  server: Server;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The issuer identifier the app was built with. */
  issuer: string;
  /** Stops accepting connections, drops idle keep-alive ones, and releases what `build` returned. */
  close(): Promise<void>;
}

/** What {@link serve} needs from a framework: the request listener, once the issuer is known. */
export interface BuiltApp {
  /** An Express app, or Koa's `callback()` (its promise never rejects: Koa answers every error itself). */
  listener: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  close?: () => Promise<void>;
}

/**
 * Listens on 127.0.0.1 first (port 0 picks a free one), then builds the app with the issuer
 * identifier derived from the actual address (`http://127.0.0.1:<port>`, or `options.issuer`),
 * so that tests on random ports get a consistent issuer, metadata and token endpoint.
 * `options.serverOptions` goes to `http.createServer` (the Express example passes `serverOptions(app)`).
 */
export async function serve(
  build: (issuer: string) => BuiltApp | Promise<BuiltApp>,
  options: { port?: number; issuer?: string; serverOptions?: ServerOptions } = {},
): Promise<RunningServer> {
  // eslint-disable-next-line prefer-const -- assigned once the app is built, after listening; requests read it before
  let listener: BuiltApp['listener'] | undefined;
  const server = createServer(options.serverOptions ?? {}, (req: IncomingMessage, res: ServerResponse) => {
    if (listener) void listener(req, res);
    else {
      res.statusCode = 503;
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? portFromEnv(), HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${HOST}:${port}`;
  const issuer = options.issuer ?? url;
  let built: BuiltApp;
  try {
    built = await build(issuer);
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  listener = built.listener;
  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    issuer,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Requests still in flight get a moment to finish; then their connections are cut.
        const timer = setTimeout(() => server.closeAllConnections(), 1000);
        await closed;
        clearTimeout(timer);
        await built.close?.();
      })();
      return closing;
    },
  };
}

/** The start-up banner both examples print. */
export function banner(framework: string, running: RunningServer, as: AuthorizationServer, replay: ReplayStoreChoice): string {
  const defaultUrl = `http://${HOST}:${DEFAULT_PORT}`;
  const demo = running.url === defaultUrl ? 'npm run demo' : `AS_URL=${running.url} npm run demo`;
  const bar = '!'.repeat(100);
  return [
    `jwt-bearer example authorization server (${framework}) listening on ${running.url}`,
    '',
    `  issuer            ${as.issuer}`,
    `  token endpoint    POST ${as.tokenEndpoint}   (jwt-bearer grant, client_credentials)`,
    `  introspection     POST ${as.introspectionEndpoint}`,
    `  metadata          GET  ${running.url}/.well-known/oauth-authorization-server`,
    `  issuer JWK Set    GET  ${as.jwksUri}`,
    `  replay store      ${replay.description}`,
    '',
    `  registered        ${DEMO_CLIENT_ID} (private_key_jwt, ES256), ${DEMO_SECRET_CLIENT_ID} (client_secret_jwt, HS256)`,
    `  trusted issuer    ${DEMO_ISSUER} (RS256, scopes: ${DEMO_ISSUER_SCOPES.join(' ')})`,
    '',
    `Try it: in another shell, run   ${demo}`,
    '(it fetches the demo keys, signs assertions with createAssertion() and prints every exchange; see examples/README.md)',
    '',
    bar,
    `!!  WARNING: GET ${running.url}/demo/keys HANDS OUT THE DEMO PRIVATE KEYS AND CLIENT SECRET`,
    '!!  to any process on this machine (Host must be this loopback address: DNS-rebinding pages are refused).',
    '!!  The route exists for the demo only (`npm run demo`). DEVELOPMENT ONLY: never deploy this example.',
    bar,
  ].join('\n');
}

/**
 * Runs an example as a program: picks the replay store, listens on 127.0.0.1:${PORT:-3000}
 * (with `serverOptions` for `http.createServer`, if given), prints the banner, and shuts down
 * cleanly on SIGINT / SIGTERM.
 */
export async function runMain(framework: string, toListener: (as: AuthorizationServer) => RequestListener, serverOptions?: ServerOptions): Promise<void> {
  const log = (line: string) => console.log(line);
  const replay = await replayStoreFromEnv(process.env, log);
  let as: AuthorizationServer | undefined;
  let running: RunningServer;
  try {
    running = await serve(
      (issuer) => {
        as = new AuthorizationServer({ issuer, replayStore: replay.store, log });
        return { listener: toListener(as), close: () => replay.close() };
      },
      { serverOptions },
    );
  } catch (err) {
    await replay.close();
    throw err;
  }
  console.log(banner(framework, running, as!, replay));
  const stop = (signal: string) => {
    console.log(`\n${signal}: shutting down`);
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
