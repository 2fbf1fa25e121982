import fc from 'fast-check';
import {
  createClientAuthenticator,
  createGrantVerifier,
  MemoryReplayStore,
  ReplayStoreFullError,
  type ClientAuthenticatorOptions,
  type GrantVerifierOptions,
  type OAuthError,
  type ReplayStore,
} from '../src';
import {
  CLIENT_ID,
  clientClaims,
  clientRequest,
  expectRejected,
  fixedNow,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  ISSUER,
  NOW,
  nowSeconds,
  RecordingStore,
  rsaKeyPair,
  signJws,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let attacker: TestKeyPair;

beforeAll(() => {
  rsa = rsaKeyPair();
  attacker = rsaKeyPair();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The tests assert each rejection itself; with an onError hook set, the 503s they provoke leave no
// line on console.error (the core logs 5xx causes only when no hook handles them).
const onError = () => undefined;

function clients(extra: Partial<ClientAuthenticatorOptions> = {}) {
  return createClientAuthenticator({
    issuer: ISSUER,
    clients: [
      { clientId: CLIENT_ID, publicKey: rsa.publicPem },
      { clientId: 'client-two', publicKey: rsa.publicPem },
    ],
    replayStore: new MemoryReplayStore(),
    onError,
    ...extra,
  });
}

function grants(extra: Partial<GrantVerifierOptions> = {}) {
  return createGrantVerifier({
    issuer: ISSUER,
    issuers: [
      { issuer: GRANT_ISSUER, publicKey: rsa.publicPem, scopes: ['read'] },
      { issuer: 'issuer-two', publicKey: rsa.publicPem },
    ],
    replayStore: new MemoryReplayStore(),
    onError,
    ...extra,
  });
}

const clientToken = (overrides: Record<string, unknown> = {}, now?: number, key = rsa.privateKey) =>
  signJws({ alg: 'RS256' }, clientClaims(overrides, now), key);
const grantToken = (overrides: Record<string, unknown> = {}, now?: number) => signJws({ alg: 'RS256' }, grantClaims(overrides, now), rsa.privateKey);

describe('MemoryReplayStore', () => {
  it('claim is true the first time and false for a replay', async () => {
    const store = new MemoryReplayStore();
    await expect(store.claim('a', 60)).resolves.toBe(true);
    await expect(store.claim('a', 60)).resolves.toBe(false);
    await expect(store.claim('b', 60)).resolves.toBe(true);
    expect(store.size).toBe(2);
  });

  it('is atomic: of 200 concurrent claims of one key exactly one wins', async () => {
    const store = new MemoryReplayStore();
    const results = await Promise.all(Array.from({ length: 200 }, () => store.claim('same', 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('forgets a key after its TTL', async () => {
    const store = new MemoryReplayStore();
    await expect(store.claim('short', 0.15)).resolves.toBe(true);
    await expect(store.claim('short', 0.15)).resolves.toBe(false);
    await sleep(250);
    await expect(store.claim('short', 0.15)).resolves.toBe(true);
  });

  it('stores long keys by digest, without collisions between keys sharing a long prefix', async () => {
    const store = new MemoryReplayStore();
    const prefix = 'client:'.padEnd(200, 'x');
    await expect(store.claim(`${prefix}1`, 60)).resolves.toBe(true);
    await expect(store.claim(`${prefix}2`, 60)).resolves.toBe(true);
    await expect(store.claim(`${prefix}1`, 60)).resolves.toBe(false);
  });

  it('is bounded: when full of live entries it refuses new claims with ReplayStoreFullError (fails closed)', async () => {
    const store = new MemoryReplayStore({ max: 3 });
    for (const k of ['a', 'b', 'c']) await expect(store.claim(k, 60)).resolves.toBe(true);
    const err = await store.claim('d', 60).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReplayStoreFullError);
    expect((err as Error).name).toBe('ReplayStoreFullError');
    expect((err as Error).message).toMatch(/3 live entries/);
    // No live entry was evicted to make room: replays are still detected.
    for (const k of ['a', 'b', 'c']) await expect(store.claim(k, 60)).resolves.toBe(false);
    expect(store.size).toBe(3);
  });

  it('expired entries make room again at once, not at the next periodic sweep', async () => {
    const store = new MemoryReplayStore({ max: 2 });
    await store.claim('a', 0.3);
    await store.claim('b', 0.3);
    await expect(store.claim('c', 0.3)).rejects.toBeInstanceOf(ReplayStoreFullError);
    await sleep(350);
    await expect(store.claim('c', 60)).resolves.toBe(true);
    await expect(store.claim('a', 60)).resolves.toBe(true);
    await expect(store.claim('d', 60)).rejects.toBeInstanceOf(ReplayStoreFullError);
    expect(store.size).toBe(2);
  });

  describe('on controlled clocks (monotonic and wall)', () => {
    let mono = 1_000;
    let wall = 1_800_000_000_000;
    /** Time passing: both clocks move. */
    const advance = (ms: number) => {
      mono += ms;
      wall += ms;
    };
    beforeEach(() => {
      jest.spyOn(performance, 'now').mockImplementation(() => mono);
      jest.spyOn(Date, 'now').mockImplementation(() => wall);
    });
    afterEach(() => jest.restoreAllMocks());
    /** A claim's answer, with a full store's refusal as 'full' (TTL in ms). */
    const outcome = (store: MemoryReplayStore, key: string, ttlMs: number) =>
      store.claim(key, ttlMs / 1000).then(
        (fresh) => fresh,
        (err: unknown) => (err instanceof ReplayStoreFullError ? 'full' : err),
      );

    it('holds an entry through the last millisecond of its TTL and forgets it after', async () => {
      const store = new MemoryReplayStore();
      await store.claim('k', 1);
      advance(1000);
      await expect(store.claim('k', 1)).resolves.toBe(false);
      advance(1);
      await expect(store.claim('k', 1)).resolves.toBe(true);
    });

    it('the entry that expires first makes room, whichever was claimed first', async () => {
      const store = new MemoryReplayStore({ max: 3 });
      await store.claim('long-1', 60);
      await store.claim('short', 1);
      await store.claim('long-2', 60);
      await expect(store.claim('new', 60)).rejects.toBeInstanceOf(ReplayStoreFullError);
      advance(1001);
      await expect(store.claim('new', 60)).resolves.toBe(true);
      // The long-lived entries are all still remembered.
      for (const k of ['long-1', 'long-2', 'new']) await expect(store.claim(k, 60)).resolves.toBe(false);
    });

    it('forgets entries in expiry order however they were claimed', async () => {
      const store = new MemoryReplayStore({ max: 20 });
      const lifetimes = { a: 1, b: 5, c: 2, d: 6, e: 3, f: 4 };
      for (const [k, ms] of Object.entries(lifetimes)) await store.claim(k, ms / 1000);
      for (let t = 1; t <= 6; t++) {
        advance(1);
        await store.claim(`probe-${t}`, 60);
        // Forgotten strictly after their last millisecond: those with a lifetime under t.
        const held = Object.values(lifetimes).filter((ms) => ms >= t).length;
        expect(store.size).toBe(held + t);
      }
    });

    it('a wall clock set forward does not make it forget: the monotonic TTL still runs', async () => {
      const store = new MemoryReplayStore();
      await store.claim('k', 60);
      wall += 3_600_000;
      await store.claim('other', 60);
      // Set right again: the assertion is valid again, and still refused as a replay.
      wall -= 3_600_000 - 10_000;
      await expect(store.claim('k', 60)).resolves.toBe(false);
      advance(60_001);
      await expect(store.claim('k', 60)).resolves.toBe(true);
    });

    it('a wall clock set back does not make it forget: the wall-clock TTL still runs', async () => {
      const store = new MemoryReplayStore();
      await store.claim('k', 60);
      wall -= 3_600_000;
      advance(60_001);
      // 60 s have passed, but by the wall clock the assertion is valid for another hour.
      await expect(store.claim('k', 60)).resolves.toBe(false);
      advance(3_600_000);
      await expect(store.claim('k', 60)).resolves.toBe(true);
    });

    it('records moved in the heap keep their own wall-clock expiry', async () => {
      const store = new MemoryReplayStore();
      await store.claim('p', 0.008);
      wall -= 100;
      // Due before p on the monotonic clock: it goes above p in the heap.
      await store.claim('n', 0.001);
      advance(9);
      await store.claim('x', 60);
      // Both are past their monotonic TTL; by the wall clock n is expired, p is not.
      await expect(store.claim('p', 60)).resolves.toBe(false);
      await expect(store.claim('n', 60)).resolves.toBe(true);
    });

    it('forgets at most 64 expired entries per claim, so no claim stalls on a backlog', async () => {
      const store = new MemoryReplayStore({ max: 1000 });
      for (let i = 0; i < 300; i++) await store.claim(`old-${i}`, 0.001);
      advance(2);
      await store.claim('x', 60);
      expect(store.size).toBe(300 - 64 + 1);
      await store.claim('y', 60);
      expect(store.size).toBe(300 - 128 + 2);
    });

    it('when full, keeps forgetting past 64 until an expired entry makes room', async () => {
      const store = new MemoryReplayStore({ max: 65 });
      // 64 entries due first on the monotonic clock, but kept by the wall clock (set back below)...
      for (let i = 0; i < 64; i++) await store.claim(`kept-${i}`, 0.001);
      wall -= 3_600_000;
      advance(1);
      // ...and one due after them on both clocks.
      await store.claim('expires', 0.001);
      advance(5);
      await expect(store.claim('new', 60)).resolves.toBe(true);
      for (let i = 0; i < 64; i += 9) await expect(store.claim(`kept-${i}`, 60)).resolves.toBe(false);
    });

    it('agrees with a plain model of live entries over random claims, TTLs and clock steps', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 8 }),
          // Short TTLs and clock steps (ms), so that expiries interleave and the heap reorders.
          fc.array(fc.oneof(fc.record({ key: fc.integer({ min: 0, max: 7 }), ttl: fc.integer({ min: 1, max: 8 }) }), fc.integer({ min: 0, max: 3 })), {
            maxLength: 150,
          }),
          async (max, steps) => {
            const store = new MemoryReplayStore({ max });
            const model = new Map<string, number>();
            for (const step of steps) {
              if (typeof step === 'number') {
                advance(step);
                continue;
              }
              const key = `k${step.key}`;
              for (const [k, until] of model) if (until < mono) model.delete(k);
              const expected = model.has(key) ? false : model.size >= max ? 'full' : true;
              if (expected === true) model.set(key, mono + step.ttl);
              const got = await outcome(store, key, step.ttl);
              expect(got).toBe(expected);
              expect(store.size).toBe(model.size);
            }
          },
        ),
        { numRuns: 1000, seed: 7523 },
      );
    });

    it('never forgets a live entry, whatever the wall clock does', async () => {
      // Live: its TTL has not passed on the monotonic clock, or not on the wall clock.
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 8 }),
          fc.array(
            fc.oneof(
              fc.record({ key: fc.integer({ min: 0, max: 7 }), ttl: fc.integer({ min: 1, max: 8 }) }),
              fc.integer({ min: 0, max: 3 }),
              fc.record({ jump: fc.integer({ min: -10, max: 10 }) }),
            ),
            { maxLength: 150 },
          ),
          async (max, steps) => {
            const store = new MemoryReplayStore({ max });
            const model = new Map<string, { due: number; wallDue: number }>();
            for (const step of steps) {
              if (typeof step === 'number') advance(step);
              else if ('jump' in step) wall += step.jump;
              else {
                const key = `k${step.key}`;
                const entry = model.get(key);
                const live = entry !== undefined && !(entry.due < mono && entry.wallDue < wall);
                const got = await outcome(store, key, step.ttl);
                if (live) expect(got).toBe(false);
                else expect([true, false, 'full']).toContain(got);
                if (got === true) model.set(key, { due: mono + step.ttl, wallDue: wall + step.ttl });
              }
            }
          },
        ),
        { numRuns: 1000, seed: 7521 },
      );
    });
  });

  it('refuses a TTL that is not a number (the claim rejects; the library answers 503)', async () => {
    const store = new MemoryReplayStore();
    for (const ttl of [Number.NaN, '60', undefined]) {
      await expect(store.claim('k', ttl as number)).rejects.toThrow(new TypeError('MemoryReplayStore: ttlSeconds must be a number'));
    }
    await expect(store.claim('k', 60)).resolves.toBe(true);
    // A TTL of zero or less still records the key, for a millisecond.
    await expect(store.claim('z', -5)).resolves.toBe(true);
    await expect(store.claim('forever', Infinity)).resolves.toBe(true);
    await expect(store.claim('forever', 60)).resolves.toBe(false);
  });

  it('refuses a max that is not a positive integer', () => {
    for (const max of [0, -1, 1.5, Number.NaN, Infinity, '10']) {
      expect(() => new MemoryReplayStore({ max: max as number })).toThrow(/"max" must be a positive integer/);
    }
  });
});

