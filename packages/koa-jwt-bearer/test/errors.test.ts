/**
 * Error paths of koa-jwt-bearer on Koa 3 and Koa 2: no promise rejection is left unhandled,
 * `passErrors` throws an OAuthError that Koa's own error handling answers sensibly (status,
 * expose, headers), later middleware's errors stay theirs, and the onError hook hears of every
 * rejection. The tests express-jwt-bearer has too are in test/support/adapter-suites.ts.
 */
import type { Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import request from 'supertest';
import { clientAssertion, jwtBearerErrorHandler, jwtBearerGrant, OAuthError } from 'koa-jwt-bearer';
import { testAdapterErrors } from '../../../test/support/adapter-suites';
import {
  AS,
  BASIC,
  KOAS,
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
  type State,
} from './helpers';
import { faultLinesOnly } from '../../../test/support/fault-log';

describe.each(KOAS)('%s', (_name, KoaLib) => {
  // Some tests provoke 5xx without an onError hook: the core's line on console.error is expected.
  faultLinesOnly();
  const servers = serversClosedAfterEach();

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

  testAdapterErrors(adapter, {
    start: async (middleware, before = []) => (await start([...before, ...middleware])).server,
    jsonParser: () => bodyParser(),
    // An error answer that cannot be written (a header Node refuses): Koa answers 500.
    extraUnhandledCases: () => [
      {
        middleware: [
          jwtBearerGrant({
            ...grantOptions(),
            issueToken: () => {
              throw new OAuthError('ERR_SCOPE_INVALID', { headers: { 'X-Reason': 'line\nbreak' } });
            },
          }),
        ],
        send: grantForm(),
        status: 500,
      },
    ],
  });

  test("passErrors without jwtBearerErrorHandler: Koa's default handling answers with the error's status, WWW-Authenticate and its safe message", async () => {
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
    const res2 = await request(grant.server)
      .post('/token')
      .type('form')
      .send(encode(grantForm({}, grantAssertion({ audience: 'https://elsewhere' }))));
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
    const oauth = await request(server)
      .post('/token')
      .type('form')
      .send(encode(grantForm({}, 'bad')));
    expectErrorAnswer(oauth, new OAuthError('ERR_ASSERTION_MALFORMED'));
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
    const res = await request(server)
      .post('/token')
      .type('form')
      .send(encode({ ...clientForm(), ...grantForm() }));
    expect(res.status).toBe(418);
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
});
