/**
 * koa-jwt-bearer: Koa middleware for RFC 7523 JWT assertions, the JWT bearer authorization grant
 * and `private_key_jwt` / `client_secret_jwt` client authentication.
 *
 * @packageDocumentation
 */
import type { Context, Middleware, Next, ParameterizedContext } from 'koa';
import {
  assertForm,
  createClientAuthenticator,
  createForMiddleware,
  createGrantVerifier,
  hasClientAssertion,
  isJwtBearerGrantRequest,
  isOAuthError,
  readRequestForm,
  splitClientOptions,
  splitGrantOptions,
  toErrorResponse,
  TOKEN_RESPONSE_HEADERS,
  issueTokenResponse,
  withMetadata,
  authenticatedClientOf,
  type WithMetadata,
  type ClientMiddlewareOptions,
  type GrantMiddlewareOptions,
  type JwtBearerResult,
  type RejectionEvent,
  type RequestForm,
} from 'jwt-bearer-core';

export {
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  MemoryReplayStore,
  OAuthError,
  mergeMetadata,
  ID_JAG_GRANT_PROFILE,
  ID_JAG_TYPE,
  jwkThumbprint,
  createAssertion,
  toErrorResponse,
} from 'jwt-bearer-core';
export type {
  AuthorizationServerMetadata,
  ClientPrincipal,
  ClientRegistration,
  DpopOptions,
  ErrorCode,
  GrantPrincipal,
  GrantProfile,
  JwtBearerResult,
  OffloadMode,
  RejectionEvent,
  ReplayStore,
  TokenResponse,
  TrustedIssuer,
  SuccessEvent,
  WarningEvent,
  JwtBearerTraceContext,
  WithMetadata,
} from 'jwt-bearer-core';
export {
  jwtBearerGrantType,
  type OidcProviderGrantOptions,
  type OidcProviderLike,
  type OidcProviderClient,
  type OidcProviderContext,
  type OidcProviderAccessToken,
} from './oidc-provider';

/**
 * The state this middleware adds: `ctx.state.jwtBearer`. A plain `new Koa()` has it typed already
 * (through Koa's `DefaultState`, below); an app typed with a state of its own adds it:
 * `new Koa<MyState & JwtBearerState>()`.
 */
export interface JwtBearerState {
  /** What jwt-bearer verified on this request: the grant and/or the authenticated client. */
  jwtBearer?: JwtBearerResult;
}

// Koa's default state is `any`, so with a plain `new Koa()` TypeScript would check nothing on
// `ctx.state.jwtBearer`. Declaring the one optional property on Koa's DefaultState types it for
// every app that uses this package, and claims no more than is true: the property is ours (a name
// no other package uses), and it is absent on requests the middleware did not verify. Every other
// property of the state stays `any`, as before. Express's `req.jwtBearer` is declared the same way.
declare module 'koa' {
  interface DefaultState {
    /** What jwt-bearer verified on this request: the grant and/or the authenticated client. */
    jwtBearer?: JwtBearerResult;
  }
}

/** The context the middleware works with. */
export type JwtBearerContext = ParameterizedContext<JwtBearerState>;

/** Options of {@link jwtBearerGrant}: the core's grant options, `issueToken`, `authenticatedClient`, `passErrors`, `bodyLimit`. */
export type JwtBearerGrantOptions = GrantMiddlewareOptions<JwtBearerContext>;

/** Options of {@link clientAssertion}: the core's client options, `required`, `passErrors`, `bodyLimit`. */
export type ClientAssertionOptions = ClientMiddlewareOptions;

// Koa 2 and 3 both keep a parser's result on ctx.request.body (koa-bodyparser, @koa/bodyparser,
// koa-body); Koa itself declares no such property.
interface WithBody {
  body?: unknown;
}

function respond(ctx: Context, err: unknown): void {
  const { status, headers, body } = toErrorResponse(err);
  ctx.status = status;
  ctx.set(headers);
  ctx.body = JSON.stringify(body);
  ctx.type = 'application/json; charset=utf-8';
}

