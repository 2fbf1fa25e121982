/**
 * jwt-bearer-core: framework-free verification of RFC 7523 JWT bearer assertions, for both uses:
 * the authorization grant (§2.1) and client authentication (§2.2).
 *
 * @packageDocumentation
 */
export { JWT_BEARER_GRANT_TYPE, JWT_BEARER_CLIENT_ASSERTION_TYPE } from './constants';
export { createGrantVerifier } from './verify/grant';
export { createClientAuthenticator, clientAuthenticationRequired } from './verify/client';
export { createAssertion, type CreateAssertionOptions } from './create-assertion';
export {
  OAuthError,
  isOAuthError,
  toErrorResponse,
  ERROR_CODES,
  UNIFORM_CLIENT_DESCRIPTION,
  type ErrorCode,
  type OAuthErrorName,
  type OAuthErrorOptions,
  type ErrorResponse,
  type AssertionUse,
} from './errors';
export { MemoryReplayStore, ReplayStoreFullError, type MemoryReplayStoreOptions } from './replay/memory-store';
export { ALL_ALGORITHMS as SUPPORTED_ALGORITHMS } from './jose/algorithms';
export { SPIFFE_CLIENT_ASSERTION_TYPE } from './trust/spiffe';
export { mergeMetadata, ID_JAG_GRANT_PROFILE, type AssertionAuthMethod } from './http/metadata';
export { ID_JAG_TYPE } from './profiles/id-jag';
export { jwkThumbprint } from './profiles/dpop';
export type * from './types';
export {
  GRANT_CHANNEL,
  CLIENT_ASSERTION_CHANNEL,
  JWKS_FETCH_CHANNEL,
  REPLAY_CLAIM_CHANNEL,
  type JwtBearerTraceContext,
  type JwksFetchTraceContext,
  type ReplayClaimTraceContext,
  type TraceOutcome,
} from './observe/tracing';
export {
  readRequestForm,
  assertForm,
  parseForm,
  isJwtBearerGrantRequest,
  hasClientAssertion,
  createForMiddleware,
  splitGrantOptions,
  splitClientOptions,
  TOKEN_RESPONSE_HEADERS,
  issueTokenResponse,
  withMetadata,
  authenticatedClientOf,
  type WithMetadata,
  type RequestForm,
  type TokenResponse,
  type MiddlewareOptions,
  type GrantMiddlewareOptions,
  type ClientMiddlewareOptions,
  type SplitOptions,
} from './adapter/middleware';
