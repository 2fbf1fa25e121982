import type { KeyObject } from 'node:crypto';
import type { AssertionUse, ErrorCode, OAuthErrorName } from './errors';

/**
 * A framework-free token request: the parsed form body and the request headers (lower-case names,
 * as Node gives them).
 */
export interface TokenRequest {
  body: Record<string, unknown> | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** Signature algorithms this library can verify (RFC 7518 §3.1, RFC 8037, RFC 9864 `Ed25519`). */
export type Algorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'Ed25519' | 'HS256' | 'HS384' | 'HS512';

/** A JSON Web Key (RFC 7517), public members only are read. */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  x5c?: string[];
  x5t?: string;
  'x5t#S256'?: string;
  [member: string]: unknown;
}

/** A JSON Web Key Set (RFC 7517 §5). */
export interface JwkSet {
  keys: Jwk[];
}

/** A public key: PEM (SPKI, PKCS#1 or an X.509 certificate), a public JWK, or a `KeyObject`. */
export type PublicKeyInput = string | Jwk | KeyObject;

/** A shared secret for HS256/384/512: a string (UTF-8 bytes) or the raw bytes. */
export type SecretInput = string | Uint8Array;

/** Where the keys of an issuer or client come from: exactly one of these per registration. */
export interface KeySourceFields {
  /**
   * URL of a JWK Set, fetched and cached (see `jwksOptions`): `https:`, or `http:` to a loopback
   * host (127.0.0.0/8, `[::1]`, `localhost`) for development. Anything else is refused with a
   * `TypeError` when the registration is compiled.
   */
  jwksUri?: string;
  /** An inline JWK Set. */
  jwks?: JwkSet;
  /** One public key (PEM, JWK or `KeyObject`). */
  publicKey?: PublicKeyInput;
}

/** Per-party settings shared by {@link TrustedIssuer} and {@link ClientRegistration}. */
export interface PartyPolicy {
  /**
   * Accept this party's assertions more than once: they skip the replay store, while every other
   * check (signature, audience, `exp`, and the lifetime cap below) still applies. For clients
   * that cache and re-send one assertion: Microsoft's MSAL and `@azure/identity` re-send one
   * client assertion for up to 600 s; Auth0 lets a client re-present an ID-JAG until it expires.
   * Default `false` (every `jti` single use).
   */
  allowReuse?: boolean;
  /**
   * Seconds this party's assertions stay usable after `iat` (without `iat`, the furthest `exp`
   * accepted), instead of the factory's `maxLifetime`. MSAL needs `600`. Default: the factory's
   * `maxLifetime`.
   */
  maxLifetime?: number;
}

/**
 * A trusted issuer of authorization-grant assertions (RFC 7523 §2.1): a service account, an IdP,
 * another service.
 */
export interface TrustedIssuer extends KeySourceFields, PartyPolicy {
  /** The `iss` value of its assertions (exact string comparison). */
  issuer: string;
  /**
   * A shared secret, for issuers that sign with HS256/384/512; or a list of them (the current
   * and the next, during a change): an assertion is accepted when it verifies with any of them.
   */
  secret?: SecretInput | SecretInput[];
  /** Algorithms this issuer may use, intersected with the global `algorithms`. */
  algorithms?: Algorithm[];
  /** Subjects this issuer may assert: a list, or a predicate. Default: any subject. */
  subjects?: string[] | ((subject: string) => boolean);
  /**
   * The scopes a token for this issuer's assertions may carry. A `scope` parameter naming one
   * outside them is `invalid_scope`; with a signed `scope` claim, the grant is narrowed to them
   * (DESIGN §8: the claim is a ceiling). Default: any scope.
   */
  scopes?: string[];
  /**
   * Whether `sub` is required (RFC 7523 §3 item 2). `false` lets the issuer omit it, as Google
   * service-account assertions do; the principal's subject is then the issuer. Default `true`.
   */
  requireSubject?: boolean;
  /**
   * Find the keys through the issuer's published metadata: `true` reads
   * `{issuer}/.well-known/openid-configuration`, then RFC 8414's
   * `/.well-known/oauth-authorization-server`; a string names the document. The document's
   * `issuer` must equal `issuer` exactly; its `jwks_uri` is fetched as any `jwksUri` (see
   * `jwksOptions`, whose cache, cooldown and timeout apply to the document too). A failure is a
   * 503. One key source among `jwksUri`, `jwks`, `publicKey`, `secret`, `discovery`.
   */
  discovery?: true | string;
  /**
   * The grant profiles this issuer may present (DESIGN §10): `'rfc7523'`, a plain RFC 7523 §2.1
   * assertion; `'id-jag'`, an Identity Assertion JWT Authorization Grant (`typ: oauth-id-jag+jwt`,
   * draft-ietf-oauth-identity-assertion-authz-grant). The assertion's `typ` chooses the profile;
   * one the issuer is not trusted for is `invalid_grant`. Default `['rfc7523']`. An enterprise
   * IdP gets `['id-jag']` alone, so it cannot mint plain assertions for arbitrary subjects.
   */
  profiles?: GrantProfile[];
}

