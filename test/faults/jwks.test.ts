/*
 * Fault injection for remote key sets (jwksUri): a real HTTP endpoint on 127.0.0.1 that goes
 * down, hangs, drips, errs, lies or grows too large, and rotates keys — driven through the core
 * and both adapters, for grants and client assertions, on a controllable clock.
 *
 * An endpoint that cannot give keys is the server's problem: 503 temporarily_unavailable, never
 * invalid_client / invalid_grant, never success. A cached key set keeps working while the
 * endpoint is down for staleIfError seconds past cacheMaxAge, and not a millisecond longer.
 */
import { MemoryReplayStore } from 'jwt-bearer-core';
import type { TestKey } from '../support/hostile/keys';
import { JwksServer, type JwksMode } from '../support/hostile/jwks-server';
import { expectOAuthError, type Answer } from '../support/hostile/oauth';
import { ALL_TARGETS, startTarget, type Target, type TargetConfig } from '../support/hostile/targets';
import { expectAccepted, expectRefused, USES, type Use } from '../support/hostile/uses';
import { AS_ISSUER, clientAssertionFor, clientParams, grantAssertionFor, grantParams, world } from '../support/hostile/world';
import { faultLinesOnly } from '../support/fault-log';

// These tests provoke 5xx without an onError hook: the core's line on console.error is expected.
faultLinesOnly();

const w = world();
const REMOTE_ISSUER = 'https://remote-idp.example.test';
const JWKS = { timeout: 300, cacheMaxAge: 60, cooldown: 10, staleIfError: 120, maxResponseBytes: 8192 };
/** An answer about a failing endpoint must come within the fetch timeout plus this margin. */
const MARGIN_MS = 1500;

function remoteConfig(use: Use, url: string, now: () => number): TargetConfig {
  const common = { issuer: AS_ISSUER, replayStore: new MemoryReplayStore({ max: 1000 }), now, jwksOptions: JWKS };
  return use.name === 'grant'
    ? { grant: { ...common, issuers: [{ issuer: REMOTE_ISSUER, jwksUri: url }] } }
    : { client: { ...common, clients: [{ clientId: 'client-remote', jwksUri: url }] } };
}

