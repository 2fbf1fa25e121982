import * as http from 'node:http';
import * as https from 'node:https';
import { JwksClient } from 'jwks-rsa';
import { LRUCache } from 'lru-cache';
import type { AlgorithmSpec } from '../jose/algorithms';
import { OAuthError, type AssertionUse } from '../errors';
import { ASYMMETRIC_ALGORITHMS, importJwk, selectKeys, type KeyEntry, type KeyHint, type KeySource, type Selection } from './keys';
import type { Algorithm, JwksOptions } from '../types';

/** {@link JwksOptions} with every default filled in. */
export type ResolvedJwksOptions = Required<Omit<JwksOptions, 'requestHeaders' | 'requestAgent'>> &
  Pick<JwksOptions, 'requestHeaders' | 'requestAgent'>;

export const JWKS_DEFAULTS = {
  timeout: 5000,
  cacheMaxAge: 600,
  cooldown: 30,
  staleIfError: 3600,
  maxResponseBytes: 512 * 1024,
  maxKeys: 100,
  maxKeySets: 1000,
} as const;

/** Thrown by the fetch when the endpoint is unreachable or answers something that is not a key set. */
class JwksFetchError extends Error {
  override name = 'JwksFetchError';
}

/**
 * GET with a deadline on the whole exchange (not only socket idleness, so a server that drips a
 * byte a second still fails) and a cap on the body, so a key set endpoint cannot hold a request
 * or memory hostage.
 */
function boundedFetch(uri: string, options: ResolvedJwksOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      reject(new JwksFetchError('invalid JWKS URI'));
      return;
    }
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.get(
      url,
      {
        headers: { accept: 'application/json, application/jwk-set+json', ...options.requestHeaders },
        ...(options.requestAgent ? { agent: options.requestAgent as http.Agent } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          fail(new JwksFetchError(`JWKS endpoint answered HTTP ${status}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxResponseBytes) {
            fail(new JwksFetchError(`JWKS response exceeds ${options.maxResponseBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (done) return;
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            finish();
            resolve(body);
          } catch {
            fail(new JwksFetchError('JWKS response is not JSON'));
          }
        });
        res.on('error', (err) => fail(err));
      },
    );
    let done = false;
    const timer = setTimeout(() => fail(new JwksFetchError(`JWKS fetch took longer than ${options.timeout} ms`)), options.timeout);
    timer.unref();
    function finish(): void {
      done = true;
      clearTimeout(timer);
    }
    function fail(err: Error): void {
      if (done) return;
      finish();
      req.destroy();
      reject(err);
    }
    req.on('error', (err) => fail(err));
  });
}

/** Fetches a key set document and resolves its parsed JSON (an object with a `keys` array). */
export type KeySetFetcher = (uri: string) => Promise<unknown>;

/**
 * One remote JWK Set. jwks-rsa performs the fetch (through our bounded fetcher); the cache, the
 * single flight, the cooldown on unknown `kid`s and the stale-if-error window are ours, because
 * jwks-rsa caches neither misses nor failures and its rate limiter queues callers for seconds.
 */
export class RemoteKeySet implements KeySource {
  readonly algorithms: ReadonlySet<Algorithm> = ASYMMETRIC_ALGORITHMS;
  private readonly client: JwksClient;
  private entries: KeyEntry[] | undefined;
  private fetchedAt = -Infinity;
  private lastAttempt = -Infinity;
  private lastFailed = false;
  private inflight: Promise<void> | undefined;
  /** Fetches made, for tests and metrics. */
  fetches = 0;

  constructor(
    readonly uri: string,
    private readonly options: ResolvedJwksOptions,
    private readonly now: () => number,
    private readonly use: AssertionUse,
    /** Called on every use and when keys arrive, so the owner's LRU holds every set that holds keys. */
    private readonly onUse: (set: RemoteKeySet) => void = () => undefined,
    /** Fetches the key set's JSON; default: the bounded fetch above. */
    fetcher: KeySetFetcher = (u) => boundedFetch(u, options),
  ) {
    this.client = new JwksClient({
      jwksUri: uri,
      cache: false,
      rateLimit: false,
      timeout: options.timeout,
      fetcher: fetcher as (u: string) => Promise<never>,
    });
  }