/** A grant profile: a plain RFC 7523 assertion, or an Identity Assertion JWT Authorization Grant. */
export type GrantProfile = 'rfc7523' | 'id-jag';

/** A client registered for `private_key_jwt` or `client_secret_jwt` (RFC 7523 §2.2). */
export interface ClientRegistration extends KeySourceFields, PartyPolicy {
  /** The client identifier: the `iss` and `sub` of its assertions. */
  clientId: string;
  /**
   * The client secret, for `client_secret_jwt` (HS256/384/512); or a list of them (the current
   * and the next): during a secret change the client may sign with either, so it can switch
   * without downtime. Remove the old one once the client uses the new one.
   */
  clientSecret?: SecretInput | SecretInput[];
  /** Algorithms this client may use, intersected with the global `algorithms`. */
  algorithms?: Algorithm[];
  /**
   * Workload identities this client may authenticate with (method `federated_jwt`): a token of
   * a `federation` issuer matching one of these, sent with `client_id` naming this client. A
   * client with federated credentials needs no key source of its own.
   */
  federatedCredentials?: FederatedCredential[];
  /**
   * The SPIFFE ID (`spiffe://trust-domain/path`) whose JWT-SVIDs authenticate this client
   * (method `spiffe_jwt`, option `spiffe`). A client with a `spiffeId` needs no key source of its own.
   */
  spiffeId?: string;
}

/**
 * One workload identity of a client: tokens from `issuer` whose `sub` is `subject` (exactly) or
 * matches `subjectPattern` (`*` matches any run of characters, every other character only
 * itself), and whose listed `claims` are exactly these strings.
 */
export interface FederatedCredential {
  /** The federation issuer (`iss`), one of the `federation` option's. */
  issuer: string;
  /** The exact `sub`, e.g. `system:serviceaccount:prod:billing`. */
  subject?: string;
  /** A glob on `sub`, e.g. `repo:acme/deploy:ref:refs/heads/*`. */
  subjectPattern?: string;
  /** Claims that must be present with exactly these values, e.g. `{ repository_owner_id: '123' }`. */
  claims?: Record<string, string>;
}

/**
 * A platform that issues workload identity tokens (Kubernetes, GitHub Actions, a cloud's
 * workload identity): client option `federation`. One key source of `jwksUri`, `jwks`,
 * `publicKey`, `discovery`.
 */
export interface FederationIssuer extends KeySourceFields {
  /** The tokens' `iss`, e.g. `https://token.actions.githubusercontent.com`. */
  issuer: string;
  /** As for a trusted issuer: `true` or the discovery document's URL. */
  discovery?: true | string;
  /** The `aud` its tokens must carry as their sole value. Default: this server's `issuer`. */
  audience?: string;
  /** Algorithms its tokens may use, intersected with the global `algorithms`. */
  algorithms?: Algorithm[];
  /** Seconds a token stays usable after `iat` (see `maxLifetime`). Default: the option's. */
  maxLifetime?: number;
  /**
   * `true`: its tokens skip the replay store (Kubernetes' kubelet re-sends one projected token
   * until it rotates it); every other check, lifetime included, still applies. Default `false`:
   * a token needs a `jti` and is accepted once.
   */
  allowReuse?: boolean;
}

