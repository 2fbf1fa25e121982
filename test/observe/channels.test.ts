/**
 * The tracing channels `jwt-bearer:grant` and `jwt-bearer:client-assertion` (and the JWKS fetch
 * and replay claim channels) as a subscriber sees them through each adapter: one start and one
 * end per verification, the outcome and code of each, and nothing secret in anything published.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  CLIENT_ASSERTION_CHANNEL,
  createAssertion,
  GRANT_CHANNEL,
  JWKS_FETCH_CHANNEL,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  MemoryReplayStore,
  REPLAY_CLAIM_CHANNEL,
  type JwtBearerTraceContext,
} from 'jwt-bearer-core';
import { buildApp, FRAMEWORKS, type Framework } from '../conformance/apps';

const AS = 'https://as.example.com';
const SVC = 'https://svc.example.com';
const HS_ISSUER = 'https://hs.example.com';
const REMOTE = 'https://remote.example.com';
const CLIENT = 'client-1';
const HS_CLIENT = 'client-hs';

const svc = generateKeyPairSync('rsa', { modulusLength: 2048 });
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const grantSecret = randomBytes(48).toString('base64url');
const clientSecret = randomBytes(48).toString('base64url');
const remote = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** Every string that must never appear in anything published: secrets, key material. */
const SECRETS: string[] = [
  grantSecret,
  clientSecret,
  ...[svc, client, remote].flatMap(({ privateKey, publicKey }) => {
    const jwk = privateKey.export({ format: 'jwk' });
    const body = (pem: string) =>
      pem
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'))
        .join('');
    return [
      body(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string),
      body(publicKey.export({ format: 'pem', type: 'spki' }) as string),
      jwk.d!,
      ...(jwk.n ? [jwk.n] : [jwk.x!, jwk.y!]),
    ];
  }),
];

type EventName = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const EVENTS: EventName[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

interface Recorded {
  channel: string;
  event: EventName;
  context: object;
}

/** Subscribes to every event of the four channels for the whole file. */
function record(): Recorded[] {
  const seen: Recorded[] = [];
  const handlers = [GRANT_CHANNEL, CLIENT_ASSERTION_CHANNEL, JWKS_FETCH_CHANNEL, REPLAY_CLAIM_CHANNEL].map((name) => {
    const subscribers = Object.fromEntries(EVENTS.map((event) => [event, (context: object) => seen.push({ channel: name, event, context })])) as never;
    diagnostics.tracingChannel(name).subscribe(subscribers);
    return () => diagnostics.tracingChannel(name).unsubscribe(subscribers);
  });
  afterAll(() => handlers.forEach((off) => off()));
  return seen;
}

/**
 * Every string reachable from `value`: own properties enumerable or not (an error's `detail`,
 * `message`, `stack`, `cause`), array items, map and set entries.
 */
function strings(value: unknown, out: string[] = [], visited = new WeakSet<object>()): string[] {
  if (typeof value === 'string') out.push(value);
  if (typeof value !== 'object' || value === null || visited.has(value)) return out;
  visited.add(value);
  if (value instanceof Map || value instanceof Set) for (const entry of value) strings(entry, out, visited);
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'string') out.push(key);
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor && 'value' in descriptor) strings(descriptor.value, out, visited);
  }
  return out;
}

