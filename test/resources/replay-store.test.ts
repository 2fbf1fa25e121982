/*
 * The in-memory replay store under a flood: bounded in size and memory, failing closed (503
 * temporarily_unavailable, ERR_REPLAY_STORE_FULL) when full of live entries, never accepting a
 * replay — directly, through the core, and through both adapters.
 */
import { MemoryReplayStore, ReplayStoreFullError } from 'jwt-bearer-core';
import { expectOAuthError } from '../support/hostile/oauth';
import { MB, settle } from '../support/hostile/process';
import { ALL_TARGETS, startTarget } from '../support/hostile/targets';
import { expectAccepted, expectRefused, GRANT, USES, type Use } from '../support/hostile/uses';
import { world } from '../support/hostile/world';

const w = world();

describe('MemoryReplayStore', () => {
  test('a flood of unique keys never grows it past max; every overflow claim fails closed', async () => {
    const max = 1000;
    const store = new MemoryReplayStore({ max });
    let accepted = 0;
    let full = 0;
    const other: unknown[] = [];
    for (let i = 0; i < 20_000; i++) {
      try {
        if (await store.claim(`client:4:ab:c:jti-${i}`, 300)) accepted += 1;
      } catch (err) {
        if (err instanceof ReplayStoreFullError) full += 1;
        else other.push(err);
      }
      if (store.size > max) throw new Error(`size ${store.size} > max ${max} after ${i + 1} claims`);
    }
    expect(other).toEqual([]);
    expect(accepted).toBe(max);
    expect(full).toBe(20_000 - max);
    expect(store.size).toBe(max);
  });

  test('never accepts a replay, whether it is full or not', async () => {
    const store = new MemoryReplayStore({ max: 500 });
    for (let i = 0; i < 500; i++) expect(await store.claim(`k${i}`, 300)).toBe(true);
    for (let i = 0; i < 500; i++) expect(await store.claim(`k${i}`, 300)).toBe(false);
    await expect(store.claim('k-new', 300)).rejects.toBeInstanceOf(ReplayStoreFullError);
    for (let i = 0; i < 500; i += 7) expect(await store.claim(`k${i}`, 300)).toBe(false);
  });

  test('makes room again once its entries have expired, and only then', async () => {
    const store = new MemoryReplayStore({ max: 50 });
    for (let i = 0; i < 50; i++) expect(await store.claim(`old${i}`, 1)).toBe(true);
    await expect(store.claim('early', 1)).rejects.toBeInstanceOf(ReplayStoreFullError);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(await store.claim('late', 60)).toBe(true);
    expect(store.size).toBeLessThanOrEqual(50);
    expect(await store.claim('late', 60)).toBe(false);
  });

  test('memory stays bounded with huge keys (they are stored by hash)', async () => {
    const store = new MemoryReplayStore({ max: 2000 });
    const before = await settle();
    const pad = 'x'.repeat(16 * 1024);
    // A flat copy per key: a rope sharing `pad` would cost next to nothing even if kept whole.
    const key = (i: number) => Buffer.from(`client:3:abc:${i}-${pad}`, 'latin1').toString('latin1');
    let full = 0;
    for (let i = 0; i < 3000; i++) {
      try {
        await store.claim(key(i), 300);
      } catch (err) {
        if (err instanceof ReplayStoreFullError) full += 1;
      }
    }
    expect(full).toBe(1000);
    const after = await settle();
    expect(store.size).toBe(2000);
    // 2000 keys of 16 KiB kept as they are would take over 32 MB; stored by hash, well under 4 MB.
    const growth = (after.heapUsed - before.heapUsed) / MB;
    if (!(growth < 4)) throw new Error(`heapUsed grew by ${growth.toFixed(1)} MB for 2000 entries with 16 KiB keys`);
    // A replay of a huge key is still recognised.
    expect(await store.claim(key(7), 300)).toBe(false);
  }, 30_000);
});

describe.each(ALL_TARGETS)('%s, replay store full of live entries', (name) => {
  describe.each(USES)('$name assertions', (use: Use) => {
    test('are accepted up to max, then answered 503 ERR_REPLAY_STORE_FULL; replays stay refused', async () => {
      const max = 20;
      const store = new MemoryReplayStore({ max });
      const t = await startTarget(name, w.config({ replayStore: store }));
      try {
        const accepted: string[] = [];
        for (let i = 0; i < max; i++) {
          const token = use.mint(use === GRANT ? w.rsa : w.ec);
          expectAccepted(await use.send(t, token));
          accepted.push(token);
        }
        for (let i = 0; i < 5; i++) {
          const answer = await use.send(t, use.mint(w.rsa));
          expectOAuthError(answer, 'temporarily_unavailable');
          expect(answer.status).toBe(503);
          expect(t.lastCode()).toBe('ERR_REPLAY_STORE_FULL');
          expect(store.size).toBeLessThanOrEqual(max);
        }
        for (const token of accepted.slice(0, 5)) expectRefused(t, use, await use.send(t, token), 'ERR_ASSERTION_REPLAYED');
        expect(store.size).toBe(max);
      } finally {
        await t.close();
      }
    });
  });
});