/** Client option `clientIdMetadataDocuments` (draft-ietf-oauth-client-id-metadata-document). */
export interface ClientIdMetadataDocumentOptions {
  /** Which document URLs may be fetched at all. Default: every URL the draft allows. */
  allow?: (url: string) => boolean;
  /** Largest document accepted, in bytes. Default 5120 (the draft's recommendation). */
  maxBytes?: number;
  /** Milliseconds a document (or its `jwks_uri` key set) fetch may take in all. Default 5000. */
  timeout?: number;
  /** Upper bound, in seconds, of how long a document is cached whatever its headers say. Default 3600. */
  maxAge?: number;
  /** Most documents cached. Default 1000. */
  maxDocuments?: number;
  /**
   * Lets document and key set URLs resolve to private, loopback and link-local addresses and
   * use `http:` to a loopback host: tests and private deployments only. Default `false`.
   */
  allowPrivateNetwork?: boolean;
  /** Name resolution (default: the system resolver), for tests and custom resolvers. */
  lookup?: (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
  /** An `https.Agent` for the fetches (custom CAs). Default: `jwksOptions.requestAgent`. */
  requestAgent?: unknown;
}

/** One SPIFFE trust domain: its JWT-SVID keys from a bundle endpoint or an inline bundle. */
export interface SpiffeTrustDomain {
  /** The trust domain name, e.g. `prod.example.org`. */
  trustDomain: string;
  /** URL of the trust domain's SPIFFE bundle (`https_web` profile), fetched as a JWK Set. */
  bundleEndpoint?: string;
  /** The bundle inline: a JWK Set whose keys have `use: "jwt-svid"`. */
  jwks?: JwkSet;
}

/** Client option `spiffe` (draft-ietf-oauth-spiffe-client-auth). */
export interface SpiffeOptions {
  trustDomains: SpiffeTrustDomain[];
}

/** Resolves a registration by identifier; may be async. Return `undefined` when unknown. */
export type Resolver<T> = (id: string) => T | undefined | null | Promise<T | undefined | null>;

/** How a client assertion's `aud` is checked. */
export type AudienceMode = 'strict' | 'legacy';

/** A rejection, as given to `onError`. */
export interface RejectionEvent {
  /** Stable machine code, e.g. `ERR_ASSERTION_EXPIRED`. */
  code: ErrorCode;
  /** The OAuth `error` sent to the client. */
  error: OAuthErrorName;
  /** HTTP status sent to the client. */
  status: number;
  /** The specific reason; never sent to the client. */
  detail: string | undefined;
  /** Which use of RFC 7523 the request was for. */
  use: AssertionUse;
  /** The assertion's `iss`, when it could be decoded (not yet verified). */
  issuer?: string;
  /** The assertion's `sub`, when it could be decoded (not yet verified). */
  subject?: string;
  /** The client, for client assertions (the unverified `sub`). */
  clientId?: string;
  /** The underlying failure for 5xx (a fetch or store error). */
  cause?: unknown;
}

/**
 * A notice operators should act on, as given to `onWarning`: an assertion accepted only through
 * a legacy allowance, or a configuration problem met at request time.
 */
export interface WarningEvent {
  /**
   * `WARN_LEGACY_AUDIENCE`: accepted only because `audienceMode` is `'legacy'`.
   * `WARN_LOOKUP_MISMATCH`: a `clients` / `issuers` lookup returned something that is not a plain
   * registration object for the identifier asked for; the request was refused as unknown.
   */
  code: 'WARN_LEGACY_AUDIENCE' | 'WARN_LOOKUP_MISMATCH';
  detail: string;
  use: AssertionUse;
  issuer: string;
  subject: string;
  clientId?: string;
}

/**
 * An accepted assertion, as given to `onSuccess`: what was verified, for logs, audit and
 * metrics. Never the assertion itself, a key or a secret.
 */
export interface SuccessEvent {
  /** Which use of RFC 7523 the request was for. */
  use: AssertionUse;
  /** The verified `iss`. */
  issuer: string;
  /** The verified subject: the grant's subject, or the client id of a client assertion. */
  subject: string;
  /** The client: the authenticated client (grant, when known), or the client itself. */
  clientId?: string;
  /** The header's `alg`. */
  alg: Algorithm;
  /** The header's `kid`, when it has one. */
  kid?: string;
  /** Grant only: the granted scope. */
  scope?: string[];
  /** Grant only: the profile the assertion was verified under (`'rfc7523'` or `'id-jag'`). */
  profile?: GrantProfile;
  /** Client assertions only: the authentication method. */
  method?: ClientPrincipal['method'];
}

/** Tuning of `jwksUri` key sets. */
export interface JwksOptions {
  /** Milliseconds a JWK Set fetch may take in all before it counts as failed. Default 5000. */
  timeout?: number;
  /** Seconds a fetched key set is used before it is fetched again. Default 600. */
  cacheMaxAge?: number;
  /**
   * Minimum seconds between two fetches of one URI for the same cause: scheduled (the first, or
   * keys older than `cacheMaxAge`) or on demand (an unknown `kid`, or a signature no key verifies).
   * Within it, after a fetch on demand, an unknown `kid` is refused at once; after a failed fetch no
   * new fetch is tried. Outlives the eviction of the key set from the cache. Default 30.
   */
  cooldown?: number;
  /**
   * Seconds past `cacheMaxAge` during which the last good key set keeps being used while the
   * endpoint is failing. Default 3600. `0` turns it off.
   */
  staleIfError?: number;
  /** Largest JWK Set response accepted, in bytes. Default 524288 (512 KiB). */
  maxResponseBytes?: number;
  /** Most keys taken from one JWK Set. Default 100. */
  maxKeys?: number;
  /**
   * Most distinct `jwksUri` key sets whose keys are kept (least recently used dropped), plus those
   * fetched within the last `cooldown`, which cannot be fetched again yet. Default 1000.
   */
  maxKeySets?: number;
  /** Extra request headers for the fetch. */
  requestHeaders?: Record<string, string>;
  /** An `http.Agent` / `https.Agent` for the fetch (proxies, custom CAs). */
  requestAgent?: unknown;
}

/** Options shared by {@link createGrantVerifier} and {@link createClientAuthenticator}. */
export interface CommonOptions {
  /** This authorization server's issuer identifier (RFC 8414). Required. */
  issuer: string;
  /** Other values that identify this server in `aud`, e.g. the token endpoint URL. Default `[]`. */
  audiences?: string[];
  /** Global algorithm allow-list. `none` is never accepted. Default: every {@link Algorithm}. */
  algorithms?: Algorithm[];
  /** Seconds of leeway on `exp`, `nbf` and `iat`. Default 30. */
  clockTolerance?: number;
  /**
   * Seconds an assertion stays usable after `iat`; without `iat`, the furthest `exp` accepted.
   * Default 300 (client authentication) or 3600 (grant).
   */
  maxLifetime?: number;
  /** Whether a `jti` claim is required. Default `true` (client authentication), `false` (grant). */
  requireJti?: boolean;
  /** Where used `jti`s are recorded. Default: one process-wide {@link MemoryReplayStore}. */
  replayStore?: ReplayStore;
  /** Longest assertion accepted, in characters, checked before any decoding. Default 16384. */
  maxAssertionLength?: number;
  /**
   * Called with every rejection. Exceptions it throws are ignored. Default: none, in which case
   * server-side failures (5xx) are still logged to `console.error`, one line per cause (error
   * code and failing URL) per minute; refusals (4xx) are not logged.
   */
  onError?: (event: RejectionEvent) => void;
  /** Called when an assertion is accepted only through a legacy allowance. */
  onWarning?: (event: WarningEvent) => void;
  /**
   * Called with every accepted assertion, after every check (replay included) passed. Exceptions
   * it throws are ignored. Default: none.
   */
  onSuccess?: (event: SuccessEvent) => void;
  /** Tuning of `jwksUri` key sets. */
  jwksOptions?: JwksOptions;
  /** Clock in milliseconds since the epoch, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Where asymmetric signatures (RS, PS, ES, EdDSA) are verified. `'never'`: on the event loop.
   * `'always'`: on libuv's thread pool. `'auto'` (default): on the thread pool while calls overlap
   * (a busy server), on the event loop when they do not (no thread hop for a lone request).
   * HMAC (HS*) is always checked on the event loop: it is cheaper than the hop. See {@link OffloadMode}.
   */
  offload?: OffloadMode;
  /**
   * Milliseconds a `clients` / `issuers` lookup function may take (like `jwksOptions.timeout`).
   * A lookup that has not settled by then answers 503 `temporarily_unavailable`
   * (`ERR_TRUST_LOOKUP_FAILED`) with `Retry-After`. Default 5000.
   */
  lookupTimeout?: number;
  /**
   * Public `error_description` of client-authentication failures. `'detailed'` (default): one
   * sentence per code. `'uniform'`: every `invalid_client` up to and including the signature
   * check (unknown client, algorithm, key, signature…) answers with one sentence, so the answer
   * does not tell which client ids exist or what keys they use. Codes and details still reach
   * `onError`.
   */
  errorDescriptions?: ErrorDescriptions;
}

/** Option `errorDescriptions`: `'detailed'` (one sentence per code) or `'uniform'`. */
export type ErrorDescriptions = 'detailed' | 'uniform';

/**
 * Where asymmetric signatures are verified (option `offload`): `'never'` (event loop),
 * `'always'` (libuv's thread pool), or `'auto'` (the thread pool while calls overlap).
 */
export type OffloadMode = 'auto' | 'always' | 'never';

/** Options of {@link createGrantVerifier}. */
export interface GrantVerifierOptions extends CommonOptions {
  /** Trusted issuers: a list, or a (possibly async) lookup by `iss`. Required. */
  issuers: TrustedIssuer[] | Resolver<TrustedIssuer>;
  /**
   * Resource indicators (RFC 8707) this server issues tokens for: a list of absolute URIs
   * (exact string comparison) or a predicate. Every value of an ID-JAG's `resource` claim must
   * be accepted, and so must every `resource` parameter of a plain grant. Without it, an ID-JAG
   * that names a resource, or a plain grant with a `resource` parameter, is refused. Default: none.
   */
  resources?: string[] | ((resource: string) => boolean);
  /**
   * Whether an ID-JAG must name at least one resource in its `resource` claim (MCP's
   * enterprise-managed authorization sets `true`). Default `false`.
   */
  requireResource?: boolean;
  /** DPoP proofs at the token endpoint (RFC 9449 §4.3). Default: DPoP headers are ignored. */
  dpop?: DpopOptions;
}

/** Option `dpop` of {@link GrantVerifierOptions}: how DPoP proofs (RFC 9449) are checked. */
export interface DpopOptions {
  /**
   * The token endpoint's URL, which a proof's `htu` must name (compared without query and
   * fragment, after RFC 3986 §6.2.2/§6.2.3 normalisation). `https:`, or `http:` to a loopback
   * host. Required.
   */
  tokenEndpoint: string;
  /**
   * Asymmetric algorithms a proof may use (RFC 9449 §4.3 item 6). Default: every asymmetric
   * algorithm of the global `algorithms`.
   */
  algorithms?: Algorithm[];
  /**
   * Seconds a proof is accepted after its `iat` (RFC 9449 §4.3 item 11); an `iat` further ahead
   * than `clockTolerance` is refused too. Default 60.
   */
  maxAge?: number;
}

/** Options of {@link createClientAuthenticator}. */
export interface ClientAuthenticatorOptions extends CommonOptions {
  /** Registered clients: a list, or a (possibly async) lookup by client_id. Required. */
  clients: ClientRegistration[] | Resolver<ClientRegistration>;
  /**
   * `'strict'` (default): `aud` must be exactly `issuer` (RFC 10070). `'legacy'` also accepts
   * the `audiences` values and reports each such use through `onWarning`.
   */
  audienceMode?: AudienceMode;
  /**
   * Accept clients whose `client_id` is the https URL of a client ID metadata document
   * (draft-ietf-oauth-client-id-metadata-document) that `clients` does not know. `true` for the
   * defaults. Default: off.
   */
  clientIdMetadataDocuments?: boolean | ClientIdMetadataDocumentOptions;
  /** Platforms whose workload tokens authenticate clients with `federatedCredentials`. */
  federation?: FederationIssuer[];
  /** SPIFFE trust domains whose JWT-SVIDs authenticate clients with a `spiffeId`. */
  spiffe?: SpiffeOptions;
}

/** Claims of a verified assertion. Extend it through declaration merging for typed custom claims. */
export interface AssertionClaims {
  iss: string;
  sub?: string;
  aud: string | string[];
  exp: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  scope?: string;
  [claim: string]: unknown;
}

/** The protected header of a verified assertion. */
export interface AssertionHeader {
  alg: Algorithm;
  kid?: string;
  typ?: string;
  [parameter: string]: unknown;
}

/** The verified principal of an RFC 7523 §2.1 authorization grant. */
export interface GrantPrincipal {
  /** The trusted issuer (`iss`). */
  issuer: string;
  /** Who the token is for (`sub`; the issuer when an issuer with `requireSubject: false` omits it). */
  subject: string;
  /** Requested scope: the `scope` parameter, else the assertion's space-separated `scope` claim. */
  scope: string[];
  /** The assertion's `aud`. */
  audience: string | string[];
  /** Every claim of the assertion. */
  claims: AssertionClaims;
  /** The protected header. */
  header: AssertionHeader;
  /** The authenticated client, when the same request was client-authenticated. */
  clientId?: string;
  /** Which profile the assertion was verified under: its `typ` chooses (DESIGN §10). */
  profile: GrantProfile;
  /**
   * Resource indicators (RFC 8707) the token is for: the `resource` parameters when the request
   * sent any, else the ID-JAG's `resource` claim; `[]` when neither names one.
   */
  resource: string[];
  /**
   * The key of the request's verified DPoP proof (RFC 9449 §4.3): its RFC 7638 SHA-256
   * thumbprint, to bind the access token to (`cnf.jkt`, `token_type: DPoP`). Only with option
   * `dpop` and a `DPoP` header.
   */
  dpop?: { jkt: string };
}

/**
 * OAuth 2.0 Authorization Server Metadata (RFC 8414 §2) a middleware's options imply: merge it
 * into the discovery document so that what is advertised is what is enforced.
 */
export interface AuthorizationServerMetadata {
  /** RFC 8414 §2. */
  readonly grant_types_supported?: readonly string[];
  /** draft-ietf-oauth-identity-assertion-authz-grant, Resource Authorization Server Metadata. */
  readonly authorization_grant_profiles_supported?: readonly string[];
  /** RFC 8414 §2. */
  readonly token_endpoint_auth_methods_supported?: readonly string[];
  /** RFC 8414 §2. */
  readonly token_endpoint_auth_signing_alg_values_supported?: readonly string[];
  /** RFC 9449 §5.1. */
  readonly dpop_signing_alg_values_supported?: readonly string[];
  readonly [field: string]: unknown;
}

/** The verified principal of RFC 7523 §2.2 client authentication. */
export interface ClientPrincipal {
  clientId: string;
  /**
   * How the client authenticated: its own key (`private_key_jwt`), a shared secret
   * (`client_secret_jwt`), a federated workload token (`federated_jwt`) or a JWT-SVID (`spiffe_jwt`).
   */
  method: 'private_key_jwt' | 'client_secret_jwt' | 'federated_jwt' | 'spiffe_jwt';
  /** For `federated_jwt`: the platform token's issuer and subject. */
  federation?: { issuer: string; subject: string };
  /** For `spiffe_jwt`: the SVID's SPIFFE ID. */
  spiffeId?: string;
  /** For a client of a client ID metadata document: the document, as fetched. */
  metadata?: Record<string, unknown>;
  claims: AssertionClaims;
  header: AssertionHeader;
}

/** What the adapters attach as `req.jwtBearer` / `ctx.state.jwtBearer`. */
export interface JwtBearerResult {
  grant?: GrantPrincipal;
  client?: ClientPrincipal;
}

/** Context a grant verification may be given by the caller. */
export interface GrantContext {
  /**
   * The client this request was authenticated as (by `clientAssertion()` or the app's own
   * method), copied to the principal's `clientId`. An ID-JAG requires it and must name it in its
   * `client_id` claim.
   */
  clientId?: string;
}

/** Verifies RFC 7523 §2.1 authorization grants. */
export interface GrantVerifier {
  /** Verifies the request's `assertion`; rejects with an {@link OAuthError}. */
  verify(request: TokenRequest, context?: GrantContext): Promise<GrantPrincipal>;
  /** The RFC 8414 fields these options imply (frozen). */
  readonly metadata: AuthorizationServerMetadata;
}

/** Per-call options of {@link ClientAuthenticator.authenticate}. */
export interface AuthenticateOptions {
  /**
   * Whether a request without a client assertion is refused (401 `invalid_client`, reported to
   * `onError`) instead of resolving `undefined`. Default `false`.
   */
  required?: boolean;
}

/** Authenticates clients by RFC 7523 §2.2 client assertions. */
export interface ClientAuthenticator {
  /**
   * Verifies the request's `client_assertion`. Resolves `undefined` when the request carries
   * neither `client_assertion` nor `client_assertion_type` (unless `required`); rejects with an
   * {@link OAuthError}.
   */
  authenticate(request: TokenRequest, options?: AuthenticateOptions): Promise<ClientPrincipal | undefined>;
  /** The RFC 8414 fields these options imply (frozen). */
  readonly metadata: AuthorizationServerMetadata;
}

/**
 * Records used assertion identifiers. `claim` is an atomic "set if absent": `true` the first
 * time a key is seen within its TTL, `false` on a replay. It rejects when the store cannot
 * answer, which the library turns into 503 `temporarily_unavailable`.
 */
export interface ReplayStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /**
   * `true` when the store is shared between machines (such as jwt-bearer-redis): each record's
   * TTL then carries one more `clockTolerance`, a margin for clock skew between the nodes, so a
   * node whose clock lags cannot accept an assertion again once another node's record expired.
   * Default: not shared.
   */
  readonly shared?: boolean;
}
