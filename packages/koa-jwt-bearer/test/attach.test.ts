/**
 * What koa-jwt-bearer attaches (`ctx.state.jwtBearer`), what it leaves for later middleware
 * (`ctx.request.body`), and what `issueToken` is given — on Koa 3 and Koa 2. The tests
 * express-jwt-bearer has too are in test/support/adapter-suites.ts.
 */
import type { Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import request from 'supertest';
import { jwtBearerGrant } from 'koa-jwt-bearer';
import { testAdapterAttach } from '../../../test/support/adapter-suites';
import { KOAS, adapter, encode, grantForm, grantOptions, listen, serversClosedAfterEach, type Seen, type State } from './helpers';

describe.each(KOAS)('%s', (name, KoaLib) => {
  const servers = serversClosedAfterEach();

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

  testAdapterAttach(adapter, {
    name,
    start: (middleware, before = []) => appWith([...before, ...middleware]),
    formParser: { label: '@koa/bodyparser', create: () => bodyParser() },
    issueTokenArgument: {
      label: 'the Koa context',
      path: (ctx) => ctx.path,
      expectPrepared(ctx, principal) {
        expect(ctx.state.jwtBearer!.grant).toBe(principal);
        expect((ctx.request as { body?: Record<string, string> }).body!.scope).toBe('read');
        expect(typeof ctx.throw).toBe('function');
      },
    },
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
});
