/**
 * The examples' REDIS_URL wiring (replayStoreFromEnv → RedisReplayStore on ioredis), with a real
 * redis-server: two example servers behind one issuer (an Express one and a Koa one, as two
 * processes of one deployment) share the record of used `jti`s, so an assertion accepted by one is
 * a replay at the other. With the default memory stores, each server only knows its own.
 */
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE } from 'jwt-bearer-core';
import { replayStoreFromEnv, type ReplayStoreChoice } from '../../examples/src/authorization-server';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { sharedDemoKeys, startExample, type Example } from './helpers';

const ISSUER = 'https://as.example.test';

function clientCredentials(example: Example, assertion: string): Promise<Response> {
  return fetch(`${example.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion }),
  });
}

function demoClientAssertion(): string {
  const { client } = sharedDemoKeys();
  return createAssertion({ issuer: 'demo-client', subject: 'demo-client', audience: ISSUER, key: client.privateKey, keyId: client.keyId });
}

describe('examples with REDIS_URL', () => {
  let redis: RedisServer;
  let stores: ReplayStoreChoice[];
  let express: Example;
  let koa: Example;

  beforeAll(async () => {
    redis = await startRedisServer();
    stores = await Promise.all([replayStoreFromEnv({ REDIS_URL: redis.url }), replayStoreFromEnv({ REDIS_URL: redis.url })]);
    [express, koa] = await Promise.all([
      startExample('express', { keys: sharedDemoKeys(), replayStore: stores[0]!.store }, ISSUER),
      startExample('koa', { keys: sharedDemoKeys(), replayStore: stores[1]!.store }, ISSUER),
    ]);
  }, 20_000);
  afterAll(async () => {
    await Promise.all([express?.close(), koa?.close()]);
    await Promise.all((stores ?? []).map((s) => s.close()));
    await redis?.close();
  });

  test('the store is a RedisReplayStore on the URL, and it records jtis in Redis', async () => {
    expect(stores[0]!.description).toBe(`Redis at ${redis.url}`);
    expect(stores[0]!.store.constructor.name).toBe('RedisReplayStore');
    const response = await clientCredentials(express, demoClientAssertion());
    expect(response.status).toBe(200);
    const keys = await redis.command('KEYS', 'jwt-bearer:jti:*');
    expect(Array.isArray(keys) && keys.length).toBeGreaterThanOrEqual(1);
  });

  test('an assertion accepted by one server is refused as a replay by the other', async () => {
    const assertion = demoClientAssertion();
    expect((await clientCredentials(koa, assertion)).status).toBe(200);
    const replay = await clientCredentials(express, assertion);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: 'invalid_client' });
    expect(express.logs.some((l) => l.includes('ERR_ASSERTION_REPLAYED'))).toBe(true);
  });
});

describe('examples without REDIS_URL', () => {
  test('each server has its own memory store, so the other server accepts the same assertion', async () => {
    const choice = await replayStoreFromEnv({});
    expect(choice.store.constructor.name).toBe('MemoryReplayStore');
    const [a, b] = await Promise.all([startExample('express', { keys: sharedDemoKeys() }, ISSUER), startExample('koa', { keys: sharedDemoKeys() }, ISSUER)]);
    try {
      const assertion = demoClientAssertion();
      expect((await clientCredentials(a, assertion)).status).toBe(200);
      expect((await clientCredentials(a, assertion)).status).toBe(401);
      expect((await clientCredentials(b, assertion)).status).toBe(200);
    } finally {
      await Promise.all([a.close(), b.close(), choice.close()]);
    }
  });
});
