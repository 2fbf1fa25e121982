import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ReplayStore } from '../types';

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

/** Expired entries forgotten per claim at most (more only when the store is full), so that no claim stalls. */
const FORGET_PER_CLAIM = 64;

/**
 * An in-process {@link ReplayStore}: a `Set` of keys, and a min-heap of their expiry times from
 * which every claim first forgets what has expired (up to 64 entries, O(log n) each; as many as
 * it takes to make room when the store is full). Claims are atomic within one process (check
 * and set run in one synchronous step). It is bounded: when it holds `max` live entries it
 * refuses new claims with {@link ReplayStoreFullError} rather than evict a live one. For more
 * than one process, use a shared store such as jwt-bearer-redis.
 *
 * An entry is forgotten only once its TTL has passed on both the monotonic clock and the wall
 * clock (the one assertions' `exp` is checked against), strictly after its last millisecond: a
 * wall clock set back or forward never makes it forget an entry early.
 */
export class MemoryReplayStore implements ReplayStore {
  /** The keys held: live ones, and expired ones not yet forgotten. */
  private readonly entries = new Set<string>();
  /**
   * Min-heap by monotonic expiry (`performance.now()` ms), in parallel arrays with each record's
   * wall-clock expiry (`Date.now()` ms) and key: one record per key held.
   */
  private readonly heapDue: number[] = [];
  private readonly heapWallDue: number[] = [];
  private readonly heapKeys: string[] = [];
  private readonly max: number;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.max ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('MemoryReplayStore option "max" must be a positive integer');
    this.max = max;
  }

  /** Keys currently held: live ones, and any expired ones not yet forgotten. */
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
    // A key built by concatenation (as verify/pipeline.ts builds it) is, in V8, a tree of the pieces;
    // reading a character flattens it into one string, so an entry holds ≈ 130 bytes, not ≈ 240.
    k.charCodeAt(0);
    const now = performance.now();
    const wallNow = Date.now();
    this.forgetExpired(now, wallNow);
    if (this.entries.has(k)) return false;
    if (this.entries.size >= this.max) throw new ReplayStoreFullError(this.max);
    const ttl = Math.max(1, Math.ceil(ttlSeconds * 1000));
    this.entries.add(k);
    this.push(now + ttl, wallNow + ttl, k);
    return true;
  }

  /**
   * Forgets entries whose TTL has passed on both clocks: up to {@link FORGET_PER_CLAIM}, and past
   * that only while the store is full. An expired key not yet forgotten still answers as a
   * replay; through the library that cannot matter, as its assertion fails its time checks first.
   */
  private forgetExpired(now: number, wallNow: number): void {
    const due = this.heapDue;
    let budget = FORGET_PER_CLAIM;
    while (due.length > 0 && due[0]! < now && (budget > 0 || this.entries.size >= this.max)) {
      budget -= 1;
      const wallDue = this.heapWallDue[0]!;
      const expired = this.heapKeys[0]!;
      this.pop();
      if (wallDue < wallNow) this.entries.delete(expired);
      // The wall clock was set back: keep the entry until it passes its wall-clock expiry too.
      else this.push(now + (wallDue - wallNow), wallDue, expired);
    }
  }

  private push(due: number, wallDue: number, key: string): void {
    let i = this.heapDue.length;
    this.heapDue.push(due);
    this.heapWallDue.push(wallDue);
    this.heapKeys.push(key);
    // Sift up. With similar TTLs each new expiry is the latest, so this usually stops at once.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heapDue[parent]! <= due) break;
      this.move(parent, i);
      i = parent;
    }
    this.place(i, due, wallDue, key);
  }

  /** Removes the root of the heap. */
  private pop(): void {
    const times = this.heapDue;
    const due = times.pop()!;
    const wallDue = this.heapWallDue.pop()!;
    const key = this.heapKeys.pop()!;
    const n = times.length;
    if (n === 0) return;
    // Sift the last record down from the root.
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && times[child + 1]! < times[child]!) child += 1;
      if (times[child]! >= due) break;
      this.move(child, i);
      i = child;
    }
    this.place(i, due, wallDue, key);
  }

  /** Copies the record at `from` to `to`, in all three arrays. */
  private move(from: number, to: number): void {
    this.heapDue[to] = this.heapDue[from]!;
    this.heapWallDue[to] = this.heapWallDue[from]!;
    this.heapKeys[to] = this.heapKeys[from]!;
  }

  /** Writes a record at `i`, in all three arrays. */
  private place(i: number, due: number, wallDue: number, key: string): void {
    this.heapDue[i] = due;
    this.heapWallDue[i] = wallDue;
    this.heapKeys[i] = key;
  }
}

let processStore: MemoryReplayStore | undefined;

/** The process-wide store used when no `replayStore` option is given. */
export function defaultReplayStore(): MemoryReplayStore {
  processStore ??= new MemoryReplayStore();
  return processStore;
}
