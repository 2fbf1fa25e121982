import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  createClientAuthenticator,
  createGrantVerifier,
  MemoryReplayStore,
  type ClientAuthenticator,
  type ClientRegistration,
  type JwksOptions,
  type RejectionEvent,
} from '../src';
import {
  Clock,
  CLIENT_ID,
  clientClaims,
  clientRequest,
  closedPortUrl,
  ecKeyPair,
  expectRejected,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  hostileRsaJwk,
  ISSUER,
  JwksServer,
  jwkWithKid,
  rejection,
  rsaKeyPair,
  secret,
  signJws,
  type TestKeyPair,
} from './helpers';
import { ALGORITHMS } from '../src/jose/algorithms';
import { MAX_KEYS_TRIED } from '../src/trust/keys';
import { faultLinesOnly } from '../../../test/support/fault-log';

// These tests provoke 5xx without an onError hook: the core's line on console.error is expected.
faultLinesOnly();

let server: JwksServer;
let keyA: TestKeyPair;
let keyB: TestKeyPair;
let ec: TestKeyPair;

beforeAll(async () => {
  keyA = rsaKeyPair();
  keyB = rsaKeyPair();
  ec = ecKeyPair();
  server = await new JwksServer().start();
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.reset([jwkWithKid(keyA, 'a')]);
});

/** Small windows so the tests run on a controlled clock: cooldown 10 s, cache 60 s, stale 120 s. */
const SMALL: JwksOptions = { cooldown: 10, cacheMaxAge: 60, staleIfError: 120, timeout: 300 };

function authenticator(clock: Clock, jwksOptions: JwksOptions = {}, uri = server.url, onError?: (e: RejectionEvent) => void): ClientAuthenticator {
  return createClientAuthenticator({
    issuer: ISSUER,
    clients: [{ clientId: CLIENT_ID, jwksUri: uri }],
    now: clock.now,
    replayStore: new MemoryReplayStore(),
    jwksOptions: { ...SMALL, ...jwksOptions },
    ...(onError ? { onError } : {}),
  });
}

const token = (clock: Clock, kid: string | undefined, key: TestKeyPair = keyA) =>
  signJws({ alg: 'RS256', ...(kid !== undefined ? { kid } : {}) }, clientClaims({}, clock.seconds), key.privateKey);
const verify = (auth: ClientAuthenticator, clock: Clock, kid: string | undefined, key: TestKeyPair = keyA) =>
  auth.authenticate(clientRequest(token(clock, kid, key)));

