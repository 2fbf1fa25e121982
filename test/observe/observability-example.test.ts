/**
 * examples/src/observability: Prometheus metrics (prom-client) and OpenTelemetry spans
 * (@opentelemetry/api, recorded by the SDK's in-memory exporter), both fed by the tracing
 * channels only, after a few real requests through Express and Koa.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import request from 'supertest';
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE, MemoryReplayStore } from 'jwt-bearer-core';
import { jwtBearerMetrics, type JwtBearerMetrics } from '../../examples/src/observability/metrics';
import { jwtBearerTracing, withRequestInfo, type JwtBearerTracing } from '../../examples/src/observability/tracing';
import { buildApp, type Framework } from '../conformance/apps';

const AS = 'https://as.example.com';
const SVC = 'https://svc.example.com';
const REMOTE = 'https://remote.example.com';
const svc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const remote = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let jwks: Server;
let jwksUri: string;
beforeAll(async () => {
  const jwk = { ...remote.publicKey.export({ format: 'jwk' }), kid: 'r1' };
  jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;
});
afterAll(() => new Promise((resolve) => jwks.close(resolve)));

const grant = (o: Partial<Parameters<typeof createAssertion>[0]> = {}) => ({
  grant_type: JWT_BEARER_GRANT_TYPE,
  assertion: createAssertion({ issuer: SVC, subject: 'alice', audience: AS, key: svc.privateKey, ...o }),
});
const clientForm = (assertion: string) => ({
  client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
  client_assertion: assertion,
  grant_type: 'client_credentials',
});

describe.each(['express5', 'koa3'] as Framework[])('examples/observability on %s', (framework) => {
  let metrics: JwtBearerMetrics;
  let tracing: JwtBearerTracing;
  let exporter: InMemorySpanExporter;
  let app: ReturnType<typeof buildApp>;

  beforeAll(async () => {
    metrics = jwtBearerMetrics();
    exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    tracing = jwtBearerTracing(provider.getTracer('test'));
    const replayStore = new MemoryReplayStore();
    app = withRequestInfo(
      buildApp(framework, {
        client: { issuer: AS, clients: [{ clientId: 'app-1', publicKey: client.publicKey }], required: false, replayStore },
        grant: {
          issuer: AS,
          issuers: [
            { issuer: SVC, publicKey: svc.publicKey },
            { issuer: REMOTE, jwksUri },
          ],
          replayStore,
          onError: () => undefined,
          issueToken: () => ({ access_token: 'at', token_type: 'Bearer' }),
        },
      }),
    );
    // A few requests: two grants accepted (one with a client), one expired, one replayed client assertion, one via jwksUri.
    const post = (form: Record<string, string>, status: number) => request(app).post('/token').type('form').send(form).expect(status);
    const assertion = createAssertion({ issuer: 'app-1', subject: 'app-1', audience: AS, key: client.privateKey });
    await post({ ...grant({ jwtId: randomUUID() }), client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion }, 200);
    await post(clientForm(assertion), 401);
    await post(grant({ jwtId: null }), 200);
    await post(grant({ issuedAt: Math.floor(Date.now() / 1000) - 7200 }), 400);
    await post(grant({ issuer: REMOTE, key: remote.privateKey, keyId: 'r1', subject: 'bob' }), 200);
  });
  afterAll(() => {
    metrics.close();
    tracing.close();
  });

  test('Prometheus text: accepted and refused by code, a latency histogram, JWKS fetches, replay store latency', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toContain('jwt_bearer_assertions_total{use="grant",outcome="accepted",code=""} 3');
    expect(text).toContain('jwt_bearer_assertions_total{use="grant",outcome="refused",code="ERR_ASSERTION_EXPIRED"} 1');
    expect(text).toContain('jwt_bearer_assertions_total{use="client",outcome="accepted",code=""} 1');
    expect(text).toContain('jwt_bearer_assertions_total{use="client",outcome="refused",code="ERR_ASSERTION_REPLAYED"} 1');
    expect(text).toContain('jwt_bearer_verification_duration_seconds_count{use="grant",outcome="accepted"} 3');
    expect(text).toMatch(/jwt_bearer_verification_duration_seconds_bucket\{le="\+Inf",use="grant",outcome="accepted"\} 3/);
    expect(text).toContain('jwt_bearer_jwks_fetches_total{outcome="ok"} 1');
    expect(text).toContain('jwt_bearer_jwks_fetch_duration_seconds_count{outcome="ok"} 1');
    // Claims: the first grant's jti, the client's jti twice (first, then replay); the jti-less grant makes none; the JWKS grant's jti.
    expect(text).toContain('jwt_bearer_replay_claim_duration_seconds_count{store="MemoryReplayStore",outcome="first"} 3');
    expect(text).toContain('jwt_bearer_replay_claim_duration_seconds_count{store="MemoryReplayStore",outcome="replay"} 1');
    const sum = /jwt_bearer_verification_duration_seconds_sum\{use="grant",outcome="accepted"\} ([\d.e-]+)/.exec(text);
    expect(Number(sum![1])).toBeGreaterThan(0);
  });

  test('OpenTelemetry spans with semantic-convention attributes: user.id, error.type, client.address, url.full', () => {
    const spans = exporter.getFinishedSpans();
    const named = (name: string) => spans.filter((s: ReadableSpan) => s.name === name);
    const grants = named('jwt-bearer grant');
    expect(grants).toHaveLength(4);
    const accepted = grants.find((s) => s.attributes['jwt_bearer.client_id'] === 'app-1')!;
    expect(accepted.attributes).toMatchObject({
      'jwt_bearer.use': 'grant',
      'jwt_bearer.outcome': 'accepted',
      'jwt_bearer.issuer': SVC,
      'jwt_bearer.alg': 'ES256',
      'jwt_bearer.profile': 'rfc7523',
      'user.id': 'alice',
      'enduser.id': 'alice',
      'client.address': expect.stringMatching(/127\.0\.0\.1$/),
    });
    expect(accepted.status.code).toBe(SpanStatusCode.UNSET);
    const expired = grants.find((s) => s.attributes['error.type'] === 'ERR_ASSERTION_EXPIRED')!;
    expect(expired.status.code).toBe(SpanStatusCode.ERROR);
    expect(expired.attributes['user.id']).toBeUndefined();
    const clients = named('jwt-bearer client-assertion');
    expect(clients.map((s) => s.attributes['jwt_bearer.outcome'])).toEqual(['accepted', 'refused']);
    expect(clients[1]!.attributes).toMatchObject({ 'error.type': 'ERR_ASSERTION_REPLAYED', 'jwt_bearer.client_id': 'app-1', 'jwt_bearer.status': 401 });
    expect(named('jwt-bearer jwks fetch').map((s) => s.attributes['url.full'])).toEqual([jwksUri]);
    expect(named('jwt-bearer replay claim').map((s) => s.attributes['jwt_bearer.replay'])).toEqual([false, false, true, false]);
  });
});
