import { createClientAuthenticator, createGrantVerifier, MemoryReplayStore, type RejectionEvent } from '../src';
import {
  CLIENT_ID,
  clientClaims,
  clientRequest,
  Clock,
  expectRejected,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  ISSUER,
  NOW,
  rsaKeyPair,
  signJws,
  TOKEN_ENDPOINT,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;

beforeAll(() => {
  rsa = rsaKeyPair();
});

describe('per-party allowReuse and maxLifetime (DESIGN §8)', () => {
  /** MSAL Node signs once with iat = now, exp = now + 600, and re-sends that assertion for 600 s. */
  const msalAssertion = () =>
    signJws({ alg: 'RS256', typ: 'JWT' }, clientClaims({ aud: TOKEN_ENDPOINT, iat: NOW, nbf: NOW, exp: NOW + 600, jti: 'msal-cached' }, NOW), rsa.privateKey);

  function msalServer(registration: Record<string, unknown>, clock: Clock, onError?: (e: RejectionEvent) => void) {
    return createClientAuthenticator({
      issuer: ISSUER,
      audiences: [TOKEN_ENDPOINT],
      audienceMode: 'legacy',
      clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem, ...registration }],
      replayStore: new MemoryReplayStore(),
      now: clock.now,
      ...(onError ? { onError } : {}),
    });
  }

  it('issue 13: with allowReuse and maxLifetime 600, one cached MSAL assertion is accepted on the 1st, 2nd and 3rd request across the 300 s mark', async () => {
    const clock = new Clock(NOW);
    const server = msalServer({ allowReuse: true, maxLifetime: 600 }, clock);
    const token = msalAssertion();
    await expect(server.authenticate(clientRequest(token))).resolves.toMatchObject({ clientId: CLIENT_ID });
    clock.advance(200);
    await expect(server.authenticate(clientRequest(token))).resolves.toMatchObject({ clientId: CLIENT_ID });
    clock.advance(250); // 450 s after iat: past the default 300 s cap
    await expect(server.authenticate(clientRequest(token))).resolves.toMatchObject({ clientId: CLIENT_ID });
    // The per-party cap and exp still apply: past exp + clockTolerance it is refused.
    clock.advance(181);
    await expectRejected(server.authenticate(clientRequest(token)), 'ERR_ASSERTION_EXPIRED', 'invalid_client');
  });

  it('issue 13: without allowReuse the second request is refused as a replay, and the detail names allowReuse', async () => {
    const clock = new Clock(NOW);
    const events: RejectionEvent[] = [];
    const server = msalServer({}, clock, (e) => events.push(e));
    const token = msalAssertion();
    await expect(server.authenticate(clientRequest(token))).resolves.toBeDefined();
    clock.advance(5);
    await expectRejected(server.authenticate(clientRequest(token)), 'ERR_ASSERTION_REPLAYED', 'invalid_client', 401);
    expect(events[0]!.detail).toMatch(/allowReuse/);
  });

  it('allowReuse alone keeps the factory maxLifetime: past 300 s the cached assertion is refused, and the detail names the per-party maxLifetime', async () => {
    const clock = new Clock(NOW);
    const events: RejectionEvent[] = [];
    const server = msalServer({ allowReuse: true }, clock, (e) => events.push(e));
    const token = msalAssertion();
    await expect(server.authenticate(clientRequest(token))).resolves.toBeDefined();
    clock.advance(100);
    await expect(server.authenticate(clientRequest(token))).resolves.toBeDefined();
    clock.advance(240);
    await expectRejected(server.authenticate(clientRequest(token)), 'ERR_ASSERTION_LIFETIME_EXCEEDED');
    expect(events[0]!.detail).toMatch(/maxLifetime/);
  });

  it('maxLifetime per party overrides the factory default in both directions, and leaves other parties alone', async () => {
    const clock = new Clock(NOW);
    const grants = createGrantVerifier({
      issuer: ISSUER,
      issuers: [
        { issuer: GRANT_ISSUER, publicKey: rsa.publicPem, maxLifetime: 60 },
        { issuer: 'https://other.example', publicKey: rsa.publicPem },
      ],
      replayStore: new MemoryReplayStore(),
      now: clock.now,
    });
    const old = (iss: string) => signJws({ alg: 'RS256' }, grantClaims({ iss, iat: NOW - 120, exp: NOW + 600 }, NOW), rsa.privateKey);
    await expectRejected(grants.verify(grantRequest(old(GRANT_ISSUER))), 'ERR_ASSERTION_LIFETIME_EXCEEDED', 'invalid_grant');
    await expect(grants.verify(grantRequest(old('https://other.example')))).resolves.toBeDefined();
  });

  it('a grant issuer with allowReuse skips the replay store; others stay single use', async () => {
    const store = new MemoryReplayStore();
    const grants = createGrantVerifier({
      issuer: ISSUER,
      issuers: [
        { issuer: GRANT_ISSUER, publicKey: rsa.publicPem, allowReuse: true },
        { issuer: 'https://other.example', publicKey: rsa.publicPem },
      ],
      replayStore: store,
    });
    const reused = signJws({ alg: 'RS256' }, grantClaims({ jti: 'same' }), rsa.privateKey);
    await expect(grants.verify(grantRequest(reused))).resolves.toBeDefined();
    await expect(grants.verify(grantRequest(reused))).resolves.toBeDefined();
    expect(store.size).toBe(0);
    const single = signJws({ alg: 'RS256' }, grantClaims({ iss: 'https://other.example', jti: 'same' }), rsa.privateKey);
    await expect(grants.verify(grantRequest(single))).resolves.toBeDefined();
    await expectRejected(grants.verify(grantRequest(single)), 'ERR_ASSERTION_REPLAYED');
  });

  it('validates allowReuse and maxLifetime in the registry, naming the field', () => {
    const make = (extra: Record<string, unknown>) => () =>
      createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem, ...extra }] });
    expect(make({ allowReuse: 'true' })).toThrow(/option "clients\[0\]\.allowReuse" must be a boolean/);
    expect(make({ maxLifetime: 0 })).toThrow(/option "clients\[0\]\.maxLifetime" must be a number of seconds ≥ 1/);
    expect(make({ maxLifetime: '600' })).toThrow(/clients\[0\]\.maxLifetime/);
    expect(make({ maxLifetime: Infinity })).toThrow(/clients\[0\]\.maxLifetime/);
    expect(() => createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, allowReuse: 1 as never }] })).toThrow(
      /issuers\[0\]\.allowReuse/,
    );
  });
});
