/**
 * Client ID metadata documents, draft-ietf-oauth-client-id-metadata-document-03 (November 2026):
 * a `client_id` that is an https URL names a JSON document of the client's metadata (RFC 7591
 * §2 names), which this server fetches instead of a registration. Here the client then
 * authenticates with `private_key_jwt` against the document's `jwks_uri` or `jwks`.
 *
 * Every URL here is one the client chose (DESIGN §9, whose fault): each failure is the client's,
 * `invalid_client`, never a 503. Fetches go through the address guard of fetch.ts (draft §7.4,
 * SSRF): no redirects, special-use addresses refused after resolution and before connecting,
 * the connection made to the address checked, size and time caps, JSON only.
 *
 * The next revision of the draft is this file's change.
 */
import { LRUCache } from 'lru-cache';
import { describe } from '../describe';
import { OAuthError, isOAuthError, type ErrorCode } from '../errors';
import { isAlgorithm, type AlgorithmSpec } from '../jose/algorithms';
import { fail, isPlainObject, rejectUnknown, type ResolvedOptions } from '../options';
import { FetchError, fetchJson, systemLookup, type Lookup } from './fetch';
import { RemoteKeySets } from './jwks';
import { ASYMMETRIC_ALGORITHMS, importJwkSet, StaticKeySource, type KeyHint, type KeySource, type Selection } from './keys';
import type { Party } from './registry';
import { isLoopbackHost } from './url';
import type { Algorithm, ClientRegistration, JwkSet } from '../types';

/** Defaults of option `clientIdMetadataDocuments`. */
export const CLIENT_METADATA_DEFAULTS = {
  /** §7.5: "the recommended maximum response size for client metadata documents is 5 kilobytes". */
  maxBytes: 5 * 1024,
  timeout: 5000,
  maxAge: 3600,
  maxDocuments: 1000,
} as const;

/** Seconds a document is cached when its response says nothing about caching (§4.3). */
const DEFAULT_TTL = 300;

const OPTION_KEYS = ['allow', 'maxBytes', 'timeout', 'maxAge', 'maxDocuments', 'allowPrivateNetwork', 'lookup', 'requestAgent'] as const;

/** A registration made from a document; `metadata` is the document as fetched. */
export type DocumentClient = ClientRegistration & { metadata: Record<string, unknown> };

function refused(code: ErrorCode, detail: string, cause?: unknown): OAuthError {
  return new OAuthError(code, { use: 'client', detail, ...(cause !== undefined ? { cause } : {}) });
}

/** Seconds `headers` let a response be cached (RFC 9111 §4.2.1), before our bounds. */
export function freshnessLifetime(headers: Record<string, string | string[] | undefined>): number {
  const cc = String(headers['cache-control'] ?? '').toLowerCase();
  if (/(?:^|[\s,])(?:no-store|no-cache)(?:$|[\s,=])/.test(cc)) return 0;
  const maxAge = /(?:^|[\s,])max-age\s*=\s*"?(\d{1,10})"?/.exec(cc);
  const age = Number(headers.age ?? 0) || 0;
  if (maxAge) return Math.max(0, Number(maxAge[1]) - age);
  const expires = Date.parse(String(headers.expires ?? ''));
  const date = Date.parse(String(headers.date ?? ''));
  if (headers.expires !== undefined) return Number.isFinite(expires) && Number.isFinite(date) ? Math.max(0, (expires - date) / 1000 - age) : 0;
  return DEFAULT_TTL;
}

/**
 * Keys of a client-chosen `jwks_uri`: a failure to fetch them is the client's (`invalid_client`),
 * not the 503 of a key set the operator configured.
 */
class ClientChosenKeys implements KeySource {
  readonly algorithms: ReadonlySet<Algorithm>;
  constructor(private readonly inner: KeySource) {
    this.algorithms = inner.algorithms;
  }
  async select(spec: AlgorithmSpec, hint: KeyHint): Promise<Selection> {
    try {
      return await this.inner.select(spec, hint);
    } catch (err) {
      if (isOAuthError(err) && err.code === 'ERR_KEY_SOURCE_UNAVAILABLE') {
        const refusedAddress = err.cause instanceof FetchError && err.cause.reason === 'address';
        throw refused(
          refusedAddress ? 'ERR_CLIENT_METADATA_URL_REFUSED' : 'ERR_CLIENT_METADATA_UNAVAILABLE',
          `jwks_uri of the metadata document: ${err.detail}`,
          err.cause,
        );
      }
      throw err;
    }
  }
}