describe('fetching and caching a JWK Set (DESIGN §6)', () => {
  it('verifies with a key from jwksUri, sending an Accept header for JWK Sets', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, 'a')).resolves.toMatchObject({ clientId: CLIENT_ID, method: 'private_key_jwt' });
    expect(server.requests).toBe(1);
    expect(server.lastHeaders?.accept).toMatch(/application\/json/);
    expect(server.lastHeaders?.accept).toMatch(/application\/jwk-set\+json/);
  });

  it('serves later verifications from the cache within cacheMaxAge', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    for (let i = 0; i < 5; i++) {
      await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
      clock.advance(10);
    }
    expect(server.requests).toBe(1);
  });

  it('100 concurrent verifications for one new kid make exactly 1 fetch (cold cache)', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    const tokens = Array.from({ length: 100 }, () => token(clock, 'a'));
    const results = await Promise.all(tokens.map((t) => auth.authenticate(clientRequest(t))));
    expect(results.every((r) => r?.clientId === CLIENT_ID)).toBe(true);
    expect(server.requests).toBe(1);
  });

  it('100 concurrent verifications for a kid rotated in make exactly 1 more fetch (warm cache)', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await verify(auth, clock, 'a');
    server.jwks = { keys: [jwkWithKid(keyA, 'a'), jwkWithKid(keyB, 'b')] };
    clock.advance(11);
    const tokens = Array.from({ length: 100 }, () => token(clock, 'b', keyB));
    const results = await Promise.all(tokens.map((t) => auth.authenticate(clientRequest(t))));
    expect(results.every((r) => r?.clientId === CLIENT_ID)).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('200 assertions with random unknown kids make at most 2 fetches within the cooldown, and are refused with ERR_KEY_NOT_FOUND', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    const flood = Array.from({ length: 200 }, () => token(clock, crypto.randomUUID()));
    const results = await Promise.allSettled(flood.map((t) => auth.authenticate(clientRequest(t))));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_KEY_NOT_FOUND', error: 'invalid_client', status: 401 });
    }
    expect(server.requests).toBeLessThanOrEqual(2);
    // More unknown kids later in the same cooldown window: refused at once, no fetch.
    clock.advance(5);
    for (let i = 0; i < 20; i++) await expectRejected(verify(auth, clock, crypto.randomUUID()), 'ERR_KEY_NOT_FOUND');
    expect(server.requests).toBeLessThanOrEqual(2);
    // The known key keeps working throughout.
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
  });

  it('a flood of unknown kids on a warm cache after the cooldown makes one refetch, not one per kid', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await verify(auth, clock, 'a');
    clock.advance(11);
    const flood = Array.from({ length: 200 }, () => token(clock, crypto.randomUUID()));
    const results = await Promise.allSettled(flood.map((t) => auth.authenticate(clientRequest(t))));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ERR_KEY_NOT_FOUND')).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('issue 13: a key rotated in (new kid) is fetched at first sight, even just after a periodic fetch', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    server.jwks = { keys: [jwkWithKid(keyA, 'a'), jwkWithKid(keyB, 'b')] };
    clock.advance(5);
    // Inside the cooldown of that (non-miss) fetch, the new kid is fetched at once.
    await expect(verify(auth, clock, 'b', keyB)).resolves.toBeDefined();
    expect(server.requests).toBe(2);
    await expect(verify(auth, clock, 'b', keyB)).resolves.toBeDefined();
    expect(server.requests).toBe(2);
    // A fetch for a miss happened within the cooldown: the next unknown kid is refused without a fetch.
    server.jwks = { keys: [jwkWithKid(keyA, 'a'), jwkWithKid(keyB, 'b'), jwkWithKid(ec, 'c')] };
    clock.advance(5);
    await expectRejected(verify(auth, clock, 'c', ec), 'ERR_KEY_NOT_FOUND', 'invalid_client', 401);
    expect(server.requests).toBe(2);
  });

  it('refuses a key rotated out once cacheMaxAge has passed', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    server.jwks = { keys: [jwkWithKid(keyB, 'b')] };
    clock.advance(30);
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    expect(server.requests).toBe(1);
    clock.advance(31);
    await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_NOT_FOUND', 'invalid_client', 401);
    expect(server.requests).toBe(2);
    await expect(verify(auth, clock, 'b', keyB)).resolves.toBeDefined();
    expect(server.requests).toBe(2);
  });

  it('accepts an assertion without kid, trying the keys of the set that fit the algorithm', async () => {
    server.reset([jwkWithKid(keyA, 'a'), jwkWithKid(ec, 'e'), jwkWithKid(keyB, 'b')]);
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, undefined, keyB)).resolves.toBeDefined();
    await expect(auth.authenticate(clientRequest(signJws({ alg: 'ES256' }, clientClaims({}, clock.seconds), ec.privateKey)))).resolves.toBeDefined();
    expect(server.requests).toBe(1);
  });

  it('skips keys of the set that are not usable (symmetric, encryption, private) and uses the others', async () => {
    server.reset([{ kty: 'oct', k: 'c2VjcmV0', kid: 'o' }, { ...jwkWithKid(keyB, 'b'), use: 'enc' }, jwkWithKid(keyA, 'a')]);
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    await expectRejected(verify(auth, clock, 'b', keyB), 'ERR_KEY_NOT_FOUND');
  });

  it('takes at most maxKeys keys of a set', async () => {
    server.reset([jwkWithKid(keyA, 'a'), jwkWithKid(keyB, 'b')]);
    const clock = new Clock();
    const auth = authenticator(clock, { maxKeys: 1 });
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    await expectRejected(verify(auth, clock, 'b', keyB), 'ERR_KEY_NOT_FOUND');
  });

  it('shares one key set between registrations with the same jwksUri', async () => {
    const clock = new Clock();
    const auth = createClientAuthenticator({
      issuer: ISSUER,
      clients: [
        { clientId: 'one', jwksUri: server.url },
        { clientId: 'two', jwksUri: server.url },
      ],
      now: clock.now,
      jwksOptions: SMALL,
    });
    const as = (id: string) => signJws({ alg: 'RS256', kid: 'a' }, clientClaims({ iss: id, sub: id }, clock.seconds), keyA.privateKey);
    await expect(auth.authenticate(clientRequest(as('one')))).resolves.toMatchObject({ clientId: 'one' });
    await expect(auth.authenticate(clientRequest(as('two')))).resolves.toMatchObject({ clientId: 'two' });
    expect(server.requests).toBe(1);
  });

  it('refuses HS* for a jwksUri client without fetching (a remote set holds public keys only)', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    const hs = signJws({ alg: 'HS256', kid: 'a' }, clientClaims({}, clock.seconds), Buffer.from(secret(32)));
    await expectRejected(auth.authenticate(clientRequest(hs)), 'ERR_ALGORITHM_NOT_ALLOWED', 'invalid_client');
    expect(server.requests).toBe(0);
  });

  it('sends jwksOptions.requestHeaders and uses jwksOptions.requestAgent', async () => {
    class CountingAgent extends http.Agent {
      connections = 0;
      override createConnection(...args: Parameters<http.Agent['createConnection']>): Duplex {
        this.connections += 1;
        return super.createConnection(...args) as Duplex;
      }
    }
    const agent = new CountingAgent({ keepAlive: false });
    const clock = new Clock();
    const auth = authenticator(clock, { requestHeaders: { 'x-tenant': 'blue' }, requestAgent: agent });
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    expect(server.lastHeaders?.['x-tenant']).toBe('blue');
    expect(agent.connections).toBe(1);
    agent.destroy();
  });

  it('takes a key set from any 2xx with any content type (as jwks-rsa did), but never follows a redirect', async () => {
    let answer: { status: number; type: string; location?: string } = { status: 203, type: 'text/plain' };
    const odd = http.createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': answer.type, ...(answer.location ? { location: answer.location } : {}) });
      res.end(answer.status < 300 ? JSON.stringify({ keys: [jwkWithKid(keyA, 'a')] }) : '');
    });
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    const oddUrl = `http://127.0.0.1:${(odd.address() as import('node:net').AddressInfo).port}/jwks`;
    try {
      const clock = new Clock();
      await expect(verify(authenticator(clock, {}, oddUrl), clock, 'a')).resolves.toMatchObject({ clientId: CLIENT_ID });
      answer = { status: 302, type: 'application/json', location: server.url };
      const err = await expectRejected(verify(authenticator(clock, {}, oddUrl), clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
      expect(err.detail).toMatch(/HTTP 302/);
      expect(server.requests).toBe(0);
    } finally {
      await new Promise((resolve) => odd.close(resolve));
    }
  });

  it('works for grant issuers with a jwksUri', async () => {
    const clock = new Clock();
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, jwksUri: server.url }], now: clock.now, jwksOptions: SMALL });
    await expect(grants.verify(grantRequest(signJws({ alg: 'RS256', kid: 'a' }, grantClaims({}, clock.seconds), keyA.privateKey)))).resolves.toMatchObject({
      issuer: GRANT_ISSUER,
    });
  });
});

