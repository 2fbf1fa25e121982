/**
 * Error paths of express-jwt-bearer on Express 5 and Express 4: no promise rejection is ever left
 * unhandled (Express 4 does not catch them), `passErrors` hands the OAuthError to Express, bodies
 * the middleware cannot use are refused, and the onError hook hears of every rejection.
 */
import type { Server } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import {
  clientAssertion,
  jwtBearerErrorHandler,
  jwtBearerGrant,
  OAuthError,
  toErrorResponse,
  type RejectionEvent,
} from 'express-jwt-bearer';
import {
  AS,
  EXPRESSES,
  clientForm,
  clientOptions,
  close,
  encode,
  grantAssertion,
  grantForm,
  grantOptions,
  listen,
  rawPost,
  settle,
  svcKeys,
  trackUnhandledRejections,
} from './helpers';

const BASIC = { Authorization: 'Basic Y2xpZW50LTE6c2VjcmV0' };

describe.each(EXPRESSES)('%s', (_name, expressLib) => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });

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

  test('no path leaves a promise rejection unhandled, and every request is answered', async () => {
    const tracker = trackUnhandledRejections();
    try {
      const throwingHook = () => {
        throw new Error('hook failed');
      };
      const cases: { route: RequestHandler[]; send: Record<string, string>; headers?: Record<string, string>; status: number }[] = [
        { route: [jwtBearerGrant(grantOptions())], send: grantForm({}, 'x.y.z'), status: 400 },
        { route: [jwtBearerGrant({ ...grantOptions(), onError: throwingHook })], send: grantForm({}, grantAssertion({ audience: 'nope' })), status: 400 },
        {
          route: [jwtBearerGrant({ ...grantOptions(), issueToken: () => { throw new Error('sync failure'); } })],
          send: grantForm(),
          status: 500,
        },
        {
          route: [jwtBearerGrant({ ...grantOptions(), issueToken: () => Promise.reject(new Error('async failure')) })],
          send: grantForm(),
          status: 500,
        },
        {
          route: [jwtBearerGrant({ ...grantOptions(), issueToken: () => Promise.reject(new OAuthError('ERR_SCOPE_INVALID')) })],
          send: grantForm(),
          status: 400,
        },
        { route: [jwtBearerGrant({ ...grantOptions(), replayStore: { claim: () => Promise.reject(new Error('down')) } })], send: grantForm(), status: 503 },
        { route: [jwtBearerGrant({ ...grantOptions(), issuers: () => Promise.reject(new Error('db down')) })], send: grantForm(), status: 503 },
        { route: [clientAssertion(clientOptions())], send: { token: 't' }, headers: BASIC, status: 401 },
        { route: [clientAssertion({ ...clientOptions(), clients: () => { throw new Error('db down'); } })], send: clientForm(), status: 503 },
        { route: [clientAssertion({ ...clientOptions(), passErrors: true })], send: clientForm({}, 'garbage'), status: 401 },
        { route: [jwtBearerGrant({ ...grantOptions(), passErrors: true, issueToken: () => { throw new Error('x'); } })], send: grantForm(), status: 500 },
      ];
      for (const c of cases) {
        const s = await start(c.route);
        const res = await request(s).post('/token').set(c.headers ?? {}).type('form').send(encode(c.send));
        expect({ send: c.send, status: res.status }).toEqual({ send: c.send, status: c.status });
      }
      await settle();
      expect(tracker.reasons).toEqual([]);
    } finally {
      tracker.stop();
    }
  });

  test('an error answer that cannot be written (a header Node refuses) goes to Express, not to an unhandled rejection', async () => {
    const tracker = trackUnhandledRejections();
    try {
      const bad = new OAuthError('ERR_SCOPE_INVALID', { headers: { 'X-Reason': 'line\nbreak' } });
      const s = await start([jwtBearerGrant({ ...grantOptions(), issueToken: () => { throw bad; } })]);
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

  test('passErrors hands the OAuthError itself to the app\'s error handler (status, headers, code; detail kept private)', async () => {
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

  test('passErrors without any error handler: Express\'s default handler answers with the error\'s status and headers', async () => {
    const s = await start([jwtBearerGrant({ ...grantOptions(), passErrors: true })]);
    const res = await request(s).post('/token').type('form').send(encode(grantForm({}, grantAssertion({ audience: 'https://elsewhere' }))));
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
    const oauth = await request(s).post('/token').type('form').send(encode(grantForm({}, 'bad')));
    const expected = toErrorResponse(new OAuthError('ERR_ASSERTION_MALFORMED'));
    expect(oauth.status).toBe(expected.status);
    expect(oauth.body).toEqual(expected.body);
    expect(oauth.headers['cache-control']).toBe('no-store');
    expect(oauth.headers.pragma).toBe('no-cache');
    expect(oauth.headers['content-type']).toBe('application/json; charset=utf-8');
    const other = await request(s).post('/token').set('x-fail', 'plain').type('form').send('a=b');
    expect(other.status).toBe(500);
    expect(other.text).toBe('app error page');
    expect(seenByNext).toEqual([plain]);
  });

  test('a chunked body over bodyLimit (no Content-Length) is refused with invalid_request', async () => {
    const s = await start([jwtBearerGrant({ ...grantOptions(), bodyLimit: 1024 })]);
    const chunk = `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&pad=${'x'.repeat(600)}`;
    const res = await rawPost(s, [chunk, `&more=${'y'.repeat(600)}`, `&more2=${'z'.repeat(600)}`]);
    expect(res!.status).toBe(400);
    expect(JSON.parse(res!.body)).toEqual({ error: 'invalid_request', error_description: 'The request body is too large.' });
  });

  test('a chunked body under bodyLimit is read and verified', async () => {
    const s = await start([jwtBearerGrant({ ...grantOptions(), bodyLimit: 4096 })]);
    const body = encode(grantForm());
    const res = await rawPost(s, [body.slice(0, 100), body.slice(100)]);
    expect(res!.status).toBe(200);
    expect(JSON.parse(res!.body)).toEqual({ ok: true });
  });

  test('onError hears of the rejections the adapter makes before the core: content type, size, aborted body', async () => {
    const events: RejectionEvent[] = [];
    const onError = (e: RejectionEvent) => events.push(e);
    const summary = () => events.map((e) => [e.use, e.code, e.error, e.status, typeof e.detail]);

    let s = await start([clientAssertion({ ...clientOptions(), onError })]);
    await request(s).post('/token').set('content-type', 'application/json').send(JSON.stringify(clientForm())).expect(400);
    expect(summary()).toEqual([['client', 'ERR_CONTENT_TYPE_UNSUPPORTED', 'invalid_request', 400, 'string']]);

    events.length = 0;
    s = await start([jwtBearerGrant({ ...grantOptions(), onError })], { before: [expressLib.json()] });
    await request(s).post('/token').set('content-type', 'application/json').send(JSON.stringify(grantForm())).expect(400);
    expect(summary()).toEqual([['grant', 'ERR_CONTENT_TYPE_UNSUPPORTED', 'invalid_request', 400, 'string']]);

    events.length = 0;
    s = await start([jwtBearerGrant({ ...grantOptions(), onError, bodyLimit: 64 })]);
    await request(s).post('/token').type('form').send(encode(grantForm())).expect(400);
    expect(summary()).toEqual([['grant', 'ERR_BODY_TOO_LARGE', 'invalid_request', 400, 'string']]);

    events.length = 0;
    s = await start([jwtBearerGrant({ ...grantOptions(), onError })]);
    await rawPost(s, ['grant_type=x&pad=', 'x'.repeat(10)], { abort: true });
    for (let i = 0; i < 100 && events.length === 0; i++) await settle();
    expect(summary()).toEqual([['grant', 'ERR_BODY_MALFORMED', 'invalid_request', 400, 'string']]);
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

  test('the app\'s own handler errors on a passed-through request are Express\'s to answer', async () => {
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

  test('an issuer secret is never echoed: the 500 of a failing issueToken says nothing of the failure', async () => {
    const s = await start([jwtBearerGrant({ ...grantOptions(), issueToken: () => { throw new Error(`cannot sign with ${svcKeys.privateKey.export({ type: 'pkcs8', format: 'pem' })}`); } })]);
    const res = await request(s).post('/token').type('form').send(encode(grantForm()));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error', error_description: 'The server could not process the request.' });
    expect(res.text).not.toMatch(/PRIVATE KEY|cannot sign|\n\s+at /);
  });
});
