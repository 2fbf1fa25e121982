/**
 * serverOptions(app): servers whose requests and responses are born with the Express app's
 * prototypes, so that Express's per-request prototype swap changes nothing and every request
 * keeps one V8 shape, with everything else (the middleware, Express's API, sub-apps) unchanged.
 * On Express 5 and Express 4.
 */
import { createServer, IncomingMessage, request as httpRequest, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import type { Request, Response } from 'express';
import Koa from 'koa';
import request from 'supertest';
import { clientAssertion, jwtBearerGrant, serverOptions } from 'express-jwt-bearer';
import { classesOn } from '../src/server-options';
import {
  CLIENT,
  clientAssertionJwt,
  clientForm,
  clientOptions,
  encode,
  EXPRESSES,
  expectNoStoreJson,
  grantForm,
  grantOptions,
  serversClosedAfterEach,
} from './helpers';

// V8's own view of object shapes, for the one test whose point they are.
setFlagsFromString('--allow-natives-syntax');

const haveSameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

describe.each(EXPRESSES)('%s', (_name, expressLib) => {
  const servers = serversClosedAfterEach();

  function start(server: Server): Promise<Server> {
    servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
  }

  test('requests and responses reach the server already built on app.request and app.response', async () => {
    const app = expressLib();
    app.get('/', (_req: Request, res: Response) => res.json({ ok: true }));
    const born: object[] = [];
    const server = createServer(serverOptions(app), app);
    // Runs before Express sees the request: what Node built.
    server.prependListener('request', (req, res) => born.push(Object.getPrototypeOf(req), Object.getPrototypeOf(res)));
    await start(server);
    await request(server).get('/').expect(200, { ok: true });
    expect(born).toEqual([app.request, app.response]);
    expect(born[0]).not.toBe(IncomingMessage.prototype);

    // Node's defaults, for contrast: Express swaps the prototypes itself.
    const plain: object[] = [];
    const plainServer = createServer(app);
    plainServer.prependListener('request', (req) => plain.push(Object.getPrototypeOf(req)));
    await start(plainServer);
    await request(plainServer).get('/').expect(200);
    expect(plain).toEqual([IncomingMessage.prototype]);
  });

  test('concurrent requests share one V8 shape after Express has set them up, with fast properties', async () => {
    const app = expressLib();
    const held: [Request, Response][] = [];
    let release: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (release = resolve));
    app.post('/token', (req: Request, res: Response) => {
      held.push([req, res]);
      if (held.length === 2) release();
    });
    const server = await start(createServer(serverOptions(app), app));
    const { port } = server.address() as AddressInfo;
    // Two connections, so both requests are in the app at once.
    const post = () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/token', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end('a=b');
      });
    const answers = Promise.all([post(), post()]);
    await both;
    const [[reqA, resA], [reqB, resB]] = held as [[Request, Response], [Request, Response]];
    expect(haveSameShape(reqA, reqB)).toBe(true);
    expect(haveSameShape(resA, resB)).toBe(true);
    // Not V8's slow dictionary mode, which a response with Node's ≈ 40 fields falls into when
    // its constructor does not tell V8 to expect that many.
    expect([hasFastProperties(reqA), hasFastProperties(resA)]).toEqual([true, true]);
    for (const [, res] of held) res.status(204).end();
    expect(await answers).toEqual([204, 204]);
  });

  test('the middleware works the same: a client assertion authenticates, a bad one gets invalid_client', async () => {
    const app = expressLib();
    app.post('/token', clientAssertion(clientOptions()), (req: Request, res: Response) => {
      res.json({ client: req.jwtBearer?.client?.clientId, grant_type: req.body.grant_type });
    });
    const server = await start(createServer(serverOptions(app), app));

    const ok = await request(server)
      .post('/token')
      .type('form')
      .send(encode(clientForm({ grant_type: 'client_credentials' })));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ client: CLIENT, grant_type: 'client_credentials' });

    const bad = await request(server)
      .post('/token')
      .type('form')
      .send(encode(clientForm({ grant_type: 'client_credentials' }, clientAssertionJwt({ audience: 'https://elsewhere.example.com' }))));
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('invalid_client');
    expectNoStoreJson(bad);
  });

  test('jwtBearerGrant answers through issueToken with Express’s res.json', async () => {
    const app = expressLib();
    app.post('/token', jwtBearerGrant({ ...grantOptions(), issueToken: (grant) => ({ access_token: `at-${grant.subject}`, token_type: 'Bearer' }) }));
    const server = await start(createServer(serverOptions(app), app));
    const res = await request(server).post('/token').type('form').send(encode(grantForm()));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: 'at-alice', token_type: 'Bearer' });
    expectNoStoreJson(res);
  });

  test('Express’s own request and response API is intact', async () => {
    const app = expressLib();
    app.set('trust proxy', false);
    app.get('/who', (req: Request, res: Response) => {
      res
        .status(201)
        .set('X-Seen', String(req.app === app))
        .json({ q: req.query.q, host: req.get('host')?.startsWith('127.0.0.1:'), ip: req.ip, path: req.path });
    });
    const server = await start(createServer(serverOptions(app), app));
    const res = await request(server).get('/who?q=1');
    expect(res.status).toBe(201);
    expect(res.headers['x-seen']).toBe('true');
    expect(res.body).toEqual({ q: '1', host: true, ip: '127.0.0.1', path: '/who' });
  });

  test('a mounted sub-app gets its own prototypes, and the parent gets its own back', async () => {
    const app = expressLib();
    const sub = expressLib();
    const seen: string[] = [];
    sub.use((req: Request, _res: Response, next: () => void) => {
      seen.push(`sub:${req.app === sub}:${Object.getPrototypeOf(req) === sub.request}`);
      next();
    });
    app.use('/sub', sub);
    app.use((req: Request, res: Response) => {
      seen.push(`app:${req.app === app}:${Object.getPrototypeOf(req) === app.request}`);
      res.json({ ok: true });
    });
    const server = await start(createServer(serverOptions(app), app));
    await request(server).get('/sub/x').expect(200);
    expect(seen).toEqual(['sub:true:true', 'app:true:true']);
  });
});