describe('maxKeySets bounds the key sets held', () => {
  const bounded = (clock: Clock, maxKeySets: number, clients: ClientRegistration[] | ((clientId: string) => ClientRegistration)) =>
    createClientAuthenticator({ issuer: ISSUER, now: clock.now, replayStore: new MemoryReplayStore(), jwksOptions: { ...SMALL, maxKeySets }, clients });
  /** A client assertion of client `id`, signed with the key the JWKS server serves as kid "a". */
  const as = (auth: ClientAuthenticator, clock: Clock, id: string) =>
    auth.authenticate(clientRequest(signJws({ alg: 'RS256', kid: 'a' }, clientClaims({ iss: id, sub: id }, clock.seconds), keyA.privateKey)));

  it('also for registrations from a lookup function: a dropped set keeps its keys within the refetch interval, and fetches again after it', async () => {
    const clock = new Clock();
    // One key set URI per client (the server answers the same set on every path).
    const auth = bounded(clock, 2, (clientId) => ({ clientId, jwksUri: `${server.url}?client=${clientId}` }));
    await as(auth, clock, 'c1');
    await as(auth, clock, 'c2');
    await as(auth, clock, 'c1');
    expect(server.requests).toBe(2);
    // A third set: the least recently used one (c2's) is dropped from the cache.
    await expect(as(auth, clock, 'c3')).resolves.toMatchObject({ clientId: 'c3' });
    expect(server.requests).toBe(3);
    // Fetched less than a cooldown ago: its keys were kept, no new fetch.
    await expect(as(auth, clock, 'c2')).resolves.toMatchObject({ clientId: 'c2' });
    expect(server.requests).toBe(3);
    // After the cooldown, a set dropped (c3's, by c4) fetches its keys again.
    clock.advance(SMALL.cooldown!);
    await as(auth, clock, 'c4');
    await as(auth, clock, 'c5');
    expect(server.requests).toBe(5);
    await expect(as(auth, clock, 'c3')).resolves.toMatchObject({ clientId: 'c3' });
    expect(server.requests).toBe(6);
  });

  it('a dropped set keeps its cooldown: a failing endpoint is not fetched again before its Retry-After', async () => {
    const failing = await new JwksServer().start();
    failing.mode = 'status500';
    try {
      const clock = new Clock();
      const auth = bounded(clock, 2, [
        { clientId: 'bad', jwksUri: failing.url },
        { clientId: 'c2', jwksUri: `${server.url}?c2` },
        { clientId: 'c3', jwksUri: `${server.url}?c3` },
      ]);
      for (let round = 0; round < 3; round++) {
        const err = await expectRejected(as(auth, clock, 'bad'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
        expect(err.headers['Retry-After']).toBe(String(SMALL.cooldown));
        await as(auth, clock, 'c2');
        await as(auth, clock, 'c3');
      }
      // Three rounds, each dropping the failing set: still one fetch, as the cooldown says.
      expect(failing.requests).toBe(1);
      clock.advance(SMALL.cooldown!);
      await expectRejected(as(auth, clock, 'bad'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
      expect(failing.requests).toBe(2);
    } finally {
      await failing.close();
    }
  });

  it('a set dropped while its fetch is in flight still shares that one fetch', async () => {
    server.mode = 'slow';
    server.delayMs = 150;
    const clock = new Clock();
    const auth = bounded(clock, 1, [
      { clientId: 's', jwksUri: `${server.url}?s` },
      { clientId: 'o', jwksUri: `${server.url}?o` },
    ]);
    // s starts fetching; o pushes s out; s is used again while its first fetch is still running.
    const results = await Promise.all([as(auth, clock, 's'), as(auth, clock, 'o'), as(auth, clock, 's')]);
    expect(results.map((r) => r?.clientId)).toEqual(['s', 'o', 's']);
    expect(server.requests).toBe(2);
  });
});

describe('an unavailable key source is the server fault: 503, never invalid_client (DESIGN §5)', () => {
  const coldFailure = async (configure: () => void | Promise<void>, jwksOptions: JwksOptions = {}, uri?: string) => {
    await configure();
    const clock = new Clock();
    const events: RejectionEvent[] = [];
    const auth = authenticator(clock, jwksOptions, uri ?? server.url, (e) => events.push(e));
    const err = await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    expect(err.detail).toEqual(expect.any(String));
    expect(events).toEqual([expect.objectContaining({ code: 'ERR_KEY_SOURCE_UNAVAILABLE', status: 503, clientId: CLIENT_ID })]);
    return err;
  };

  it('endpoint down (connection refused) on a cold cache → 503 ERR_KEY_SOURCE_UNAVAILABLE', async () => {
    const err = await coldFailure(() => undefined, {}, await closedPortUrl());
    expect(err.cause).toBeDefined();
  });

  it('RFC 9110 §10.2.3: Retry-After is the rest of the cooldown, before which no new fetch is tried', async () => {
    server.mode = 'status500';
    const clock = new Clock();
    const auth = authenticator(clock);
    const first = await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    expect(first.headers['Retry-After']).toBe(String(SMALL.cooldown));
    clock.advance(3.5);
    server.mode = 'ok';
    const second = await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    expect(second.headers['Retry-After']).toBe(String(SMALL.cooldown! - 3));
    expect(server.requests).toBe(1);
    // When Retry-After said so, the retry fetches and succeeds.
    clock.advance(SMALL.cooldown! - 3.5);
    await expect(verify(auth, clock, 'a')).resolves.toMatchObject({ clientId: CLIENT_ID });
    expect(server.requests).toBe(2);
  });

  it('connection reset on a cold cache → 503', async () => {
    await coldFailure(() => {
      server.mode = 'reset';
    });
  });

  it('HTTP 500 on a cold cache → 503', async () => {
    const err = await coldFailure(() => {
      server.mode = 'status500';
    });
    expect(err.detail).toMatch(/HTTP 500/);
  });

  it('invalid JSON on a cold cache → 503', async () => {
    const err = await coldFailure(() => {
      server.mode = 'invalidJson';
    });
    expect(err.detail).toMatch(/not JSON/);
  });

  it('an oversized body on a cold cache → 503 (maxResponseBytes)', async () => {
    const err = await coldFailure(
      () => {
        server.mode = 'oversized';
      },
      { maxResponseBytes: 16 * 1024 },
    );
    expect(err.detail).toMatch(/exceeds 16384 bytes/);
  });

  it('a response slower than the timeout on a cold cache → 503, within about the timeout', async () => {
    const started = Date.now();
    const err = await coldFailure(
      () => {
        server.mode = 'slow';
        server.delayMs = 3000;
      },
      { timeout: 150 },
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(err.detail).toMatch(/longer than 150 ms/);
  });

  it.each([
    ['no keys member', '{"nokeys":true}'],
    ['an empty key set', '{"keys":[]}'],
    ['only unusable keys', '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON array', '[]'],
  ])('a body with %s on a cold cache → 503', async (_name, body) => {
    await coldFailure(() => {
      server.mode = 'raw';
      server.rawBody = body;
    });
  });

  it('for grants too: 503 temporarily_unavailable, not invalid_grant', async () => {
    server.mode = 'status500';
    const clock = new Clock();
    const grants = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, jwksUri: server.url }], now: clock.now, jwksOptions: SMALL });
    await expectRejected(
      grants.verify(grantRequest(signJws({ alg: 'RS256', kid: 'a' }, grantClaims({}, clock.seconds), keyA.privateKey))),
      'ERR_KEY_SOURCE_UNAVAILABLE',
      'temporarily_unavailable',
      503,
    );
  });

  it('concurrent requests on a cold cache against a failing endpoint share one fetch and all get 503', async () => {
    server.mode = 'status500';
    const clock = new Clock();
    const auth = authenticator(clock);
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => verify(auth, clock, 'a')));
    for (const r of results) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_KEY_SOURCE_UNAVAILABLE', status: 503 });
    expect(server.requests).toBe(1);
  });

  it('does not hammer a failing endpoint: no refetch within the cooldown, one retry after it, which recovers', async () => {
    server.mode = 'status500';
    const clock = new Clock();
    const auth = authenticator(clock);
    await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE');
    for (let i = 0; i < 5; i++) {
      clock.advance(1);
      await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    }
    expect(server.requests).toBe(1);
    server.mode = 'ok';
    clock.advance(6);
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    expect(server.requests).toBe(2);
  });

  it('cached keys keep working while the endpoint is down within staleIfError, and 503 after it', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    server.mode = 'status500';
    clock.advance(61); // past cacheMaxAge (60): a refetch is tried and fails
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    expect(server.requests).toBe(2);
    clock.advance(60); // 121 s after the fetch: still within cacheMaxAge + staleIfError (180)
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    expect(server.requests).toBe(3);
    server.mode = 'reset';
    clock.advance(58); // 179 s
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    clock.advance(2); // 181 s: the stale key set is no longer used
    await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    // Within the cooldown after that failure: still 503, no new fetch.
    const before = server.requests;
    clock.advance(1);
    await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE');
    expect(server.requests).toBe(before);
    // The endpoint recovers: after the cooldown the key set is fetched again.
    server.mode = 'ok';
    clock.advance(10);
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
  });

  it('staleIfError: 0 stops using the cached set as soon as cacheMaxAge has passed and the refetch fails', async () => {
    const clock = new Clock();
    const auth = authenticator(clock, { staleIfError: 0 });
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    server.mode = 'status500';
    clock.advance(61);
    await expectRejected(verify(auth, clock, 'a'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
  });

  it('a kid rotated in while the endpoint is down is 503 (the key may be in the set we cannot fetch), with no fetch per kid', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await verify(auth, clock, 'a');
    server.mode = 'status500';
    server.jwks = { keys: [jwkWithKid(keyA, 'a'), jwkWithKid(keyB, 'b')] };
    clock.advance(11); // past the cooldown: the miss triggers one refetch, which fails
    await expectRejected(verify(auth, clock, 'b', keyB), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    expect(server.requests).toBe(2);
    // Inside the cooldown after that failure: more unknown kids are 503 too, without fetching.
    for (let i = 0; i < 10; i++) await expectRejected(verify(auth, clock, crypto.randomUUID()), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    expect(server.requests).toBe(2);
    // The cached key keeps working meanwhile.
    await expect(verify(auth, clock, 'a')).resolves.toBeDefined();
    // Once the endpoint is back (after the cooldown) the new key is found.
    server.mode = 'ok';
    clock.advance(11);
    await expect(verify(auth, clock, 'b', keyB)).resolves.toBeDefined();
    expect(server.requests).toBe(3);
  });

  it('an unknown kid while the endpoint is healthy stays ERR_KEY_NOT_FOUND (invalid_client)', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await verify(auth, clock, 'a');
    clock.advance(11);
    await expectRejected(verify(auth, clock, 'nope'), 'ERR_KEY_NOT_FOUND', 'invalid_client', 401);
  });

  it('never answers invalid_client for a key source failure', async () => {
    server.mode = 'invalidJson';
    const clock = new Clock();
    const err = await rejection(verify(authenticator(clock), clock, 'a'));
    expect(err.error).not.toBe('invalid_client');
    expect(err.status).toBe(503);
  });
});

