/**
 * A typical strict-mode Express authorization server using express-jwt-bearer, type-checked by
 * types.test.ts (never run). `@ts-expect-error` lines are checks too: they fail the build when
 * the error they expect is gone.
 */
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response } from 'express';
import {
  clientAssertion,
  createAssertion,
  jwtBearerErrorHandler,
  jwtBearerGrant,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  MemoryReplayStore,
  OAuthError,
  serverOptions,
  type ClientPrincipal,
  type ClientRegistration,
  type GrantPrincipal,
  type JwtBearerGrantOptions,
  type JwtBearerResult,
  type OffloadMode,
  type RejectionEvent,
  type TokenResponse,
  type ExpressServerOptions,
  type TrustedIssuer,
} from 'express-jwt-bearer';

const issuer = 'https://as.example.com';

const issuers: TrustedIssuer[] = [
  { issuer: 'https://svc.example.com', jwksUri: 'https://svc.example.com/jwks', scopes: ['read', 'write'] },
  { issuer: 'google-sa@project.iam.gserviceaccount.com', publicKey: '-----BEGIN PUBLIC KEY-----\n…', requireSubject: false },
];

async function findClient(clientId: string): Promise<ClientRegistration | undefined> {
  return clientId === 'app' ? { clientId, jwksUri: 'https://app.example.com/jwks', algorithms: ['ES256', 'PS256'] } : undefined;
}

function mintAccessToken(subject: string, clientId: string | undefined, scope: string[]): string {
  return `${subject}|${clientId ?? '-'}|${scope.join(' ')}`;
}

const grantOptions: JwtBearerGrantOptions = {
  issuer,
  audiences: [`${issuer}/oauth2/token`],
  issuers,
  clockTolerance: 30,
  maxLifetime: 3600,
  replayStore: new MemoryReplayStore({ max: 10_000 }),
  onError: (event: RejectionEvent) => console.warn(event.code, event.detail, event.issuer),
  // `req` is contextually typed as Express's Request.
  issueToken: async (principal, req): Promise<TokenResponse> => ({
    access_token: mintAccessToken(principal.subject, principal.clientId, principal.scope),
    token_type: 'Bearer',
    expires_in: 300,
    scope: principal.scope.join(' '),
    ip: req.ip,
  }),
};

const app = express();
app.use(express.urlencoded({ extended: false }));

app.post(
  '/oauth2/token',
  clientAssertion({ issuer, clients: findClient, required: false, audienceMode: 'strict' }),
  jwtBearerGrant(grantOptions),
  // Other grant types reach the app's own handler.
  (req: Request, res: Response) => {
    const result: JwtBearerResult | undefined = req.jwtBearer;
    const subject: string | undefined = req.jwtBearer?.grant?.subject;
    const clientId: string | undefined = req.jwtBearer?.client?.clientId;
    const method: ClientPrincipal['method'] | undefined = req.jwtBearer?.client?.method;
    const scope: string[] = req.jwtBearer?.grant?.scope ?? [];
    const jti: string | undefined = req.jwtBearer?.grant?.claims.jti;
    const alg: string | undefined = req.jwtBearer?.client?.header.alg;
    res.json({ result, subject, clientId, method, scope, jti, alg });
  },
);

app.post('/oauth2/introspect', clientAssertion({ issuer, clients: findClient, passErrors: true, bodyLimit: 16 * 1024 }), (req, res) => {
  // After a required clientAssertion the app still has to narrow: the property is optional.
  const client = req.jwtBearer?.client;
  if (!client) throw new OAuthError('ERR_CLIENT_AUTH_REQUIRED', { use: 'client' });
  res.json({ active: false, client_id: client.clientId });
});

app.use(jwtBearerErrorHandler());
const last: ErrorRequestHandler = (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  res.status(500).json({ error: 'server_error', detail: err instanceof OAuthError ? err.code : 'unknown' });
};
app.use(last);

// A client of this server signs its assertion with the same package.
export const clientAssertionForm = {
  client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
  client_assertion: createAssertion({ issuer: 'app', subject: 'app', audience: issuer, key: 'a shared secret that is long enough for HS256' }),
};
export const grantForm = {
  grant_type: JWT_BEARER_GRANT_TYPE,
  assertion: createAssertion({ issuer: 'https://svc.example.com', subject: 'alice', audience: issuer, key: 'k'.repeat(32) }),
};

export function principalOf(req: Request): GrantPrincipal | undefined {
  // @ts-expect-error jwtBearer is optional: it is absent on requests the middleware did not verify.
  const subject: string = req.jwtBearer.grant.subject;
  void subject;
  return req.jwtBearer?.grant;
}

// @ts-expect-error issuers is required for the grant.
jwtBearerGrant({ issuer });
// @ts-expect-error issueToken must return a token response, with access_token and token_type.
jwtBearerGrant({ issuer, issuers, issueToken: () => ({ token: 'x' }) });
// @ts-expect-error required is a clientAssertion option, not a grant option.
jwtBearerGrant({ issuer, issuers, required: false });
// @ts-expect-error "none" is not an algorithm.
clientAssertion({ issuer, clients: findClient, algorithms: ['none'] });

const offload: OffloadMode = process.env.OFFLOAD === 'never' ? 'never' : 'auto';
clientAssertion({ issuer, clients: findClient, offload });
jwtBearerGrant({ issuer, issuers, offload: 'always' });
// @ts-expect-error offload is 'auto', 'always' or 'never', not a boolean.
clientAssertion({ issuer, clients: findClient, offload: true });

// Served with the app's own request and response classes (Node 20: every request keeps one shape).
const fast: ExpressServerOptions = serverOptions(app);
export const server = createServer(fast, app);
export const tlsServer = createHttpsServer({ key: 'pem', cert: 'pem', ...serverOptions(app) }, app);
// @ts-expect-error serverOptions takes the Express application, not options.
serverOptions({ issuer });

export default app;
