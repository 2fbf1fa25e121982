/**
 * Error paths of express-jwt-bearer on Express 5 and Express 4: no promise rejection is ever left
 * unhandled (Express 4 does not catch them), `passErrors` hands the OAuthError to Express, bodies
 * the middleware cannot use are refused, and the onError hook hears of every rejection. The tests
 * koa-jwt-bearer has too are in test/support/adapter-suites.ts.
 */
import type { Server } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import { clientAssertion, jwtBearerErrorHandler, jwtBearerGrant, OAuthError } from 'express-jwt-bearer';
import { testAdapterErrors } from '../../../test/support/adapter-suites';
import {
  AS,
  BASIC,
  EXPRESSES,
  adapter,
  clientForm,
  clientOptions,
  encode,
  expectErrorAnswer,
  grantAssertion,
  grantForm,
  grantOptions,
  listen,
  serversClosedAfterEach,
  settle,
  trackUnhandledRejections,
} from './helpers';
import { faultLinesOnly } from '../../../test/support/fault-log';

describe.each(EXPRESSES)('%s', (_name, expressLib) => {
  // Some tests provoke 5xx without an onError hook: the core's line on console.error is expected.
  faultLinesOnly();
  const servers = serversClosedAfterEach();

  async function start(route: RequestHandler[], options: { before?: RequestHandler[]; after?: ErrorRequestHandler[] } = {}): Promise<Server> {
    const app = expressLib();
    for (const m of options.before ?? []) app.use(m);
    app.post('/token', ...route, (_req: Request, res: Response) => {
      res.set('X-Answered-By', 'app').json({ ok: true });
    });
    for (const h of options.after ?? []) app.use(h);
    const server = await listen(app);
    servers.push(server);
    return server;
  }

  testAdapterErrors(adapter, { start: (route, before = []) => start(route, { before }), jsonParser: () => expressLib.json() });

  test('an error answer that cannot be written (a header Node refuses) goes to Express, not to an unhandled rejection', async () => {
    const tracker = trackUnhandledRejections();
    try {
      const bad = new OAuthError('ERR_SCOPE_INVALID', { headers: { 'X-Reason': 'line\nbreak' } });
      const s = await start([
        jwtBearerGrant({
          ...grantOptions(),
          issueToken: () => {
            throw bad;
          },
        }),
      ]);
      const res = await request(s).post('/token').type('form').send(encode(grantForm())).timeout(5000);
      // Express's final handler answers the TypeError Node threw (with the status already set),
      // instead of the request hanging while the rejection goes unhandled.
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers['x-reason']).toBeUndefined();
      await settle();
      expect(tracker.reasons).toEqual([]);
    } finally {
      tracker.stop();
    }
  });

  test("passErrors hands the OAuthError itself to the app's error handler (status, headers, code; detail kept private)", async () => {
    const received: unknown[] = [];
    const handler: ErrorRequestHandler = (err, _req, res, _next) => {
      received.push(err);
      res.status(299).json({ handled: true });
    };
    const s = await start([clientAssertion({ ...clientOptions(), passErrors: true })], { after: [handler] });
    const res = await request(s).post('/token').set(BASIC).type('form').send('token=t');
    expect(res.status).toBe(299);
    expect(received).toHaveLength(1);
    const err = received[0] as OAuthError;
    expect(err).toBeInstanceOf(OAuthError);
    expect(err.status).toBe(401);
    expect(err.error).toBe('invalid_client');
    expect(err.code).toBe('ERR_CLIENT_AUTH_REQUIRED');
    expect(err.headers['WWW-Authenticate']).toBe(`Basic realm="${AS}"`);
    expect(err.expose).toBe(true);
    expect(Object.keys(err)).not.toContain('detail');
    expect(JSON.stringify(err)).not.toContain('Authorization header');
  });

  test("passErrors without any error handler: Express's default handler answers with the error's status and headers", async () => {
    const s = await start([jwtBearerGrant({ ...grantOptions(), passErrors: true })]);
    const res = await request(s)
      .post('/token')
      .type('form')
      .send(encode(grantForm({}, grantAssertion({ audience: 'https://elsewhere' }))));
    expect(res.status).toBe(400);
    const s2 = await start([clientAssertion({ ...clientOptions(), passErrors: true })]);
    const res2 = await request(s2).post('/token').set(BASIC).type('form').send('token=t');
    expect(res2.status).toBe(401);
    expect(res2.headers['www-authenticate']).toBe(`Basic realm="${AS}"`);
  });

  test('jwtBearerErrorHandler() answers OAuthErrors exactly as the middleware would, and hands other errors on', async () => {
    const seenByNext: unknown[] = [];
    const last: ErrorRequestHandler = (err, _req, res, _next) => {
      seenByNext.push(err);
      res.status(500).send('app error page');
    };
    const plain = new Error('not ours');
    const route: RequestHandler[] = [
      (req: Request, _res: Response, next: NextFunction) => (req.body === undefined && req.get('x-fail') === 'plain' ? next(plain) : next()),
      jwtBearerGrant({ ...grantOptions(), passErrors: true }),
    ];
    const s = await start(route, { after: [jwtBearerErrorHandler(), last] });
    const oauth = await request(s)
      .post('/token')
      .type('form')
      .send(encode(grantForm({}, 'bad')));
    expectErrorAnswer(oauth, new OAuthError('ERR_ASSERTION_MALFORMED'));
    const other = await request(s).post('/token').set('x-fail', 'plain').type('form').send('a=b');
    expect(other.status).toBe(500);
    expect(other.text).toBe('app error page');
    expect(seenByNext).toEqual([plain]);
  });

  test.each([
    ['express.text()', 'text'],
    ['express.raw()', 'raw'],
  ] as const)('a form body an earlier %s consumed is refused with invalid_request, neither hanging nor misread', async (_label, kind) => {
    const parser = expressLib[kind]({ type: 'application/x-www-form-urlencoded' });
    const grant = await start([jwtBearerGrant(grantOptions())], { before: [parser] });
    const res = await request(grant).post('/token').type('form').send(encode(grantForm())).timeout(5000);
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    // A client assertion must not be read as "no client assertion" (a Buffer's index keys are no form).
    const client = await start([clientAssertion(clientOptions())], { before: [parser] });
    const res2 = await request(client).post('/token').type('form').send(encode(clientForm())).timeout(5000);
    expect({ status: res2.status, error: res2.body.error }).toEqual({ status: 400, error: 'invalid_request' });
  });

  test("the app's own handler errors on a passed-through request are Express's to answer", async () => {
    const app = expressLib();
    app.post('/token', jwtBearerGrant(grantOptions()), () => {
      throw Object.assign(new Error('teapot'), { status: 418 });
    });
    const s = await listen(app);
    servers.push(s);
    const res = await request(s).post('/token').type('form').send('grant_type=authorization_code&code=x');
    expect(res.status).toBe(418);
    expect(res.headers['content-type']).not.toMatch(/json/);
  });
});
