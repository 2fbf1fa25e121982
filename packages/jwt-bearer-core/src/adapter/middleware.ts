import type { IncomingMessage } from 'node:http';
import { describe } from '../describe';
import { scopeToReport } from '../verify/grant';
import { JWT_BEARER_GRANT_TYPE } from '../constants';
import { OAuthError, type AssertionUse } from '../errors';
import { fail, isPlainObject, UnknownOptionError } from '../options';
import { report } from '../verify/pipeline';
import { issueTokenFailed } from '../observe/outcome';
import type { AuthorizationServerMetadata, ClientAuthenticatorOptions, GrantPrincipal, GrantVerifierOptions, RejectionEvent } from '../types';

/*
 * Framework-free pieces both adapters share, so that express-jwt-bearer and koa-jwt-bearer stay
 * thin and behave the same: option splitting, form body reading, and when a request is "for us".
 */

/** A token response (RFC 6749 §5.1), as returned by `issueToken`. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  refresh_token?: string;
  [parameter: string]: unknown;
}

/** Options every middleware takes besides the core's. */
export interface MiddlewareOptions {
  /**
   * `false` (default): the middleware answers errors itself as RFC 6749 §5.2 JSON. `true`: it
   * hands the {@link OAuthError} to the framework (`next(err)` / `throw`) for the app's error
   * handling; `jwtBearerErrorHandler()` answers it the same way.
   */
  passErrors?: boolean;
  /** Largest form body the middleware parses itself, in bytes. Default 102400. */
  bodyLimit?: number;
}

/** Options of `jwtBearerGrant()`: the core's grant options plus the middleware's. */
export interface GrantMiddlewareOptions<Req> extends GrantVerifierOptions, MiddlewareOptions {
  /**
   * Issues the token for a verified grant. When given, the middleware answers with what it
   * returns (JSON, `Cache-Control: no-store`, `Pragma: no-cache`); when absent, it attaches the
   * principal and hands on to the next handler. It may throw an `OAuthError` (e.g.
   * `invalid_scope`) to refuse.
   */
  issueToken?: (principal: GrantPrincipal, req: Req) => TokenResponse | Promise<TokenResponse>;
  /**
   * Tells the grant which client the app authenticated on this request by a method of its own
   * (`client_secret_basic`, `client_secret_post`, mTLS): returns the client_id, or `undefined`
   * when the request is not client-authenticated. Called for jwt-bearer grant requests only, and
   * only when `clientAssertion()` did not already authenticate the client earlier on the route.
   * An ID-JAG requires an authenticated client (401 `invalid_client` otherwise) and must name it
   * in its `client_id` claim. It may throw an `OAuthError` (e.g. `invalid_client` for a wrong
   * secret) to refuse. Default: none.
   */
  authenticatedClient?: (req: Req) => string | undefined | null | Promise<string | undefined | null>;
}

/** Options of `clientAssertion()`: the core's client options plus the middleware's. */
export interface ClientMiddlewareOptions extends ClientAuthenticatorOptions, MiddlewareOptions {
  /**
   * `true` (default): a request without a client assertion is answered 401 `invalid_client`.
   * `false`: it passes through untouched, for routes that accept other authentication methods.
   */
  required?: boolean;
}

/** Middleware options split into the core's and the adapter's, validated. */
export interface SplitOptions<Core, Extra> {
  core: Core;
  extra: Readonly<Extra & { passErrors: boolean; bodyLimit: number }>;
}

const DEFAULT_BODY_LIMIT = 100 * 1024;

