/**
 * The hooks through both adapters: onSuccess is a core option the middleware passes on (and
 * validates), and a 500 the middleware answers itself because the app's issueToken failed is never
 * silent: onError hears of it, or, without onError, one console.error line per minute.
 */
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import * as expressJwtBearer from 'express-jwt-bearer';
import * as koaJwtBearer from 'koa-jwt-bearer';
import { createAssertion, JWT_BEARER_GRANT_TYPE, type RejectionEvent, type SuccessEvent } from 'jwt-bearer-core';
import { adapterOf, buildApp, FRAMEWORKS, type Framework } from '../conformance/apps';

const AS = 'https://as.example.com';
const SVC = 'https://svc.example.com';
const svc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const grantForm = () => ({
  grant_type: JWT_BEARER_GRANT_TYPE,
  assertion: createAssertion({ issuer: SVC, subject: 'alice', audience: AS, key: svc.privateKey, keyId: 'k' }),
});
const issuers = [{ issuer: SVC, publicKey: svc.publicKey }];

describe.each(FRAMEWORKS)('hooks on %s', (framework: Framework) => {
  const adapter = adapterOf(framework) === 'express-jwt-bearer' ? expressJwtBearer : koaJwtBearer;

  test("onSuccess is called once per accepted grant with the verified principal's facts", async () => {
    const events: SuccessEvent[] = [];
    const app = buildApp(framework, {
      grant: { issuer: AS, issuers, onSuccess: (e) => events.push(e), issueToken: () => ({ access_token: 'at', token_type: 'Bearer' }) },
    });
    await request(app).post('/token').type('form').send(grantForm()).expect(200);
    expect(events).toEqual([{ use: 'grant', issuer: SVC, subject: 'alice', alg: 'ES256', kid: 'k', scope: [], profile: 'rfc7523' }]);
  });

  test('onSuccess that is not a function: TypeError naming it, from both factories', () => {
    expect(() => adapter.jwtBearerGrant({ issuer: AS, issuers, onSuccess: true as never })).toThrow(/option "onSuccess" must be a function/);
    expect(() => adapter.clientAssertion({ issuer: AS, clients: [], onSuccess: {} as never })).toThrow(/option "onSuccess" must be a function/);
  });

  test('issueToken throwing: 500 to the client, reported to onError as ERR_INTERNAL with the private detail', async () => {
    const events: RejectionEvent[] = [];
    const app = buildApp(framework, {
      grant: {
        issuer: AS,
        issuers,
        onError: (e) => events.push(e),
        issueToken: () => {
          throw new Error('token store down');
        },
      },
    });
    const res = await request(app).post('/token').type('form').send(grantForm()).expect(500);
    expect(JSON.stringify(res.body)).not.toContain('token store');
    expect(events).toEqual([expect.objectContaining({ code: 'ERR_INTERNAL', status: 500, use: 'grant', detail: 'token store down' })]);
  });

  test('issueToken failing without onError: one console.error line for repeated failures, none for a refusal it chose', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    try {
      const app = buildApp(framework, {
        grant: {
          issuer: AS,
          issuers,
          issueToken: async () => {
            throw new Error(`db timeout ${framework}`);
          },
        },
      });
      for (let i = 0; i < 3; i++) await request(app).post('/token').type('form').send(grantForm()).expect(500);
      const refusing = buildApp(framework, {
        grant: {
          issuer: AS,
          issuers,
          issueToken: () => {
            throw new expressJwtBearer.OAuthError('ERR_SCOPE_INVALID');
          },
        },
      });
      await request(refusing).post('/token').type('form').send(grantForm()).expect(400);
    } finally {
      spy.mockRestore();
    }
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^jwt-bearer: 500 ERR_INTERNAL \\(grant\\): db timeout ${framework} \\[`))]);
  });
});