async function form(ctx: Context, limit: number, use: 'grant' | 'client', onError: ((event: RejectionEvent) => void) | undefined): Promise<RequestForm> {
  const request = ctx.request as Context['request'] & WithBody;
  const result = await readRequestForm(ctx.req, request.body, limit, use, onError);
  // Later body parsers skip a request whose ctx.request.body is already set.
  if (result.parsedHere) request.body = result.body;
  return result;
}

function fail(ctx: Context, err: unknown, passErrors: boolean): void {
  if (passErrors) throw err;
  respond(ctx, err);
}

/**
 * Middleware for the token route: verifies `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 * requests (RFC 7523 §2.1) and sets `ctx.state.jwtBearer.grant`. Requests for any other grant
 * type pass through untouched. With `issueToken`, answers the token response itself.
 *
 * @example
 * router.post('/token', clientAssertion({ issuer, clients, required: false }), jwtBearerGrant({ issuer, issuers, issueToken }));
 */
export function jwtBearerGrant(options: JwtBearerGrantOptions): Middleware<JwtBearerState> & WithMetadata {
  const { core, extra } = splitGrantOptions(options);
  const verifier = createForMiddleware('jwtBearerGrant', () => createGrantVerifier(core));
  return withMetadata(async function jwtBearerGrantMiddleware(ctx: JwtBearerContext, next: Next): Promise<void> {
    try {
      const parsed = await form(ctx, extra.bodyLimit, 'grant', core.onError);
      if (isJwtBearerGrantRequest(parsed.body)) {
        assertForm(parsed, 'grant', core.onError);
        const clientId = await authenticatedClientOf(ctx.state.jwtBearer?.client?.clientId, extra.authenticatedClient, ctx);
        const grant = await verifier.verify({ body: parsed.body, headers: ctx.headers }, clientId === undefined ? undefined : { clientId });
        ctx.state.jwtBearer = { ...ctx.state.jwtBearer, grant };
        if (extra.issueToken) {
          const token = await issueTokenResponse(extra.issueToken, grant, ctx, core.onError);
          ctx.status = 200;
          ctx.set(TOKEN_RESPONSE_HEADERS);
          ctx.body = token;
          return;
        }
      }
    } catch (err) {
      return fail(ctx, err, extra.passErrors);
    }
    // Outside the try, whether the request was ours or not: errors of later handlers are the
    // app's, not answered as ours.
    await next();
  }, verifier.metadata);
}

/**
 * Middleware for any endpoint that authenticates clients (token, introspection, revocation, PAR):
 * verifies `client_assertion` (RFC 7523 §2.2) and sets `ctx.state.jwtBearer.client`. Without a
 * client assertion, answers 401 `invalid_client`, or with `required: false` passes through.
 *
 * @example
 * router.post('/introspect', clientAssertion({ issuer, clients }), introspect);
 */
export function clientAssertion(options: ClientAssertionOptions): Middleware<JwtBearerState> & WithMetadata {
  const { core, extra } = splitClientOptions(options);
  const authenticator = createForMiddleware('clientAssertion', () => createClientAuthenticator(core));
  return withMetadata(async function clientAssertionMiddleware(ctx: JwtBearerContext, next: Next): Promise<void> {
    try {
      const parsed = await form(ctx, extra.bodyLimit, 'client', core.onError);
      const present = hasClientAssertion(parsed.body);
      if (present || extra.required) {
        if (present) assertForm(parsed, 'client', core.onError);
        const client = await authenticator.authenticate({ body: parsed.body, headers: ctx.headers }, { required: true });
        ctx.state.jwtBearer = { ...ctx.state.jwtBearer, client };
      }
    } catch (err) {
      return fail(ctx, err, extra.passErrors);
    }
    // Outside the try: errors of later handlers are the app's, not answered as ours.
    await next();
  }, authenticator.metadata);
}

/**
 * Middleware for apps that use `passErrors: true`: mount it before the jwt-bearer middleware; it
 * answers an `OAuthError` thrown downstream as RFC 6749 §5.2 JSON with `Cache-Control: no-store`
 * and rethrows anything else.
 *
 * @example
 * app.use(jwtBearerErrorHandler());
 */
export function jwtBearerErrorHandler(): Middleware {
  return async function jwtBearerErrorMiddleware(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (!isOAuthError(err)) throw err;
      respond(ctx, err);
    }
  };
}
