import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ReplayStore } from '../types';

/** Options of {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most live entries held. When every entry is live, new claims are refused. Default 100000. */
  max?: number;
  /**
   * Most live entries one party (one trusted issuer or client) may hold, so that one party
   * cannot fill the store and lock every other party out (its own new assertions are refused
   * with 503 until its entries expire; the others' keep working). Counted for claims the library
   * makes; a plain `claim(key, ttl)` counts for no party. Default: `max` (no per-party bound);
   * the process-wide default store uses one tenth of `max`.
   */
  maxPerParty?: number;
}

/**
 * Thrown by {@link MemoryReplayStore.claim} when the store is full of live entries. The library
 * answers it with 503 `temporarily_unavailable`: forgetting a live entry could let a replay in,
 * so the store fails closed instead.
 */
export class ReplayStoreFullError extends Error {
  override name = 'ReplayStoreFullError';
  /**
   * Seconds until an entry that blocks the claim expires (the store's earliest expiry, or the
   * party's when its share is full): the library's `Retry-After`. `undefined` when not known.
   */
  readonly retryAfter: number | undefined;

  constructor(max: number, retryAfter?: number, party?: string) {
    super(party === undefined ? `replay store holds ${max} live entries` : `replay store holds ${max} live entries of one party, its share`);
    this.retryAfter = retryAfter;
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
  /** The party of each record (`undefined` for plain claims), in step with the other three. */
  private readonly heapParties: Array<string | undefined> = [];
  /** Live entries held per party, for parties that hold any. */
  private readonly perParty = new Map<string, number>();
  /** Per party whose share was full: when (performance.now() ms) its earliest entry expires. */
  private readonly partyFreeAt = new Map<string, number>();
  private readonly max: number;
  private readonly maxPerParty: number;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.max ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('MemoryReplayStore option "max" must be a positive integer');
    const maxPerParty = options.maxPerParty ?? max;
    if (!Number.isSafeInteger(maxPerParty) || maxPerParty < 1) throw new TypeError('MemoryReplayStore option "maxPerParty" must be a positive integer');
    this.max = max;
    this.maxPerParty = Math.min(maxPerParty, max);
  }

  /** Keys currently held: live ones, and any expired ones not yet forgotten. */
  get size(): number {
    return this.entries.size;
  }

  claim(key: string, ttlSeconds: number): Promise<boolean> {
    return this.claimFor(undefined, key, ttlSeconds);
  }

  /**
   * {@link claim}, counted against `party`'s share (option `maxPerParty`). The library calls it
   * with the assertion's issuer.
   */
  async claimFor(party: string | undefined, key: string, ttlSeconds: number): Promise<boolean> {
    // async: a throw of claimSync becomes the rejection.
    return this.claimSync(party, key, ttlSeconds);
  }

  private claimSync(party: string | undefined, key: string, ttlSeconds: number): boolean {
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
    if (this.entries.size >= this.max) throw new ReplayStoreFullError(this.max, this.secondsUntil(this.heapDue[0], now));
    let held = party === undefined ? 0 : (this.perParty.get(party) ?? 0);
    if (held >= this.maxPerParty) {
      // Before refusing, forget every expired entry: some of them may be this party's.
      this.forgetExpired(now, wallNow, true);
      held = this.perParty.get(party!) ?? 0;
    }
    if (held >= this.maxPerParty) throw new ReplayStoreFullError(this.maxPerParty, this.partyRetryAfter(party!, now), party);
    const ttl = Math.max(1, Math.ceil(ttlSeconds * 1000));
    this.entries.add(k);
    if (party !== undefined) this.perParty.set(party, held + 1);
    this.push(now + ttl, wallNow + ttl, k, party);
    return true;
  }

  /** Whole seconds from `now` to `due` (monotonic ms), at least 1. */
  private secondsUntil(due: number | undefined, now: number): number | undefined {
    return due === undefined ? undefined : Math.max(1, Math.ceil((due - now) / 1000));
  }