/** The options each middleware takes besides the core's. */
const MIDDLEWARE_OPTIONS = {
  jwtBearerGrant: ['issueToken', 'authenticatedClient', 'passErrors', 'bodyLimit'],
  clientAssertion: ['required', 'passErrors', 'bodyLimit'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Builds a middleware's core verifier (`create` calls `createGrantVerifier()` or
 * `createClientAuthenticator()` with the split options). The core knows only its own option names,
 * so a typo such as `issueTokens` would be reported as an unknown option of the core factory, which
 * the user never called, with a list that omits `issueToken`: it is reported here as an unknown
 * option of the middleware, with every option the middleware takes.
 */
export function createForMiddleware<T>(middleware: keyof typeof MIDDLEWARE_OPTIONS, create: () => T): T {
  try {
    return create();
  } catch (err) {
    // Only a name at the top level: a typo inside `jwksOptions` or `clients[0]` keeps its place.
    if (err instanceof UnknownOptionError && /^create\w+\(\)$/.test(err.where)) {
      throw new UnknownOptionError(err.option, [...err.known, ...MIDDLEWARE_OPTIONS[middleware]], `${middleware}()`);
    }
    throw err;
  }
}

function split<Core>(options: unknown, own: readonly string[]): { core: Core; picked: Record<string, unknown> } {
  if (!isPlainObject(options)) throw new TypeError('jwt-bearer: options must be an object');
  const core: Record<string, unknown> = {};
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (own.includes(key)) picked[key] = value;
    else core[key] = value;
  }
  if (picked.passErrors !== undefined && typeof picked.passErrors !== 'boolean') fail('passErrors', 'must be a boolean');
  if (picked.bodyLimit !== undefined && !(Number.isSafeInteger(picked.bodyLimit) && (picked.bodyLimit as number) > 0)) {
    fail('bodyLimit', 'must be a positive integer (bytes)');
  }
  return { core: core as Core, picked };
}

/** Splits and validates `jwtBearerGrant()` options. */
export function splitGrantOptions<Req>(
  options: GrantMiddlewareOptions<Req>,
): SplitOptions<GrantVerifierOptions, Pick<GrantMiddlewareOptions<Req>, 'issueToken' | 'authenticatedClient'>> {
  const { core, picked } = split<GrantVerifierOptions>(options, MIDDLEWARE_OPTIONS.jwtBearerGrant);
  if (picked.issueToken !== undefined && typeof picked.issueToken !== 'function') fail('issueToken', 'must be a function (principal, req) => token response');
  if (picked.authenticatedClient !== undefined && typeof picked.authenticatedClient !== 'function') {
    fail('authenticatedClient', 'must be a function (req) => client_id | undefined');
  }
  return {
    core,
    extra: Object.freeze({
      issueToken: picked.issueToken as GrantMiddlewareOptions<Req>['issueToken'],
      authenticatedClient: picked.authenticatedClient as GrantMiddlewareOptions<Req>['authenticatedClient'],
      passErrors: (picked.passErrors as boolean | undefined) ?? false,
      bodyLimit: (picked.bodyLimit as number | undefined) ?? DEFAULT_BODY_LIMIT,
    }),
  };
}

/** Splits and validates `clientAssertion()` options. */
export function splitClientOptions(options: ClientMiddlewareOptions): SplitOptions<ClientAuthenticatorOptions, { required: boolean }> {
  const { core, picked } = split<ClientAuthenticatorOptions>(options, MIDDLEWARE_OPTIONS.clientAssertion);
  if (picked.required !== undefined && typeof picked.required !== 'boolean') fail('required', 'must be a boolean');
  return {
    core,
    extra: Object.freeze({
      required: (picked.required as boolean | undefined) ?? true,
      passErrors: (picked.passErrors as boolean | undefined) ?? false,
      bodyLimit: (picked.bodyLimit as number | undefined) ?? DEFAULT_BODY_LIMIT,
    }),
  };
}

/** Whether a form body asks for the JWT bearer grant (a repeated `grant_type` naming it counts, so the core refuses it). */
export function isJwtBearerGrantRequest(body: Record<string, unknown>): boolean {
  const grantType = body.grant_type;
  return grantType === JWT_BEARER_GRANT_TYPE || (Array.isArray(grantType) && grantType.includes(JWT_BEARER_GRANT_TYPE));
}

/** Whether a form body carries a client assertion (either parameter, non-empty). */
export function hasClientAssertion(body: Record<string, unknown>): boolean {
  const present = (v: unknown) => v !== undefined && v !== null && v !== '';
  return present(body.client_assertion) || present(body.client_assertion_type);
}

