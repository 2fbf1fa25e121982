/*
 * Claim attacks: audience injection (RFC 10070), `exp` in milliseconds, a client assertion
 * whose issuer is not its subject, and prototype-pollution keys in a genuine claim set.
 */
import { parts, seconds, signJws } from '../support/hostile/keys';
import { ALL_TARGETS, startTarget, type Target } from '../support/hostile/targets';
import { CLIENT, expectAccepted, expectRefused, GRANT, USES, type Use } from '../support/hostile/uses';
import { AS_ISSUER, clientAssertionFor, clientParams, TOKEN_ENDPOINT, world } from '../support/hostile/world';

const w = world();
const LIFETIME = { grant: 3600, client: 300 };
const TOLERANCE = 30;

describe.each(ALL_TARGETS)('%s', (name) => {
  let t: Target;
  let legacy: Target;
  let clock = Date.now();
  beforeAll(async () => {
    t = await startTarget(name, w.config({ now: () => clock }));
    legacy = await startTarget(name, w.config({ audienceMode: 'legacy' }));
  });
  afterAll(async () => {
    await t.close();
    await legacy.close();
  });
  beforeEach(() => {
    clock = Date.now();
  });

  describe('audience injection, client assertions (strict by default)', () => {
    test('control: aud equal to the issuer, as a string or a one-element array, is accepted', async () => {
      expectAccepted(await CLIENT.send(t, CLIENT.mint(w.rsa, { claims: { aud: AS_ISSUER } })));
      expectAccepted(await CLIENT.send(t, CLIENT.mint(w.rsa, { claims: { aud: [AS_ISSUER] } })));
    });

    test.each([
      ['the token endpoint URL', TOKEN_ENDPOINT],
      ['[issuer, another audience]', [AS_ISSUER, 'https://rp.example.test']],
      ['[issuer, token endpoint]', [AS_ISSUER, TOKEN_ENDPOINT]],
      ['[token endpoint, issuer]', [TOKEN_ENDPOINT, AS_ISSUER]],
      ['[issuer, issuer]', [AS_ISSUER, AS_ISSUER]],
      ['the issuer with a trailing slash', `${AS_ISSUER}/`],
      ['the issuer in upper case', AS_ISSUER.toUpperCase()],
    ])('aud = %s is refused', async (_label, aud) => {
      expectRefused(t, CLIENT, await CLIENT.send(t, CLIENT.mint(w.rsa, { claims: { aud } })), 'ERR_AUDIENCE_INVALID');
    });

    test.each([
      ['an empty array', []],
      ['a number', 42],
      ['an array with a non-string', [AS_ISSUER, 7]],
      ['an object', { 0: AS_ISSUER }],
    ])('aud = %s is refused', async (_label, aud) => {
      expectRefused(t, CLIENT, await CLIENT.send(t, CLIENT.mint(w.rsa, { claims: { aud } })), 'ERR_CLAIM_INVALID');
    });

    test('a missing aud is refused', async () => {
      expectRefused(t, CLIENT, await CLIENT.send(t, CLIENT.mint(w.rsa, { omit: ['aud'] })), 'ERR_CLAIM_MISSING');
    });

    test('control: audienceMode legacy accepts the token endpoint URL and reports it', async () => {
      expectAccepted(await CLIENT.send(legacy, CLIENT.mint(w.rsa, { claims: { aud: TOKEN_ENDPOINT } })));
      expect(legacy.warnings.map((e) => e.code)).toContain('WARN_LEGACY_AUDIENCE');
    });
  });

  describe('audience, grant assertions', () => {
    test('control: aud containing the issuer or the token endpoint is accepted', async () => {
      expectAccepted(await GRANT.send(t, GRANT.mint(w.rsa, { claims: { aud: ['https://other.example.test', AS_ISSUER] } })));
      expectAccepted(await GRANT.send(t, GRANT.mint(w.rsa, { claims: { aud: TOKEN_ENDPOINT } })));
    });

    test.each([
      ['another server', 'https://evil.example.test'],
      ['a list of other servers', ['https://evil.example.test', 'https://other.example.test']],
      ['the issuer with a trailing slash', `${AS_ISSUER}/`],
    ])('aud naming %s is refused', async (_label, aud) => {
      expectRefused(t, GRANT, await GRANT.send(t, GRANT.mint(w.rsa, { claims: { aud } })), 'ERR_AUDIENCE_INVALID');
    });

    test('aud with a non-string member is refused', async () => {
      expectRefused(t, GRANT, await GRANT.send(t, GRANT.mint(w.rsa, { claims: { aud: [AS_ISSUER, null] } })), 'ERR_CLAIM_INVALID');
    });
  });

  describe.each(USES)('exp in milliseconds ($name)', (use: Use) => {
    test('exp and iat both in milliseconds are refused (iat in the future)', async () => {
      const claims = { iat: clock, exp: clock + 60_000 };
      expectRefused(t, use, await use.send(t, use.mint(w.rsa, { claims, now: clock })), 'ERR_ASSERTION_ISSUED_IN_FUTURE');
    });

    test('exp in milliseconds without iat is refused (beyond the maximum lifetime)', async () => {
      const token = use.mint(w.rsa, { claims: { exp: clock + 60_000 }, omit: ['iat'], now: clock });
      expectRefused(t, use, await use.send(t, token), 'ERR_ASSERTION_LIFETIME_EXCEEDED');
    });

    test('exp in milliseconds as a string is refused', async () => {
      expectRefused(t, use, await use.send(t, use.mint(w.rsa, { claims: { exp: String(clock + 60_000) }, now: clock })), 'ERR_CLAIM_INVALID');
    });

    test('exp in milliseconds with iat in seconds lives no longer than iat + maxLifetime, and cannot be replayed meanwhile', async () => {
      const issued = clock;
      const mint = () => use.mint(w.rsa, { claims: { iat: seconds(issued), exp: issued + 3_600_000 }, now: issued });
      const first = mint();
      expectAccepted(await use.send(t, first));
      clock = issued + (LIFETIME[use.name] - 5) * 1000;
      expectRefused(t, use, await use.send(t, first), 'ERR_ASSERTION_REPLAYED');
      clock = issued + (LIFETIME[use.name] + TOLERANCE + 2) * 1000;
      expectRefused(t, use, await use.send(t, mint()), 'ERR_ASSERTION_LIFETIME_EXCEEDED');
      expectRefused(t, use, await use.send(t, first), 'ERR_ASSERTION_LIFETIME_EXCEEDED');
    });
  });

  describe('iss ≠ sub in a client assertion', () => {
    test('iss naming another registered client, signed with the subject’s key, is refused', async () => {
      const token = clientAssertionFor('client-rsa', w.rsa, { claims: { iss: 'client-ec' } });
      expectRefused(t, CLIENT, await t.client(clientParams(token)), 'ERR_ISSUER_MISMATCH');
    });

    test('iss naming the signer, sub naming a victim client, is refused', async () => {
      const token = clientAssertionFor('client-ec', w.ec, { claims: { sub: 'client-rsa' } });
      expectRefused(t, CLIENT, await t.client(clientParams(token)), 'ERR_ISSUER_MISMATCH', 'ERR_ALGORITHM_NOT_ALLOWED');
    });

    test.each(['client-rsa ', ' client-rsa', 'Client-rsa'])('iss %j, differing from sub only by whitespace or case, is refused', async (iss) => {
      const token = clientAssertionFor('client-rsa', w.rsa, { claims: { iss } });
      expectRefused(t, CLIENT, await t.client(clientParams(token)), 'ERR_ISSUER_MISMATCH');
    });

    test('a client assertion without iss is refused', async () => {
      expectRefused(t, CLIENT, await t.client(clientParams(clientAssertionFor('client-rsa', w.rsa, { omit: ['iss'] }))), 'ERR_CLAIM_MISSING');
    });

    test('a client_id parameter naming the issuer while sub names another client is refused', async () => {
      const token = clientAssertionFor('client-rsa', w.rsa, { claims: { iss: 'client-ec' } });
      const answer = await t.client(clientParams(token, { client_id: 'client-ec' }));
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
    });
  });

  describe.each(USES)('prototype-pollution keys in a genuine claim set ($name)', (use: Use) => {
    test('__proto__ / constructor / prototype claims pollute nothing and shadow no checked claim', async () => {
      const [h, p] = parts(use.mint(w.rsa));
      const claims = Buffer.from(p, 'base64url').toString('utf8');
      // Own "__proto__" members, as a hostile signer's JSON would carry them.
      const hostile = `{"__proto__":{"polluted":true,"aud":"${AS_ISSUER}"},"constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true},${claims.slice(1)}`;
      const token = signJws(h, Buffer.from(hostile).toString('base64url'), w.rsa.privateKey, 'RS256');
      const answer = await use.send(t, token);
      expectAccepted(answer);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      const principal = use === GRANT ? answer.body.grant : answer.body.client;
      expect(principal.claims.__proto__).toEqual({ polluted: true, aud: AS_ISSUER });
      // And an aud smuggled only through "__proto__" does not count as an audience.
      const smuggled = `{"__proto__":{"aud":"${AS_ISSUER}"},${JSON.stringify({ ...JSON.parse(claims), aud: undefined }).slice(1)}`;
      const missingAud = signJws(h, Buffer.from(smuggled).toString('base64url'), w.rsa.privateKey, 'RS256');
      expectRefused(t, use, await use.send(t, missingAud), 'ERR_CLAIM_MISSING');
    });
  });
});
