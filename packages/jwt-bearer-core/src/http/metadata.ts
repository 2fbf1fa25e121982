import { JWT_BEARER_GRANT_TYPE } from '../constants';
import type { Algorithm, AuthorizationServerMetadata } from '../types';

/*
 * OAuth 2.0 Authorization Server Metadata (RFC 8414 §2) derived from a verifier's own options, so
 * that a discovery document built from it advertises exactly what the middleware enforces.
 */

/** The grant profile identifier of ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant, RAS metadata). */
export const ID_JAG_GRANT_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

/** Client authentication methods of RFC 7523 §2.2 as RFC 8414 / OpenID Connect name them. */
export type AssertionAuthMethod = 'private_key_jwt' | 'client_secret_jwt';

function frozen(fields: Record<string, readonly string[] | undefined>): AuthorizationServerMetadata {
  const out: Record<string, readonly string[]> = {};
  for (const [name, values] of Object.entries(fields)) {
    if (values !== undefined && values.length > 0) out[name] = Object.freeze([...values]);
  }
  return Object.freeze(out);
}

/**
 * The metadata of a grant verifier: `grant_types_supported` (the jwt-bearer URN),
 * `authorization_grant_profiles_supported` (the ID-JAG profile when `idJag`) and
 * `dpop_signing_alg_values_supported` (RFC 9449 §5.1) when DPoP proofs are checked.
 */
export function grantMetadata(input: { idJag: boolean; dpopAlgorithms?: readonly Algorithm[] }): AuthorizationServerMetadata {
  return frozen({
    grant_types_supported: [JWT_BEARER_GRANT_TYPE],
    authorization_grant_profiles_supported: input.idJag ? [ID_JAG_GRANT_PROFILE] : undefined,
    dpop_signing_alg_values_supported: input.dpopAlgorithms,
  });
}

/**
 * The metadata of a client authenticator: `token_endpoint_auth_methods_supported` and
 * `token_endpoint_auth_signing_alg_values_supported` (RFC 8414 §2), in a stable order.
 */
export function clientMetadata(input: {
  methods: ReadonlySet<AssertionAuthMethod>;
  algorithms: ReadonlySet<Algorithm>;
  order: readonly Algorithm[];
}): AuthorizationServerMetadata {
  const methods = (['private_key_jwt', 'client_secret_jwt'] as const).filter((m) => input.methods.has(m));
  return frozen({
    token_endpoint_auth_methods_supported: methods,
    token_endpoint_auth_signing_alg_values_supported: input.order.filter((a) => input.algorithms.has(a)),
  });
}

/**
 * Merges metadata objects into one discovery document: array fields are united (first
 * appearance keeps its place, no duplicates), other fields are taken from the last object that
 * has them. For the app's own document: `mergeMetadata({ issuer, token_endpoint, … },
 * grant.metadata, clients.metadata, { token_endpoint_auth_methods_supported: ['client_secret_basic'] })`.
 */
export function mergeMetadata(...parts: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    if (part === undefined || part === null) continue;
    for (const [name, value] of Object.entries(part)) {
      const prior = out[name];
      if (Array.isArray(value) && Array.isArray(prior)) {
        const united = [...prior];
        for (const v of value) if (!united.includes(v)) united.push(v);
        out[name] = united;
      } else {
        out[name] = Array.isArray(value) ? [...value] : value;
      }
    }
  }
  return out;
}