  /**
   * When the earliest entry of a party whose share is full expires. Found by one scan of the heap,
   * then remembered until it passes: a party hammering its full share costs no scan per claim.
   */
  private partyRetryAfter(party: string, now: number): number | undefined {
    let at = this.partyFreeAt.get(party);
    if (at === undefined || at <= now) {
      at = Infinity;
      const parties = this.heapParties;
      for (let i = 0; i < parties.length; i += 1) {
        if (parties[i] === party && this.heapDue[i]! < at) at = this.heapDue[i]!;
      }
      if (at === Infinity) return undefined;
      // Bounded: only parties at their share are remembered, and each is forgotten with its last entry.
      this.partyFreeAt.set(party, at);
    }
    return this.secondsUntil(at, now);
  }

  /**
   * Forgets entries whose TTL has passed on both clocks: up to {@link FORGET_PER_CLAIM}, and past
   * that only while the store is full. An expired key not yet forgotten still answers as a
   * replay; through the library that cannot matter, as its assertion fails its time checks first.
   */
  private forgetExpired(now: number, wallNow: number, all = false): void {
    const due = this.heapDue;
    let budget = FORGET_PER_CLAIM;
    while (due.length > 0 && due[0]! < now && (budget > 0 || all || this.entries.size >= this.max)) {
      budget -= 1;
      const wallDue = this.heapWallDue[0]!;
      const expired = this.heapKeys[0]!;
      const party = this.heapParties[0];
      this.pop();
      if (wallDue < wallNow) {
        this.entries.delete(expired);
        if (party !== undefined) this.release(party);
      } else {
        // The wall clock was set back: keep the entry until it passes its wall-clock expiry too.
        this.push(now + (wallDue - wallNow), wallDue, expired, party);
      }
    }
  }

  /** One entry of `party` is forgotten. */
  private release(party: string): void {
    const held = this.perParty.get(party)! - 1;
    if (held > 0) {
      this.perParty.set(party, held);
    } else {
      this.perParty.delete(party);
      this.partyFreeAt.delete(party);
    }
  }

  private push(due: number, wallDue: number, key: string, party: string | undefined): void {
    let i = this.heapDue.length;
    this.heapDue.push(due);
    this.heapWallDue.push(wallDue);
    this.heapKeys.push(key);
    this.heapParties.push(party);
    // Sift up. With similar TTLs each new expiry is the latest, so this usually stops at once.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heapDue[parent]! <= due) break;
      this.move(parent, i);
      i = parent;
    }
    this.place(i, due, wallDue, key, party);
  }

  /** Removes the root of the heap. */
  private pop(): void {
    const times = this.heapDue;
    const due = times.pop()!;
    const wallDue = this.heapWallDue.pop()!;
    const key = this.heapKeys.pop()!;
    const party = this.heapParties.pop();
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
    this.place(i, due, wallDue, key, party);
  }

  /** Copies the record at `from` to `to`, in all four arrays. */
  private move(from: number, to: number): void {
    this.heapDue[to] = this.heapDue[from]!;
    this.heapWallDue[to] = this.heapWallDue[from]!;
    this.heapKeys[to] = this.heapKeys[from]!;
    this.heapParties[to] = this.heapParties[from];
  }

  /** Writes a record at `i`, in all four arrays. */
  private place(i: number, due: number, wallDue: number, key: string, party: string | undefined): void {
    this.heapDue[i] = due;
    this.heapWallDue[i] = wallDue;
    this.heapKeys[i] = key;
    this.heapParties[i] = party;
  }
}

let processStore: MemoryReplayStore | undefined;

/** Live entries of the process-wide default store. */
const DEFAULT_MAX = 100_000;

/**
 * The process-wide store used when no `replayStore` option is given: 100,000 live entries, of
 * which one party (issuer or client) may hold a tenth, so a single party that floods it cannot
 * lock the others out.
 */
export function defaultReplayStore(): MemoryReplayStore {
  processStore ??= new MemoryReplayStore({ max: DEFAULT_MAX, maxPerParty: DEFAULT_MAX / 10 });
  return processStore;
}
