/**
 * SPIFFE JWT-SVID client authentication, draft-ietf-oauth-spiffe-client-auth-02 (June 2026),
 * §4 "JWT-SVID": `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-spiffe`
 * with a JWT-SVID (SPIFFE JWT-SVID standard) as `client_assertion`. Its keys come only from the
 * trust domain's SPIFFE bundle (SPIFFE Trust Domain and Bundle standard §4: a JWK Set whose
 * JWT-SVID keys have `use: "jwt-svid"`, with `spiffe_sequence` and `spiffe_refresh_hint`), never
 * from the token. The next revision of the draft is this file's change.
 */
import type { ResolvedOptions } from '../options';
import { fail, isPlainObject, nonEmptyString } from '../options';
import { fetchJson } from './fetch';
import { RemoteKeySets } from './jwks';
import { importJwkSet, StaticKeySource, type KeySource } from './keys';
import type { Party } from './registry';
import { configuredUrl } from './url';
import type { Algorithm, ClientRegistration, JwkSet, SpiffeOptions } from '../types';

/** `client_assertion_type` of a JWT-SVID (draft-ietf-oauth-spiffe-client-auth §4.1). */
export const SPIFFE_CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';

/** JWT-SVID §2.1: the algorithms a JWT-SVID may be signed with. */
const SVID_ALGORITHMS: readonly Algorithm[] = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

// SPIFFE-ID standard §2: lower-case trust domain of [a-z0-9.-_], path segments of
// [A-Za-z0-9.-_], none empty, none "." or "..", no trailing "/", no query, fragment, port or user.
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** SPIFFE-ID standard §2.3: at most 2048 bytes. */
const MAX_SPIFFE_ID = 2048;

/** The parts of a SPIFFE ID, or `undefined` when `id` is not one. */
export function parseSpiffeId(id: string): { trustDomain: string; path: string } | undefined {
  if (id.length > MAX_SPIFFE_ID || !id.startsWith('spiffe://')) return undefined;
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return undefined;
  if (
    path !== '' &&
    !path
      .slice(1)
      .split('/')
      .every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')
  )
    return undefined;
  return { trustDomain, path };
}

/** Validates `spiffeId` of a client registration; throws a `TypeError` naming `where`. */
export function checkSpiffeId(value: unknown, where: string): void {
  const id = nonEmptyString(value, where);
  const parsed = parseSpiffeId(id);
  // A workload, not a whole trust domain: an ID without a path names the domain itself.
  if (!parsed || parsed.path === '') fail(where, 'must be a SPIFFE ID of a workload: spiffe://trust-domain/path');
}

/** A SPIFFE bundle as a plain JWK Set of its JWT-SVID keys (`use: "jwt-svid"` read as a signature key). */
export function bundleKeys(bundle: unknown): JwkSet {
  const keys = isPlainObject(bundle) && Array.isArray(bundle.keys) ? bundle.keys : [];
  return {
    keys: keys
      .filter((k: unknown) => isPlainObject(k) && k.use === 'jwt-svid')
      .map((k: Record<string, unknown>) => ({ ...k, use: 'sig' }) as JwkSet['keys'][number]),
  };
}

/** The configured trust domains, their key sources, and the clients by SPIFFE ID. */
export class SpiffeTrust {
  private readonly domains = new Map<string, Party<{ trustDomain: string }>>();
  /** SPIFFE ID → client_id, for a `clients` list; a lookup function is asked by client_id. */
  private readonly bySpiffeId: Map<string, string> | undefined;

  constructor(input: unknown, clients: unknown, options: ResolvedOptions) {
    if (!isPlainObject(input)) fail('spiffe', 'must be an object { trustDomains }');
    for (const key of Object.keys(input)) if (key !== 'trustDomains') fail('spiffe', `has unknown field "${key}" (known: trustDomains)`);
    const list = (input as unknown as SpiffeOptions).trustDomains;
    if (!Array.isArray(list) || list.length === 0) fail('spiffe.trustDomains', 'must be a non-empty array');
    const bundles = new RemoteKeySets(options.jwks, options.now, 'client', async (uri) => {
      const { body } = await fetchJson(uri, {
        timeout: options.jwks.timeout,
        maxBytes: options.jwks.maxResponseBytes,
        agent: options.jwks.requestAgent,
        headers: options.jwks.requestHeaders,
      });
      return bundleKeys(body);
    });
    const algorithms = new Set(SVID_ALGORITHMS.filter((a) => options.algorithms.has(a)));
    if (algorithms.size === 0) fail('spiffe', 'is configured, but the global "algorithms" allow none of the JWT-SVID algorithms (RS, PS, ES)');
    list.forEach((d: unknown, i) => {
      const at = `spiffe.trustDomains[${i}]`;
      if (!isPlainObject(d)) fail(at, 'must be an object');
      for (const key of Object.keys(d))
        if (!['trustDomain', 'bundleEndpoint', 'jwks'].includes(key)) fail(at, `has unknown field "${key}" (known: trustDomain, bundleEndpoint, jwks)`);
      const name = nonEmptyString(d.trustDomain, `${at}.trustDomain`);
      if (!TRUST_DOMAIN.test(name)) fail(`${at}.trustDomain`, 'must be a trust domain name (lower-case letters, digits, ".", "-", "_")');
      if (this.domains.has(name)) fail(`${at}.trustDomain`, `repeats ${JSON.stringify(name)}`);
      if ((d.bundleEndpoint === undefined) === (d.jwks === undefined)) fail(at, 'must have exactly one of bundleEndpoint, jwks');
      let source: KeySource;
      if (d.bundleEndpoint !== undefined) {
        source = bundles.get(configuredUrl(d.bundleEndpoint, `${at}.bundleEndpoint`).href);
      } else {
        source = new StaticKeySource(importJwkSet(bundleKeys(d.jwks), `jwt-bearer: option "${at}.jwks" (its keys with use "jwt-svid")`));
      }
      this.domains.set(name, {
        id: `spiffe://${name}`,
        registration: { trustDomain: name },
        source,
        algorithms,
        symmetric: false,
        allowReuse: false,
        maxLifetime: options.maxLifetime,
      });
    });
    if (Array.isArray(clients)) {
      this.bySpiffeId = new Map();
      for (const c of clients as ClientRegistration[]) {
        if (isPlainObject(c) && typeof c.spiffeId === 'string') this.bySpiffeId.set(c.spiffeId, c.clientId);
      }
    }
  }

  /** The key source of a trust domain, `undefined` when it is not trusted. */
  domain(trustDomain: string): Party<{ trustDomain: string }> | undefined {
    return this.domains.get(trustDomain);
  }

  /**
   * The client_id to look up for a SPIFFE ID: the `client_id` parameter when sent, else the
   * registered client with that `spiffeId` (a list), else the SPIFFE ID itself (a lookup function).
   */
  clientIdFor(spiffeId: string, clientIdParam: string | undefined): string | undefined {
    if (clientIdParam !== undefined) return clientIdParam;
    return this.bySpiffeId ? this.bySpiffeId.get(spiffeId) : spiffeId;
  }
}