describe('key rotation without downtime (issue 13), abuse-proof (DESIGN §6)', () => {
  it('a client that rotates its key and signs without kid is accepted at once: one refresh when no key verifies', async () => {
    server.reset([keyA.publicJwk]);
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, undefined, keyA)).resolves.toBeDefined();
    expect(server.requests).toBe(1);
    // The client rotates: its set now holds only the new key, and it signs with it, still without kid.
    server.jwks = { keys: [keyB.publicJwk] };
    clock.advance(2);
    await expect(verify(auth, clock, undefined, keyB)).resolves.toMatchObject({ clientId: CLIENT_ID });
    expect(server.requests).toBe(2);
    await expect(verify(auth, clock, undefined, keyB)).resolves.toBeDefined();
    expect(server.requests).toBe(2);
  });

  it('the retry after a refresh tries only the keys it did not try before', async () => {
    server.reset([keyA.publicJwk]);
    const clock = new Clock();
    const auth = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, jwksUri: server.url }],
      now: clock.now,
      offload: 'never',
      jwksOptions: SMALL,
    });
    await expect(verify(auth, clock, undefined, keyA)).resolves.toBeDefined();
    server.jwks = { keys: [keyA.publicJwk, keyB.publicJwk] };
    clock.advance(1);
    const calls = jest.spyOn(ALGORITHMS.RS256, 'verify');
    try {
      await expect(verify(auth, clock, undefined, keyB)).resolves.toBeDefined();
      // keyA once (fails), then only keyB after the refresh.
      expect(calls.mock.calls.map(([key]) => (key.equals(keyA.publicKey) ? 'A' : 'B'))).toEqual(['A', 'B']);
    } finally {
      calls.mockRestore();
    }
    expect(server.requests).toBe(2);
  });

  it('a key replaced under the same kid is picked up the same way', async () => {
    const clock = new Clock();
    const auth = authenticator(clock);
    await expect(verify(auth, clock, 'a', keyA)).resolves.toBeDefined();
    server.jwks = { keys: [jwkWithKid(keyB, 'a')] };
    clock.advance(1);
    await expect(verify(auth, clock, 'a', keyB)).resolves.toBeDefined();
    expect(server.requests).toBe(2);
  });

  it('junk signatures make at most one refresh per cooldown, and the refresh serves a rotation in the same window', async () => {
    server.reset([keyA.publicJwk]);
    const clock = new Clock();
    const auth = authenticator(clock);
    await verify(auth, clock, undefined, keyA);
    clock.advance(1);
    const junk = () => verify(auth, clock, undefined, keyB);
    const flood = await Promise.allSettled(Array.from({ length: 100 }, junk));
    expect(flood.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ERR_SIGNATURE_INVALID')).toBe(true);
    expect(server.requests).toBe(2);
    for (let i = 0; i < 20; i++) {
      clock.advance(0.4);
      await expectRejected(junk(), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
    }
    expect(server.requests).toBe(2);
    // Unknown kids share the same budget: no fetch either.
    await expectRejected(verify(auth, clock, 'zzz', keyB), 'ERR_SIGNATURE_INVALID');
    expect(server.requests).toBe(2);
    // After the cooldown, the next failure refreshes once more.
    clock.advance(SMALL.cooldown!);
    await Promise.allSettled(Array.from({ length: 50 }, junk));
    expect(server.requests).toBe(3);
  });

  it('a refresh after a failed signature that cannot fetch answers 503 (the new key may be in that set)', async () => {
    server.reset([keyA.publicJwk]);
    const clock = new Clock();
    const auth = authenticator(clock);
    await verify(auth, clock, undefined, keyA);
    server.mode = 'status500';
    clock.advance(1);
    await expectRejected(verify(auth, clock, undefined, keyB), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    // The cached key keeps working.
    await expect(verify(auth, clock, undefined, keyA)).resolves.toBeDefined();
  });
});

describe('one key set per URI, and a refetch interval that survives eviction (DESIGN §9, issue 12 finding 3)', () => {
  /** A well-formed assertion of client `id` with a random signature (nothing to sign: the sweep stays cheap). */
  const junkFor = (clock: Clock, id: string, kid?: string) => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const header = part({ alg: 'RS256', ...(kid ? { kid } : {}) });
    return clientRequest(`${header}.${part(clientClaims({ iss: id, sub: id }, clock.seconds))}.${crypto.randomBytes(256).toString('base64url')}`);
  };

  it('two registrations sharing one URI share one set: no refetch ping-pong when sets are dropped', async () => {
    const clock = new Clock();
    const other = `${server.url}?other`;
    const auth = createClientAuthenticator({
      issuer: ISSUER,
      now: clock.now,
      replayStore: new MemoryReplayStore(),
      jwksOptions: { ...SMALL, maxKeySets: 1 },
      // A lookup function: each answer is compiled on its own, yet both name one URI.
      clients: (clientId) => ({ clientId, jwksUri: clientId === 'x' ? other : server.url }),
    });
    const as = (id: string) =>
      auth.authenticate(clientRequest(signJws({ alg: 'RS256', kid: 'a' }, clientClaims({ iss: id, sub: id }, clock.seconds), keyA.privateKey)));
    for (let round = 0; round < 10; round++) {
      for (const id of ['one', 'x', 'two', 'x']) await expect(as(id)).resolves.toMatchObject({ clientId: id });
      clock.advance(0.5);
    }
    expect(server.byUrl.get('/.well-known/jwks.json')).toBe(1);
    expect(server.byUrl.get('/.well-known/jwks.json?other')).toBe(1);
  });

  it('a sweep of junk assertions through 3,000 known client ids (more than maxKeySets) fetches each URI at most once per interval', async () => {
    const clock = new Clock();
    const ids = Array.from({ length: 3000 }, (_, i) => `client-${i}`);
    const registrations = ids.map((clientId) => ({ clientId, jwksUri: `${server.url}?${clientId}` }));
    const auth = createClientAuthenticator({
      issuer: ISSUER,
      now: clock.now,
      replayStore: new MemoryReplayStore(),
      // A generous timeout: 100 fetches at once on a busy machine must not fail for slowness.
      jwksOptions: { ...SMALL, maxKeySets: 100, timeout: 10_000 },
      clients: registrations,
    });
    const sweep = async (kid: () => string | undefined) => {
      for (let i = 0; i < ids.length; i += 100) {
        const batch = ids.slice(i, i + 100).map((id) => auth.authenticate(junkFor(clock, id, kid())));
        const settled = await Promise.allSettled(batch);
        for (const r of settled) expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 401 });
      }
    };
    // Random kids, then no kid (signature failures), then random kids again: all within one interval.
    await sweep(() => crypto.randomUUID());
    clock.advance(3);
    await sweep(() => undefined);
    clock.advance(3);
    await sweep(() => crypto.randomUUID());
    expect(server.byUrl.size).toBe(3000);
    expect(Math.max(...server.byUrl.values())).toBe(1);
    // Legitimate traffic right after the sweep: the kept keys verify, nothing is fetched again.
    const before = server.requests;
    for (const id of ids.slice(0, 50)) {
      await expect(
        auth.authenticate(clientRequest(signJws({ alg: 'RS256', kid: 'a' }, clientClaims({ iss: id, sub: id }, clock.seconds), keyA.privateKey))),
      ).resolves.toBeDefined();
    }
    expect(server.requests).toBe(before);
  }, 60_000);
});