describe.each(ALL_TARGETS)('%s', (name) => {
  describe.each(USES)('$name assertion', (use: Use) => {
    let server: JwksServer;
    let t: Target;
    let clock = 0;
    const at = (seconds: number) => {
      clock = T0 + seconds * 1000;
    };
    let T0 = 0;

    const mint = (key: TestKey, kid = key.kid): string =>
      use.name === 'grant'
        ? grantAssertionFor(REMOTE_ISSUER, key, { now: clock, header: { kid } })
        : clientAssertionFor('client-remote', key, { now: clock, header: { kid } });
    const send = (assertion: string): Promise<Answer> => (use.name === 'grant' ? t.token(grantParams(assertion)) : t.client(clientParams(assertion)));

    function expectUnavailable(answer: Answer): void {
      expectOAuthError(answer, 'temporarily_unavailable');
      expect(answer.status).toBe(503);
      expect(t.lastCode()).toBe('ERR_KEY_SOURCE_UNAVAILABLE');
    }

    beforeEach(async () => {
      T0 = Date.now();
      clock = T0;
      server = await new JwksServer().start();
      server.keys = [w.rsa.publicJwk];
      t = await startTarget(
        name,
        remoteConfig(use, server.url, () => clock),
      );
    });

    afterEach(async () => {
      await t.close();
      await server.stop();
    });

    test('control: a healthy endpoint serves the key in one fetch, then from the cache', async () => {
      expectAccepted(await send(mint(w.rsa)));
      expectAccepted(await send(mint(w.rsa)));
      expect(server.requests).toBe(1);
    });

    describe('no cached key set', () => {
      test('a closed port is answered 503 temporarily_unavailable, never invalid_*', async () => {
        await server.stop();
        for (let i = 0; i < 3; i++) {
          const answer = await send(mint(w.rsa));
          expectUnavailable(answer);
          expect(answer.ms).toBeLessThan(JWKS.timeout + MARGIN_MS);
        }
      });

      test.each<[string, JwksMode]>([
        ['answers 500', 'error500'],
        ['answers a body that is not JSON', 'invalid-json'],
        ['answers JSON that is not a key set', 'not-a-jwks'],
        ['resets the connection', 'reset'],
      ])('an endpoint that %s is answered 503', async (_label, mode) => {
        server.mode = mode;
        expectUnavailable(await send(mint(w.rsa)));
        expect(server.requests).toBe(1);
      });

      test('an endpoint that answers more than maxResponseBytes is answered 503', async () => {
        server.mode = 'oversized';
        server.oversizeBytes = JWKS.maxResponseBytes * 4;
        expectUnavailable(await send(mint(w.rsa)));
        // Control: the same key set under the limit is fine.
        server.mode = 'ok';
        at(JWKS.cooldown);
        expectAccepted(await send(mint(w.rsa)));
      });

      test.each<[string, JwksMode]>([
        ['never answers', 'hang'],
        ['drips its answer a byte at a time', 'drip'],
      ])('an endpoint that %s is answered 503 within the timeout', async (_label, mode) => {
        server.mode = mode;
        const answer = await send(mint(w.rsa));
        expectUnavailable(answer);
        expect(answer.ms).toBeGreaterThanOrEqual(JWKS.timeout - 20);
        expect(answer.ms).toBeLessThan(JWKS.timeout + MARGIN_MS);
      });

      test('an endpoint that answers, but only after the timeout, is answered 503 within the timeout', async () => {
        server.mode = 'slow';
        server.delayMs = JWKS.timeout * 2;
        const answer = await send(mint(w.rsa));
        expectUnavailable(answer);
        expect(answer.ms).toBeLessThan(JWKS.timeout + MARGIN_MS);
        // Its late answer is not taken up either: inside the failure cooldown nothing is cached.
        await new Promise((resolve) => setTimeout(resolve, JWKS.timeout * 2));
        expectUnavailable(await send(mint(w.rsa)));
        expect(server.requests).toBe(1);
      });

      test('control: an endpoint slower than usual but within the timeout is fine', async () => {
        server.mode = 'slow';
        server.delayMs = 60;
        expectAccepted(await send(mint(w.rsa)));
      });

      test('a failing endpoint is not hammered: no refetch within the cooldown, recovery after it', async () => {
        await server.stop();
        const token = mint(w.rsa);
        expectUnavailable(await send(token));
        await server.start(true);
        at(JWKS.cooldown / 2);
        expectUnavailable(await send(token));
        expect(server.requests).toBe(0);
        at(JWKS.cooldown);
        // The very assertion refused during the outage: its jti was not burned.
        expectAccepted(await send(token));
        expect(server.requests).toBe(1);
        expectRefused(t, use, await send(token), 'ERR_ASSERTION_REPLAYED');
      });
    });

    describe.each<[string, JwksMode | 'closed']>([
      ['closed', 'closed'],
      ['answering 500', 'error500'],
      ['hanging', 'hang'],
    ])('cached key set, endpoint %s', (_label, mode) => {
      async function breakEndpoint(): Promise<void> {
        if (mode === 'closed') await server.stop();
        else server.mode = mode;
      }

      test('the cached key keeps working up to staleIfError past cacheMaxAge, inclusive', async () => {
        expectAccepted(await send(mint(w.rsa)));
        await breakEndpoint();
        at(JWKS.cacheMaxAge + 1);
        expectAccepted(await send(mint(w.rsa)));
        at(JWKS.cacheMaxAge + JWKS.staleIfError / 2);
        expectAccepted(await send(mint(w.rsa)));
        at(JWKS.cacheMaxAge + JWKS.staleIfError);
        expectAccepted(await send(mint(w.rsa)));
      });

      test('and is refused with 503 (never invalid_*) the moment after that bound', async () => {
        expectAccepted(await send(mint(w.rsa)));
        await breakEndpoint();
        at(JWKS.cacheMaxAge + JWKS.staleIfError);
        expectAccepted(await send(mint(w.rsa)));
        clock += 1;
        expectUnavailable(await send(mint(w.rsa)));
        at(JWKS.cacheMaxAge + JWKS.staleIfError + JWKS.cooldown + 1);
        expectUnavailable(await send(mint(w.rsa)));
      });
    });

    test('staleIfError 0: a cached key set is not used past cacheMaxAge while the endpoint is down', async () => {
      await t.close();
      const config = remoteConfig(use, server.url, () => clock);
      for (const c of [config.grant, config.client]) if (c) c.jwksOptions = { ...JWKS, staleIfError: 0 };
      t = await startTarget(name, config);
      expectAccepted(await send(mint(w.rsa)));
      await server.stop();
      at(JWKS.cacheMaxAge);
      expectAccepted(await send(mint(w.rsa)));
      at(JWKS.cacheMaxAge + 1);
      expectUnavailable(await send(mint(w.rsa)));
    });

    test('issue 13: a key rotated in is picked up at first sight, without a restart, in one fetch', async () => {
      expectAccepted(await send(mint(w.rsa)));
      expect(server.requests).toBe(1);
      server.keys = [w.rsa.publicJwk, w.ec.publicJwk];
      at(1);
      // Within the cooldown of the first (scheduled) fetch: no fetch for a miss happened, so the new kid is fetched.
      expectAccepted(await send(mint(w.ec)));
      expect(server.requests).toBe(2);
      expectAccepted(await send(mint(w.rsa)));
      expectAccepted(await send(mint(w.ec)));
      expect(server.requests).toBe(2);
      // That was a fetch for a miss: another unknown kid within its cooldown is refused without a fetch.
      expectRefused(t, use, await send(mint(w.attacker, 'unknown')), 'ERR_KEY_NOT_FOUND');
      expect(server.requests).toBe(2);
    });

    test('a key rotated out keeps working until the cache expires, and is refused after', async () => {
      server.keys = [w.rsa.publicJwk, w.ec.publicJwk];
      expectAccepted(await send(mint(w.rsa)));
      server.keys = [w.ec.publicJwk];
      at(JWKS.cacheMaxAge - 1);
      expectAccepted(await send(mint(w.rsa)));
      expect(server.requests).toBe(1);
      at(JWKS.cacheMaxAge + 1);
      expectRefused(t, use, await send(mint(w.rsa)), 'ERR_KEY_NOT_FOUND');
      expect(server.requests).toBe(2);
      expectAccepted(await send(mint(w.ec)));
      // Still refused later: the refetch a miss allows after the cooldown does not bring it back.
      at(JWKS.cacheMaxAge + 1 + JWKS.cooldown);
      expectRefused(t, use, await send(mint(w.rsa)), 'ERR_KEY_NOT_FOUND');
      expect(server.requests).toBe(3);
    });

    test('a flood of unknown kids causes at most one fetch per cooldown, shared by all', async () => {
      expectAccepted(await send(mint(w.rsa)));
      const flood = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => send(mint(w.attacker, `random-${clock}-${i}`))));
      // The first unknown kid fetches (a key may have been rotated in); the rest share that fetch or are refused at once.
      for (const answer of await flood(30)) expectOAuthError(answer, use.refusal);
      expect(server.requests).toBe(2);
      at(JWKS.cooldown / 2);
      for (const answer of await flood(30)) expectOAuthError(answer, use.refusal);
      expect(server.requests).toBe(2);
      at(JWKS.cooldown);
      server.mode = 'slow';
      server.delayMs = 100;
      for (const answer of await flood(30)) expectOAuthError(answer, use.refusal);
      expect(server.requests).toBe(3);
    });

    test('a flood of requests for a new key set while the endpoint hangs makes one fetch and answers every one 503', async () => {
      server.mode = 'hang';
      const answers = await Promise.all(Array.from({ length: 20 }, () => send(mint(w.rsa))));
      for (const answer of answers) {
        expectOAuthError(answer, 'temporarily_unavailable');
        expect(answer.ms).toBeLessThan(JWKS.timeout + MARGIN_MS);
      }
      expect(server.requests).toBe(1);
    });
  });
});
