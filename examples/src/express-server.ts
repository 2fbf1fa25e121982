/**
 * Example authorization server on Express: the jwt-bearer grant and JWT client authentication
 * (private_key_jwt, client_secret_jwt) next to the app's own client_credentials handler.
 *
 *   npm start          # builds, then listens on http://127.0.0.1:${PORT:-3000}
 *   npm run demo       # in another shell
 *
 * The app mounts its own body parser, as an existing server would; the middleware works without
 * one too (see koa-server.ts). The server is created with `serverOptions(app)`, which spares
 * Express's per-request prototype swap (see the express-jwt-bearer README, "Serving Express fast").
 */
import express, { type Express, type Request, type Response } from 'express';
import { clientAssertion, jwtBearerGrant, serverOptions } from 'express-jwt-bearer';
import { AuthorizationServer, runMain, type HttpResult } from './authorization-server';

function send(res: Response, result: HttpResult): void {
  res.status(result.status).set(result.headers).json(result.body);
}

/**
 * Builds the Express app around an {@link AuthorizationServer} (default: demo keys generated now,
 * issuer `http://127.0.0.1:${PORT:-3000}`), on `app` (default: a new one). Does not listen.
 */
export function createApp(as: AuthorizationServer = new AuthorizationServer(), app: Express = express()): Express {
  app.disable('x-powered-by');
  app.set('authorizationServer', as);

  const form = express.urlencoded({ extended: false, limit: '100kb' });

  // Token endpoint: a client assertion, if the request carries one, authenticates the client
  // (req.jwtBearer.client); the jwt-bearer grant is answered by the middleware through
  // issueToken; every other grant type falls through to the app's own handler.
  app.post(
    '/token',
    form,
    clientAssertion({ ...as.clientOptions(), required: false }),
    jwtBearerGrant({ ...as.grantOptions(), issueToken: (grant, req) => as.issueForGrant(grant, req.jwtBearer?.client) }),
    (req: Request, res: Response) => send(res, as.tokenRequest(req.body, req.jwtBearer, req.headers)),
  );

  // Introspection (RFC 7662): only authenticated clients may ask.
  app.post('/introspect', form, clientAssertion(as.clientOptions()), (req: Request, res: Response) =>
    send(res, as.introspect(req.body, req.jwtBearer?.client)),
  );

  app.get('/.well-known/oauth-authorization-server', (_req, res) => send(res, as.metadata()));
  app.get('/jwks', (_req, res) => send(res, as.jwks()));
  // DEVELOPMENT ONLY: hands out the demo private keys to loopback callers (see the banner).
  app.get('/demo/keys', (req, res) => send(res, as.demoKeys(req.socket, req.headers.host)));
  app.use((_req, res) => send(res, as.notFound()));
  return app;
}

if (require.main === module) {
  // The app exists before the server, which is created with its request and response classes;
  // its routes are mounted once the issuer (from the port) is known.
  const app = express();
  runMain('Express', (as) => createApp(as, app), serverOptions(app)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
