/**
 * Example authorization server on Koa: the jwt-bearer grant and JWT client authentication
 * (private_key_jwt, client_secret_jwt) next to the app's own client_credentials handler.
 *
 *   npm run start:koa  # builds, then listens on http://127.0.0.1:${PORT:-3000}
 *   npm run demo       # in another shell
 *
 * No body parser is mounted: the jwt-bearer middleware parses the form itself and leaves it on
 * ctx.request.body for the handlers after it.
 */
import Koa, { type Middleware, type ParameterizedContext } from 'koa';
import { clientAssertion, jwtBearerGrant, type JwtBearerState } from 'koa-jwt-bearer';
import { AuthorizationServer, runMain, type HttpResult } from './authorization-server';

type State = Koa.DefaultState & JwtBearerState;
type Ctx = ParameterizedContext<State>;

function send(ctx: Ctx, result: HttpResult): void {
  ctx.status = result.status;
  ctx.set(result.headers);
  ctx.body = result.body;
}

function body(ctx: Ctx): Record<string, unknown> | undefined {
  return (ctx.request as { body?: Record<string, unknown> }).body;
}

/** A route: runs `handlers` in order for `method path`, else hands on. */
function route(method: string, path: string, ...handlers: Middleware<State>[]): Middleware<State> {
  return async (ctx, next) => {
    if (ctx.method !== method || ctx.path !== path) return next();
    const run = async (i: number): Promise<void> => {
      const handler = handlers[i];
      if (handler) await handler(ctx, () => run(i + 1));
    };
    await run(0);
  };
}

/**
 * Builds the Koa app around an {@link AuthorizationServer} (default: demo keys generated now,
 * issuer `http://127.0.0.1:${PORT:-3000}`). Does not listen.
 */
export function createApp(as: AuthorizationServer = new AuthorizationServer()): Koa<State> {
  const app = new Koa<State>();
  app.context.authorizationServer = as;

  // Token endpoint: a client assertion, if the request carries one, authenticates the client
  // (ctx.state.jwtBearer.client); the jwt-bearer grant is answered by the middleware through
  // issueToken; every other grant type falls through to the app's own handler.
  app.use(
    route(
      'POST',
      '/token',
      clientAssertion({ ...as.clientOptions(), required: false }),
      jwtBearerGrant({ ...as.grantOptions(), issueToken: (grant, ctx) => as.issueForGrant(grant, ctx.state.jwtBearer?.client) }),
      async (ctx) => send(ctx, as.tokenRequest(body(ctx), ctx.state.jwtBearer, ctx.headers)),
    ),
  );

  // Introspection (RFC 7662): only authenticated clients may ask.
  app.use(route('POST', '/introspect', clientAssertion(as.clientOptions()), async (ctx) => send(ctx, as.introspect(body(ctx), ctx.state.jwtBearer?.client))));

  app.use(route('GET', '/.well-known/oauth-authorization-server', async (ctx) => send(ctx, as.metadata())));
  app.use(route('GET', '/jwks', async (ctx) => send(ctx, as.jwks())));
  // DEVELOPMENT ONLY: hands out the demo private keys to loopback callers (see the banner).
  app.use(route('GET', '/demo/keys', async (ctx) => send(ctx, as.demoKeys(ctx.req.socket, ctx.req.headers.host))));
  app.use(async (ctx) => send(ctx, as.notFound()));
  return app;
}

if (require.main === module) {
  runMain('Koa', (as) => createApp(as).callback()).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