describe('hostile remote key sets (DESIGN §9)', () => {
  it('a set whose only key is a 1024-bit RSA key is a 503 whose detail says why (issue 14)', async () => {
    server.reset([jwkWithKid(rsaKeyPair(1024), 'old')]);
    const clock = new Clock();
    const err = await expectRejected(verify(authenticator(clock), clock, 'old'), 'ERR_KEY_SOURCE_UNAVAILABLE', 'temporarily_unavailable', 503);
    expect(err.detail).toMatch(/JWKS holds no usable signing key: RSA key keys\[0\] \(kid "old"\) has 1024 bits, at least 2048 required/);
  });

  it('100 keys sharing one kid: a junk assertion costs at most MAX_KEYS_TRIED checks, also when it triggers a refresh', async () => {
    server.reset(Array.from({ length: 100 }, () => hostileRsaJwk(2048, 65537n, { kid: 'k' })));
    const clock = new Clock();
    const auth = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, jwksUri: server.url }],
      now: clock.now,
      offload: 'never',
      jwksOptions: SMALL,
    });
    const calls = jest.spyOn(ALGORITHMS.RS256, 'verify');
    try {
      for (let i = 0; i < 3; i++) {
        calls.mockClear();
        await expectRejected(verify(auth, clock, 'k', keyB), 'ERR_SIGNATURE_INVALID');
        expect(calls.mock.calls.length).toBeLessThanOrEqual(MAX_KEYS_TRIED);
        expect(calls.mock.calls.length).toBeGreaterThan(0);
        clock.advance(SMALL.cooldown!);
      }
      // One fetch, then one refresh per cooldown after a failure: the same keys are not tried twice.
      expect(server.requests).toBe(3);
    } finally {
      calls.mockRestore();
    }
  }, 30_000);
});
