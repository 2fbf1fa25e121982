/**
 * Error paths of koa-jwt-bearer on Koa 3 and Koa 2: no promise rejection is left unhandled,
 * `passErrors` throws an OAuthError that Koa's own error handling answers sensibly (status,
 * expose, headers), later middleware's errors stay theirs, and the onError hook hears of every
 * rejection.
 */
import type { Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import request from 'supertest';
import {
  clientAssertion,
  jwtBearerErrorHandler,
  jwtBearerGrant,
  OAuthError,
  toErrorResponse,
  type JwtBearerState,
  type RejectionEvent,
} from 'koa-jwt-bearer';
import {
  AS,
  KOAS,
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

type State = Koa.DefaultState & JwtBearerState;

describe.each(KOAS)('%s', (_name, KoaLib) => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });

  /** An app running `middleware`, ending in one that answers `{ ok: true }`; `errors` collects app 'error' events. */
  async function start(middleware: Koa.Middleware<State>[]): Promise<{ server: Server; errors: unknown[] }> {
    const app = new KoaLib<State>();
    app.silent = true;
    const errors: unknown[] = [];
    app.on('error', (err: unknown) => errors.push(err));
    for (const m of middleware) app.use(m);
    app.use((ctx) => {
      ctx.set('X-Answered-By', 'app');
      ctx.body = { ok: true };
    });
    const server = await listen(app.callback());
    servers.push(server);
    return { server, errors };
  }

  test('no path leaves a promise rejection unhandled, and every request is answered', async () => {
    const tracker = trackUnhandledRejections();
    try {
      const throwingHook = () => {
        throw new Error('hook failed');
      };
      const cases: { middleware: Koa.Middleware<State>[]; send: Record<string, string>; headers?: Record<string, string>; status: number }[] = [
        { middleware: [jwtBearerGrant(grantOptions())], send: grantForm({}, 'x.y.z'), status: 400 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), onError: throwingHook })], send: grantForm({}, grantAssertion({ audience: 'nope' })), status: 400 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), issueToken: () => { throw new Error('sync failure'); } })], send: grantForm(), status: 500 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), issueToken: () => Promise.reject(new Error('async failure')) })], send: grantForm(), status: 500 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), issueToken: () => Promise.reject(new OAuthError('ERR_SCOPE_INVALID')) })], send: grantForm(), status: 400 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), replayStore: { claim: () => Promise.reject(new Error('down')) } })], send: grantForm(), status: 503 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), issuers: () => Promise.reject(new Error('db down')) })], send: grantForm(), status: 503 },
        { middleware: [clientAssertion(clientOptions())], send: { token: 't' }, headers: BASIC, status: 401 },
        { middleware: [clientAssertion({ ...clientOptions(), clients: () => { throw new Error('db down'); } })], send: clientForm(), status: 503 },
        { middleware: [clientAssertion({ ...clientOptions(), passErrors: true })], send: clientForm({}, 'garbage'), status: 401 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), passErrors: true, issueToken: () => { throw new Error('x'); } })], send: grantForm(), status: 500 },
        {
          middleware: [jwtBearerGrant({ ...grantOptions(), issueToken: () => { throw new OAuthError('ERR_SCOPE_INVALID', { headers: { 'X-Reason': 'line\nbreak' } }); } })],
          send: grantForm(),
          status: 500,
        },
      ];
      for (const c of cases) {
        const { server } = await start(c.middleware);
        const res = await request(server).post('/token').set(c.headers ?? {}).type('form').send(encode(c.send)).timeout(5000);
        expect({ send: c.send, status: res.status }).toEqual({ send: c.send, status: c.status });
      }
      await settle();
      expect(tracker.reasons).toEqual([]);
    } finally {
      tracker.stop();
    }
  });

  test('passErrors without jwtBearerErrorHandler: Koa\'s default handling answers with the error\'s status, WWW-Authenticate and its safe message', async () => {
    const { server, errors } = await start([clientAssertion({ ...clientOptions(), passErrors: true })]);
    const res = await request(server).post('/token').set(BASIC).type('form').send('token=t');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`Basic realm="${AS}"`);
    // expose: true, so Koa shows the message: the fixed public description, nothing private.
    expect(res.text).toBe('Client authentication with a JWT client assertion is required.');
    expect(errors).toHaveLength(1);
    const err = errors[0] as OAuthError;
    expect(err).toBeInstanceOf(OAuthError);
    expect({ status: err.status, expose: err.expose, code: err.code }).toEqual({ status: 401, expose: true, code: 'ERR_CLIENT_AUTH_REQUIRED' });

    const grant = await start([jwtBearerGrant({ ...grantOptions(), passErrors: true })]);
    const res2 = await request(grant.server).post('/token').type('form').send(encode(grantForm({}, grantAssertion({ audience: 'https://elsewhere' }))));
    expect(res2.status).toBe(400);
    expect(res2.text).toBe('The assertion audience does not identify this authorization server.');
    expect(res2.headers['www-authenticate']).toBeUndefined();
  });

  test('passErrors: an upstream try/catch receives the OAuthError itself (status, headers, code; detail kept private)', async () => {
    const caught: unknown[] = [];
    const { server } = await start([
      async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          caught.push(err);
          ctx.status = 299;
          ctx.body = { handled: true };
        }
      },
      clientAssertion({ ...clientOptions(), passErrors: true }),
    ]);
    const res = await request(server).post('/token').set(BASIC).type('form').send('token=t');
    expect(res.status).toBe(299);
    const err = caught[0] as OAuthError;
    expect(err).toBeInstanceOf(OAuthError);
    expect(err.headers['WWW-Authenticate']).toBe(`Basic realm="${AS}"`);
    expect(Object.keys(err)).not.toContain('detail');
    expect(JSON.stringify(err)).not.toContain('Authorization header');
  });

  test('jwtBearerErrorHandler() answers OAuthErrors exactly as the middleware would, and rethrows other errors', async () => {
    const plain = new Error('not ours');
    const { server, errors } = await start([
      jwtBearerErrorHandler(),
      async (ctx, next) => {
        if (ctx.get('x-fail') === 'plain') throw plain;
        await next();
      },
      jwtBearerGrant({ ...grantOptions(), passErrors: true }),
    ]);
    const oauth = await request(server).post('/token').type('form').send(encode(grantForm({}, 'bad')));
    const expected = toErrorResponse(new OAuthError('ERR_ASSERTION_MALFORMED'));
    expect(oauth.status).toBe(expected.status);
    expect(oauth.body).toEqual(expected.body);
    expect(oauth.headers['cache-control']).toBe('no-store');
    expect(oauth.headers.pragma).toBe('no-cache');
    expect(oauth.headers['content-type']).toBe('application/json; charset=utf-8');
    const other = await request(server).post('/token').set('x-fail', 'plain').type('form').send('a=b');
    expect(other.status).toBe(500);
    expect(other.text).toBe('Internal Server Error');
    expect(errors).toEqual([plain]);
  });

  test('errors of later middleware on a passed-through request reach Koa unchanged, not a server_error JSON', async () => {
    for (const mw of [jwtBearerGrant(grantOptions()), clientAssertion({ ...clientOptions(), required: false })]) {
      const teapot = Object.assign(new Error('teapot'), { status: 418, expose: true });
      const { server, errors } = await start([
        mw,
        () => {
          throw teapot;
        },
      ]);
      const res = await request(server).post('/token').type('form').send('grant_type=authorization_code&code=x');
      expect(res.status).toBe(418);
      expect(res.text).toBe('teapot');
      expect(errors).toEqual([teapot]);
    }
  });

  test('errors of later middleware after a verified grant or client reach Koa unchanged', async () => {
    const teapot = Object.assign(new Error('teapot'), { status: 418, expose: true });
    const { server } = await start([
      clientAssertion(clientOptions()),
      jwtBearerGrant(grantOptions()),
      () => {
        throw teapot;
      },
    ]);
    const res = await request(server).post('/token').type('form').send(encode({ ...clientForm(), ...grantForm() }));
    expect(res.status).toBe(418);
  });

  test('a chunked body over bodyLimit (no Content-Length) is refused with invalid_request', async () => {
    const { server } = await start([jwtBearerGrant({ ...grantOptions(), bodyLimit: 1024 })]);
    const chunk = `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&pad=${'x'.repeat(600)}`;
    const res = await rawPost(server, [chunk, `&more=${'y'.repeat(600)}`, `&more2=${'z'.repeat(600)}`]);
    expect(res!.status).toBe(400);
    expect(JSON.parse(res!.body)).toEqual({ error: 'invalid_request', error_description: 'The request body is too large.' });
  });

  test('a chunked body under bodyLimit is read and verified', async () => {
    const { server } = await start([jwtBearerGrant({ ...grantOptions(), bodyLimit: 4096 })]);
    const body = encode(grantForm());
    const res = await rawPost(server, [body.slice(0, 100), body.slice(100)]);
    expect(res!.status).toBe(200);
    expect(JSON.parse(res!.body)).toEqual({ ok: true });
  });

  test('onError hears of the rejections the adapter makes before the core: content type, size, aborted body', async () => {
    const events: RejectionEvent[] = [];
    const onError = (e: RejectionEvent) => events.push(e);
    const summary = () => events.map((e) => [e.use, e.code, e.error, e.status, typeof e.detail]);

    let app = await start([clientAssertion({ ...clientOptions(), onError })]);
    await request(app.server).post('/token').set('content-type', 'application/json').send(JSON.stringify(clientForm())).expect(400);
    expect(summary()).toEqual([['client', 'ERR_CONTENT_TYPE_UNSUPPORTED', 'invalid_request', 400, 'string']]);

    events.length = 0;
    app = await start([bodyParser(), jwtBearerGrant({ ...grantOptions(), onError })]);
    await request(app.server).post('/token').set('content-type', 'application/json').send(JSON.stringify(grantForm())).expect(400);
    expect(summary()).toEqual([['grant', 'ERR_CONTENT_TYPE_UNSUPPORTED', 'invalid_request', 400, 'string']]);

    events.length = 0;
    app = await start([jwtBearerGrant({ ...grantOptions(), onError, bodyLimit: 64 })]);
    await request(app.server).post('/token').type('form').send(encode(grantForm())).expect(400);
    expect(summary()).toEqual([['grant', 'ERR_BODY_TOO_LARGE', 'invalid_request', 400, 'string']]);

    events.length = 0;
    app = await start([jwtBearerGrant({ ...grantOptions(), onError })]);
    await rawPost(app.server, ['grant_type=x&pad=', 'x'.repeat(10)], { abort: true });
    for (let i = 0; i < 100 && events.length === 0; i++) await settle();
    expect(summary()).toEqual([['grant', 'ERR_BODY_MALFORMED', 'invalid_request', 400, 'string']]);
  });

  test('a body an earlier middleware consumed without keeping a form is refused with invalid_request instead of hanging', async () => {
    const { server } = await start([
      async (ctx, next) => {
        // E.g. a signature check that reads the raw body itself.
        const chunks: Buffer[] = [];
        for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
        (ctx.request as { rawBody?: string }).rawBody = Buffer.concat(chunks).toString('utf8');
        await next();
      },
      jwtBearerGrant(grantOptions()),
    ]);
    const res = await request(server).post('/token').type('form').send(encode(grantForm())).timeout(5000);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  test('a failing issueToken answers 500 server_error and says nothing of the failure', async () => {
    const { server } = await start([
      jwtBearerGrant({
        ...grantOptions(),
        issueToken: () => {
          throw new Error(`cannot sign with ${svcKeys.privateKey.export({ type: 'pkcs8', format: 'pem' })}`);
        },
      }),
    ]);
    const res = await request(server).post('/token').type('form').send(encode(grantForm()));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error', error_description: 'The server could not process the request.' });
    expect(res.text).not.toMatch(/PRIVATE KEY|cannot sign|\n\s+at /);
  });
});
