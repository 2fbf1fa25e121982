/**
 * What express-jwt-bearer attaches (`req.jwtBearer`), what it leaves for later handlers
 * (`req.body`), and what `issueToken` is given — on Express 5 and Express 4.
 */
import type { Server } from 'node:http';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import { clientAssertion, jwtBearerGrant, type GrantPrincipal, type JwtBearerResult } from 'express-jwt-bearer';
import {
  AS,
  CLIENT,
  SVC,
  EXPRESSES,
  clientAssertionJwt,
  clientForm,
  clientOptions,
  close,
  encode,
  grantAssertion,
  grantForm,
  grantOptions,
  listen,
} from './helpers';

/** What the final handler saw. */
interface Seen {
  jwtBearer: JwtBearerResult | undefined;
  body: unknown;
}

describe.each(EXPRESSES)('%s', (name, expressLib) => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await close(server);
    server = undefined;
  });

  /** An app with `route` on POST /token, ending in a handler that records what it saw. */
  async function appWith(route: RequestHandler[], before: RequestHandler[] = []): Promise<{ app: Express; seen: Seen[] }> {
    const app = expressLib();
    const seen: Seen[] = [];
    for (const m of before) app.use(m);
    app.post('/token', ...route, (req: Request, res: Response) => {
      seen.push({ jwtBearer: req.jwtBearer, body: req.body === undefined ? undefined : { ...req.body } });
      res.json({ ok: true });
    });
    server = await listen(app);
    return { app, seen };
  }

  test('req.jwtBearer.grant holds the verified grant principal; no client principal', async () => {
    const { seen } = await appWith([jwtBearerGrant(grantOptions())]);
    const jti = `jti-attach-${name}`;
    const assertion = grantAssertion({ jwtId: jti, claims: { tenant: 't-9' } });
    const res = await request(server!).post('/token').type('form').send(encode(grantForm({ scope: 'read write' }, assertion)));
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    const grant = seen[0]!.jwtBearer!.grant!;
    expect(grant).toEqual({
      issuer: SVC,
      subject: 'alice',
      scope: ['read', 'write'],
      audience: AS,
      claims: expect.objectContaining({ iss: SVC, sub: 'alice', aud: AS, jti, tenant: 't-9', exp: expect.any(Number), iat: expect.any(Number) }),
      header: expect.objectContaining({ alg: 'RS256', typ: 'JWT', kid: 'svc-1' }),
    });
    expect(grant.clientId).toBeUndefined();
    expect(seen[0]!.jwtBearer!.client).toBeUndefined();
  });

  test('req.jwtBearer.client holds the verified client principal', async () => {
    const { seen } = await appWith([clientAssertion(clientOptions())]);
    const res = await request(server!).post('/token').type('form').send(encode(clientForm({ token: 'abc' })));
    expect(res.status).toBe(200);
    const client = seen[0]!.jwtBearer!.client!;
    expect(client).toEqual({
      clientId: CLIENT,
      method: 'private_key_jwt',
      claims: expect.objectContaining({ iss: CLIENT, sub: CLIENT, aud: AS, jti: expect.any(String) }),
      header: expect.objectContaining({ alg: 'ES256' }),
    });
    expect(seen[0]!.jwtBearer!.grant).toBeUndefined();
  });

  test('client authentication and grant in one request: both principals, the grant carrying clientId', async () => {
    const { seen } = await appWith([clientAssertion({ ...clientOptions(), required: false }), jwtBearerGrant(grantOptions())]);
    const res = await request(server!).post('/token').type('form').send(encode({ ...grantForm(), ...clientForm() }));
    expect(res.status).toBe(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe(CLIENT);
    expect(seen[0]!.jwtBearer!.grant!.clientId).toBe(CLIENT);
    expect(seen[0]!.jwtBearer!.grant!.subject).toBe('alice');
  });

  test('a request for another grant type gets no req.jwtBearer, and its parsed body stays on req.body', async () => {
    const { seen } = await appWith([clientAssertion({ ...clientOptions(), required: false }), jwtBearerGrant(grantOptions())]);
    const form = { grant_type: 'authorization_code', code: 'c-1', redirect_uri: 'https://client.example/cb' };
    const res = await request(server!).post('/token').type('form').send(encode(form));
    expect(res.status).toBe(200);
    expect(seen[0]!.jwtBearer).toBeUndefined();
    expect(seen[0]!.body).toEqual(form);
  });

  test('the body the middleware parsed itself stays on req.body for later handlers, also after a verified grant', async () => {
    const { seen } = await appWith([jwtBearerGrant(grantOptions())]);
    const form = grantForm({ scope: 'read', resource: 'https://api.example' });
    await request(server!).post('/token').type('form').send(encode(form)).expect(200);
    expect(seen[0]!.body).toEqual(form);
  });

  test('a form parser mounted after the middleware neither fails nor replaces the body', async () => {
    const { seen } = await appWith([jwtBearerGrant(grantOptions()), expressLib.urlencoded({ extended: false })]);
    const form = { grant_type: 'password', username: 'u', password: 'p' };
    await request(server!).post('/token').type('form').send(encode(form)).expect(200);
    expect(seen[0]!.body).toEqual(form);
  });

  test('with a form parser mounted first the middleware uses its result', async () => {
    const { seen } = await appWith([clientAssertion(clientOptions())], [expressLib.urlencoded({ extended: false })]);
    await request(server!).post('/token').type('form').send(encode(clientForm({ token: 't' }))).expect(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe(CLIENT);
    expect(seen[0]!.body).toEqual(expect.objectContaining({ token: 't' }));
  });

  test('issueToken gets the principal and the Express request, and its answer is the token response', async () => {
    const calls: { principal: GrantPrincipal; req: Request }[] = [];
    const issueToken = (principal: GrantPrincipal, req: Request) => {
      calls.push({ principal, req });
      return { access_token: `at-${principal.subject}`, token_type: 'Bearer', expires_in: 60, path: req.path };
    };
    const { seen } = await appWith([jwtBearerGrant({ ...grantOptions(), issueToken })]);
    const res = await request(server!).post('/token').type('form').send(encode(grantForm({ scope: 'read' })));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: 'at-alice', token_type: 'Bearer', expires_in: 60, path: '/token' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.principal.scope).toEqual(['read']);
    // The request is Express's, with the principal already attached and the body parsed.
    expect(calls[0]!.req.jwtBearer!.grant).toBe(calls[0]!.principal);
    expect(calls[0]!.req.body.scope).toBe('read');
    expect(typeof calls[0]!.req.get).toBe('function');
    // issueToken answered: the next handler was not called.
    expect(seen).toHaveLength(0);
  });

  test('an earlier req.jwtBearer set by the app is kept alongside the new principal', async () => {
    const mark = (req: Request, _res: Response, next: NextFunction) => {
      req.jwtBearer = { client: { clientId: 'from-mtls', method: 'private_key_jwt', claims: { iss: 'x', aud: 'y', exp: 0 }, header: { alg: 'ES256' } } };
      next();
    };
    const { seen } = await appWith([mark, jwtBearerGrant(grantOptions())]);
    await request(server!).post('/token').type('form').send(encode(grantForm())).expect(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe('from-mtls');
    // The grant records the client the request was authenticated as.
    expect(seen[0]!.jwtBearer!.grant!.clientId).toBe('from-mtls');
  });

  test('a client assertion minted for one request is accepted once only, even across middleware instances sharing the default store', async () => {
    const assertion = clientAssertionJwt();
    const first = await appWith([clientAssertion(clientOptions())]);
    await request(server!).post('/token').type('form').send(encode(clientForm({}, assertion))).expect(200);
    expect(first.seen).toHaveLength(1);
    await close(server!);
    const second = await appWith([clientAssertion(clientOptions())]);
    const res = await request(server!).post('/token').type('form').send(encode(clientForm({}, assertion)));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(second.seen).toHaveLength(0);
  });
});