describe('replay detection in the pipeline (RFC 7523 §3 item 7, RFC 7519 §4.1.7)', () => {
  it('RFC 7523 §3 item 7: refuses a replayed client assertion with invalid_client ERR_ASSERTION_REPLAYED', async () => {
    const c = clients();
    const token = clientToken();
    await expect(c.authenticate(clientRequest(token))).resolves.toBeDefined();
    await expectRejected(c.authenticate(clientRequest(token)), 'ERR_ASSERTION_REPLAYED', 'invalid_client', 401);
  });

  it('RFC 7523 §3 item 7: refuses a replayed grant assertion with invalid_grant ERR_ASSERTION_REPLAYED', async () => {
    const g = grants();
    const token = grantToken();
    await expect(g.verify(grantRequest(token))).resolves.toBeDefined();
    await expectRejected(g.verify(grantRequest(token)), 'ERR_ASSERTION_REPLAYED', 'invalid_grant', 400);
  });

  it('lets exactly one of 50 concurrent submissions of one assertion through', async () => {
    const c = clients();
    const token = clientToken();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => c.authenticate(clientRequest(token))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_ASSERTION_REPLAYED' });
  });

  it('checks replay last: an assertion refused for its aud does not burn its jti (fix it and resend → success)', async () => {
    const c = clients();
    const jti = 'jti-aud';
    await expectRejected(c.authenticate(clientRequest(clientToken({ jti, aud: 'https://wrong.example' }))), 'ERR_AUDIENCE_INVALID');
    await expect(c.authenticate(clientRequest(clientToken({ jti })))).resolves.toBeDefined();
  });

  it('checks replay last: a grant refused for its scope does not burn its jti', async () => {
    const g = grants();
    const token = grantToken({ jti: 'jti-scope' });
    await expectRejected(g.verify(grantRequest(token, { scope: 'admin' })), 'ERR_SCOPE_INVALID', 'invalid_scope');
    await expect(g.verify(grantRequest(token, { scope: 'read' }))).resolves.toMatchObject({ scope: ['read'] });
  });

  it('checks replay after the signature: a forgery carrying a victim jti does not burn it', async () => {
    const c = clients();
    const jti = 'victim-jti';
    await expectRejected(c.authenticate(clientRequest(clientToken({ jti }, undefined, attacker.privateKey))), 'ERR_SIGNATURE_INVALID');
    await expect(c.authenticate(clientRequest(clientToken({ jti })))).resolves.toBeDefined();
  });

  it('scopes the jti per client: the same jti from two clients both succeed', async () => {
    const c = clients();
    await expect(c.authenticate(clientRequest(clientToken({ jti: 'shared' })))).resolves.toMatchObject({ clientId: CLIENT_ID });
    await expect(c.authenticate(clientRequest(clientToken({ jti: 'shared', iss: 'client-two', sub: 'client-two' })))).resolves.toMatchObject({
      clientId: 'client-two',
    });
    await expectRejected(c.authenticate(clientRequest(clientToken({ jti: 'shared' }))), 'ERR_ASSERTION_REPLAYED');
  });

  it('scopes the jti per issuer: the same jti from two grant issuers both succeed', async () => {
    const g = grants();
    await expect(g.verify(grantRequest(grantToken({ jti: 'shared' })))).resolves.toBeDefined();
    await expect(g.verify(grantRequest(grantToken({ jti: 'shared', iss: 'issuer-two' })))).resolves.toBeDefined();
  });

  it('DESIGN §8: keys the record by (iss, jti) across both uses: a used client assertion is no grant, nor the reverse', async () => {
    // The usual service-account shape: one party registered as a client and as a trusted issuer.
    const store = new MemoryReplayStore();
    const c = clients({ replayStore: store });
    const g = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: CLIENT_ID, publicKey: rsa.publicPem }], replayStore: store });
    const token = signJws({ alg: 'RS256', typ: 'JWT' }, { ...clientClaims({ jti: 'j' }), aud: ISSUER }, rsa.privateKey);
    await expect(c.authenticate(clientRequest(token))).resolves.toBeDefined();
    await expectRejected(g.verify(grantRequest(token)), 'ERR_ASSERTION_REPLAYED', 'invalid_grant');
    const other = signJws({ alg: 'RS256', typ: 'JWT' }, { ...clientClaims({ jti: 'k' }), aud: ISSUER }, rsa.privateKey);
    await expect(g.verify(grantRequest(other))).resolves.toBeDefined();
    await expectRejected(c.authenticate(clientRequest(other)), 'ERR_ASSERTION_REPLAYED', 'invalid_client');
  });

  it('DESIGN §8: a store that says it is shared between machines gets one more clockTolerance on each TTL', async () => {
    const plain = new RecordingStore();
    const shared = Object.assign(new RecordingStore(), { shared: true });
    const now = fixedNow();
    const exp = NOW + 100;
    const token = (jti: string) => signJws({ alg: 'RS256' }, clientClaims({ jti, iat: NOW, exp }), rsa.privateKey);
    await clients({ replayStore: plain, now, clockTolerance: 20 }).authenticate(clientRequest(token('a')));
    await clients({ replayStore: shared, now, clockTolerance: 20 }).authenticate(clientRequest(token('b')));
    expect(plain.calls.map((call) => call.ttlSeconds)).toEqual([120]);
    expect(shared.calls.map((call) => call.ttlSeconds)).toEqual([140]);
  });

  it('DESIGN §8: a node whose clock lags by less than clockTolerance cannot accept again once a shared record expired', async () => {
    // Node A writes the record by its clock; node B's clock lags 20 s. The store expires records
    // by A's clock. Without the margin B accepts the assertion again just after A's record expired.
    const run = async (shared: boolean) => {
      let storeTime = NOW;
      const records = new Map<string, number>();
      const store: ReplayStore = {
        shared,
        claim: async (key, ttl) => {
          const until = records.get(key);
          if (until !== undefined && until > storeTime) return false;
          records.set(key, storeTime + ttl);
          return true;
        },
      };
      const exp = NOW + 60;
      const token = signJws({ alg: 'RS256' }, clientClaims({ jti: 'skew', iat: NOW, exp }), rsa.privateKey);
      const a = clients({ replayStore: store, now: () => storeTime * 1000, clockTolerance: 30 });
      const b = clients({ replayStore: store, now: () => (storeTime - 20) * 1000, clockTolerance: 30 });
      await expect(a.authenticate(clientRequest(token))).resolves.toBeDefined();
      storeTime = exp + 31; // A's record without a margin has expired; on B's clock exp + tolerance has not passed.
      return b.authenticate(clientRequest(token)).then(
        () => 'accepted',
        (err: OAuthError) => err.code,
      );
    };
    await expect(run(false)).resolves.toBe('accepted');
    await expect(run(true)).resolves.toBe('ERR_ASSERTION_REPLAYED');
  });

  it('requireJti defaults to true for client authentication', async () => {
    await expectRejected(clients().authenticate(clientRequest(clientToken({ jti: undefined }))), 'ERR_JTI_MISSING', 'invalid_client', 401);
  });

  it('requireJti defaults to false for grants: an assertion without jti is accepted and the store is not asked', async () => {
    const store = new RecordingStore();
    const g = grants({ replayStore: store });
    const token = grantToken({ jti: undefined });
    await expect(g.verify(grantRequest(token))).resolves.toBeDefined();
    await expect(g.verify(grantRequest(token))).resolves.toBeDefined();
    expect(store.calls).toEqual([]);
  });

  it('a jti present in a grant is still replay-checked', async () => {
    const g = grants();
    const token = grantToken({ jti: 'present' });
    await expect(g.verify(grantRequest(token))).resolves.toBeDefined();
    await expectRejected(g.verify(grantRequest(token)), 'ERR_ASSERTION_REPLAYED', 'invalid_grant');
  });

  it('requireJti: true makes jti mandatory for grants', async () => {
    await expectRejected(grants({ requireJti: true }).verify(grantRequest(grantToken({ jti: undefined }))), 'ERR_JTI_MISSING', 'invalid_grant', 400);
  });
});

