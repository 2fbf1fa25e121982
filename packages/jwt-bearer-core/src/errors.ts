/**
 * The OAuth `error` values this library answers with (RFC 6749 §5.2, RFC 8707 §2 for
 * `invalid_target`, RFC 9449 §5 for `invalid_dpop_proof`, RFC 6750 §3.1 for
 * `temporarily_unavailable` / `server_error`).
 */
export type OAuthErrorName =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_dpop_proof'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable'
  | 'server_error';

/**
 * Where an error applies. A code such as `ERR_SIGNATURE_INVALID` means `invalid_grant` for an
 * authorization grant and `invalid_client` for a client assertion (RFC 7521 §4.1.1 / §4.2.1).
 */
export type AssertionUse = 'grant' | 'client';

interface CodeSpec {
  /** `error` for a grant assertion, then for a client assertion. */
  readonly error: readonly [OAuthErrorName, OAuthErrorName];
  readonly description: string;
}

const req = (description: string): CodeSpec => ({ error: ['invalid_request', 'invalid_request'], description });
const bad = (description: string): CodeSpec => ({ error: ['invalid_grant', 'invalid_client'], description });
const unavailable = (description: string): CodeSpec => ({
  error: ['temporarily_unavailable', 'temporarily_unavailable'],
  description,
});

/**
 * Every stable error code, with its OAuth error and its fixed, safe public description. The
 * description never echoes client input or configuration; the specific reason is the error's
 * private `detail`, which only reaches the `onError` hook.
 */
