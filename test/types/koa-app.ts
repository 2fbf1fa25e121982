/**
 * A typical strict-mode Koa authorization server using koa-jwt-bearer, type-checked by
 * types.test.ts (never run). `@ts-expect-error` lines are checks too.
 */
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import {
  clientAssertion,
  jwtBearerErrorHandler,
  jwtBearerGrant,
  OAuthError,
  type ClientAssertionOptions,
  type GrantPrincipal,
  type JwtBearerContext,
  type JwtBearerGrantOptions,
  type JwtBearerState,
  type TokenResponse,
} from 'koa-jwt-bearer';

// Typed custom claims, by declaration merging on the core's exported interface.
declare module 'jwt-bearer-core' {
  interface AssertionClaims {
    tenant?: string;
  }
}

const issuer = 'https://as.example.com';

const clientOptions: ClientAssertionOptions = {
  issuer,
  clients: [{ clientId: 'app', publicKey: '-----BEGIN PUBLIC KEY-----\n…' }],
  required: false,
};

function issueToken(principal: GrantPrincipal, ctx: JwtBearerContext): TokenResponse {
  const tenant: string | undefined = principal.claims.tenant;
  return { access_token: `${principal.subject}@${tenant ?? 'default'}`, token_type: 'Bearer', expires_in: 300, path: ctx.path };
}

const grantOptions: JwtBearerGrantOptions = {
  issuer,
  issuers: async (iss) => (iss === 'https://svc.example.com' ? { issuer: iss, jwksUri: 'https://svc.example.com/jwks' } : undefined),
  issueToken,
  passErrors: true,
};

const app = new Koa<Koa.DefaultState & JwtBearerState>();
app.use(jwtBearerErrorHandler());
app.use(bodyParser());
app.use(clientAssertion(clientOptions));
app.use(jwtBearerGrant(grantOptions));
app.use(async (ctx, next) => {
  const subject: string | undefined = ctx.state.jwtBearer?.grant?.subject;
  const clientId: string | undefined = ctx.state.jwtBearer?.client?.clientId;
  const method: 'private_key_jwt' | 'client_secret_jwt' | 'federated_jwt' | 'spiffe_jwt' | undefined = ctx.state.jwtBearer?.client?.method;
  const scope: string[] = ctx.state.jwtBearer?.grant?.scope ?? [];
  if (ctx.path === '/oauth2/introspect' && !clientId) throw new OAuthError('ERR_CLIENT_AUTH_REQUIRED', { use: 'client' });
  ctx.body = { subject, clientId, method, scope };
  await next();
});

// A router-style middleware written against the package's context type.
export async function whoAmI(ctx: JwtBearerContext): Promise<void> {
  ctx.body = { client: ctx.state.jwtBearer?.client?.clientId ?? null };
}

export function subjectOf(ctx: JwtBearerContext): string {
  // @ts-expect-error jwtBearer is optional: absent on requests the middleware did not verify.
  return ctx.state.jwtBearer.grant.subject;
}

// @ts-expect-error clients is required for client authentication.
clientAssertion({ issuer });
// @ts-expect-error issueToken is a grant option.
clientAssertion({ ...clientOptions, issueToken });
// @ts-expect-error passErrors is a boolean.
jwtBearerGrant({ ...grantOptions, passErrors: 'yes' });

// A plain new Koa(): ctx.state.jwtBearer is typed all the same (koa's DefaultState is augmented).
export const plain = new Koa();
plain.use(jwtBearerGrant(grantOptions));
plain.use((ctx) => {
  const subject: string | undefined = ctx.state.jwtBearer?.grant?.subject;
  // @ts-expect-error the scope is a string[], not a string.
  const scope: string | undefined = ctx.state.jwtBearer?.grant?.scope;
  ctx.body = { subject, scope };
});

export default app;
