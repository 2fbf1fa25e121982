/* Replay stores that fail on command, around a real MemoryReplayStore. */
import { MemoryReplayStore, type ReplayStore } from 'jwt-bearer-core';

export class FlakyReplayStore implements ReplayStore {
  readonly inner: MemoryReplayStore;
  /** The next this-many claims reject (as a store that cannot be reached would). */
  failNext = 0;
  /** Every claim rejects while set. */
  down = false;
  claims = 0;
  failures = 0;

  constructor(inner = new MemoryReplayStore({ max: 10_000 })) {
    this.inner = inner;
  }

  claim(key: string, ttlSeconds: number): Promise<boolean> {
    this.claims += 1;
    if (this.down || this.failNext > 0) {
      if (this.failNext > 0) this.failNext -= 1;
      this.failures += 1;
      return Promise.reject(new Error('ECONNREFUSED (simulated replay store outage)'));
    }
    return this.inner.claim(key, ttlSeconds);
  }
}
