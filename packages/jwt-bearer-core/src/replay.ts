import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ReplayStore } from './types';

/** Options of {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most live entries held. When every entry is live, new claims are refused. Default 100000. */
  max?: number;
}

/**
 * Thrown by {@link MemoryReplayStore.claim} when the store is full of live entries. The library
 * answers it with 503 `temporarily_unavailable`: forgetting a live entry could let a replay in,
 * so the store fails closed instead.
 */
export class ReplayStoreFullError extends Error {
  override name = 'ReplayStoreFullError';
  constructor(max: number) {
    super(`replay store holds ${max} live entries`);
  }
}

/** Keys longer than this are stored as their SHA-256, so an entry's size is bounded. */
const MAX_KEY_LENGTH = 96;

/** Purging stale entries walks the whole cache: at most once per this many milliseconds. */
const PURGE_INTERVAL_MS = 1000;

/**
 * An in-process {@link ReplayStore} on lru-cache with a TTL per entry. Claims are atomic within
 * one process (check and set run in one synchronous step). It is bounded: when it holds `max`
 * live entries it refuses new claims with {@link ReplayStoreFullError} rather than evict a live
 * one. For more than one process, use a shared store such as jwt-bearer-redis.
 */
export class MemoryReplayStore implements ReplayStore {
  private readonly cache: LRUCache<string, true>;
  private readonly max: number;
  private lastPurge = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.max ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('MemoryReplayStore option "max" must be a positive integer');
    this.max = max;
    // `max + 1` leaves lru-cache no reason to evict: we refuse before it would have to.
    this.cache = new LRUCache<string, true>({ max: max + 1, ttlAutopurge: false, allowStale: false, updateAgeOnGet: false });
  }

  /** Live entries currently held (stale ones may be counted until the next purge). */
  get size(): number {
    return this.cache.size;
  }

  claim(key: string, ttlSeconds: number): Promise<boolean> {
    try {
      return Promise.resolve(this.claimSync(key, ttlSeconds));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private claimSync(key: string, ttlSeconds: number): boolean {
    const k = key.length > MAX_KEY_LENGTH ? createHash('sha256').update(key).digest('base64url') : key;
    // A key built by concatenation (as pipeline.ts builds it) is, in V8, a tree of the pieces;
    // reading a character flattens it into one string, so an entry holds ≈ 125 bytes, not ≈ 230.
    k.charCodeAt(0);
    if (this.cache.has(k)) return false;
    if (this.cache.size >= this.max) {
      const now = Date.now();
      if (now - this.lastPurge >= PURGE_INTERVAL_MS) {
        this.lastPurge = now;
        this.cache.purgeStale();
      }
      if (this.cache.size >= this.max) throw new ReplayStoreFullError(this.max);
    }
    this.cache.set(k, true, { ttl: Math.max(1, Math.ceil(ttlSeconds * 1000)) });
    return true;
  }
}

let processStore: MemoryReplayStore | undefined;

/** The process-wide store used when no `replayStore` option is given. */
export function defaultReplayStore(): MemoryReplayStore {
  processStore ??= new MemoryReplayStore();
  return processStore;
}