/** A JWKS endpoint on 127.0.0.1 serving the remote issuer's public key. */
function jwksServer(): Promise<Server> {
  const jwk = { ...remote.publicKey.export({ format: 'jwk' }), kid: 'remote-1', use: 'sig', alg: 'ES256' };
  return new Promise((resolve) => {
    const server = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const seen = record();
let jwks: Server;
beforeAll(async () => {
  jwks = await jwksServer();
});
afterAll(() => new Promise((resolve) => jwks.close(resolve)));

function stack() {
  const { port } = jwks.address() as AddressInfo;
  const replayStore = new MemoryReplayStore();
  return {
    client: {
      issuer: AS,
      clients: [
        { clientId: CLIENT, publicKey: client.publicKey },
        { clientId: HS_CLIENT, clientSecret },
      ],
      required: false,
      replayStore,
    },
    grant: {
      issuer: AS,
      issuers: [
        { issuer: SVC, publicKey: svc.publicKey },
        { issuer: HS_ISSUER, secret: grantSecret },
        { issuer: REMOTE, jwksUri: `http://127.0.0.1:${port}/jwks` },
        // Port 1 on loopback: nothing listens, the fetch fails at once.
        { issuer: 'https://down.example.com', jwksUri: 'http://127.0.0.1:1/jwks' },
      ],
      replayStore,
      onError: () => undefined,
      issueToken: () => ({ access_token: 'at', token_type: 'Bearer' }),
    },
  };
}

const grantJwt = (o: Partial<Parameters<typeof createAssertion>[0]> = {}) =>
  createAssertion({ issuer: SVC, subject: 'alice', audience: AS, key: svc.privateKey, keyId: 'svc-1', ...o });
const clientJwt = (o: Partial<Parameters<typeof createAssertion>[0]> = {}) =>
  createAssertion({ issuer: CLIENT, subject: CLIENT, audience: AS, key: client.privateKey, keyId: 'c-1', ...o });

describe.each(FRAMEWORKS)('tracing channels on %s', (framework: Framework) => {
  const sent: string[] = [];
  let app: ReturnType<typeof buildApp>;
  beforeAll(() => {
    app = buildApp(framework, stack());
  });
  beforeEach(() => {
    seen.length = 0;
  });
  afterAll(() => {
    // Nothing published in this block quotes an assertion, a secret or key material.
    expect(sent.length).toBeGreaterThan(0);
  });

  async function post(form: Record<string, string>, status: number): Promise<void> {
    sent.push(...Object.values(form).filter((v) => v.includes('.')));
    await request(app).post('/token').type('form').send(form).expect(status);
  }

  /** The events of one channel, checked to be exactly one start, end, asyncStart, asyncEnd on one context. */
  function only(channel: string, error: boolean): JwtBearerTraceContext {
    const events = seen.filter((r) => r.channel === channel);
    expect(events.map((r) => r.event)).toEqual(error ? ['start', 'end', 'error', 'asyncStart', 'asyncEnd'] : ['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(new Set(events.map((r) => r.context)).size).toBe(1);
    return events[0]!.context as JwtBearerTraceContext;
  }

  function expectNothingSecret(): void {
    const published = strings(seen.map((r) => r.context));
    for (const text of published) {
      for (const secret of [...SECRETS, ...sent]) expect(text.includes(secret) ? `${secret.slice(0, 12)}… in a published field` : 'clean').toBe('clean');
      // Nor any part of an assertion: a signature or a payload segment is as telling as the whole.
      for (const assertion of sent) for (const part of assertion.split('.').slice(1)) if (part.length > 16) expect(text.includes(part)).toBe(false);
    }
  }

  test('an accepted grant with a client assertion: one start and one end on each channel, outcome accepted', async () => {
    await post(
      {
        grant_type: JWT_BEARER_GRANT_TYPE,
        assertion: grantJwt({ jwtId: randomBytes(8).toString('hex') }),
        client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
        client_assertion: clientJwt(),
      },
      200,
    );
    const c = only(CLIENT_ASSERTION_CHANNEL, false);
    expect(c).toMatchObject({
      use: 'client',
      outcome: 'accepted',
      clientId: CLIENT,
      issuer: CLIENT,
      subject: CLIENT,
      alg: 'ES256',
      kid: 'c-1',
      method: 'private_key_jwt',
    });
    expect(c.code).toBeUndefined();
    const g = only(GRANT_CHANNEL, false);
    expect(g).toMatchObject({
      use: 'grant',
      outcome: 'accepted',
      issuer: SVC,
      subject: 'alice',
      clientId: CLIENT,
      alg: 'RS256',
      kid: 'svc-1',
      profile: 'rfc7523',
    });
    // Both jti claims went through the replay store, each traced once.
    expect(seen.filter((r) => r.channel === REPLAY_CLAIM_CHANNEL && r.event === 'asyncEnd').map((r) => r.context)).toEqual([
      { use: 'client', store: 'MemoryReplayStore', result: true },
      { use: 'grant', store: 'MemoryReplayStore', result: true },
    ]);
    expectNothingSecret();
  });

  test('a refused grant (RFC 7523 §3 item 4: expired): outcome refused, its code and status, on the error event too', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    await post({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantJwt({ issuedAt: past, expiresIn: 60 }) }, 400);
    const g = only(GRANT_CHANNEL, true);
    expect(g).toMatchObject({ use: 'grant', outcome: 'refused', code: 'ERR_ASSERTION_EXPIRED', status: 400, issuer: SVC, subject: 'alice', alg: 'RS256' });
    expect((g.error as { code?: string }).code).toBe('ERR_ASSERTION_EXPIRED');
    expect(seen.some((r) => r.channel === CLIENT_ASSERTION_CHANNEL)).toBe(false);
    expectNothingSecret();
  });

  test('HMAC: an accepted HS256 grant and a client_secret_jwt with a wrong secret publish no secret', async () => {
    await post(
      {
        grant_type: JWT_BEARER_GRANT_TYPE,
        assertion: createAssertion({ issuer: HS_ISSUER, subject: 'bob', audience: AS, key: grantSecret, algorithm: 'HS256' }),
      },
      200,
    );
    expect(only(GRANT_CHANNEL, false)).toMatchObject({ outcome: 'accepted', issuer: HS_ISSUER, alg: 'HS256' });
    seen.length = 0;
    const forged = createAssertion({ issuer: HS_CLIENT, subject: HS_CLIENT, audience: AS, key: randomBytes(48).toString('base64url'), algorithm: 'HS256' });
    await post({ client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: forged, grant_type: 'client_credentials' }, 401);
    expect(only(CLIENT_ASSERTION_CHANNEL, true)).toMatchObject({
      use: 'client',
      outcome: 'refused',
      code: 'ERR_SIGNATURE_INVALID',
      status: 401,
      clientId: HS_CLIENT,
      alg: 'HS256',
    });
    expectNothingSecret();
  });

  test('a replayed client assertion: accepted once, then refused with ERR_ASSERTION_REPLAYED', async () => {
    const assertion = clientJwt();
    const form = { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion, grant_type: 'client_credentials' };
    await post(form, 200);
    expect(only(CLIENT_ASSERTION_CHANNEL, false).outcome).toBe('accepted');
    seen.length = 0;
    await post(form, 401);
    expect(only(CLIENT_ASSERTION_CHANNEL, true)).toMatchObject({ outcome: 'refused', code: 'ERR_ASSERTION_REPLAYED' });
    expect(seen.filter((r) => r.channel === REPLAY_CLAIM_CHANNEL && r.event === 'asyncEnd').map((r) => (r.context as { result?: boolean }).result)).toEqual([
      false,
    ]);
    expectNothingSecret();
  });

  test('jwksUri: the fetch is traced; an unreachable key set is outcome failed, 503, ERR_KEY_SOURCE_UNAVAILABLE', async () => {
    const { port } = jwks.address() as AddressInfo;
    await post(
      {
        grant_type: JWT_BEARER_GRANT_TYPE,
        assertion: createAssertion({ issuer: REMOTE, subject: 'carol', audience: AS, key: remote.privateKey, keyId: 'remote-1' }),
      },
      200,
    );
    expect(only(GRANT_CHANNEL, false)).toMatchObject({ outcome: 'accepted', issuer: REMOTE, kid: 'remote-1', alg: 'ES256' });
    const fetches = seen.filter((r) => r.channel === JWKS_FETCH_CHANNEL);
    // One fetch per framework's app: each app has its own verifier and key set.
    expect(fetches.map((r) => r.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(fetches[0]!.context).toEqual({ use: 'grant', uri: `http://127.0.0.1:${port}/jwks` });
    seen.length = 0;
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await post(
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: createAssertion({ issuer: 'https://down.example.com', subject: 'dan', audience: AS, key }) },
      503,
    );
    expect(only(GRANT_CHANNEL, true)).toMatchObject({ outcome: 'failed', code: 'ERR_KEY_SOURCE_UNAVAILABLE', status: 503 });
    expect(seen.filter((r) => r.channel === JWKS_FETCH_CHANNEL).map((r) => r.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expectNothingSecret();
  });
});

describe('zero cost without subscribers', () => {
  test('one subscriber to a single sub-channel (asyncEnd) is enough to be traced: Node 20 has no aggregate hasSubscribers', async () => {
    const contexts: JwtBearerTraceContext[] = [];
    const onAsyncEnd = (context: unknown) => contexts.push(context as JwtBearerTraceContext);
    diagnostics.subscribe(`tracing:${GRANT_CHANNEL}:asyncEnd`, onAsyncEnd);
    try {
      const app = buildApp('express5', stack());
      await request(app).post('/token').type('form').send({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantJwt() }).expect(200);
    } finally {
      diagnostics.unsubscribe(`tracing:${GRANT_CHANNEL}:asyncEnd`, onAsyncEnd);
    }
    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toMatchObject({ outcome: 'accepted', issuer: SVC });
  });
});