  async select(spec: AlgorithmSpec, hint: KeyHint): Promise<Selection> {
    this.onUse(this);
    const t = this.now();
    if (this.entries === undefined || t - this.fetchedAt > this.options.cacheMaxAge * 1000) {
      await this.refresh(t);
    }
    let selection = selectKeys(this.usable(t), spec, hint);
    if (selection.miss && (this.inflight !== undefined || t - this.lastAttempt >= this.options.cooldown * 1000)) {
      // A key we have not seen: perhaps rotated in. One fetch per cooldown, shared by everyone.
      await this.refresh(t, true);
      // Unless the set was dropped meanwhile without a new fetch: then the miss stands.
      if (this.entries !== undefined) selection = selectKeys(this.usable(this.now()), spec, hint);
    }
    // The key may be in the set we could not fetch: the server's fault, not the client's.
    if (selection.miss && this.lastFailed) throw this.unavailable('no cached key matches and the key set cannot be fetched');
    return selection;
  }

  private usable(t: number): KeyEntry[] {
    if (this.entries !== undefined && t - this.fetchedAt <= (this.options.cacheMaxAge + this.options.staleIfError) * 1000) {
      return this.entries;
    }
    throw this.unavailable('no usable cached key set');
  }

  private async refresh(t: number, forMiss = false): Promise<void> {
    if (this.inflight === undefined) {
      const coolingDown = t - this.lastAttempt < this.options.cooldown * 1000;
      // After a failure, wait out the cooldown instead of hammering a failing endpoint; after a
      // success, a miss inside the cooldown does not fetch either (see select()).
      if (coolingDown && (this.lastFailed || forMiss)) return;
      this.lastAttempt = t;
      this.fetches += 1;
      this.inflight = this.fetch().finally(() => {
        this.inflight = undefined;
      });
    }
    try {
      await this.inflight;
    } catch (err) {
      // With a stale-but-usable key set, keep verifying; usable() decides.
      if (this.entries === undefined) throw this.unavailable((err as Error).message, err);
    }
  }

  private async fetch(): Promise<void> {
    try {
      const raw: unknown = await this.client.getKeys();
      if (!Array.isArray(raw)) throw new JwksFetchError('JWKS response has no "keys" array');
      const entries: KeyEntry[] = [];
      for (const jwk of raw) {
        const e = importJwk(jwk);
        if (e) entries.push(e);
        if (entries.length >= this.options.maxKeys) break;
      }
      if (entries.length === 0) throw new JwksFetchError('JWKS holds no usable signing key');
      this.entries = entries;
      this.fetchedAt = this.now();
      this.lastFailed = false;
      // Keys held again (perhaps after the set was dropped while fetching): back in the bounded cache.
      this.onUse(this);
    } catch (err) {
      this.lastFailed = true;
      throw err;
    }
  }

  /**
   * Forgets the keys (the owner's cache dropped this set) but not the fetch state: the cooldown
   * after a failure, the time of the last attempt and a fetch in flight all still apply.
   */
  release(): void {
    this.entries = undefined;
  }

  /** The 503, with `Retry-After` at the end of the cooldown: no new fetch is tried before it. */
  private unavailable(detail: string, cause?: unknown): OAuthError {
    const retryAfter = (this.lastAttempt + this.options.cooldown * 1000 - this.now()) / 1000;
    return new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { use: this.use, detail: `${this.uri}: ${detail}`, cause, retryAfter });
  }
}

/**
 * The key sets that hold keys: at most `maxKeySets`, least recently used first to go. A set
 * dropped from here loses its keys ({@link RemoteKeySet.release}) but keeps its fetch state, and
 * registrations keep referring to it: when one is used again it comes back in (pushing out
 * another), fetching its keys again, within the cooldown and single flight it never left.
 */
export class RemoteKeySets {
  private readonly sets: LRUCache<string, RemoteKeySet>;

  constructor(
    private readonly options: ResolvedJwksOptions,
    private readonly now: () => number,
    private readonly use: AssertionUse,
    /** How key sets are fetched: key sets a client named go through the address guard. */
    private readonly fetcher?: KeySetFetcher,
  ) {
    this.sets = new LRUCache({ max: options.maxKeySets, dispose: (set) => set.release() });
  }

  /** The set for `uri`, made (without fetching) when none is held. */
  get(uri: string): RemoteKeySet {
    let set = this.sets.get(uri);
    if (set === undefined) {
      set = new RemoteKeySet(uri, this.options, this.now, this.use, (used) => this.touch(used), this.fetcher);
      this.sets.set(uri, set);
    }
    return set;
  }

  /** Marks `set` as just used, taking it back in when it had been dropped. */
  private touch(set: RemoteKeySet): void {
    if (this.sets.get(set.uri) !== set) this.sets.set(set.uri, set);
  }
}
