/*
 * Replay protection: an assertion refused for a reason outside its signature does not burn its
 * jti; replay keys are scoped per issuer / client and cannot collide across them.
 */
import { randomUUID } from 'node:crypto';
import { JWT_BEARER_CLIENT_ASSERTION_TYPE, type ClientRegistration, type TrustedIssuer } from 'jwt-bearer-core';
import { expectOAuthError } from '../support/hostile/oauth';
import { FlakyReplayStore } from '../support/hostile/stores';
import { ALL_TARGETS, startTarget, type Target } from '../support/hostile/targets';
import { CLIENT, expectAccepted, expectRefused, GRANT, USES, type Use } from '../support/hostile/uses';
import { clientAssertionFor, clientParams, GRANT_ISSUER, GRANT_ISSUER_EC, grantAssertionFor, grantParams, HS_SECRET, world } from '../support/hostile/world';

const w = world();
const SECOND_RSA_ISSUER = 'https://idp2.example.test';

describe.each(ALL_TARGETS)('%s', (name) => {
  let t: Target;
  let store: FlakyReplayStore;
  beforeAll(async () => {
    store = new FlakyReplayStore();
    const c = w.config({ replayStore: store, scopes: ['read', 'write'] });
    c.client!.clients = [
      ...(c.client!.clients as ClientRegistration[]),
      { clientId: 'a', publicKey: w.rsa.publicPem },
      { clientId: 'a:b', publicKey: w.rsa.publicPem },
      { clientId: 'a:1:a', publicKey: w.rsa.publicPem },
    ];
    c.grant!.issuers = [...(c.grant!.issuers as TrustedIssuer[]), { issuer: SECOND_RSA_ISSUER, publicKey: w.rsa.publicPem }];
    t = await startTarget(name, c);
  });
  afterAll(() => t.close());

  describe('a refused assertion does not burn its jti', () => {
    test('client assertion sent with a mismatching client_id, then correctly', async () => {
      const token = CLIENT.mint(w.rsa);
      const refused = await t.client(clientParams(token, { client_id: 'client-ec' }));
      expectOAuthError(refused, 'invalid_request');
      expect(t.lastCode()).toBe('ERR_CLIENT_ID_MISMATCH');
      expectAccepted(await t.client(clientParams(token, { client_id: 'client-rsa' })));
      expectRefused(t, CLIENT, await t.client(clientParams(token)), 'ERR_ASSERTION_REPLAYED');
    });

    test('client assertion sent together with an Authorization header, then alone', async () => {
      const token = CLIENT.mint(w.rsa);
      const refused = await t.client(clientParams(token), { authorization: `Basic ${Buffer.from('client-rsa:secret').toString('base64')}` });
      expectOAuthError(refused, 'invalid_request');
      expect(t.lastCode()).toBe('ERR_MULTIPLE_CLIENT_AUTH');
      expectAccepted(await t.client(clientParams(token)));
      expectRefused(t, CLIENT, await t.client(clientParams(token)), 'ERR_ASSERTION_REPLAYED');
    });

    test('client assertion sent together with client_secret, then alone', async () => {
      const token = CLIENT.mint(w.rsa);
      expectOAuthError(await t.client(clientParams(token, { client_secret: 'x' })), 'invalid_request');
      expectAccepted(await t.client(clientParams(token)));
    });

    test('client assertion sent with a wrong client_assertion_type, then correctly', async () => {
      const token = CLIENT.mint(w.rsa);
      const refused = await t.client({ client_assertion_type: `${JWT_BEARER_CLIENT_ASSERTION_TYPE}x`, client_assertion: token });
      expectOAuthError(refused, 'invalid_client');
      expectAccepted(await t.client(clientParams(token)));
    });

    test('grant sent with a scope the issuer may not grant, then with an allowed one', async () => {
      const token = GRANT.mint(w.rsa);
      const refused = await t.token(grantParams(token, { scope: 'read admin' }));
      expectOAuthError(refused, 'invalid_scope');
      expect(t.lastCode()).toBe('ERR_SCOPE_INVALID');
      const ok = await t.token(grantParams(token, { scope: 'read' }));
      expectAccepted(ok);
      expect(ok.body.grant.scope).toEqual(['read']);
      expectRefused(t, GRANT, await t.token(grantParams(token, { scope: 'read' })), 'ERR_ASSERTION_REPLAYED');
    });

    test('grant sent with a malformed scope, then without', async () => {
      const token = GRANT.mint(w.rsa);
      expectOAuthError(await t.token(grantParams(token, { scope: 'read  "write' })), 'invalid_scope');
      expectAccepted(await t.token(grantParams(token)));
    });

    test('grant sent with a repeated parameter, then correctly', async () => {
      const token = GRANT.mint(w.rsa);
      expectOAuthError(await t.token(grantParams(token, { scope: ['read', 'write'] })), 'invalid_request');
      expectAccepted(await t.token(grantParams(token, { scope: 'read write' })));
    });

    test('grant on a request whose client assertion is refused, then with a good client assertion', async () => {
      const grant = GRANT.mint(w.rsa);
      const badClient = clientAssertionFor('client-hs', `${HS_SECRET}-wrong`);
      const refused = await t.token(grantParams(grant, clientParams(badClient)));
      expectOAuthError(refused, 'invalid_client');
      const ok = await t.token(grantParams(grant, clientParams(clientAssertionFor('client-hs', HS_SECRET))));
      expectAccepted(ok);
      expect(ok.body.grant.clientId).toBe('client-hs');
    });

    describe.each(USES)('$name assertion during a transient replay-store outage', (use: Use) => {
      test('is answered 503 temporarily_unavailable, then accepted once the store is back, then refused as a replay', async () => {
        const token = use.mint(w.rsa);
        store.failNext = 1;
        const outage = await use.send(t, token);
        expectOAuthError(outage, 'temporarily_unavailable');
        expect(outage.status).toBe(503);
        expect(t.lastCode()).toBe('ERR_REPLAY_STORE_UNAVAILABLE');
        expect(store.failNext).toBe(0);
        expectAccepted(await use.send(t, token));
        expectRefused(t, use, await use.send(t, token), 'ERR_ASSERTION_REPLAYED');
      });

      test('is never accepted while the store stays down', async () => {
        store.down = true;
        try {
          for (let i = 0; i < 3; i++) expectOAuthError(await use.send(t, use.mint(w.rsa)), 'temporarily_unavailable');
        } finally {
          store.down = false;
        }
      });
    });
  });

  describe.each(USES)('concurrent replay ($name)', (use: Use) => {
    test('the same assertion sent 20 times at once is accepted exactly once', async () => {
      const token = use.mint(w.rsa);
      const answers = await Promise.all(Array.from({ length: 20 }, () => use.send(t, token)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const answer of answers.filter((a) => a.status !== 200)) expectOAuthError(answer, use.refusal);
    });
  });

  describe('replay keys are scoped per issuer and per client', () => {
    test('the same jti from two clients is accepted for each; a second use by one is refused', async () => {
      const jti = randomUUID();
      expectAccepted(await t.client(clientParams(clientAssertionFor('client-rsa', w.rsa, { claims: { jti } }))));
      expectAccepted(await t.client(clientParams(clientAssertionFor('client-ec', w.ec, { claims: { jti } }))));
      expectAccepted(await t.client(clientParams(clientAssertionFor('client-hs', HS_SECRET, { claims: { jti } }))));
      // A fresh assertion (new iat, new signature) reusing the jti is still a replay.
      const again = clientAssertionFor('client-rsa', w.rsa, { claims: { jti }, now: Date.now() + 1000 });
      expectRefused(t, CLIENT, await t.client(clientParams(again)), 'ERR_ASSERTION_REPLAYED');
      expectRefused(t, CLIENT, await t.client(clientParams(clientAssertionFor('client-ec', w.ec, { claims: { jti } }))), 'ERR_ASSERTION_REPLAYED');
    });

    test('the same jti from two trusted issuers is accepted for each; a second use by one is refused', async () => {
      const jti = randomUUID();
      expectAccepted(await t.token(grantParams(grantAssertionFor(GRANT_ISSUER, w.rsa, { claims: { jti } }))));
      expectAccepted(await t.token(grantParams(grantAssertionFor(GRANT_ISSUER_EC, w.ec, { claims: { jti } }))));
      // Same key, other issuer: still its own scope.
      expectAccepted(await t.token(grantParams(grantAssertionFor(SECOND_RSA_ISSUER, w.rsa, { claims: { jti } }))));
      const again = grantAssertionFor(GRANT_ISSUER, w.rsa, { claims: { jti, sub: 'bob@example.test' } });
      expectRefused(t, GRANT, await t.token(grantParams(again)), 'ERR_ASSERTION_REPLAYED');
    });

    test('issuer / jti pairs that a naive "iss:jti" key would merge stay distinct', async () => {
      const send = (client: string, jti: string) => t.client(clientParams(clientAssertionFor(client, w.rsa, { header: { kid: undefined }, claims: { jti } })));
      const suffix = randomUUID();
      // "a:b" + "c" and "a" + "b:c" both join to "a:b:c".
      expectAccepted(await send('a:b', `c-${suffix}`));
      expectAccepted(await send('a', `b:c-${suffix}`));
      // With a length prefix, "a" + "1:a:x" must not meet "a:1:a" + "x" either.
      expectAccepted(await send('a:1:a', `x-${suffix}`));
      expectAccepted(await send('a', `1:a:x-${suffix}`));
      expectRefused(t, CLIENT, await send('a', `b:c-${suffix}`), 'ERR_ASSERTION_REPLAYED');
    });

    test('a very long jti is still caught as a replay, and one differing only at its end is not', async () => {
      const prefix = `${randomUUID()}-${'j'.repeat(4000)}`;
      expectAccepted(await t.client(clientParams(CLIENT.mint(w.rsa, { claims: { jti: `${prefix}-1` } }))));
      expectAccepted(await t.client(clientParams(CLIENT.mint(w.rsa, { claims: { jti: `${prefix}-2` } }))));
      expectRefused(t, CLIENT, await t.client(clientParams(CLIENT.mint(w.rsa, { claims: { jti: `${prefix}-1` } }))), 'ERR_ASSERTION_REPLAYED');
    });

    test('jti comparison is exact: case and Unicode normalisation variants are distinct, equal strings are replays', async () => {
      const base = randomUUID();
      for (const jti of [`${base}-é`, `${base}-e\u0301`, `${base}-É`]) {
        expectAccepted(await t.client(clientParams(CLIENT.mint(w.rsa, { claims: { jti } }))));
      }
      expectRefused(t, CLIENT, await t.client(clientParams(CLIENT.mint(w.rsa, { claims: { jti: `${base}-e\u0301` } }))), 'ERR_ASSERTION_REPLAYED');
    });
  });
});