describe('the ReplayStore interface', () => {
  it('claims for min(exp, iat + maxLifetime) + clockTolerance - now seconds', async () => {
    const store = new RecordingStore();
    const c = clients({ replayStore: store, now: fixedNow(), maxLifetime: 60, clockTolerance: 5 });
    // iat + maxLifetime comes first: NOW - 10 + 60 + 5 - NOW = 55.
    await c.authenticate(clientRequest(clientToken({ iat: NOW - 10, exp: NOW + 100, jti: 'a' }, NOW)));
    // exp comes first: NOW + 20 + 5 - NOW = 25.
    await c.authenticate(clientRequest(clientToken({ iat: NOW, exp: NOW + 20, jti: 'b' }, NOW)));
    // No iat: exp + tolerance - now = 45.
    await c.authenticate(clientRequest(clientToken({ iat: undefined, exp: NOW + 40, jti: 'c' }, NOW)));
    // Expired but within tolerance: NOW - 3 + 5 - NOW = 2.
    await c.authenticate(clientRequest(clientToken({ iat: NOW - 30, exp: NOW - 3, jti: 'd' }, NOW)));
    expect(store.calls.map((call) => call.ttlSeconds)).toEqual([55, 25, 45, 2]);
  });

  it('uses the default tolerance (30 s) and grant lifetime (3600 s) in the TTL', async () => {
    const store = new RecordingStore();
    const g = grants({ replayStore: store, now: fixedNow() });
    await g.verify(grantRequest(grantToken({ iat: NOW - 100, exp: NOW + 7200, jti: 'g' }, NOW)));
    expect(store.calls[0]!.ttlSeconds).toBe(NOW - 100 + 3600 + 30 - NOW);
  });

  it('claims a key that names the use, the client or issuer and the jti', async () => {
    const store = new RecordingStore();
    await clients({ replayStore: store }).authenticate(clientRequest(clientToken({ jti: 'the-jti' })));
    await grants({ replayStore: store }).verify(grantRequest(grantToken({ jti: 'the-jti' })));
    expect(store.calls).toHaveLength(2);
    const [clientKey, grantKey] = store.calls.map((c) => c.key);
    expect(clientKey).toContain(CLIENT_ID);
    expect(clientKey).toContain('the-jti');
    expect(grantKey).toContain(GRANT_ISSUER);
    expect(grantKey).toContain('the-jti');
    expect(clientKey).not.toBe(grantKey);
  });

  it('keys cannot collide across issuer / jti boundaries ("a:b" + "c" vs "a" + "b:c")', async () => {
    const store = new RecordingStore();
    const g = createGrantVerifier({
      issuer: ISSUER,
      issuers: [
        { issuer: 'a:b', publicKey: rsa.publicPem },
        { issuer: 'a', publicKey: rsa.publicPem },
      ],
      replayStore: store,
    });
    await expect(g.verify(grantRequest(grantToken({ iss: 'a:b', jti: 'c' })))).resolves.toBeDefined();
    await expect(g.verify(grantRequest(grantToken({ iss: 'a', jti: 'b:c' })))).resolves.toBeDefined();
    expect(new Set(store.calls.map((c) => c.key)).size).toBe(2);
  });

  it('a store that rejects is 503 temporarily_unavailable ERR_REPLAY_STORE_UNAVAILABLE, never success', async () => {
    const store = new RecordingStore();
    store.failWith = new Error('ECONNREFUSED');
    await expectRejected(
      clients({ replayStore: store }).authenticate(clientRequest(clientToken())),
      'ERR_REPLAY_STORE_UNAVAILABLE',
      'temporarily_unavailable',
      503,
    );
    await expectRejected(grants({ replayStore: store }).verify(grantRequest(grantToken())), 'ERR_REPLAY_STORE_UNAVAILABLE', 'temporarily_unavailable', 503);
    store.failWith = 'a string';
    await expectRejected(grants({ replayStore: store }).verify(grantRequest(grantToken())), 'ERR_REPLAY_STORE_UNAVAILABLE');
  });

  it('a store that throws synchronously is 503 ERR_REPLAY_STORE_UNAVAILABLE too', async () => {
    const store: ReplayStore = {
      claim: () => {
        throw new Error('sync failure');
      },
    };
    await expectRejected(
      clients({ replayStore: store }).authenticate(clientRequest(clientToken())),
      'ERR_REPLAY_STORE_UNAVAILABLE',
      'temporarily_unavailable',
      503,
    );
  });

  it('a store that answers anything but true is treated as a replay (fails closed)', async () => {
    for (const answer of [undefined, 'OK', 1, null]) {
      const store: ReplayStore = { claim: async () => answer as unknown as boolean };
      await expectRejected(clients({ replayStore: store }).authenticate(clientRequest(clientToken())), 'ERR_ASSERTION_REPLAYED');
    }
  });

  it('a full store (ReplayStoreFullError) is 503 ERR_REPLAY_STORE_FULL', async () => {
    const store: ReplayStore = { claim: () => Promise.reject(new ReplayStoreFullError(10)) };
    await expectRejected(clients({ replayStore: store }).authenticate(clientRequest(clientToken())), 'ERR_REPLAY_STORE_FULL', 'temporarily_unavailable', 503);
  });

  it('a full MemoryReplayStore refuses new assertions with 503 ERR_REPLAY_STORE_FULL, and accepts again once entries expire', async () => {
    const store = new MemoryReplayStore({ max: 2 });
    const clock = { seconds: nowSeconds() };
    const c = clients({ replayStore: store, clockTolerance: 0, now: () => clock.seconds * 1000 });
    // exp is one second from now and there is no tolerance: the jti is kept for 1 s.
    const short = () => clientRequest(clientToken({ iat: clock.seconds, exp: clock.seconds + 1 }, clock.seconds));
    await expect(c.authenticate(short())).resolves.toBeDefined();
    await expect(c.authenticate(short())).resolves.toBeDefined();
    await expectRejected(c.authenticate(short()), 'ERR_REPLAY_STORE_FULL', 'temporarily_unavailable', 503);
    await sleep(1100);
    clock.seconds = nowSeconds();
    await expect(c.authenticate(short())).resolves.toBeDefined();
  });
});