/** The documents of option `clientIdMetadataDocuments`: validation, fetch, checks and cache. */
export class ClientMetadataDocuments {
  private readonly allow: ((url: string) => boolean) | undefined;
  private readonly maxBytes: number;
  private readonly timeout: number;
  private readonly maxAge: number;
  private readonly allowPrivateNetwork: boolean;
  private readonly lookup: Lookup;
  private readonly agent: unknown;
  private readonly cache: LRUCache<string, Party<DocumentClient>>;
  private readonly inflight = new Map<string, Promise<Party<DocumentClient>>>();
  private readonly keySets: RemoteKeySets;
  /** Document fetches made, for tests and metrics. */
  fetches = 0;

  constructor(
    value: unknown,
    private readonly options: ResolvedOptions,
  ) {
    const o: Record<string, unknown> = value === true ? {} : isPlainObject(value) ? value : fail('clientIdMetadataDocuments', 'must be true or an object');
    rejectUnknown(o, OPTION_KEYS, 'clientIdMetadataDocuments');
    const num = (name: string, fallback: number, min: number): number => {
      const v = o[name];
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`clientIdMetadataDocuments.${name}`, `must be an integer ≥ ${min}`);
      return v;
    };
    if (o.allow !== undefined && typeof o.allow !== 'function') fail('clientIdMetadataDocuments.allow', 'must be a function (url) => boolean');
    if (o.lookup !== undefined && typeof o.lookup !== 'function')
      fail('clientIdMetadataDocuments.lookup', 'must be a function (hostname) => Promise<{ address, family }[]>');
    if (o.allowPrivateNetwork !== undefined && typeof o.allowPrivateNetwork !== 'boolean')
      fail('clientIdMetadataDocuments.allowPrivateNetwork', 'must be a boolean');
    if (o.requestAgent !== undefined && (typeof o.requestAgent !== 'object' || o.requestAgent === null))
      fail('clientIdMetadataDocuments.requestAgent', 'must be an https.Agent');
    this.allow = o.allow as ((url: string) => boolean) | undefined;
    this.maxBytes = num('maxBytes', CLIENT_METADATA_DEFAULTS.maxBytes, 1);
    this.timeout = num('timeout', CLIENT_METADATA_DEFAULTS.timeout, 1);
    this.maxAge = num('maxAge', CLIENT_METADATA_DEFAULTS.maxAge, 0);
    this.allowPrivateNetwork = o.allowPrivateNetwork === true;
    this.lookup = (o.lookup as Lookup | undefined) ?? systemLookup;
    this.agent = o.requestAgent ?? options.jwks.requestAgent;
    this.cache = new LRUCache({ max: num('maxDocuments', CLIENT_METADATA_DEFAULTS.maxDocuments, 1) });
    const guard = { lookup: this.lookup, allowPrivateNetwork: this.allowPrivateNetwork };
    // Key sets named by documents: the same cache, single flight, cooldown and bounds as any
    // jwksUri, fetched through the address guard.
    this.keySets = new RemoteKeySets({ ...options.jwks, timeout: this.timeout }, options.now, 'client', async (uri) => {
      this.checkUrl(uri, 'jwks_uri', false);
      return (
        await fetchJson(uri, {
          timeout: this.timeout,
          maxBytes: options.jwks.maxResponseBytes,
          agent: this.agent,
          guard,
          accept: 'application/jwk-set+json, application/json',
        })
      ).body;
    });
  }

  /**
   * Whether `clientId` is a client identifier URL of draft §3 that may be fetched: https (http
   * to a loopback host with `allowPrivateNetwork`), a path, no dot segments, no fragment, no
   * user or password, already in its normal form, and accepted by `allow`.
   */
  isDocumentUrl(clientId: string): boolean {
    try {
      this.checkUrl(clientId, 'client_id', true);
      return true;
    } catch {
      return false;
    }
  }

  private checkUrl(raw: string, what: string, document: boolean): void {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw refused('ERR_CLIENT_METADATA_URL_REFUSED', `${what} is not a URL`);
    }
    const scheme = url.protocol === 'https:' || (this.allowPrivateNetwork && url.protocol === 'http:' && isLoopbackHost(url.hostname));
    // The normal form equals what was sent: WHATWG URL parsing removes "." and ".." segments
    // (also percent-encoded), so any such segment makes the two differ.
    if (!scheme || url.href !== raw) throw refused('ERR_CLIENT_METADATA_URL_REFUSED', `${what} is not an https URL in normal form`);
    if (url.username !== '' || url.password !== '' || raw.includes('#'))
      throw refused('ERR_CLIENT_METADATA_URL_REFUSED', `${what} has a user, password or fragment`);
    if (document && url.pathname === '/') throw refused('ERR_CLIENT_METADATA_URL_REFUSED', `${what} has no path`);
    if (document && this.allow && this.allow(raw) !== true)
      throw refused('ERR_CLIENT_METADATA_URL_REFUSED', `${what} is not allowed by clientIdMetadataDocuments.allow`);
  }

  /**
   * The client of `clientId` when it names a document: from the cache (the hot path, no URL
   * parsing), else fetched. `undefined` when `clientId` is not a document URL this server fetches.
   */
  find(clientId: string): Party<DocumentClient> | Promise<Party<DocumentClient>> | undefined {
    const cached = this.cache.get(clientId);
    if (cached) return cached;
    return this.isDocumentUrl(clientId) ? this.resolve(clientId) : undefined;
  }

  /** The client of the document at `url`, from the cache or fetched (one fetch for concurrent callers). */
  resolve(url: string): Party<DocumentClient> | Promise<Party<DocumentClient>> {
    const cached = this.cache.get(url);
    if (cached) return cached;
    let pending = this.inflight.get(url);
    if (!pending) {
      pending = this.load(url).finally(() => this.inflight.delete(url));
      this.inflight.set(url, pending);
    }
    return pending;
  }

  private async load(url: string): Promise<Party<DocumentClient>> {
    this.checkUrl(url, 'client_id', true);
    this.fetches += 1;
    let fetched;
    try {
      fetched = await fetchJson(url, {
        timeout: this.timeout,
        maxBytes: this.maxBytes,
        agent: this.agent,
        guard: { lookup: this.lookup, allowPrivateNetwork: this.allowPrivateNetwork },
      });
    } catch (err) {
      const address = err instanceof FetchError && err.reason === 'address';
      throw refused(
        address ? 'ERR_CLIENT_METADATA_URL_REFUSED' : 'ERR_CLIENT_METADATA_UNAVAILABLE',
        `metadata document ${url}: ${(err as Error).message}`,
        err,
      );
    }
    const party = this.compile(url, fetched.body);
    // §4.3: HTTP caching rules within our bounds; errors and invalid documents are never cached.
    const ttl = Math.min(freshnessLifetime(fetched.headers), this.maxAge);
    if (ttl > 0) this.cache.set(url, party, { ttl: ttl * 1000 });
    return party;
  }

  /** The document rules of draft §4.1 and RFC 7591 §2 for a `private_key_jwt` client. */
  private compile(url: string, body: unknown): Party<DocumentClient> {
    const invalid = (detail: string): never => {
      throw refused('ERR_CLIENT_METADATA_INVALID', `metadata document ${url}: ${detail}`);
    };
    if (!isPlainObject(body)) invalid('is not a JSON object');
    const doc = body as Record<string, unknown>;
    // §4.1: client_id equals the document's URL, simple string comparison (RFC 3986 §6.2.1).
    if (doc.client_id !== url) invalid('its client_id is not the URL of the document');
    // §4.1: no shared secret can be established with a document.
    if (doc.client_secret !== undefined || doc.client_secret_expires_at !== undefined) invalid('declares a client_secret');
    // §4.1 forbids the secret-based methods; RFC 7591 §2 makes an absent method
    // client_secret_basic. So only a document that declares private_key_jwt authenticates here.
    if (doc.token_endpoint_auth_method !== 'private_key_jwt') {
      invalid(`token_endpoint_auth_method ${describe(doc.token_endpoint_auth_method)} is not private_key_jwt`);
    }
    // RFC 7591 §2: jwks_uri and jwks MUST NOT both be present.
    if ((doc.jwks_uri === undefined) === (doc.jwks === undefined)) invalid('must have exactly one of jwks_uri, jwks');
    let source: KeySource;
    if (doc.jwks_uri !== undefined) {
      if (typeof doc.jwks_uri !== 'string') invalid('jwks_uri is not a string');
      const uri = doc.jwks_uri as string;
      try {
        this.checkUrl(uri, 'jwks_uri', false);
      } catch {
        invalid('jwks_uri is not an https URL in normal form');
      }
      source = new ClientChosenKeys(this.keySets.get(uri));
    } else {
      const set = doc.jwks as JwkSet;
      if (!isPlainObject(set) || !Array.isArray(set.keys) || set.keys.length > this.options.jwks.maxKeys)
        invalid(`jwks is not a JWK Set of at most ${this.options.jwks.maxKeys} keys`);
      try {
        source = new StaticKeySource(importJwkSet(set, 'jwks'));
      } catch (err) {
        invalid((err as Error).message);
      }
    }
    // OpenID Connect Registration §2: token_endpoint_auth_signing_alg narrows what the client signs with.
    const declared = doc.token_endpoint_auth_signing_alg;
    if (declared !== undefined && !isAlgorithm(declared)) invalid('token_endpoint_auth_signing_alg is not a supported algorithm');
    const algorithms = new Set<Algorithm>();
    for (const alg of this.options.algorithms) {
      if (ASYMMETRIC_ALGORITHMS.has(alg) && source!.algorithms.has(alg) && (declared === undefined || declared === alg)) algorithms.add(alg);
    }
    const registration: DocumentClient = { clientId: url, metadata: doc };
    return { id: url, registration, source: source!, algorithms, symmetric: false, allowReuse: false, maxLifetime: this.options.maxLifetime };
  }
}
