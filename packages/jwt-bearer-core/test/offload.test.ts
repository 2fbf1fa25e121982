import type * as Crypto from 'node:crypto';
import { createAssertion, createClientAuthenticator, createGrantVerifier, MemoryReplayStore, type Algorithm, type OffloadMode } from '../src';
import { ALGORITHMS } from '../src/jose/algorithms';
import { Offloader, PROBE_EVERY, PROBE_INTERVAL_MS, QUIET_CHECKS_TO_STOP } from '../src/verify/offload';
import {
  clientClaims,
  clientRequest,
  ecKeyPair,
  ed25519KeyPair,
  expectRejected,
  GRANT_ISSUER,
  grantRequest,
  ISSUER,
  rsaKeyPair,
  signJws,
  type TestKeyPair,
} from './helpers';

// The module object the library calls into (a namespace import would be a copy jest cannot spy on).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeCrypto: typeof Crypto = require('node:crypto');

/** Counts crypto.verify calls made on the thread pool (with a callback) and on the event loop. */
function spyVerify(): { pool: () => number; loop: () => number; restore: () => void } {
  const spy = jest.spyOn(nodeCrypto, 'verify');
  const count = (pool: boolean) => spy.mock.calls.filter((args) => (typeof args[4] === 'function') === pool).length;
  return { pool: () => count(true), loop: () => count(false), restore: () => spy.mockRestore() };
}

describe('Offloader: where each signature check runs', () => {
  /** Runs `n` checks one at a time (each finished before the next starts); returns the decisions. */
  const sequential = (o: Offloader, n: number) =>
    Array.from({ length: n }, () => {
      const offloaded = o.start();
      if (offloaded) o.done();
      return offloaded;
    });

  it("'never' checks on the event loop, 'always' on the thread pool, counting pending checks", () => {
    const never = new Offloader('never', 8);
    expect(sequential(never, 200).every((d) => !d)).toBe(true);
    const always = new Offloader('always', 8);
    expect([always.start(), always.start(), always.start()]).toEqual([true, true, true]);
    expect(always.inFlight).toBe(3);
    always.done();
    expect(always.inFlight).toBe(2);
  });

  it("'always' is honoured on a single core; 'auto' there never offloads", () => {
    expect(new Offloader('always', 1).start()).toBe(true);
    const auto = new Offloader('auto', 1);
    expect([auto.start(), auto.start(), ...sequential(auto, 300)].some(Boolean)).toBe(false);
    expect(auto.inFlight).toBe(0);
  });

  it("'auto', calls one at a time: the event loop, with one probe every PROBE_EVERY checks, at most one per PROBE_INTERVAL_MS", () => {
    let now = 1000;
    const auto = new Offloader('auto', 4, () => now);
    const probesIn = (n: number) => sequential(auto, n).flatMap((d, i) => (d ? [i + 1] : []));
    // The first probe comes after PROBE_EVERY checks; the next PROBE_EVERY checks come too soon for another.
    expect(probesIn(PROBE_EVERY * 3)).toEqual([PROBE_EVERY]);
    now += PROBE_INTERVAL_MS;
    expect(probesIn(PROBE_EVERY * 2)).toEqual([PROBE_EVERY]);
    // Spread out in time (a PROBE_INTERVAL_MS per PROBE_EVERY checks), every PROBE_EVERY-th check is a probe.
    const spread: number[] = [];
    for (let i = 1; i <= PROBE_EVERY * 3; i++) {
      now += PROBE_INTERVAL_MS / PROBE_EVERY;
      if (sequential(auto, 1)[0]) spread.push(i);
    }
    expect(spread).toEqual([PROBE_EVERY, PROBE_EVERY * 2, PROBE_EVERY * 3]);
    expect(auto.inFlight).toBe(0);
  });

  it("'auto', overlapping calls: a check that starts while another is pending is offloaded, and so are the next ones", () => {
    const auto = new Offloader('auto', 4);
    sequential(auto, PROBE_EVERY - 1);
    expect(auto.start()).toBe(true); // the probe
    expect(auto.start()).toBe(true); // starts while the probe is pending: overlap
    auto.done();
    auto.done();
    // Offloading now, also for checks that find nothing pending, until QUIET_CHECKS_TO_STOP of them in a row.
    const after = sequential(auto, QUIET_CHECKS_TO_STOP + 3);
    expect(after.slice(0, QUIET_CHECKS_TO_STOP - 1).every(Boolean)).toBe(true);
    expect(after.slice(QUIET_CHECKS_TO_STOP - 1).some(Boolean)).toBe(false);
  });

  it("'auto': one overlap among quiet checks restarts the count", () => {
    const auto = new Offloader('auto', 4);
    expect(auto.start()).toBe(false);
    // Force the offloading state: a probe, then an overlapping check.
    sequential(auto, PROBE_EVERY - 2);
    expect(auto.start() && auto.start()).toBe(true);
    auto.done();
    auto.done();
    sequential(auto, QUIET_CHECKS_TO_STOP - 2);
    expect(auto.start() && auto.start()).toBe(true); // overlap again before the quiet limit
    auto.done();
    auto.done();
    expect(sequential(auto, QUIET_CHECKS_TO_STOP - 1).every(Boolean)).toBe(true);
    expect(sequential(auto, 1)).toEqual([false]);
  });
});

