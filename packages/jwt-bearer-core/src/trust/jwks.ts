import { JwksClient } from 'jwks-rsa';
import { LRUCache } from 'lru-cache';
import type { AlgorithmSpec } from '../jose/algorithms';
import { OAuthError, type AssertionUse } from '../errors';
import { ASYMMETRIC_ALGORITHMS, importJwks, KeyTable, noUsableKey, type KeyHint, type KeySource, type Selection } from './keys';
import type { Algorithm, JwksOptions } from '../types';
import { traceJwksFetch } from '../observe/tracing';
import { fetchJson } from './fetch';

/** {@link JwksOptions} with every default filled in. */
export type ResolvedJwksOptions = Required<Omit<JwksOptions, 'requestHeaders' | 'requestAgent'>> & Pick<JwksOptions, 'requestHeaders' | 'requestAgent'>;

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

/** The default {@link KeySetFetcher}: the folder's bounded GET ({@link fetchJson}), lenient as jwks-rsa was. */
async function boundedFetch(uri: string, options: ResolvedJwksOptions): Promise<unknown> {
  try {
    const { body } = await fetchJson(uri, {
      timeout: options.timeout,
      maxBytes: options.maxResponseBytes,
      accept: 'application/json, application/jwk-set+json',
      lenient: true,
      ...(options.requestHeaders ? { headers: options.requestHeaders } : {}),
      ...(options.requestAgent ? { agent: options.requestAgent } : {}),
    });
    return body;
  } catch (err) {
    throw new JwksFetchError(`JWKS endpoint: ${(err as Error).message}`);
  }
}

/** Fetches a key set document and resolves its parsed JSON (an object with a `keys` array). */
export type KeySetFetcher = (uri: string) => Promise<unknown>;

/**
 * When a key set was last fetched, kept apart from the set's keys so that it outlives both the
 * keys (dropped from the bounded cache) and the set object: the minimum refetch interval holds
 * whatever happens to them (DESIGN §9).
 */
interface FetchState {
  /** Start of the last fetch, whatever its cause. */
  lastAttempt: number;
  /** Start of the last fetch made for a `kid` we did not know or a signature no key verified. */
  lastDemand: number;
  /** Whether the last fetch failed. */
  lastFailed: boolean;
}

/** Most URIs whose fetch times are remembered (a few dozen bytes each). */
export const FETCH_RECORD_SIZE = 100_000;

/**
 * One remote JWK Set. jwks-rsa performs the fetch (through our bounded fetcher); the cache, the
 * single flight, the refetch intervals and the stale-if-error window are ours, because jwks-rsa
 * caches neither misses nor failures and its rate limiter queues callers for seconds.
 *
 * Fetches, per URI: at most one scheduled fetch (the first, or the keys being older than
 * `cacheMaxAge`) per `cooldown`, whatever evicted the keys meanwhile; and at most one fetch on
 * demand (a `kid` we do not know, or a signature no key verifies: a key rotated in) per
 * `cooldown`, made at once however recent the last scheduled fetch was. A fetch made for a
 * request whose `kid` then misses counts as that request's demand fetch.
 */
export class RemoteKeySet implements KeySource {
  readonly algorithms: ReadonlySet<Algorithm> = ASYMMETRIC_ALGORITHMS;
  private readonly client: JwksClient;
  private table: KeyTable | undefined;
  private fetchedAt = -Infinity;
  private inflight: Promise<void> | undefined;
  private readonly cooldownMs: number;
  /** Fetches made, for tests and metrics. */
  fetches = 0;

  constructor(
    readonly uri: string,
    private readonly options: ResolvedJwksOptions,
    private readonly now: () => number,
    private readonly use: AssertionUse,
    /** Called on every use and when keys arrive, so the owner's LRU holds every set that holds keys. */
    private readonly onUse: (set: RemoteKeySet) => void = () => undefined,
    private readonly state: FetchState = { lastAttempt: -Infinity, lastDemand: -Infinity, lastFailed: false },
    /** Fetches the key set's JSON; default: the bounded fetch above. */
    fetcher: KeySetFetcher = (u) => boundedFetch(u, options),
  ) {
    this.cooldownMs = options.cooldown * 1000;
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
    let fetched = false;
    if (this.table === undefined || t - this.fetchedAt > this.options.cacheMaxAge * 1000) fetched = await this.refresh(t, false);
    let selection = this.usable(this.now()).select(spec, hint);
    if (selection.miss) {
      if (fetched) {
        // The keys were fetched for this request: fetching again cannot tell more.
        this.state.lastDemand = Math.max(this.state.lastDemand, this.state.lastAttempt);
      } else if (await this.refresh(t, true)) {
        // A key we have not seen: perhaps rotated in.
        fetched = true;
        // Unless the set was dropped meanwhile without a new fetch: then the miss stands.
        if (this.table !== undefined) selection = this.usable(this.now()).select(spec, hint);
      }
    }
    // The key may be in the set we could not fetch: the server's fault, not the client's.
    if (selection.miss && this.state.lastFailed) throw this.unavailable('no cached key matches and the key set cannot be fetched');
    return fetched ? { keys: selection.keys, miss: selection.miss, fresh: true } : selection;
  }