export const ERROR_CODES = {
  // Request shape (RFC 6749 §3.2, §2.3, §5.2; RFC 7521 §4).
  ERR_BODY_MISSING: req('The request body must be an application/x-www-form-urlencoded form.'),
  ERR_CONTENT_TYPE_UNSUPPORTED: req('The request body must be sent as application/x-www-form-urlencoded.'),
  ERR_BODY_TOO_LARGE: req('The request body is too large.'),
  ERR_BODY_MALFORMED: req('The request body could not be parsed.'),
  ERR_PARAMETER_INVALID: req('A request parameter is repeated or is not a single string value.'),
  ERR_GRANT_TYPE_UNSUPPORTED: {
    error: ['unsupported_grant_type', 'unsupported_grant_type'],
    description: 'The grant type is not supported by this handler.',
  },
  ERR_ASSERTION_MISSING: req('The assertion parameter is required.'),
  ERR_CLIENT_ASSERTION_MISSING: req('The client_assertion parameter is required with client_assertion_type.'),
  ERR_CLIENT_ASSERTION_TYPE_MISSING: req('The client_assertion_type parameter is required with client_assertion.'),
  ERR_MULTIPLE_CLIENT_AUTH: req('The request must not use more than one client authentication method.'),
  ERR_CLIENT_ID_MISMATCH: req('The client_id parameter does not match the client assertion.'),
  // Client authentication not attempted or not supported (RFC 6749 §5.2 invalid_client).
  ERR_CLIENT_AUTH_REQUIRED: {
    error: ['invalid_client', 'invalid_client'],
    description: 'Client authentication with a JWT client assertion is required.',
  },
  ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED: {
    error: ['invalid_client', 'invalid_client'],
    description: 'The client assertion type is not supported.',
  },
  // The assertion itself (RFC 7521 §4.1.1 / §4.2.1, RFC 7523 §3).
  ERR_ASSERTION_TOO_LONG: bad('The assertion is too long.'),
  ERR_ASSERTION_MALFORMED: bad('The assertion is not a well-formed signed JWT.'),
  ERR_ALGORITHM_NOT_ALLOWED: bad('The assertion is signed with an algorithm that is not allowed.'),
  ERR_CRIT_UNSUPPORTED: bad('The assertion uses a critical header extension that is not supported.'),
  ERR_TYPE_INVALID: bad('The assertion has a type (typ) that is not accepted here.'),
  ERR_ISSUER_UNTRUSTED: bad('The assertion issuer is not trusted.'),
  ERR_CLIENT_UNKNOWN: bad('The client is unknown.'),
  ERR_KEY_NOT_FOUND: bad('No key of the issuer matches the assertion.'),
  ERR_SIGNATURE_INVALID: bad('The assertion signature is invalid.'),
  ERR_CLAIM_MISSING: bad('The assertion lacks a required claim.'),
  ERR_CLAIM_INVALID: bad('The assertion has a claim of the wrong type or format.'),
  ERR_ISSUER_MISMATCH: bad('The assertion issuer does not match its subject.'),
  ERR_AUDIENCE_INVALID: bad('The assertion audience does not identify this authorization server.'),
  ERR_ASSERTION_EXPIRED: bad('The assertion has expired.'),
  ERR_ASSERTION_NOT_YET_VALID: bad('The assertion is not yet valid.'),
  ERR_ASSERTION_ISSUED_IN_FUTURE: bad('The assertion was issued in the future.'),
  ERR_ASSERTION_LIFETIME_EXCEEDED: bad('The assertion outlives the maximum lifetime accepted here.'),
  ERR_SUBJECT_NOT_ALLOWED: bad('The assertion subject is not allowed for this issuer.'),
  ERR_JTI_MISSING: bad('The assertion lacks a jti claim.'),
  ERR_ASSERTION_REPLAYED: bad('The assertion has already been used.'),
  // Keys the server finds itself (DESIGN §11): client ID metadata documents, federation, SPIFFE.
  ERR_CLIENT_ID_REQUIRED: req('The client_id parameter is required with this client assertion.'),
  ERR_FEDERATED_CREDENTIAL_MISMATCH: bad('No federated credential of the client matches the assertion.'),
  ERR_SPIFFE_ID_INVALID: bad('The assertion subject is not a valid SPIFFE ID.'),
  ERR_SPIFFE_TRUST_DOMAIN_UNKNOWN: bad('The SPIFFE trust domain of the assertion is not trusted.'),
  ERR_CLIENT_METADATA_URL_REFUSED: bad('The client ID metadata document URL is not accepted.'),
  ERR_CLIENT_METADATA_UNAVAILABLE: bad('The client ID metadata document or its keys could not be retrieved.'),
  ERR_CLIENT_METADATA_INVALID: bad('The client ID metadata document is not valid for this client.'),
  // Identity Assertion JWT Authorization Grants (draft-ietf-oauth-identity-assertion-authz-grant,
  // see profiles/id-jag.ts) and the grant profiles of trusted issuers.
  ERR_PROFILE_NOT_ALLOWED: bad('The assertion profile is not accepted for this issuer.'),
  ERR_GRANT_CLIENT_AUTH_REQUIRED: {
    error: ['invalid_client', 'invalid_client'],
    description: 'This grant requires client authentication.',
  },
  ERR_GRANT_CLIENT_MISMATCH: bad('The assertion was issued for another client.'),
  ERR_RESOURCE_NOT_ALLOWED: bad('The assertion names a resource that is not served here.'),
  ERR_RESOURCE_REQUIRED: bad('The assertion must name the resource it grants access to.'),
  ERR_TARGET_INVALID: {
    error: ['invalid_target', 'invalid_target'],
    description: 'The requested resource is invalid or outside what the grant allows.',
  },
  // DPoP (RFC 9449 §4.3, §5; draft-ietf-oauth-identity-assertion-authz-grant, Proof-of-Possession).
  ERR_DPOP_PROOF_INVALID: {
    error: ['invalid_dpop_proof', 'invalid_dpop_proof'],
    description: 'The DPoP proof is invalid.',
  },
  ERR_DPOP_PROOF_REPLAYED: {
    error: ['invalid_dpop_proof', 'invalid_dpop_proof'],
    description: 'The DPoP proof has already been used.',
  },
  ERR_DPOP_PROOF_REQUIRED: bad('Proof of possession is required for this grant.'),
  ERR_DPOP_KEY_MISMATCH: bad('The proof-of-possession key does not match the grant.'),
  ERR_CONFIRMATION_UNSUPPORTED: bad('The grant requires a proof-of-possession method that is not supported here.'),
  ERR_SCOPE_INVALID: {
    error: ['invalid_scope', 'invalid_scope'],
    description: 'The requested scope is invalid or exceeds what the issuer may grant.',
  },
  // The server's side: never the client's fault, always retryable (RFC 6749 §5.2 does not
  // list these for the token endpoint; they are the RFC 6749 §4.1.2.1 codes servers use).
  ERR_KEY_SOURCE_UNAVAILABLE: unavailable('The keys needed to check the assertion cannot be retrieved right now.'),
  ERR_REPLAY_STORE_UNAVAILABLE: unavailable('The assertion cannot be recorded right now.'),
  ERR_REPLAY_STORE_FULL: unavailable('Too many assertions are in use right now.'),
  ERR_TRUST_LOOKUP_FAILED: unavailable('The issuer or client cannot be looked up right now.'),
  ERR_INTERNAL: { error: ['server_error', 'server_error'], description: 'The server could not process the request.' },
} as const satisfies Record<string, CodeSpec>;

/** A stable machine code for every reason this library refuses a request. */
export type ErrorCode = keyof typeof ERROR_CODES;

const STATUS: Record<OAuthErrorName, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  invalid_scope: 400,
  invalid_target: 400,
  invalid_dpop_proof: 400,
  unsupported_grant_type: 400,
  temporarily_unavailable: 503,
  server_error: 500,
};