describe('option offload, end to end', () => {
  let rsa: TestKeyPair;
  let p256: TestKeyPair;
  let ed: TestKeyPair;
  let other: TestKeyPair;
  let stranger: TestKeyPair;
  let pssOnly: Crypto.KeyPairKeyObjectResult;

  beforeAll(() => {
    rsa = rsaKeyPair();
    p256 = ecKeyPair('P-256');
    ed = ed25519KeyPair();
    other = rsaKeyPair();
    stranger = rsaKeyPair();
    pssOnly = nodeCrypto.generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256' });
  });

  const clientsWith = (offload: OffloadMode) =>
    createClientAuthenticator({
      issuer: ISSUER,
      offload,
      replayStore: new MemoryReplayStore(),
      clients: [
        { clientId: 'rsa', publicKey: rsa.publicKey },
        { clientId: 'p256', publicKey: p256.publicKey },
        { clientId: 'ed', publicKey: ed.publicKey },
        { clientId: 'pss', publicKey: pssOnly.publicKey },
        { clientId: 'hmac', clientSecret: 'k'.repeat(64) },
        // Two keys without kids and an assertion without kid: both are tried, in order.
        { clientId: 'two', jwks: { keys: [other.publicJwk, rsa.publicJwk] } },
      ],
    });

  const signed = (clientId: string, key: Crypto.KeyObject | string, algorithm: Algorithm) =>
    createAssertion({ issuer: clientId, subject: clientId, audience: ISSUER, key, algorithm });

  afterEach(() => jest.restoreAllMocks());

  it.each(['always', 'never', 'auto'] as OffloadMode[])("'%s': every asymmetric algorithm accepts a good signature and refuses a bad one", async (mode) => {
    const clients = clientsWith(mode);
    const [p256b, edb] = [ecKeyPair('P-256'), ed25519KeyPair()];
    for (const [id, key, alg, wrong] of [
      ['rsa', rsa.privateKey, 'RS256', other.privateKey],
      ['rsa', rsa.privateKey, 'PS384', other.privateKey],
      ['p256', p256.privateKey, 'ES256', p256b.privateKey],
      ['ed', ed.privateKey, 'EdDSA', edb.privateKey],
      ['ed', ed.privateKey, 'Ed25519', edb.privateKey],
      // Both keys of 'two' are tried; the second one verifies.
      ['two', rsa.privateKey, 'RS512', stranger.privateKey],
    ] as const) {
      await expect(clients.authenticate(clientRequest(signed(id, key, alg)))).resolves.toMatchObject({ clientId: id, header: { alg } });
      const forged = signJws({ alg }, clientClaims({ iss: id, sub: id }), wrong);
      await expectRejected(clients.authenticate(clientRequest(forged)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
    }
  });

  it("'always' checks asymmetric signatures with a callback (thread pool), HMAC on the event loop; 'never' never uses the pool", async () => {
    const spy = spyVerify();
    const pooled = clientsWith('always');
    await pooled.authenticate(clientRequest(signed('rsa', rsa.privateKey, 'RS256')));
    await pooled.authenticate(clientRequest(signed('p256', p256.privateKey, 'ES256')));
    await pooled.authenticate(clientRequest(signed('hmac', 'k'.repeat(64), 'HS256')));
    expect([spy.pool(), spy.loop()]).toEqual([2, 0]);
    const loop = clientsWith('never');
    for (let i = 0; i < 70; i++) await loop.authenticate(clientRequest(signed('rsa', rsa.privateKey, 'RS256')));
    expect([spy.pool(), spy.loop()]).toEqual([2, 70]);
  });

  it("'always': a DER ECDSA signature, and a key / algorithm pair node:crypto refuses, are invalid signatures, not server errors", async () => {
    const clients = clientsWith('always');
    const der = signJws({ alg: 'ES256' }, clientClaims({ iss: 'p256', sub: 'p256' }), p256.privateKey, { der: true });
    await expectRejected(clients.authenticate(clientRequest(der)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
    // The key is restricted to SHA-256 in its SPKI: PS384 with it fails inside node:crypto.
    const mismatch = signJws({ alg: 'PS384' }, clientClaims({ iss: 'pss', sub: 'pss' }), rsa.privateKey);
    await expectRejected(clients.authenticate(clientRequest(mismatch)), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
    await expect(clients.authenticate(clientRequest(signed('pss', pssOnly.privateKey, 'PS256')))).resolves.toMatchObject({ clientId: 'pss' });
  });

  it('the thread-pool check never rejects: what node:crypto refuses, at once or in the job, is false', async () => {
    const input = Buffer.from('a.b');
    // Not a key at all: node:crypto throws before queueing the job.
    await expect(ALGORITHMS.RS256.verifyOffThread!({} as Crypto.KeyObject, input, Buffer.alloc(256))).resolves.toBe(false);
    // An ECDSA signature of the wrong length never reaches node:crypto.
    const spy = spyVerify();
    await expect(ALGORITHMS.ES256.verifyOffThread!(p256.publicKey, input, Buffer.alloc(63))).resolves.toBe(false);
    expect(spy.pool()).toBe(0);
    // Every asymmetric algorithm has the thread-pool form; HMAC has not.
    expect(
      Object.values(ALGORITHMS)
        .filter((a) => a.verifyOffThread === undefined)
        .map((a) => a.name),
    ).toEqual(['HS256', 'HS384', 'HS512']);
  });

  it("'auto': calls awaited one at a time stay on the event loop; overlapping calls go to the thread pool", async () => {
    const spy = spyVerify();
    const clients = clientsWith('auto');
    for (let i = 0; i < 20; i++) await clients.authenticate(clientRequest(signed('rsa', rsa.privateKey, 'RS256')));
    expect([spy.pool(), spy.loop()]).toEqual([0, 20]);
    // Until the next probe, nothing overlaps: probe, then 40 concurrent calls.
    const burst = Array.from({ length: 200 }, () => clients.authenticate(clientRequest(signed('rsa', rsa.privateKey, 'RS256'))));
    await expect(Promise.all(burst)).resolves.toHaveLength(200);
    // Before the probe (44 more checks on the loop) the burst runs synchronously; from the probe on, all overlap.
    expect(spy.loop()).toBe(20 + PROBE_EVERY - 21);
    expect(spy.pool()).toBe(200 - (PROBE_EVERY - 21));
  });

  it("'auto': failed offloaded checks release their place: sequential calls return to the event loop", async () => {
    const clients = clientsWith('auto');
    const good = () => clients.authenticate(clientRequest(signed('rsa', rsa.privateKey, 'RS256')));
    const bad = () =>
      clients.authenticate(clientRequest(signJws({ alg: 'RS256' }, clientClaims({ iss: 'rsa', sub: 'rsa' }), other.privateKey))).catch((e: unknown) => e);
    for (let i = 0; i < PROBE_EVERY - 1; i++) await good();
    // The probe and a burst of failing and passing checks, all overlapping.
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? bad() : good())));
    expect(results.filter((r) => r instanceof Error)).toHaveLength(15);
    const spy = spyVerify();
    for (let i = 0; i < QUIET_CHECKS_TO_STOP + 5; i++) await good();
    // Offloading ends after QUIET_CHECKS_TO_STOP quiet checks; it would not if the failures had leaked pending counts.
    expect([spy.pool(), spy.loop()]).toEqual([QUIET_CHECKS_TO_STOP - 1, 6]);
  });

  it('grants honour the option too', async () => {
    const spy = spyVerify();
    const grants = createGrantVerifier({ issuer: ISSUER, offload: 'always', issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicKey }] });
    const token = createAssertion({ issuer: GRANT_ISSUER, subject: 'alice', audience: ISSUER, key: rsa.privateKey });
    await expect(grants.verify(grantRequest(token))).resolves.toMatchObject({ subject: 'alice' });
    expect(spy.pool()).toBe(1);
  });

  it('refuses an unknown mode by name', () => {
    expect(() => createClientAuthenticator({ issuer: ISSUER, clients: [], offload: 'sometimes' as OffloadMode })).toThrow(
      'jwt-bearer: option "offload" must be one of "auto", "always", "never"',
    );
    expect(() => createGrantVerifier({ issuer: ISSUER, issuers: [], offload: true as unknown as OffloadMode })).toThrow(/option "offload"/);
  });
});
