/**
 * onSuccess, and the line a 5xx leaves on console.error when no onError hook is set (DESIGN §12:
 * a wrong jwksUri must not be silent, and must not log once per request either).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createAssertion } from '../src/create-assertion';
import { OAuthError } from '../src/errors';
import { FaultLog } from '../src/observe/fault-log';
import { createClientAuthenticator } from '../src/verify/client';
import { createGrantVerifier } from '../src/verify/grant';
import type { ReplayStore, SuccessEvent } from '../src/types';
import { CLIENT_ASSERTION_TYPE, CLIENT_ID, GRANT_ISSUER, GRANT_TYPE, ISSUER, SUBJECT } from './helpers';

const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const grant = (o: Partial<Parameters<typeof createAssertion>[0]> = {}) => ({
  body: {
    grant_type: GRANT_TYPE,
    assertion: createAssertion({ issuer: GRANT_ISSUER, subject: SUBJECT, audience: ISSUER, key: keys.privateKey, keyId: 'k1', ...o }),
  },
  headers: {},
});
const client = () => ({
  body: {
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: createAssertion({ issuer: CLIENT_ID, subject: CLIENT_ID, audience: ISSUER, key: keys.privateKey }),
  },
  headers: {},
});
const failingStore: ReplayStore = { claim: () => Promise.reject(new Error('connection refused')) };

describe('onSuccess', () => {
  test('is called once per accepted grant with what was verified, never the assertion', async () => {
    const events: SuccessEvent[] = [];
    const verifier = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: GRANT_ISSUER, publicKey: keys.publicKey, scopes: ['read'] }],
      onSuccess: (e) => events.push(e),
    });
    const request = grant({ claims: { scope: 'read' } });
    await verifier.verify(request, { clientId: 'app' });
    expect(events).toEqual([
      { use: 'grant', issuer: GRANT_ISSUER, subject: SUBJECT, clientId: 'app', alg: 'ES256', kid: 'k1', scope: ['read'], profile: 'rfc7523' },
    ]);
    expect(JSON.stringify(events)).not.toContain(request.body.assertion.split('.')[2]);
  });

  test('is called for an accepted client assertion with its method, and not for a refused one or an absent one', async () => {
    const events: SuccessEvent[] = [];
    const auth = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: keys.publicKey }], onSuccess: (e) => events.push(e) });
    await auth.authenticate(client());
    await expect(auth.authenticate({ body: { ...client().body, client_assertion: 'a.b.c' }, headers: {} })).rejects.toThrow(OAuthError);
    await expect(auth.authenticate({ body: {}, headers: {} })).resolves.toBeUndefined();
    expect(events).toEqual([{ use: 'client', issuer: CLIENT_ID, subject: CLIENT_ID, clientId: CLIENT_ID, alg: 'ES256', method: 'private_key_jwt' }]);
  });

  test('a hook that throws does not change the answer', async () => {
    const verifier = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: GRANT_ISSUER, publicKey: keys.publicKey }],
      onSuccess: () => {
        throw new Error('metrics down');
      },
    });
    await expect(verifier.verify(grant())).resolves.toMatchObject({ subject: SUBJECT });
  });

  test('must be a function: TypeError naming the option, at configuration time', () => {
    expect(() => createGrantVerifier({ issuer: ISSUER, issuers: [], onSuccess: 'log' as never })).toThrow(/option "onSuccess" must be a function/);
    expect(() => createClientAuthenticator({ issuer: ISSUER, clients: [], onSuccess: 1 as never })).toThrow(/option "onSuccess" must be a function/);
  });
});

describe('without onError, a 5xx still logs one line per cause per minute', () => {
  let lines: string[];
  let spy: jest.SpyInstance;
  beforeEach(() => {
    lines = [];
    spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
  });
  afterEach(() => spy.mockRestore());

  test('an unreachable replay store: 503 to every request, one line for all of them', async () => {
    const verifier = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: keys.publicKey }], replayStore: failingStore });
    for (let i = 0; i < 5; i++) await expect(verifier.verify(grant())).rejects.toMatchObject({ status: 503, code: 'ERR_REPLAY_STORE_UNAVAILABLE' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^jwt-bearer: 503 ERR_REPLAY_STORE_UNAVAILABLE \(grant\): replay store failed: connection refused/);
  });

  test('a 4xx is never logged, and nothing is logged when onError is set', async () => {
    const quiet = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: keys.publicKey }] });
    await expect(quiet.authenticate({ body: { ...client().body, client_assertion: 'x.y.z' }, headers: {} })).rejects.toMatchObject({ status: 401 });
    const hooked = createClientAuthenticator({
      issuer: ISSUER,
      clients: [{ clientId: CLIENT_ID, publicKey: keys.publicKey }],
      replayStore: failingStore,
      onError: () => undefined,
    });
    await expect(hooked.authenticate(client())).rejects.toMatchObject({ status: 503 });
    expect(lines).toEqual([]);
  });

  test('one line per code and JWKS URI per interval; a new minute logs again', () => {
    let now = 0;
    const out: string[] = [];
    const log = new FaultLog(
      60_000,
      () => now,
      (line) => out.push(line),
    );
    const down = (uri: string) => new OAuthError('ERR_KEY_SOURCE_UNAVAILABLE', { use: 'grant', detail: `${uri}: connect ECONNREFUSED` });
    log.log(down('https://a.example/jwks'), 'grant');
    log.log(down('https://a.example/jwks'), 'grant');
    log.log(down('https://b.example/jwks'), 'grant');
    now = 59_999;
    log.log(down('https://a.example/jwks'), 'grant');
    expect(out).toHaveLength(2);
    now = 60_000;
    log.log(down('https://a.example/jwks'), 'grant');
    expect(out).toHaveLength(3);
    expect(out[2]).toBe(
      'jwt-bearer: 503 ERR_KEY_SOURCE_UNAVAILABLE (grant): https://a.example/jwks: connect ECONNREFUSED [logged at most once a minute per cause; set onError to handle these yourself]',
    );
  });

  test('the line is one line, bounded, whatever the detail quotes', () => {
    const out: string[] = [];
    const log = new FaultLog(
      60_000,
      () => 0,
      (line) => out.push(line),
    );
    log.log(new OAuthError('ERR_INTERNAL', { use: 'client', detail: `boom\n${'x'.repeat(5000)}\u2028forged line` }), 'client');
    expect(out).toHaveLength(1);
    expect(out[0]).not.toMatch(/[\n\r\u2028]/);
    expect(out[0]!.length).toBeLessThan(500);
  });
});