function mediaType(req: IncomingMessage): string | undefined {
  const value = req.headers['content-type'];
  if (value === undefined) return undefined;
  return value.split(';', 1)[0]!.trim().toLowerCase();
}

function charset(req: IncomingMessage): BufferEncoding {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '');
  const name = match?.[1]?.toLowerCase();
  return name === 'iso-8859-1' || name === 'latin1' || name === 'windows-1252' ? 'latin1' : 'utf8';
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const FORM = 'application/x-www-form-urlencoded';

/** Parses a form into an object; a repeated name becomes an array (which the core refuses). */
export function parseForm(text: string): Record<string, string | string[]> {
  const body: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const prior = body[name];
    if (prior === undefined) body[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else body[name] = [prior, value];
  }
  return body;
}

function readStream(req: IncomingMessage, limit: number, use: AssertionUse): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new OAuthError('ERR_BODY_TOO_LARGE', { use, detail: `content-length ${declared} > ${limit}` }));
  }
  const encoding = charset(req);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const settle = (err: OAuthError | undefined, text?: string) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (err) {
        // Stop reading: the rest of an oversized or broken body is not ours to buffer.
        req.resume();
        reject(err);
      } else resolve(text!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(new OAuthError('ERR_BODY_TOO_LARGE', { use, detail: `body exceeds ${limit} bytes` }));
      else chunks.push(chunk);
    };
    const onEnd = () => settle(undefined, Buffer.concat(chunks).toString(encoding));
    const onError = (err: Error) => settle(new OAuthError('ERR_BODY_MALFORMED', { use, detail: `body stream failed: ${err.message}` }));
    const onAborted = () => settle(new OAuthError('ERR_BODY_MALFORMED', { use, detail: 'client aborted the request' }));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** Where the form body came from. */
export interface RequestForm {
  body: Record<string, unknown>;
  /** Whether the middleware read the stream itself (then the adapter stores the body for later handlers). */
  parsedHere: boolean;
  /** Whether the request declared `application/x-www-form-urlencoded` (or had no body at all). */
  isForm: boolean;
}

/**
 * The request's form body. Uses what a body parser already produced; otherwise reads the stream
 * itself (up to `limit` bytes, any charset parameter). A request with no body reads as an empty
 * form; an unparsed body of another content type is refused with `invalid_request`, because the
 * token endpoint takes forms only (RFC 6749 §3.2).
 */
export async function readRequestForm(
  req: IncomingMessage,
  parsed: unknown,
  limit: number,
  use: AssertionUse,
  onError?: (event: RejectionEvent) => void,
): Promise<RequestForm> {
  try {
    return await readForm(req, parsed, limit, use);
  } catch (err) {
    // Reported here, before the core saw the request, so the hook hears of every rejection.
    throw err instanceof OAuthError ? report(onError, use, err) : err;
  }
}

async function readForm(req: IncomingMessage, parsed: unknown, limit: number, use: AssertionUse): Promise<RequestForm> {
  const type = mediaType(req);
  const isForm = type === FORM || (type === undefined && !hasBody(req));
  // A Buffer (express.raw) is an object too, but no form: its index keys are not parameters.
  const alreadyParsed =
    isPlainObject(parsed) &&
    !ArrayBuffer.isView(parsed) &&
    ((req as { _body?: unknown })._body === true || Object.keys(parsed).length > 0 || req.readableEnded || !hasBody(req));
  if (alreadyParsed) return { body: parsed, parsedHere: false, isForm };
  if (!hasBody(req)) return { body: {}, parsedHere: true, isForm };
  if (type !== FORM) {
    throw new OAuthError('ERR_CONTENT_TYPE_UNSUPPORTED', { use, detail: `content-type ${describe(req.headers['content-type'] ?? null)}` });
  }
  // Another parser (express.text / raw) already read the stream without giving us a form: its
  // 'end' has passed, so waiting for it would hang the request.
  if (req.readableEnded) throw new OAuthError('ERR_BODY_MALFORMED', { use, detail: 'the body was already read by another parser, not into a form object' });
  return { body: parseForm(await readStream(req, limit, use)), parsedHere: true, isForm };
}