describe('MemoryReplayStore per-party share and Retry-After (issue 12 finding 5)', () => {
  it('maxPerParty bounds one party; the others keep working', async () => {
    const store = new MemoryReplayStore({ max: 100, maxPerParty: 3 });
    for (const jti of ['a', 'b', 'c']) await expect(store.claimFor('flooder', `f:${jti}`, 60)).resolves.toBe(true);
    const err = await store.claimFor('flooder', 'f:d', 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplayStoreFullError);
    expect((err as ReplayStoreFullError).retryAfter).toBe(60);
    await expect(store.claimFor('other', 'o:a', 60)).resolves.toBe(true);
    // A replay is still a replay, not "full".
    await expect(store.claimFor('flooder', 'f:a', 60)).resolves.toBe(false);
  });

  it("Retry-After is the party's earliest expiry, and the share frees up when it passes", async () => {
    const store = new MemoryReplayStore({ max: 100, maxPerParty: 2 });
    await store.claimFor('p', 'p:1', 0.2);
    await store.claimFor('p', 'p:2', 50);
    const err = (await store.claimFor('p', 'p:3', 60).catch((e: unknown) => e)) as ReplayStoreFullError;
    expect(err.retryAfter).toBe(1);
    await sleep(260);
    await expect(store.claimFor('p', 'p:3', 60)).resolves.toBe(true);
  });

  it('a full store reports its earliest expiry, never a constant', async () => {
    const store = new MemoryReplayStore({ max: 2 });
    await store.claim('a', 40);
    await store.claim('b', 90);
    expect(((await store.claim('c', 60).catch((e: unknown) => e)) as ReplayStoreFullError).retryAfter).toBe(40);
  });

  it('the pipeline answers a full store with 503 and that Retry-After', async () => {
    const store = new MemoryReplayStore({ max: 50, maxPerParty: 1 });
    const c = clients({ replayStore: store });
    await expect(c.authenticate(clientRequest(clientToken()))).resolves.toBeDefined();
    const err = await expectRejected(c.authenticate(clientRequest(clientToken())), 'ERR_REPLAY_STORE_FULL', 'temporarily_unavailable', 503);
    const retryAfter = Number(err.headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(85);
    expect(retryAfter).toBeLessThanOrEqual(91);
    await expect(c.authenticate(clientRequest(clientToken({ iss: 'client-two', sub: 'client-two' })))).resolves.toBeDefined();
  });

  it('validates maxPerParty', () => {
    expect(() => new MemoryReplayStore({ maxPerParty: 0 })).toThrow(/maxPerParty/);
    expect(() => new MemoryReplayStore({ maxPerParty: 1.5 })).toThrow(/maxPerParty/);
  });
});

describe('the process-wide default store (issue 12 finding 5)', () => {
  it('gives one party a tenth of its 100,000 entries, so a single flooding issuer leaves the others working', async () => {
    const { defaultReplayStore } = await import('../src/replay/memory-store');
    const store = defaultReplayStore();
    for (let i = 0; i < 10_000; i += 1) await store.claimFor('https://flooder.example', `flood:${i}`, 3600);
    await expect(store.claimFor('https://flooder.example', 'flood:more', 3600)).rejects.toBeInstanceOf(ReplayStoreFullError);
    await expect(store.claimFor('https://someone-else.example', 'x', 60)).resolves.toBe(true);
  });
});
