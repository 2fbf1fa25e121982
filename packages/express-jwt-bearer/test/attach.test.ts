/**
 * What express-jwt-bearer attaches (`req.jwtBearer`), what it leaves for later handlers
 * (`req.body`), and what `issueToken` is given — on Express 5 and Express 4. The tests
 * koa-jwt-bearer has too are in test/support/adapter-suites.ts.
 */
import type { Server } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import { jwtBearerGrant } from 'express-jwt-bearer';
import { testAdapterAttach } from '../../../test/support/adapter-suites';
import { EXPRESSES, adapter, encode, grantForm, grantOptions, listen, serversClosedAfterEach, type Seen } from './helpers';

describe.each(EXPRESSES)('%s', (name, expressLib) => {
  const servers = serversClosedAfterEach();

  /** An app with `route` on POST /token, ending in a handler that records what it saw. */
  async function appWith(route: RequestHandler[], before: RequestHandler[] = []): Promise<{ seen: Seen[]; server: Server }> {
    const app = expressLib();
    const seen: Seen[] = [];
    for (const m of before) app.use(m);
    app.post('/token', ...route, (req: Request, res: Response) => {
      seen.push({ jwtBearer: req.jwtBearer, body: req.body === undefined ? undefined : { ...req.body } });
      res.json({ ok: true });
    });
    const server = await listen(app);
    servers.push(server);
    return { seen, server };
  }

  testAdapterAttach(adapter, {
    name,
    start: appWith,
    formParser: { label: 'a form parser', create: () => expressLib.urlencoded({ extended: false }) },
    issueTokenArgument: {
      label: 'the Express request',
      path: (req) => req.path,
      expectPrepared(req, principal) {
        // The request is Express's, with the principal already attached and the body parsed.
        expect(req.jwtBearer!.grant).toBe(principal);
        expect(req.body.scope).toBe('read');
        expect(typeof req.get).toBe('function');
      },
    },
  });

  test('an earlier req.jwtBearer set by the app is kept alongside the new principal', async () => {
    const mark = (req: Request, _res: Response, next: NextFunction) => {
      req.jwtBearer = { client: { clientId: 'from-mtls', method: 'private_key_jwt', claims: { iss: 'x', aud: 'y', exp: 0 }, header: { alg: 'ES256' } } };
      next();
    };
    const { seen, server } = await appWith([mark, jwtBearerGrant(grantOptions())]);
    await request(server).post('/token').type('form').send(encode(grantForm())).expect(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe('from-mtls');
    // The grant records the client the request was authenticated as.
    expect(seen[0]!.jwtBearer!.grant!.clientId).toBe('from-mtls');
  });
});