/** Options of {@link OAuthError}. */
export interface OAuthErrorOptions {
  /** Whether the error concerns a grant assertion (default) or a client assertion. */
  use?: AssertionUse;
  /** Private reason, for logs and metrics only; never serialised into a response. */
  detail?: string;
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>;
  /** The underlying error, for `invalid_*` never set; for 5xx the dependency's failure. */
  cause?: unknown;
  /**
   * For a 503: seconds after which a retry may succeed, sent as `Retry-After` (RFC 9110 §10.2.3).
   * Default 1. Ignored for other statuses.
   */
  retryAfter?: number;
  /**
   * Answer with {@link UNIFORM_CLIENT_DESCRIPTION} instead of the code's own sentence (option
   * `errorDescriptions: 'uniform'`). The `code` and `detail` are unchanged.
   */
  uniform?: boolean;
}

/**
 * The one `error_description` of every `invalid_client` failure up to and including the
 * signature check under `errorDescriptions: 'uniform'`: it says nothing of which client ids exist
 * or what keys they use.
 */
export const UNIFORM_CLIENT_DESCRIPTION = 'Client authentication failed.';

/** Seconds in `Retry-After` when the cause does not say better (a replay store or lookup blip). */
const DEFAULT_RETRY_AFTER = 1;
/** Largest `Retry-After` sent (2^31 − 1 seconds). */
const MAX_RETRY_AFTER = 2_147_483_647;

/**
 * An OAuth 2.0 error response (RFC 6749 §5.2) with a stable machine {@link ErrorCode}.
 *
 * `message` and `description` are the code's fixed public sentence; `detail` holds the specific
 * reason and is kept off `JSON.stringify`, `toErrorResponse()` and the response body. The
 * `status`, `expose` and `headers` properties follow Koa's error conventions.
 */
export class OAuthError extends Error {
  /** The OAuth `error` value, e.g. `invalid_client`. */
  readonly error: OAuthErrorName;
  /** HTTP status: 400, 401, 500 or 503. */
  readonly status: number;
  /** Same as `status`, for frameworks that read `statusCode`. */
  readonly statusCode: number;
  /** The fixed public `error_description`. */
  readonly description: string;
  /** Stable machine code, e.g. `ERR_ASSERTION_EXPIRED`. */
  readonly code: ErrorCode;
  /** Response headers this error needs (`WWW-Authenticate` for 401, `Retry-After` for 503). */
  readonly headers: Record<string, string>;
  /** Whether the message may be shown to the client (always true: it is a fixed, safe sentence). */
  readonly expose = true;
  /** Private reason, never serialised. */
  declare readonly detail: string | undefined;

  constructor(code: ErrorCode, options: OAuthErrorOptions = {}) {
    const spec: CodeSpec = ERROR_CODES[code];
    const description =
      options.uniform === true && spec.error[options.use === 'client' ? 1 : 0] === 'invalid_client' ? UNIFORM_CLIENT_DESCRIPTION : spec.description;
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.code = code;
    this.error = spec.error[options.use === 'client' ? 1 : 0];
    this.status = STATUS[this.error];
    this.statusCode = this.status;
    this.description = description;
    this.headers = { ...options.headers };
    if (this.status === 503 && this.headers['Retry-After'] === undefined) {
      const seconds = options.retryAfter ?? DEFAULT_RETRY_AFTER;
      // delay-seconds: a positive integer, capped where HTTP clients still parse it as one.
      this.headers['Retry-After'] = String(Number.isFinite(seconds) ? Math.min(Math.max(1, Math.ceil(seconds)), MAX_RETRY_AFTER) : DEFAULT_RETRY_AFTER);
    }
    // Not enumerable: a logger that serialises the error object does not print it by accident,
    // and it never reaches a response.
    Object.defineProperty(this, 'detail', { value: options.detail, enumerable: false, writable: false });
  }

  /** The RFC 6749 §5.2 body: `{ error, error_description }`. */
  toJSON(): { error: OAuthErrorName; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** Type guard for {@link OAuthError}, safe across copies of the package. */
export function isOAuthError(value: unknown): value is OAuthError {
  return (
    value instanceof OAuthError ||
    (typeof value === 'object' &&
      value !== null &&
      (value as { name?: unknown }).name === 'OAuthError' &&
      typeof (value as { status?: unknown }).status === 'number' &&
      typeof (value as { error?: unknown }).error === 'string' &&
      typeof (value as { code?: unknown }).code === 'string' &&
      Object.prototype.hasOwnProperty.call(ERROR_CODES, (value as { code: string }).code))
  );
}

/** A framework-free HTTP error response. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: OAuthErrorName; error_description: string };
}

const NO_STORE = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
} as const;

/**
 * Turns any thrown value into an RFC 6749 §5.2 JSON error response. An {@link OAuthError} keeps
 * its status, headers and public description; anything else becomes a 500 `server_error` whose
 * body says nothing about the cause (no message, no stack).
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  const error = isOAuthError(err) ? err : new OAuthError('ERR_INTERNAL');
  return {
    status: error.status,
    headers: { ...NO_STORE, ...error.headers },
    body: { error: error.error, error_description: error.description },
  };
}
