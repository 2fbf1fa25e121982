/**
 * The Identity Assertion JWT Authorization Grant (ID-JAG) profile of RFC 7523 §2.1:
 * draft-ietf-oauth-identity-assertion-authz-grant-04 (the working group's text; sections cited
 * by name: "ID-JAG Claims", "Access Token Request / Processing Rules", "Resource Authorization
 * Server Metadata", "Proof-of-Possession During ID-JAG Exchange"), as the MCP
 * enterprise-managed-authorization extension uses it. The next revision is this file's change.
 *
 * An enterprise IdP signs an ID-JAG (`typ: oauth-id-jag+jwt`) for one of its users, naming this
 * server as the sole `aud` and the client that will present it in `client_id`; the client sends
 * it as a jwt-bearer grant, authenticated as itself.
 */
import { OAuthError } from '../errors';
import { challengeHeaders } from '../http/request';
import { fail, type ResolvedOptions } from '../options';
import { reject } from '../verify/pipeline';
import type { GrantVerifierOptions, TokenRequest } from '../types';

/** The `typ` of an ID-JAG ("ID-JAG Claims"), for issuers and tests that mint one. */
export const ID_JAG_TYPE = 'oauth-id-jag+jwt';

/** `typ` values of an ID-JAG, lower case: RFC 7515 §4.1.9 makes the `application/` prefix optional. */
export const ID_JAG_TYPES: ReadonlySet<string> = new Set(['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt']);

/** Whether a header's `typ` makes the assertion an ID-JAG (DESIGN §10: the `typ` chooses the profile). */
export function isIdJag(header: Record<string, unknown>): boolean {
  const typ = header.typ;
  return typeof typ === 'string' && ID_JAG_TYPES.has(typ.toLowerCase());
}

/** The checked `resources` / `requireResource` options. */
export interface ResourcePolicy {
  /** Whether a resource indicator is served here; `undefined` without option `resources`. */
  readonly accepts: ((resource: string) => boolean) | undefined;
  readonly requireResource: boolean;
}

/** Validates options `resources` and `requireResource`; throws a `TypeError` naming the option. */
export function resolveResourcePolicy(options: GrantVerifierOptions): ResourcePolicy {
  const resources = options.resources;
  let accepts: ResourcePolicy['accepts'];
  if (typeof resources === 'function') {
    accepts = (r) => resources(r) === true;
  } else if (resources !== undefined) {
    if (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string' && resourceSyntaxOk(r))) {
      fail('resources', 'must be an array of absolute URIs without a fragment (RFC 8707 §2), or a function (resource) => boolean');
    }
    const set = new Set(resources);
    accepts = (r) => set.has(r);
  }
  if (options.requireResource !== undefined && typeof options.requireResource !== 'boolean') fail('requireResource', 'must be a boolean');
  return Object.freeze({ accepts, requireResource: options.requireResource === true });
}

/** RFC 8707 §2: an absolute URI, without a fragment. */
function resourceSyntaxOk(value: string): boolean {
  if (value.length === 0 || value.length > 2048 || value.includes('#')) return false;
  return /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/.test(value) && URL.canParse(value);
}

/**
 * The request's `resource` parameters (RFC 8707 §2: the one token-request parameter that may
 * repeat). Each must be an absolute URI without a fragment, else `invalid_target`.
 */
export function resourceParameters(body: Record<string, unknown>): string[] {
  const value = body.resource;
  if (value === undefined || value === null || value === '') return [];
  const values = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(values) || values.length > 32 || !values.every((v) => typeof v === 'string')) {
    reject('ERR_TARGET_INVALID', 'grant', 'resource parameter is not one or more strings (at most 32)');
  }
  for (const v of values as string[]) {
    if (!resourceSyntaxOk(v)) reject('ERR_TARGET_INVALID', 'grant', 'a resource parameter is not an absolute URI without a fragment');
  }
  return [...new Set(values as string[])];
}