  /**
   * No key of `previous` verified: the owner may have rotated its key and sign without a `kid`
   * (or reuse one). Refetch once, within the demand cooldown, and answer the keys not tried yet.
   */
  refreshForFailure(spec: AlgorithmSpec, hint: KeyHint, previous: Selection): Promise<Selection | undefined> | undefined {
    const t = this.now();
    if (previous.fresh === true) {
      // The keys were fetched for this very request: fetching again cannot tell more.
      this.state.lastDemand = Math.max(this.state.lastDemand, this.state.lastAttempt);
      return undefined;
    }
    // Another request refreshed the set since these keys were chosen: try what it brought.
    const current = this.table?.select(spec, hint);
    const waiting = current === undefined || current === previous ? undefined : untried(current, previous);
    if (waiting !== undefined) return Promise.resolve(waiting);
    if (this.inflight === undefined && !this.demandAllowed(t)) return undefined;
    return this.refresh(t, true).then((fetched) => {
      if (fetched && this.state.lastFailed) throw this.unavailable('no cached key verifies and the key set cannot be fetched');
      return fetched && this.table !== undefined ? untried(this.table.select(spec, hint), previous) : undefined;
    });
  }

  private usable(t: number): KeyTable {
    if (this.table !== undefined && t - this.fetchedAt <= (this.options.cacheMaxAge + this.options.staleIfError) * 1000) {
      return this.table;
    }
    throw this.unavailable('no usable cached key set');
  }

  private demandAllowed(t: number): boolean {
    const { lastAttempt, lastDemand, lastFailed } = this.state;
    // After a failure, wait out the cooldown instead of hammering a failing endpoint.
    return t - lastDemand >= this.cooldownMs && !(lastFailed && t - lastAttempt < this.cooldownMs);
  }

  /** Fetches (or joins the fetch in flight) when the intervals allow; answers whether it did. */
  private async refresh(t: number, demand: boolean): Promise<boolean> {
    if (this.inflight === undefined) {
      if (demand ? !this.demandAllowed(t) : t - this.state.lastAttempt < this.cooldownMs) {
        // Within the interval: the keys we hold (if any) are all there is (see usable()).
        return false;
      }
      this.state.lastAttempt = t;
      if (demand) this.state.lastDemand = t;
      this.fetches += 1;
      this.inflight = traceJwksFetch(this.use, this.uri, () => this.fetch()).finally(() => {
        this.inflight = undefined;
      });
    }
    try {
      await this.inflight;
    } catch (err) {
      // With a stale-but-usable key set, keep verifying; usable() decides.
      if (this.table === undefined) throw this.unavailable((err as Error).message, err);
    }
    return true;
  }

  private async fetch(): Promise<void> {
    try {
      const raw: unknown = await this.client.getKeys();
      if (!Array.isArray(raw)) throw new JwksFetchError('JWKS response has no "keys" array');
      const { entries, refused } = importJwks(raw, this.options.maxKeys);
      if (entries.length === 0) throw new JwksFetchError(`JWKS holds ${noUsableKey(refused)}`);
      this.table = new KeyTable(entries);
      this.fetchedAt = this.now();
      this.state.lastFailed = false;
      // Keys held again (perhaps after the set was dropped while fetching): back in the bounded cache.
      this.onUse(this);
    } catch (err) {
      this.state.lastFailed = true;
      throw err;
    }
  }

  /** Whether the keys were fetched within the minimum refetch interval (they cannot be fetched again yet). */
  recentlyFetched(): boolean {
    return this.table !== undefined && this.now() - this.state.lastAttempt < this.cooldownMs;
  }

