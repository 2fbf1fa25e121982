import { createHash } from 'node:crypto';
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

/**
 * An in-process {@link ReplayStore}: a `Set` of keys, and a min-heap of their expiry times that
 * forgets each key as soon as it expires (checked on every claim, amortised O(1)).
 * Claims are atomic within one process (check and set run in one synchronous step). It is
 * bounded: when it holds `max` live entries it refuses new claims with
 * {@link ReplayStoreFullError} rather than evict a live one; an expired entry never takes a
 * live one's place. For more than one process, use a shared store such as jwt-bearer-redis.
 *
 * Expiry follows the wall clock (`Date.now()`), the clock assertions' `exp` is checked against:
 * if it is set back, entries are kept longer, never forgotten while their assertions could be
 * valid again.
 */
export class MemoryReplayStore implements ReplayStore {
  /** The live keys (and any that expired since the last claim). */
  private readonly entries = new Set<string>();
  /** Min-heap of (expiry in ms since the epoch, key), in two parallel arrays: one record per key. */
  private readonly heapTimes: number[] = [];
  private readonly heapKeys: string[] = [];
  private readonly max: number;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.max ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('MemoryReplayStore option "max" must be a positive integer');
    this.max = max;
  }

  /** Entries currently held: live ones, and any that expired since the last claim. */
  get size(): number {
    return this.entries.size;
  }

  claim(key: string, ttlSeconds: number): Promise<boolean> {
    try {
      return Promise.resolve(this.claimSync(key, ttlSeconds));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private claimSync(key: string, ttlSeconds: number): boolean {
    // A NaN expiry would break the heap's order: refuse it rather than remember the key for no time.
    if (typeof ttlSeconds !== 'number' || Number.isNaN(ttlSeconds)) throw new TypeError('MemoryReplayStore: ttlSeconds must be a number');
    const k = key.length > MAX_KEY_LENGTH ? createHash('sha256').update(key).digest('base64url') : key;
    // A key built by concatenation (as pipeline.ts builds it) is, in V8, a tree of the pieces;
    // reading a character flattens it into one string, so an entry holds ≈ 125 bytes, not ≈ 230.
    k.charCodeAt(0);
    const now = Date.now();
    this.forgetExpired(now);
    if (this.entries.has(k)) return false;
    if (this.entries.size >= this.max) throw new ReplayStoreFullError(this.max);
    const expiry = now + Math.max(1, Math.ceil(ttlSeconds * 1000));
    this.entries.add(k);
    this.push(expiry, k);
    return true;
  }

  /** Drops every entry whose expiry is at or before `now`. */
  private forgetExpired(now: number): void {
    const times = this.heapTimes;
    // Every claim runs this first, so a key is only ever claimed again once its record has been
    // removed here: the heap holds exactly one record per entry.
    while (times.length > 0 && times[0]! <= now) {
      this.entries.delete(this.heapKeys[0]!);
      this.pop();
    }
  }

  private push(time: number, key: string): void {
    const times = this.heapTimes;
    const keys = this.heapKeys;
    let i = times.length;
    times.push(time);
    keys.push(key);
    // Sift up. With similar TTLs each new expiry is the latest, so this usually stops at once.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= time) break;
      times[i] = times[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    times[i] = time;
    keys[i] = key;
  }

  /** Removes the root of the heap. */
  private pop(): void {
    const times = this.heapTimes;
    const keys = this.heapKeys;
    const time = times.pop()!;
    const key = keys.pop()!;
    const n = times.length;
    if (n === 0) return;
    // Sift the last record down from the root.
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && times[child + 1]! < times[child]!) child += 1;
      if (times[child]! >= time) break;
      times[i] = times[child]!;
      keys[i] = keys[child]!;
      i = child;
    }
    times[i] = time;
    keys[i] = key;
  }
}

let processStore: MemoryReplayStore | undefined;

/** The process-wide store used when no `replayStore` option is given. */
export function defaultReplayStore(): MemoryReplayStore {
  processStore ??= new MemoryReplayStore();
  return processStore;
}