/** "Access Token Request": the client must have authenticated (401 `invalid_client` otherwise). */
export function requireAuthenticatedClient(clientId: string | undefined, request: TokenRequest, options: ResolvedOptions): string {
  if (clientId !== undefined) return clientId;
  throw new OAuthError('ERR_GRANT_CLIENT_AUTH_REQUIRED', {
    detail: 'an ID-JAG was presented without client authentication',
    headers: challengeHeaders(request, options.issuer),
  });
}

/** "Processing Rules": `aud` is this server's issuer identifier as its sole value (string or one-element array). */
export function checkSoleAudience(aud: unknown, issuer: string): void {
  if (aud === issuer) return;
  if (aud === undefined) reject('ERR_CLAIM_MISSING', 'grant', 'claim "aud" is missing');
  if (Array.isArray(aud) && aud.length === 1 && aud[0] === issuer) return;
  if (typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
    reject('ERR_CLAIM_INVALID', 'grant', 'claim "aud" is not a string or an array of strings');
  }
  reject('ERR_AUDIENCE_INVALID', 'grant', "ID-JAG aud is not exactly this server's issuer identifier");
}

/** What the ID-JAG's own claims allow, after {@link checkIdJagClaims}. */
export interface IdJagGrant {
  /** The `resource` claim's values (RFC 8707 §2), each accepted by option `resources`. */
  resources: string[];
  /** `cnf.jkt` (RFC 7800 §3.1, RFC 9449 §6.1), when the ID-JAG is bound to a key. */
  jkt: string | undefined;
}

/**
 * "ID-JAG Claims" and "Processing Rules": `client_id` names the authenticated client, `iat`
 * present, `resource` within the resources served here, `cnf` only as a `jkt`. Every failure is
 * `invalid_grant`.
 */
export function checkIdJagClaims(payload: Record<string, unknown>, clientId: string, policy: ResourcePolicy): IdJagGrant {
  const claimed = payload.client_id;
  if (claimed === undefined) reject('ERR_CLAIM_MISSING', 'grant', 'claim "client_id" is missing');
  if (typeof claimed !== 'string' || claimed.length === 0) reject('ERR_CLAIM_INVALID', 'grant', 'claim "client_id" is not a non-empty string');
  if (claimed !== clientId) reject('ERR_GRANT_CLIENT_MISMATCH', 'grant', 'ID-JAG client_id is not the authenticated client');
  if (payload.iat === undefined) reject('ERR_CLAIM_MISSING', 'grant', 'claim "iat" is missing');

  const resource = payload.resource;
  let resources: string[] = [];
  if (resource !== undefined) {
    const values = typeof resource === 'string' ? [resource] : resource;
    if (!Array.isArray(values) || values.length === 0 || values.length > 32 || !values.every((v) => typeof v === 'string' && resourceSyntaxOk(v))) {
      reject('ERR_CLAIM_INVALID', 'grant', 'claim "resource" is not one or more absolute URIs without a fragment');
    }
    resources = [...new Set(values as string[])];
    if (!policy.accepts) reject('ERR_RESOURCE_NOT_ALLOWED', 'grant', 'the ID-JAG names a resource and option "resources" is not configured');
    for (const r of resources) if (!policy.accepts(r)) reject('ERR_RESOURCE_NOT_ALLOWED', 'grant', 'the ID-JAG names a resource that is not served here');
  }
  if (resources.length === 0 && policy.requireResource) reject('ERR_RESOURCE_REQUIRED', 'grant', 'the ID-JAG has no resource claim and requireResource is set');

  let jkt: string | undefined;
  const cnf = payload.cnf;
  if (cnf !== undefined) {
    // A confirmation method we cannot check must not be silently dropped: the IdP meant the
    // grant for the holder of that key only.
    if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) reject('ERR_CLAIM_INVALID', 'grant', 'claim "cnf" is not an object');
    const value = (cnf as Record<string, unknown>).jkt;
    if (typeof value !== 'string' || value.length === 0) reject('ERR_CONFIRMATION_UNSUPPORTED', 'grant', 'cnf has no jkt (only DPoP key binding is supported)');
    jkt = value;
  }
  return { resources, jkt };
}
