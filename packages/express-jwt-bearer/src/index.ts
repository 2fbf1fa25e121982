/**
 * express-jwt-bearer: Express middleware for RFC 7523 JWT assertions, the JWT bearer
 * authorization grant and `private_key_jwt` / `client_secret_jwt` client authentication.
 *
 * @packageDocumentation
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import {
  assertForm,
  createClientAuthenticator,
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
  WarningEvent,
  WithMetadata,
} from 'jwt-bearer-core';
export { serverOptions, type ExpressPrototypes, type ExpressServerOptions } from './server-options';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** What jwt-bearer verified on this request: the grant and/or the authenticated client. */
      jwtBearer?: JwtBearerResult;
    }
  }
}

/** Options of {@link jwtBearerGrant}: the core's grant options, `issueToken`, `authenticatedClient`, `passErrors`, `bodyLimit`. */
export type JwtBearerGrantOptions = GrantMiddlewareOptions<Request>;

/** Options of {@link clientAssertion}: the core's client options, `required`, `passErrors`, `bodyLimit`. */
export type ClientAssertionOptions = ClientMiddlewareOptions;

function sendError(res: Response, err: unknown): void {
  const { status, headers, body } = toErrorResponse(err);
  res.status(status).set(headers).send(JSON.stringify(body));
}

/** Reads the form (a body parser's result, or the stream) and keeps it on `req.body` for later handlers. */
async function form(req: Request, limit: number, use: 'grant' | 'client', onError: ((event: RejectionEvent) => void) | undefined): Promise<RequestForm> {
  const result = await readRequestForm(req, req.body, limit, use, onError);
  if (result.parsedHere) {
    req.body = result.body;
    // body-parser skips requests it sees marked as already parsed.
    (req as { _body?: boolean })._body = true;
  }
  return result;
}

/**
 * Answers or hands on an error: the RFC 6749 §5.2 JSON answer by default, `next(err)` with
 * `passErrors`. Never leaves a promise rejection unhandled (Express 4 does not catch them).
 */
function fail(err: unknown, res: Response, next: NextFunction, passErrors: boolean): void {
  if (passErrors || res.headersSent) return next(err);
  try {
    sendError(res, err);
  } catch (sendErr) {
    // E.g. a header value Node refuses: hand it to Express rather than reject unhandled and hang.
    next(sendErr);
  }
}

/**
 * Middleware for the token route: verifies `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 * requests (RFC 7523 §2.1) and attaches `req.jwtBearer.grant`. Requests for any other grant type
 * pass through untouched. With `issueToken`, answers the token response itself.
 *
 * @example
 * app.post('/token', clientAssertion({ issuer, clients, required: false }), jwtBearerGrant({ issuer, issuers, issueToken }));
 */
export function jwtBearerGrant(options: JwtBearerGrantOptions): RequestHandler & WithMetadata {
  const { core, extra } = splitGrantOptions(options);
  const verifier = createGrantVerifier(core);
  return withMetadata(function jwtBearerGrantMiddleware(req: Request, res: Response, next: NextFunction): void {
    (async () => {
      const parsed = await form(req, extra.bodyLimit, 'grant', core.onError);
      const body = parsed.body;
      if (!isJwtBearerGrantRequest(body)) return next();
      assertForm(parsed, 'grant', core.onError);
      const clientId = await authenticatedClientOf(req.jwtBearer?.client?.clientId, extra.authenticatedClient, req);
      const grant = await verifier.verify({ body, headers: req.headers }, clientId === undefined ? undefined : { clientId });
      req.jwtBearer = { ...req.jwtBearer, grant };
      if (!extra.issueToken) return next();
      const token = await issueTokenResponse(extra.issueToken, grant, req);
      res.status(200).set(TOKEN_RESPONSE_HEADERS).json(token);
    })().catch((err: unknown) => fail(err, res, next, extra.passErrors));
  }, verifier.metadata);
}

/**
 * Middleware for any endpoint that authenticates clients (token, introspection, revocation, PAR):
 * verifies `client_assertion` (RFC 7523 §2.2) and attaches `req.jwtBearer.client`. Without a
 * client assertion, answers 401 `invalid_client`, or with `required: false` passes through.
 *
 * @example
 * app.post('/introspect', clientAssertion({ issuer, clients }), introspect);
 */
export function clientAssertion(options: ClientAssertionOptions): RequestHandler & WithMetadata {
  const { core, extra } = splitClientOptions(options);
  const authenticator = createClientAuthenticator(core);
  return withMetadata(function clientAssertionMiddleware(req: Request, res: Response, next: NextFunction): void {
    (async () => {
      const parsed = await form(req, extra.bodyLimit, 'client', core.onError);
      const body = parsed.body;
      const present = hasClientAssertion(body);
      if (!present && !extra.required) return next();
      if (present) assertForm(parsed, 'client', core.onError);
      const client = await authenticator.authenticate({ body, headers: req.headers }, { required: true });
      req.jwtBearer = { ...req.jwtBearer, client };
      next();
    })().catch((err: unknown) => fail(err, res, next, extra.passErrors));
  }, authenticator.metadata);
}

/**
 * Error middleware for apps that use `passErrors: true`: answers an `OAuthError` as RFC 6749 §5.2
 * JSON with `Cache-Control: no-store`, and hands any other error on.
 *
 * @example
 * app.use(jwtBearerErrorHandler());
 */
export function jwtBearerErrorHandler(): ErrorRequestHandler {
  return function jwtBearerErrorMiddleware(err: unknown, _req: Request, res: Response, next: NextFunction): void {
    if (!isOAuthError(err) || res.headersSent) return next(err);
    sendError(res, err);
  };
}