  /**
   * Forgets the keys (the owner's cache dropped this set) but not the fetch state: the intervals,
   * the cooldown after a failure and a fetch in flight all still apply.
   */
  release(): void {
    this.table = undefined;
  }

  /** The 503, with `Retry-After` at the end of the cooldown: no new fetch is tried before it. */
  private unavailable(detail: string, cause?: unknown): OAuthError {
    const retryAfter = (this.state.lastAttempt + this.cooldownMs - this.now()) / 1000;
    return new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { use: this.use, detail: `${this.uri}: ${detail}`, cause, retryAfter });
  }
}

/**
 * The keys of `next` that `previous` did not hold (compared by key material), or `undefined` when
 * there are none: a retry never repeats a check, so one assertion costs at most two bounded selections.
 */
function untried(next: Selection, previous: Selection): Selection | undefined {
  const keys = next.keys.filter((k) => !previous.keys.some((p) => p.key.equals(k.key)));
  return keys.length === 0 ? undefined : { keys, miss: false };
}

/**
 * The remote key sets of one verifier: exactly one {@link RemoteKeySet} per URI, however many
 * registrations name it and whatever the caches dropped.
 *
 * - Keys are held for at most `maxKeySets` sets, least recently used first to go, plus the sets
 *   dropped from those within their minimum refetch interval (`cooldown`): their keys cannot be
 *   fetched again yet, so they are kept until it ends, for when the set is used again.
 * - The set objects are found by URI through weak references, so every registration naming a URI
 *   shares one object, also one compiled before the set was dropped.
 * - Fetch times are remembered per URI apart from both (up to {@link FETCH_RECORD_SIZE} URIs), so
 *   no request pattern fetches one URI more often than its intervals allow.
 */
export class RemoteKeySets {
  private readonly held: LRUCache<string, RemoteKeySet>;
  /** Sets dropped from `held` whose keys were fetched within the cooldown. */
  private readonly recent: LRUCache<string, RemoteKeySet>;
  private lastPurge: number;
  private readonly byUri = new Map<string, WeakRef<RemoteKeySet>>();
  private readonly collected = new FinalizationRegistry<string>((uri) => {
    if (this.byUri.get(uri)?.deref() === undefined) this.byUri.delete(uri);
  });
  private readonly record = new LRUCache<string, FetchState>({ max: FETCH_RECORD_SIZE });

  constructor(
    private readonly options: ResolvedJwksOptions,
    private readonly now: () => number,
    private readonly use: AssertionUse,
    /** How key sets are fetched: key sets a client named go through the address guard. */
    private readonly fetcher?: KeySetFetcher,
  ) {
    this.lastPurge = now();
    this.recent = new LRUCache({
      max: FETCH_RECORD_SIZE,
      dispose: (set, _uri, reason) => {
        if (reason === 'evict') set.release();
      },
    });
    this.held = new LRUCache({
      max: options.maxKeySets,
      dispose: (set, uri, reason) => {
        if (reason !== 'evict') return;
        if (set.recentlyFetched()) this.keepRecent(uri, set);
        else set.release();
      },
    });
  }

  /** The set for `uri`, made (without fetching) when none exists. */
  get(uri: string): RemoteKeySet {
    let set = this.byUri.get(uri)?.deref();
    if (set === undefined) {
      let state = this.record.get(uri);
      if (state === undefined) {
        state = { lastAttempt: -Infinity, lastDemand: -Infinity, lastFailed: false };
        this.record.set(uri, state);
      }
      set = new RemoteKeySet(uri, this.options, this.now, this.use, (used) => this.touch(used), state, this.fetcher);
      this.byUri.set(uri, new WeakRef(set));
      this.collected.register(set, uri);
    }
    this.touch(set);
    return set;
  }

  /** Marks `set` as just used, taking it back in when it had been dropped. */
  private touch(set: RemoteKeySet): void {
    if (this.held.get(set.uri) !== set) {
      this.recent.delete(set.uri);
      this.held.set(set.uri, set);
    }
  }

  /** Keeps a dropped set's keys until its interval ends; once per cooldown, lets go of those whose interval has. */
  private keepRecent(uri: string, set: RemoteKeySet): void {
    this.recent.set(uri, set);
    const t = this.now();
    if (t - this.lastPurge < this.options.cooldown * 1000) return;
    this.lastPurge = t;
    const over = [...this.recent.entries()].filter(([, kept]) => !kept.recentlyFetched());
    for (const [key, kept] of over) {
      this.recent.delete(key);
      kept.release();
    }
  }
}
