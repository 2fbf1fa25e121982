/**
 * What koa-jwt-bearer attaches (`ctx.state.jwtBearer`), what it leaves for later middleware
 * (`ctx.request.body`), and what `issueToken` is given — on Koa 3 and Koa 2.
 */
import type { Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import request from 'supertest';
import { clientAssertion, jwtBearerGrant, type GrantPrincipal, type JwtBearerContext, type JwtBearerResult, type JwtBearerState } from 'koa-jwt-bearer';
import {
  AS,
  CLIENT,
  KOAS,
  SVC,
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

/** What the final middleware saw. */
interface Seen {
  jwtBearer: JwtBearerResult | undefined;
  body: unknown;
}

type State = Koa.DefaultState & JwtBearerState;

describe.each(KOAS)('%s', (name, KoaLib) => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });

  /** An app running `middleware`, ending in one that records what it saw. */
  async function appWith(middleware: Koa.Middleware<State>[]): Promise<{ seen: Seen[]; server: Server }> {
    const app = new KoaLib<State>();
    app.silent = true;
    const seen: Seen[] = [];
    for (const m of middleware) app.use(m);
    app.use((ctx) => {
      const body = (ctx.request as { body?: unknown }).body;
      seen.push({ jwtBearer: ctx.state.jwtBearer, body: body === undefined ? undefined : { ...(body as object) } });
      ctx.body = { ok: true };
    });
    const server = await listen(app.callback());
    servers.push(server);
    return { seen, server };
  }

  test('ctx.state.jwtBearer.grant holds the verified grant principal; no client principal', async () => {
    const { seen, server } = await appWith([jwtBearerGrant(grantOptions())]);
    const jti = `jti-attach-${name}`;
    const assertion = grantAssertion({ jwtId: jti, claims: { tenant: 't-9' } });
    const res = await request(server).post('/token').type('form').send(encode(grantForm({ scope: 'read write' }, assertion)));
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

  test('ctx.state.jwtBearer.client holds the verified client principal', async () => {
    const { seen, server } = await appWith([clientAssertion(clientOptions())]);
    const res = await request(server).post('/token').type('form').send(encode(clientForm({ token: 'abc' })));
    expect(res.status).toBe(200);
    expect(seen[0]!.jwtBearer!.client).toEqual({
      clientId: CLIENT,
      method: 'private_key_jwt',
      claims: expect.objectContaining({ iss: CLIENT, sub: CLIENT, aud: AS, jti: expect.any(String) }),
      header: expect.objectContaining({ alg: 'ES256' }),
    });
    expect(seen[0]!.jwtBearer!.grant).toBeUndefined();
  });

  test('client authentication and grant in one request: both principals, the grant carrying clientId', async () => {
    const { seen, server } = await appWith([clientAssertion({ ...clientOptions(), required: false }), jwtBearerGrant(grantOptions())]);
    await request(server).post('/token').type('form').send(encode({ ...grantForm(), ...clientForm() })).expect(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe(CLIENT);
    expect(seen[0]!.jwtBearer!.grant!.clientId).toBe(CLIENT);
    expect(seen[0]!.jwtBearer!.grant!.subject).toBe('alice');
  });

  test('a request for another grant type gets no ctx.state.jwtBearer, and its parsed body stays on ctx.request.body', async () => {
    const { seen, server } = await appWith([clientAssertion({ ...clientOptions(), required: false }), jwtBearerGrant(grantOptions())]);
    const form = { grant_type: 'authorization_code', code: 'c-1', redirect_uri: 'https://client.example/cb' };
    await request(server).post('/token').type('form').send(encode(form)).expect(200);
    expect(seen[0]!.jwtBearer).toBeUndefined();
    expect(seen[0]!.body).toEqual(form);
  });

  test('the body the middleware parsed itself stays on ctx.request.body, also after a verified grant', async () => {
    const { seen, server } = await appWith([jwtBearerGrant(grantOptions())]);
    const form = grantForm({ scope: 'read', resource: 'https://api.example' });
    await request(server).post('/token').type('form').send(encode(form)).expect(200);
    expect(seen[0]!.body).toEqual(form);
  });

  test('@koa/bodyparser mounted after the middleware neither fails nor replaces the body', async () => {
    const { seen, server } = await appWith([jwtBearerGrant(grantOptions()), bodyParser()]);
    const form = { grant_type: 'password', username: 'u', password: 'p' };
    await request(server).post('/token').type('form').send(encode(form)).expect(200);
    expect(seen[0]!.body).toEqual(form);
  });

  test('with @koa/bodyparser mounted first the middleware uses its result', async () => {
    const { seen, server } = await appWith([bodyParser(), clientAssertion(clientOptions())]);
    await request(server).post('/token').type('form').send(encode(clientForm({ token: 't' }))).expect(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe(CLIENT);
    expect(seen[0]!.body).toEqual(expect.objectContaining({ token: 't' }));
  });

  test('issueToken gets the principal and the Koa context, and its answer is the token response', async () => {
    const calls: { principal: GrantPrincipal; ctx: JwtBearerContext }[] = [];
    const issueToken = (principal: GrantPrincipal, ctx: JwtBearerContext) => {
      calls.push({ principal, ctx });
      return { access_token: `at-${principal.subject}`, token_type: 'Bearer', expires_in: 60, path: ctx.path };
    };
    const { seen, server } = await appWith([jwtBearerGrant({ ...grantOptions(), issueToken })]);
    const res = await request(server).post('/token').type('form').send(encode(grantForm({ scope: 'read' })));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: 'at-alice', token_type: 'Bearer', expires_in: 60, path: '/token' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.principal.scope).toEqual(['read']);
    expect(calls[0]!.ctx.state.jwtBearer!.grant).toBe(calls[0]!.principal);
    expect((calls[0]!.ctx.request as { body?: Record<string, string> }).body!.scope).toBe('read');
    expect(typeof calls[0]!.ctx.throw).toBe('function');
    // issueToken answered: later middleware did not run.
    expect(seen).toHaveLength(0);
  });

  test('state other middleware put on ctx.state is kept', async () => {
    let after: Record<string, unknown> | undefined;
    const { seen, server } = await appWith([
      async (ctx, next) => {
        ctx.state.tenant = 'acme';
        await next();
        after = { ...ctx.state };
      },
      jwtBearerGrant(grantOptions()),
    ]);
    await request(server).post('/token').type('form').send(encode(grantForm())).expect(200);
    expect(seen[0]!.jwtBearer!.grant!.subject).toBe('alice');
    expect(after).toEqual({ tenant: 'acme', jwtBearer: { grant: seen[0]!.jwtBearer!.grant } });
  });

  test('a client assertion is accepted once only, even across middleware instances sharing the default store', async () => {
    const assertion = clientAssertionJwt();
    const first = await appWith([clientAssertion(clientOptions())]);
    await request(first.server).post('/token').type('form').send(encode(clientForm({}, assertion))).expect(200);
    const second = await appWith([clientAssertion(clientOptions())]);
    const res = await request(second.server).post('/token').type('form').send(encode(clientForm({}, assertion)));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(second.seen).toHaveLength(0);
  });
});