/** Refuses a body a parser produced from something other than a form, once we know the request is ours. */
export function assertForm(form: Pick<RequestForm, 'isForm'>, use: AssertionUse, onError?: (event: RejectionEvent) => void): void {
  if (!form.isForm) {
    throw report(
      onError,
      use,
      new OAuthError('ERR_CONTENT_TYPE_UNSUPPORTED', { use, detail: 'parameters were not sent as application/x-www-form-urlencoded' }),
    );
  }
}

/**
 * Runs `issueToken` and checks that it returned what RFC 6749 §5.1 requires: an object with
 * `access_token` and `token_type` strings. Anything else is the server's fault (500), never an
 * empty 200 (Express) or 204 (Koa). Such a failure is reported to `onError` (or, without it, to
 * the default 5xx log line); what is thrown is the app's own error, unchanged.
 */
export async function issueTokenResponse<Req>(
  issueToken: NonNullable<GrantMiddlewareOptions<Req>['issueToken']>,
  grant: GrantPrincipal,
  req: Req,
  onError?: (event: RejectionEvent) => void,
): Promise<TokenResponse> {
  let token: unknown;
  try {
    token = await issueToken(grant, req);
  } catch (err) {
    throw issueTokenFailed(err, issueToken, onError);
  }
  const t = token as Partial<TokenResponse> | null;
  if (typeof t !== 'object' || t === null || typeof t.access_token !== 'string' || typeof t.token_type !== 'string') {
    throw issueTokenFailed(
      new OAuthError('ERR_INTERNAL', { detail: 'issueToken did not return an object with access_token and token_type' }),
      issueToken,
      onError,
    );
  }
  // RFC 6749 §5.1, DESIGN §8: a scope other than the one requested is stated in the response, and
  // an ID-JAG's always (draft-ietf-oauth-identity-assertion-authz-grant, "Processing Rules"), with
  // its granted resource (RFC 8707 §2); each added only when the app's response has none.
  const added: Partial<TokenResponse> = {};
  if (t.scope === undefined && scopeToReport.has(grant)) added.scope = grant.scope.join(' ');
  if (grant.profile === 'id-jag' && t.resource === undefined && grant.resource.length > 0) {
    added.resource = grant.resource.length === 1 ? grant.resource[0] : [...grant.resource];
  }
  return Object.keys(added).length === 0 ? (t as TokenResponse) : ({ ...t, ...added } as TokenResponse);
}

/**
 * The client the request was authenticated as: by `clientAssertion()` earlier on the route
 * (`known`), else by the app's own method through `authenticatedClient`. A value that is neither
 * a non-empty string nor absent is the app's bug: 500, never a client identity.
 */
export async function authenticatedClientOf<Req>(
  known: string | undefined,
  authenticatedClient: GrantMiddlewareOptions<Req>['authenticatedClient'],
  req: Req,
): Promise<string | undefined> {
  if (known !== undefined || !authenticatedClient) return known;
  const value: unknown = await authenticatedClient(req);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new OAuthError('ERR_INTERNAL', { detail: 'authenticatedClient returned something other than a non-empty string or undefined' });
  }
  return value;
}

/** Headers of a successful token response (RFC 6749 §5.1). */
export const TOKEN_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
});

/** A middleware function that also carries the RFC 8414 metadata its options imply. */
export interface WithMetadata {
  /** RFC 8414 §2 fields this middleware enforces (frozen, read-only): merge them into the discovery document. */
  readonly metadata: AuthorizationServerMetadata;
}

/** Attaches `metadata` to a middleware function as a read-only, non-configurable property. */
export function withMetadata<F extends object>(fn: F, metadata: AuthorizationServerMetadata): F & WithMetadata {
  Object.defineProperty(fn, 'metadata', { value: metadata, enumerable: true, writable: false, configurable: false });
  return fn as F & WithMetadata;
}
