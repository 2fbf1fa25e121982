import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { OffloadMode } from '../types';

/**
 * In `'auto'` mode, a check that starts while none is pending counts as quiet; this many quiet
 * checks in a row end offloading (the calls no longer overlap, so the thread hop is pure latency).
 */
export const QUIET_CHECKS_TO_STOP = 16;
/**
 * In `'auto'` mode, while checking on the event loop, every this-many-th check is offloaded as a
 * probe, unless the last probe was less than {@link PROBE_INTERVAL_MS} ago.
 */
export const PROBE_EVERY = 64;
/** Least time between two probes: a probe waits for a thread and back (≈ 0.1–0.3 ms on a VM). */
export const PROBE_INTERVAL_MS = 50;

/**
 * Decides, check by check, where an asymmetric signature is verified: on the event loop
 * (synchronous `crypto.verify`) or on libuv's thread pool (`crypto.verify` with a callback).
 *
 * Offloading frees the event loop for other requests while a signature is checked, and lets
 * several checks run on several cores; it costs a thread hop (tens of microseconds of latency)
 * that only pays off when other work can run meanwhile. `'auto'` therefore offloads while checks
 * overlap — another offloaded check is still pending when one starts — and checks on the event
 * loop when they do not: calls awaited one at a time wait for a thread only on a probe, a busy server moves
 * its signature work off the loop. Checking on the event loop, it offloads one check in
 * {@link PROBE_EVERY}, at most one per {@link PROBE_INTERVAL_MS}, to find out whether calls overlap
 * again; on a single core it never offloads.
 *
 * One instance per authenticator / verifier; not shared, no timers.
 */
export class Offloader {
  private readonly mode: 'always' | 'never' | 'auto';
  private pending = 0;
  private offloading = false;
  private quiet = 0;
  private sinceProbe = 0;
  private lastProbe = -Infinity;
  private readonly clock: () => number;

  /**
   * @param cores - CPUs this process may use (`os.availableParallelism()`).
   * @param clock - Monotonic milliseconds (`performance.now`), for the probe interval.
   */
  constructor(mode: OffloadMode, cores: number = availableParallelism(), clock: () => number = () => performance.now()) {
    this.mode = mode === 'auto' && cores < 2 ? 'never' : mode;
    this.clock = clock;
  }

  /**
   * Whether the check about to start goes to the thread pool. A `true` answer counts the check as
   * pending: the caller must call {@link done} when it has finished.
   */
  start(): boolean {
    if (!this.decide()) return false;
    this.pending += 1;
    return true;
  }

  /** Ends a check {@link start} sent to the thread pool. */
  done(): void {
    this.pending -= 1;
  }

  /** Offloaded checks not finished yet. */
  get inFlight(): number {
    return this.pending;
  }

  private decide(): boolean {
    if (this.mode !== 'auto') return this.mode === 'always';
    if (this.pending > 0) {
      this.offloading = true;
      this.quiet = 0;
      return true;
    }
    if (this.offloading) {
      if (++this.quiet < QUIET_CHECKS_TO_STOP) return true;
      this.offloading = false;
      this.sinceProbe = 0;
      return false;
    }
    if (++this.sinceProbe < PROBE_EVERY) return false;
    this.sinceProbe = 0;
    const now = this.clock();
    if (now - this.lastProbe < PROBE_INTERVAL_MS) return false;
    this.lastProbe = now;
    return true;
  }
}
