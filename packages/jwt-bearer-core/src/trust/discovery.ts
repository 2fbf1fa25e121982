/**
 * The `discovery` key source: an issuer's keys found through its published metadata, OpenID
 * Connect Discovery 1.0 §4 (`{issuer}/.well-known/openid-configuration`), then RFC 8414 §3.1
 * (`/.well-known/oauth-authorization-server`, inserted between host and path for an issuer with
 * a path). The document is a URL the operator configured: every failure is the server's, 503.
 */
import { describe } from '../describe';
import { OAuthError } from '../errors';
import type { AlgorithmSpec } from '../jose/algorithms';
import type { ResolvedOptions } from '../options';
import { fetchJson, FetchError } from './fetch';
import { ASYMMETRIC_ALGORITHMS, type KeyHint, type KeySource, type Selection } from './keys';
import { configuredUrl } from './url';
import type { Algorithm } from '../types';

/**
 * The document URLs to try for `discovery` of `issuer`, in order; throws a `TypeError` naming
 * `option` when they break the URL rule.
 */
export function discoveryUrls(value: unknown, issuer: string, option: string): string[] {
  if (typeof value === 'string') return [configuredUrl(value, option).href];
  if (value !== true) throw new TypeError(`jwt-bearer: option "${option}" must be true or a URL string`);
  let url: URL;
  try {
    url = configuredUrl(issuer, option);
  } catch {
    throw new TypeError(`jwt-bearer: option "${option}" is true, but the issuer is not an https: URL (http: only to a loopback host) to discover from`);
  }
  // RFC 8414 §2: an issuer identifier has no query or fragment.
  if (url.search !== '' || url.hash !== '' || issuer.includes('#') || issuer.includes('?')) {
    throw new TypeError(`jwt-bearer: option "${option}" is true, but the issuer has a query or fragment`);
  }
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [
    // OpenID Connect Discovery 1.0 §4: the issuer, any trailing "/" removed, then the well-known path.
    `${url.origin}${path}/.well-known/openid-configuration`,
    // RFC 8414 §3.1: the well-known path between the host and the issuer's path.
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}

/** Keys of an issuer found through its discovery document's `jwks_uri`. */
export class DiscoveryKeySource implements KeySource {
  readonly algorithms: ReadonlySet<Algorithm> = ASYMMETRIC_ALGORITHMS;
  private jwksUri: string | undefined;
  private fetchedAt = -Infinity;
  private lastAttempt = -Infinity;
  private lastFailed = false;
  private inflight: Promise<void> | undefined;
  /** Document fetches made (each try of each well-known URL counts once), for tests and metrics. */
  fetches = 0;

  constructor(
    readonly issuer: string,
    readonly urls: readonly string[],
    private readonly options: ResolvedOptions,
  ) {}

  async select(spec: AlgorithmSpec, hint: KeyHint): Promise<Selection> {
    const t = this.options.now();
    const { cacheMaxAge, cooldown } = this.options.jwks;
    if (this.jwksUri === undefined || t - this.fetchedAt > cacheMaxAge * 1000) await this.refresh(t, false);
    let uri = this.jwksUri!;
    let selection = await this.options.remoteKeySets.get(uri).select(spec, hint);
    if (selection.miss && (this.inflight !== undefined || t - this.lastAttempt >= cooldown * 1000)) {
      // An unknown key: perhaps the issuer moved its key set. One document fetch per cooldown.
      await this.refresh(t, true);
      if (this.jwksUri !== uri) {
        uri = this.jwksUri!;
        selection = await this.options.remoteKeySets.get(uri).select(spec, hint);
      }
    }
    return selection;
  }

  private async refresh(t: number, forMiss: boolean): Promise<void> {
    if (this.inflight === undefined) {
      const coolingDown = t - this.lastAttempt < this.options.jwks.cooldown * 1000;
      if (coolingDown && (this.lastFailed || forMiss)) {
        if (this.jwksUri === undefined) throw this.unavailable('discovery failed and is cooling down');
        return;
      }
      this.lastAttempt = t;
      this.inflight = this.fetch().finally(() => {
        this.inflight = undefined;
      });
    }
    try {
      await this.inflight;
    } catch (err) {
      const { cacheMaxAge, staleIfError } = this.options.jwks;
      // A known jwks_uri stays in use through the stale-if-error window, as a key set does.
      if (this.jwksUri === undefined || this.options.now() - this.fetchedAt > (cacheMaxAge + staleIfError) * 1000) {
        throw this.unavailable((err as Error).message, err);
      }
    }
  }

  private async fetch(): Promise<void> {
    let lastError: unknown;
    try {
      for (const url of this.urls) {
        this.fetches += 1;
        let body: unknown;
        try {
          ({ body } = await fetchJson(url, {
            timeout: this.options.jwks.timeout,
            maxBytes: this.options.jwks.maxResponseBytes,
            agent: this.options.jwks.requestAgent,
            headers: this.options.jwks.requestHeaders,
          }));
        } catch (err) {
          lastError = err;
          // Only a document that is not there sends us to the next well-known location.
          if (err instanceof FetchError && err.reason === 'status') continue;
          throw err;
        }
        this.jwksUri = this.read(url, body);
        this.fetchedAt = this.options.now();
        this.lastFailed = false;
        return;
      }
      throw lastError;
    } catch (err) {
      this.lastFailed = true;
      throw err;
    }
  }

  /** The checks of RFC 8414 §3.3 / OpenID Connect Discovery §4.3, then the URL rule on `jwks_uri`. */
  private read(url: string, body: unknown): string {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`${url}: document is not a JSON object`);
    const doc = body as Record<string, unknown>;
    if (doc.issuer !== this.issuer) {
      throw new Error(`${url}: document issuer ${describe(doc.issuer)} is not the trusted issuer`);
    }
    try {
      configuredUrl(doc.jwks_uri, 'jwks_uri');
      return doc.jwks_uri as string;
    } catch {
      throw new Error(`${url}: jwks_uri is missing or not an https: URL`);
    }
  }

  private unavailable(detail: string, cause?: unknown): OAuthError {
    const retryAfter = (this.lastAttempt + this.options.jwks.cooldown * 1000 - this.options.now()) / 1000;
    return new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { use: this.options.use, detail: `discovery of ${this.issuer}: ${detail}`, cause, retryAfter });
  }
}

const sources = new WeakMap<object, Map<string, DiscoveryKeySource>>();

/**
 * The discovery source of `issuer` at `urls`, one per verifier / authenticator and document, so
 * registrations that name the same issuer share its cache, single flight and cooldown.
 */
export function discoverySource(issuer: string, urls: readonly string[], options: ResolvedOptions): DiscoveryKeySource {
  let byKey = sources.get(options.remoteKeySets);
  if (!byKey) {
    byKey = new Map();
    sources.set(options.remoteKeySets, byKey);
  }
  const key = `${issuer}\u0000${urls.join('\u0000')}`;
  let source = byKey.get(key);
  if (!source) {
    source = new DiscoveryKeySource(issuer, urls, options);
    // Bounded like the key sets: a lookup function cannot grow this without limit.
    if (byKey.size >= options.jwks.maxKeySets) byKey.delete(byKey.keys().next().value!);
    byKey.set(key, source);
  }
  return source;
}