describe('serverOptions() itself', () => {
  const express = EXPRESSES[0][1];

  test('returns the same classes for the same app, other classes for another app', () => {
    const app = express();
    const first = serverOptions(app);
    expect(serverOptions(app)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.IncomingMessage).toEqual(expect.any(Function));
    expect(first.ServerResponse).toEqual(expect.any(Function));
    const other = serverOptions(express());
    expect(other.IncomingMessage).not.toBe(first.IncomingMessage);
  });

  test('refuses what is not an Express application, saying what it needs', () => {
    const notApp = (value: unknown) => () => serverOptions(value as never);
    expect(notApp(undefined)).toThrow(new TypeError('serverOptions(app): app must be the Express application (what express() returned)'));
    expect(notApp(null)).toThrow(TypeError);
    expect(notApp('app')).toThrow(TypeError);
    expect(notApp({})).toThrow(
      new TypeError(
        'serverOptions(app): app.request must be an object that inherits from http.IncomingMessage.prototype; pass the Express application itself (what express() returned)',
      ),
    );
    // A Koa application has request and response objects too, of its own kind.
    expect(notApp(new Koa())).toThrow(/app\.request must be an object that inherits from http\.IncomingMessage\.prototype/);
    expect(notApp({ request: Object.create(IncomingMessage.prototype), response: {} })).toThrow(
      /app\.response must be an object that inherits from http\.ServerResponse\.prototype/,
    );
  });

  test('builds instances on the given prototypes with Node’s constructors', () => {
    const req = Object.create(IncomingMessage.prototype);
    const res = Object.create(ServerResponse.prototype);
    const { IncomingMessage: Req, ServerResponse: Res } = classesOn(req, res);
    const message = new Req!(null as never);
    expect(Object.getPrototypeOf(message)).toBe(req);
    expect(message.headers).toEqual({});
    expect(message.readable).toBe(true);
    const response = new Res!(message);
    expect(Object.getPrototypeOf(response)).toBe(res);
    expect(response.statusCode).toBe(200);
  });

  test('falls back to Node’s defaults where its constructors are ES classes', () => {
    class Message extends IncomingMessage {}
    class Answer<R extends IncomingMessage = IncomingMessage> extends ServerResponse<R> {}
    expect(classesOn({}, {}, Message, ServerResponse)).toEqual({});
    expect(classesOn({}, {}, IncomingMessage, Answer)).toEqual({});
  });
});
