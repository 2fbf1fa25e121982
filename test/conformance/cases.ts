/**
 * The conformance table: one list of framework-neutral cases, each naming the RFC section it checks,
 * run by conformance.test.ts against express-jwt-bearer (Express 5 and 4) and koa-jwt-bearer (Koa 3
 * and 2). A case says which middleware stack to mount (apps.ts builds it for each framework), how to
 * build the request from fresh keys, and what must come back: status, the OAuth `error` and its
 * stable `code`, and the headers that matter.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  createAssertion,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  MemoryReplayStore,
  OAuthError,
  type ClientMiddlewareOptions,
  type CreateAssertionOptions,
  type ErrorCode,
  type GrantMiddlewareOptions,
  type GrantPrincipal,
  type OAuthErrorName,
  type TokenResponse,
} from 'jwt-bearer-core';
import { signRaw, type Fixtures } from './fixtures';

// ---------------------------------------------------------------------------------------------
// The shape of a case
// ---------------------------------------------------------------------------------------------

/** A body parser the app mounts before the middleware: none, the framework's form parser, or form + JSON. */
export type Parser = 'none' | 'form' | 'form+json';

/** The middleware stack of one app, in mount order. */
export interface StackSpec {
  /** Body parser mounted first (`express.urlencoded` [+ `express.json`] / `@koa/bodyparser`). Default `none`. */
  parser?: Parser;
  /** `clientAssertion(options)`, mounted first on the route. */
  client?: ClientMiddlewareOptions;
  /** `jwtBearerGrant(options)`, mounted after `client`. `issueToken` gets only the principal here. */
  grant?: GrantMiddlewareOptions<unknown>;
  /** A form parser mounted after the middleware, for the app's own handler. */
  parserAfter?: boolean;
  /** Mount `jwtBearerErrorHandler()` (Express: after the route; Koa: first). */
  errorHandler?: boolean;
  /**
   * The app's own final handler. `echo` (default): answers 200 JSON with what it saw (the body
   * and `jwtBearer`), marked `X-Answered-By: app`. `throw`: throws an exposed 418 error, for the
   * framework's own error handling.
   */
  app?: 'echo' | 'throw';
}

/** The request to send. */
export interface RequestSpec {
  /** Form parameters, sent as `application/x-www-form-urlencoded`; an array repeats the parameter. */
  form?: Record<string, string | string[]>;
  /** A raw body instead of `form`. */
  body?: string | Buffer;
  /** Content-Type header. Default: the form type when `form` is given. */
  contentType?: string;
  headers?: Record<string, string>;
}

/** What the app's own handler saw, as apps.ts summarises it (assertions replaced by `<jwt>`). */
export interface Seen {
  body?: Record<string, unknown> | null;
  grant?: { issuer: string; subject: string; scope: string[]; clientId: string | null; alg: string } | null;
  client?: { clientId: string; method: string; alg: string } | null;
}

/** Expected header values: a string (exact), a RegExp, or `null` for "absent". */
export type HeaderExpectations = Record<string, string | RegExp | null>;

export type Outcome =
  /** The middleware (or `jwtBearerErrorHandler`) answered an RFC 6749 §5.2 JSON error. */
  | { kind: 'error'; status: number; error: OAuthErrorName; code: ErrorCode; headers: HeaderExpectations; mustNotContain?: string[] }
  /** `issueToken` answered: RFC 6749 §5.1 JSON; `token` is the whole expected body. */
  | { kind: 'token'; status: 200; token: Record<string, unknown>; headers: HeaderExpectations }
  /** The request reached the app's own handler; `seen` is compared key by key. */
  | { kind: 'app'; status: 200; seen: Seen; headers: HeaderExpectations }
  /** The framework's own error handling answered (not a JSON OAuth error). */
  | { kind: 'framework'; status: number; headers: HeaderExpectations };

export interface ConformanceCase {
  /** Starts with the RFC section it checks. */
  name: string;
  /** Called once per app build, so stateful options (a replay store) are fresh per framework. */
  stack: (f: Fixtures) => StackSpec;
  /** Called once per run: assertions are minted fresh. */
  request: (f: Fixtures) => RequestSpec;
  /**
   * Sends before the request under test, on the same app: `same` resends the very request (a
   * replay), `fresh` builds a new one with `request(f)`.
   */
  before?: { send: 'same' | 'fresh'; expect: Outcome }[];
  expect: Outcome;
}

// ---------------------------------------------------------------------------------------------
// Identities, keys and builders
// ---------------------------------------------------------------------------------------------

/** This authorization server's issuer identifier (RFC 8414). */
export const AS = 'https://as.example.com';
/** Its token endpoint: an accepted grant audience, never a client assertion audience (RFC 10070). */
export const TOKEN_URL = 'https://as.example.com/oauth2/token';
/** The trusted grant issuer. */
export const SVC = 'https://svc.example.com';
export const SUBJECT = 'alice@example.com';
/** A `private_key_jwt` client (EC key) and a `client_secret_jwt` client (shared secret). */
export const CLIENT = 'client-1';
export const HS_CLIENT = 'client-hs';

const now = () => Math.floor(Date.now() / 1000);

export function grantJwt(f: Fixtures, o: Partial<CreateAssertionOptions> = {}): string {
  return createAssertion({ issuer: SVC, subject: SUBJECT, audience: AS, key: f.keys.svc.privateKey, ...o });
}

export function clientJwt(f: Fixtures, o: Partial<CreateAssertionOptions> = {}): string {
  return createAssertion({ issuer: CLIENT, subject: CLIENT, audience: AS, key: f.keys.client.privateKey, ...o });
}

const grantForm = (assertion: string, extra: Record<string, string | string[]> = {}) => ({
  grant_type: JWT_BEARER_GRANT_TYPE,
  assertion,
  ...extra,
});

const clientForm = (assertion: string, extra: Record<string, string | string[]> = {}) => ({
  client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
  client_assertion: assertion,
  ...extra,
});

/** The token the cases' `issueToken` issues: everything in it comes from the principal. */
export function issueToken(p: GrantPrincipal): TokenResponse {
  return {
    access_token: `at.${p.subject}`,
    token_type: 'Bearer',
    expires_in: 300,
    ...(p.scope.length > 0 ? { scope: p.scope.join(' ') } : {}),
    issuer: p.issuer,
    ...(p.clientId !== undefined ? { client_id: p.clientId } : {}),
  };
}

const token = (extra: Record<string, unknown> = {}, subject = SUBJECT) => ({
  access_token: `at.${subject}`,
  token_type: 'Bearer',
  expires_in: 300,
  issuer: SVC,
  ...extra,
});

function grantOptions(f: Fixtures, extra: Partial<GrantMiddlewareOptions<unknown>> = {}): GrantMiddlewareOptions<unknown> {
  return { issuer: AS, audiences: [TOKEN_URL], issuers: [{ issuer: SVC, publicKey: f.keys.svc.publicKey }], issueToken, ...extra };
}

function clientOptions(f: Fixtures, extra: Partial<ClientMiddlewareOptions> = {}): ClientMiddlewareOptions {
  return {
    issuer: AS,
    audiences: [TOKEN_URL],
    clients: [
      { clientId: CLIENT, publicKey: f.keys.client.publicKey },
      { clientId: HS_CLIENT, clientSecret: f.keys.secret },
    ],
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Expected outcomes
// ---------------------------------------------------------------------------------------------

/** RFC 6749 §5.1 / §5.2: JSON, never cached. */
export const NO_STORE = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' } as const;

export function fails(status: number, error: OAuthErrorName, code: ErrorCode, extra: HeaderExpectations = {}, mustNotContain?: string[]): Outcome {
  return {
    kind: 'error',
    status,
    error,
    code,
    headers: { ...NO_STORE, 'www-authenticate': null, 'retry-after': null, ...extra },
    ...(mustNotContain ? { mustNotContain } : {}),
  };
}

export const grantFails = (code: ErrorCode) => fails(400, 'invalid_grant', code);
const clientFails = (code: ErrorCode, extra: HeaderExpectations = {}) => fails(401, 'invalid_client', code, extra);
const badRequest = (code: ErrorCode) => fails(400, 'invalid_request', code);
/** RFC 9110 §10.2.3: a 503 says when to retry, in whole seconds. */
const unavailable = (code: ErrorCode) => fails(503, 'temporarily_unavailable', code, { 'retry-after': /^[1-9]\d*$/ });

const issued = (body: Record<string, unknown> = token()): Outcome => ({
  kind: 'token',
  status: 200,
  token: body,
  headers: { ...NO_STORE, 'www-authenticate': null, 'retry-after': null },
});

/** The app's handler answered; the middleware added none of its headers. */
const reachedApp = (seen: Seen): Outcome => ({
  kind: 'app',
  status: 200,
  seen,
  headers: { 'x-answered-by': 'app', 'cache-control': null, pragma: null, 'www-authenticate': null },
});

const seenGrant = (extra: Partial<NonNullable<Seen['grant']>> = {}) => ({ issuer: SVC, subject: SUBJECT, scope: [], clientId: null, alg: 'RS256', ...extra });
const seenClient = (extra: Partial<NonNullable<Seen['client']>> = {}) => ({ clientId: CLIENT, method: 'private_key_jwt', alg: 'ES256', ...extra });

const BASIC = { Authorization: `Basic ${Buffer.from(`${CLIENT}:secret`).toString('base64')}` };
const BASIC_CHALLENGE = `Basic realm="${AS}"`;

/** What MSAL (Node and .NET) adds to its token requests. */
const MSAL_PARAMS = {
  'x-client-SKU': 'MSAL.Node',
  'x-client-VER': '2.16.2',
  'x-client-OS': 'linux',
  'x-client-CPU': 'x64',
  'x-ms-lib-capability': 'retry-after, h429',
  'x-client-current-telemetry': '5|771,0|,',
  'x-client-last-telemetry': '5|0|||0,0',
  'client-request-id': '1b7e5f62-5c4a-4f0b-9d47-2c2b8e1f3a10',
  client_info: '1',
};

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

const grant = (f: Fixtures, extra: Partial<GrantMiddlewareOptions<unknown>> = {}): StackSpec => ({ grant: grantOptions(f, extra) });
const client = (f: Fixtures, extra: Partial<ClientMiddlewareOptions> = {}): StackSpec => ({ client: clientOptions(f, extra) });

export const CASES: ConformanceCase[] = [
  // ----- RFC 7523 §2.1 / RFC 7521 §4.1: the authorization grant -------------------------------
  {
    name: 'RFC 7523 §2.1: a valid RS256 grant is answered by issueToken (RFC 6749 §5.1 JSON, no-store, no-cache)',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: issued(),
  },
  {
    name: 'RFC 7523 §2.1: without issueToken the verified grant is handed to the next handler',
    stack: (f) => ({ grant: grantOptions(f, { issueToken: undefined }) }),
    request: (f) => ({ form: grantForm(grantJwt(f), { scope: 'read write' }) }),
    expect: reachedApp({ grant: seenGrant({ scope: ['read', 'write'] }), client: null }),
  },
  {
    name: 'RFC 7523 §2.1: the scope parameter becomes the principal scope',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f), { scope: 'openid profile' }) }),
    expect: issued(token({ scope: 'openid profile' })),
  },
  {
    name: 'RFC 7523 §2.1: without a scope parameter a Google-style scope claim is used, and requireSubject:false takes iss as subject',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, publicKey: f.keys.svc.publicKey, requireSubject: false }] }) }),
    request: (f) => ({
      form: grantForm(
        createAssertion({ issuer: SVC, audience: AS, key: f.keys.svc.privateKey, claims: { scope: 'https://www.googleapis.com/auth/cloud-platform' } }),
      ),
    }),
    expect: issued(token({ scope: 'https://www.googleapis.com/auth/cloud-platform' }, SVC)),
  },
  {
    name: 'RFC 7521 §4.1: a grant request without the assertion parameter is invalid_request',
    stack: (f) => grant(f),
    request: () => ({ form: { grant_type: JWT_BEARER_GRANT_TYPE } }),
    expect: badRequest('ERR_ASSERTION_MISSING'),
  },
  {
    name: 'RFC 7521 §4.1.1: an assertion that is not a compact JWS is invalid_grant',
    stack: (f) => grant(f),
    request: () => ({ form: grantForm('not-a-jwt') }),
    expect: grantFails('ERR_ASSERTION_MALFORMED'),
  },
  {
    name: 'RFC 7521 §4.1.1: an encrypted (five-segment JWE) assertion is invalid_grant',
    stack: (f) => grant(f),
    request: () => ({ form: grantForm('eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d') }),
    expect: grantFails('ERR_ASSERTION_MALFORMED'),
  },
  {
    name: 'RFC 7521 §4.1.1: an assertion longer than maxAssertionLength is invalid_grant before any decoding',
    stack: (f) => grant(f, { maxAssertionLength: 512 }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: grantFails('ERR_ASSERTION_TOO_LONG'),
  },
  {
    name: 'RFC 7523 §3 item 1: an assertion from an untrusted issuer is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { issuer: 'https://evil.example.com' })) }),
    expect: grantFails('ERR_ISSUER_UNTRUSTED'),
  },
  {
    name: 'RFC 7523 §3 item 2: a grant assertion without sub is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(createAssertion({ issuer: SVC, audience: AS, key: f.keys.svc.privateKey })) }),
    expect: grantFails('ERR_CLAIM_MISSING'),
  },
  {
    name: "RFC 7523 §3 item 2: a subject outside the issuer's subjects is invalid_grant",
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, publicKey: f.keys.svc.publicKey, subjects: ['bob@example.com'] }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: grantFails('ERR_SUBJECT_NOT_ALLOWED'),
  },
  {
    name: 'RFC 7523 §3 item 3: an aud naming another server is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { audience: 'https://other-as.example.com' })) }),
    expect: grantFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'RFC 7523 §3 item 3: aud is compared exactly (RFC 3986 §6.2.1): a trailing slash is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { audience: `${AS}/` })) }),
    expect: grantFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'RFC 7523 §3 item 3 / RFC 10070: a grant aud may be the token endpoint URL (one of audiences)',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { audience: TOKEN_URL })) }),
    expect: issued(),
  },
  {
    name: 'RFC 7523 §3 item 3: a grant aud array containing the issuer is accepted',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { audience: ['https://api.example.com', AS] })) }),
    expect: issued(),
  },
  {
    name: 'RFC 7523 §3 item 3: a grant assertion without aud is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({
      form: grantForm(signRaw({ alg: 'RS256', typ: 'JWT' }, { iss: SVC, sub: SUBJECT, exp: now() + 60, iat: now() }, f.keys.svc.privateKey)),
    }),
    expect: grantFails('ERR_CLAIM_MISSING'),
  },
  {
    name: 'RFC 7523 §3 item 4: an expired grant assertion is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { issuedAt: now() - 600, expiresIn: 300 })) }),
    expect: grantFails('ERR_ASSERTION_EXPIRED'),
  },
  {
    name: 'RFC 7523 §3 item 4: a grant assertion without exp is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(signRaw({ alg: 'RS256' }, { iss: SVC, sub: SUBJECT, aud: AS, iat: now() }, f.keys.svc.privateKey)) }),
    expect: grantFails('ERR_CLAIM_MISSING'),
  },
  {
    name: 'RFC 7523 §3 item 5: a grant assertion whose nbf is in the future is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { notBefore: now() + 600, expiresIn: 900 })) }),
    expect: grantFails('ERR_ASSERTION_NOT_YET_VALID'),
  },
  {
    name: 'RFC 7523 §3 item 6: a grant assertion issued in the future is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { issuedAt: now() + 600 })) }),
    expect: grantFails('ERR_ASSERTION_ISSUED_IN_FUTURE'),
  },
  {
    name: 'RFC 7523 §3 item 6: a grant assertion issued longer ago than maxLifetime is invalid_grant',
    stack: (f) => grant(f, { maxLifetime: 600 }),
    request: (f) => ({ form: grantForm(grantJwt(f, { issuedAt: now() - 900, expiresIn: 1200 })) }),
    expect: grantFails('ERR_ASSERTION_LIFETIME_EXCEEDED'),
  },
  {
    name: 'RFC 7523 §3 item 7: a replayed grant assertion (same jti) is invalid_grant the second time',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    before: [{ send: 'same', expect: issued() }],
    expect: grantFails('ERR_ASSERTION_REPLAYED'),
  },
  {
    name: 'RFC 7523 §3 item 7: a new grant assertion reusing a jti of the same issuer is invalid_grant',
    stack: (f) => grant(f, { replayStore: new MemoryReplayStore() }),
    request: (f) => ({ form: grantForm(grantJwt(f, { jwtId: 'fixed-jti-1' })) }),
    before: [{ send: 'fresh', expect: issued() }],
    expect: grantFails('ERR_ASSERTION_REPLAYED'),
  },
  {
    name: 'RFC 7523 §3 item 9: a grant assertion signed by a key the issuer does not hold is invalid_grant',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { key: f.keys.other.privateKey })) }),
    expect: grantFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: 'RFC 6749 §3.3 / RFC 7521 §4.1: a scope the issuer may not grant is invalid_scope',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, publicKey: f.keys.svc.publicKey, scopes: ['read'] }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f), { scope: 'read admin' }) }),
    expect: fails(400, 'invalid_scope', 'ERR_SCOPE_INVALID'),
  },
  {
    name: 'RFC 6749 §3.3: a scope parameter that is not scope-token syntax is invalid_scope',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f), { scope: 'read  "write"' }) }),
    expect: fails(400, 'invalid_scope', 'ERR_SCOPE_INVALID'),
  },

  // ----- RFC 7515 / RFC 7518: algorithms and keys; RFC 8725: typ --------------------------------
  {
    name: 'RFC 7518 §3.4: an ES256 grant verified against an inline JWK Set',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, jwks: { keys: [{ ...f.keys.client.jwk, kid: 'ec' }] } }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f, { key: f.keys.client.privateKey, keyId: 'ec' })) }),
    expect: issued(),
  },
  {
    name: 'RFC 7518 §3.5: a PS256 grant is accepted with an RSA key',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { algorithm: 'PS256' })) }),
    expect: issued(),
  },
  {
    name: 'RFC 8037 §3.1: an EdDSA (Ed25519) grant is accepted',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, publicKey: f.keys.ed.publicKey }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f, { key: f.keys.ed.privateKey })) }),
    expect: issued(),
  },
  {
    name: 'RFC 7518 §3.2: an HS256 grant from an issuer registered with a shared secret is accepted',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, secret: f.keys.secret }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f, { key: Buffer.from(f.keys.secret) })) }),
    expect: issued(),
  },
  {
    name: 'RFC 7518 §3.6: alg "none" is never accepted (invalid_grant)',
    stack: (f) => grant(f),
    request: () => ({ form: grantForm(signRaw({ alg: 'none' }, { iss: SVC, sub: SUBJECT, aud: AS, exp: now() + 60 }, undefined, { signature: 'AAAA' })) }),
    expect: grantFails('ERR_ALGORITHM_NOT_ALLOWED'),
  },
  {
    name: 'RFC 7515 §5.2: an unsigned assertion (empty signature) is invalid_grant',
    stack: (f) => grant(f),
    request: () => ({ form: grantForm(signRaw({ alg: 'none' }, { iss: SVC, sub: SUBJECT, aud: AS, exp: now() + 60 }, undefined)) }),
    expect: grantFails('ERR_ASSERTION_MALFORMED'),
  },
  {
    name: "RFC 8725 §3.1 / RFC 7518 §3.2: HS256 keyed with the issuer's RSA public key (algorithm confusion) is invalid_grant",
    stack: (f) => grant(f),
    request: (f) => ({
      form: grantForm(grantJwt(f, { key: Buffer.from(f.keys.svc.publicKey.export({ type: 'spki', format: 'pem' }) as string), algorithm: 'HS256' })),
    }),
    expect: grantFails('ERR_ALGORITHM_NOT_ALLOWED'),
  },
  {
    name: "RFC 7518 §3.1: an algorithm outside the issuer's own algorithms is invalid_grant",
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, publicKey: f.keys.svc.publicKey, algorithms: ['PS256'] }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: grantFails('ERR_ALGORITHM_NOT_ALLOWED'),
  },
  {
    name: 'RFC 7518 §3.1: an algorithm outside the global algorithms option is invalid_grant',
    stack: (f) => grant(f, { algorithms: ['RS256', 'ES256'] }),
    request: (f) => ({ form: grantForm(grantJwt(f, { algorithm: 'PS256' })) }),
    expect: grantFails('ERR_ALGORITHM_NOT_ALLOWED'),
  },
  {
    name: 'RFC 7518 §3.4: an ES256 signature in DER instead of R||S is invalid_grant',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, publicKey: f.keys.client.publicKey }] }) }),
    request: (f) => ({
      form: grantForm(
        signRaw({ alg: 'ES256', typ: 'JWT' }, { iss: SVC, sub: SUBJECT, aud: AS, exp: now() + 60, iat: now() }, f.keys.client.privateKey, {
          dsaEncoding: 'der',
        }),
      ),
    }),
    expect: grantFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: "RFC 7518 §3.3: an RSA key below 2048 bits in the issuer's key set is never used (invalid_grant)",
    stack: (f) => ({
      grant: grantOptions(f, {
        issuers: [
          {
            issuer: SVC,
            jwks: {
              keys: [
                { ...f.keys.svc.jwk, kid: 'svc' },
                { ...f.keys.weak.jwk, kid: 'weak' },
              ],
            },
          },
        ],
      }),
    }),
    request: (f) => ({
      form: grantForm(signRaw({ alg: 'RS256', kid: 'weak' }, { iss: SVC, sub: SUBJECT, aud: AS, exp: now() + 60, iat: now() }, f.keys.weak.privateKey)),
    }),
    expect: grantFails('ERR_KEY_NOT_FOUND'),
  },
  {
    name: 'RFC 7515 §4.1.11: a crit header parameter is refused (invalid_grant)',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { header: { crit: ['exp'] } })) }),
    expect: grantFails('ERR_CRIT_UNSUPPORTED'),
  },
  {
    name: 'RFC 8725 §3.11: a client-authentication+jwt typed JWT is not accepted as a grant (invalid_grant)',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { type: 'client-authentication+jwt' })) }),
    expect: grantFails('ERR_TYPE_INVALID'),
  },
  {
    name: 'RFC 8725 §3.3: a nested JWT (cty JWT) is refused (invalid_grant)',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f, { header: { cty: 'JWT' } })) }),
    expect: grantFails('ERR_ASSERTION_MALFORMED'),
  },

  // ----- Keys from a JWK Set URL (RFC 7517 §5) and failures of the server's side ----------------
  {
    name: 'RFC 7517 §5: a grant verified with a key from a jwksUri served on 127.0.0.1, selected by kid',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, jwksUri: f.jwks.uri }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f, { keyId: 'svc-rsa' })) }),
    expect: issued(),
  },
  {
    name: 'RFC 7517 §5: a grant without kid is verified with the jwksUri keys of its type',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, jwksUri: f.jwks.uri }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: issued(),
  },
  {
    name: 'RFC 7515 §4.1.4: a kid the jwksUri does not hold is invalid_grant',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, jwksUri: f.jwks.uri }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f, { keyId: 'rotated-away' })) }),
    expect: grantFails('ERR_KEY_NOT_FOUND'),
  },
  {
    name: 'RFC 6749 §5.2 / RFC 6749 §4.1.2.1: an unreachable jwksUri is 503 temporarily_unavailable, not invalid_grant',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, jwksUri: f.jwks.unreachable }], jwksOptions: { timeout: 2000 } }) }),
    request: (f) => ({ form: grantForm(grantJwt(f, { keyId: 'svc-rsa' })) }),
    expect: unavailable('ERR_KEY_SOURCE_UNAVAILABLE'),
  },
  {
    name: 'RFC 6749 §4.1.2.1: a jwksUri answering HTTP 500 is 503 temporarily_unavailable',
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: SVC, jwksUri: f.jwks.failing }] }) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: unavailable('ERR_KEY_SOURCE_UNAVAILABLE'),
  },
  {
    name: 'RFC 6749 §4.1.2.1: a client jwksUri answering HTML is 503 temporarily_unavailable, not invalid_client',
    stack: (f) => client(f, { clients: [{ clientId: CLIENT, jwksUri: f.jwks.notJson }] }),
    request: (f) => ({ form: clientForm(clientJwt(f, { keyId: 'client-ec' })) }),
    expect: unavailable('ERR_KEY_SOURCE_UNAVAILABLE'),
  },
  {
    name: 'RFC 6749 §4.1.2.1: a client jwksUri that is unreachable is 503 temporarily_unavailable',
    stack: (f) => client(f, { clients: [{ clientId: CLIENT, jwksUri: f.jwks.unreachable }], jwksOptions: { timeout: 2000 } }),
    request: (f) => ({ form: clientForm(clientJwt(f, { keyId: 'client-ec' })) }),
    expect: unavailable('ERR_KEY_SOURCE_UNAVAILABLE'),
  },
  {
    name: 'RFC 6749 §4.1.2.1: a replay store that cannot answer is 503 temporarily_unavailable, never success',
    stack: (f) => grant(f, { replayStore: { claim: () => Promise.reject(new Error('connection refused')) } }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: unavailable('ERR_REPLAY_STORE_UNAVAILABLE'),
  },
  {
    name: 'RFC 6749 §4.1.2.1: an issuers lookup that throws is 503 temporarily_unavailable',
    stack: (f) =>
      grant(f, {
        issuers: () => {
          throw new Error('database down');
        },
      }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: unavailable('ERR_TRUST_LOOKUP_FAILED'),
  },
  {
    name: 'RFC 7523 §2.1: trusted issuers from an async lookup',
    stack: (f) => grant(f, { issuers: async (iss: string) => (iss === SVC ? { issuer: SVC, publicKey: f.keys.svc.publicKey } : undefined) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: issued(),
  },
  {
    name: "RFC 6749 §5.2: a broken registration from the app's lookup is 500 server_error, not invalid_grant",
    stack: (f) => grant(f, { issuers: () => ({ issuer: SVC, publicKey: 'not a key' }) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: fails(500, 'server_error', 'ERR_INTERNAL'),
  },

  // ----- RFC 7523 §2.2 / RFC 7521 §4.2: client authentication ----------------------------------
  {
    name: 'RFC 7523 §2.2: a valid private_key_jwt (ES256) client assertion reaches the handler with the client principal',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f), { token: 'opaque-token' }) }),
    expect: reachedApp({ client: seenClient(), grant: null, body: { ...clientForm('<jwt>'), token: 'opaque-token' } }),
  },
  {
    name: 'RFC 7523 §2.2: a client_secret_jwt (HS256) client assertion is authenticated as client_secret_jwt',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(createAssertion({ issuer: HS_CLIENT, subject: HS_CLIENT, audience: AS, key: Buffer.from(f.keys.secret) })) }),
    expect: reachedApp({ client: { clientId: HS_CLIENT, method: 'client_secret_jwt', alg: 'HS256' } }),
  },
  {
    name: "RFC 7523 §2.2: a client assertion verified with a key from the client's jwksUri",
    stack: (f) => client(f, { clients: [{ clientId: CLIENT, jwksUri: f.jwks.uri }] }),
    request: (f) => ({ form: clientForm(clientJwt(f, { keyId: 'client-ec' })) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 7523 §2.2: clients from an async lookup',
    stack: (f) => client(f, { clients: async (id: string) => (id === CLIENT ? { clientId: CLIENT, publicKey: f.keys.client.publicKey } : undefined) }),
    request: (f) => ({ form: clientForm(clientJwt(f)) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 7521 §4.2: client_assertion without client_assertion_type is invalid_request',
    stack: (f) => client(f),
    request: (f) => ({ form: { client_assertion: clientJwt(f) } }),
    expect: badRequest('ERR_CLIENT_ASSERTION_TYPE_MISSING'),
  },
  {
    name: 'RFC 7521 §4.2: client_assertion_type without client_assertion is invalid_request',
    stack: (f) => client(f),
    request: () => ({ form: { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE } }),
    expect: badRequest('ERR_CLIENT_ASSERTION_MISSING'),
  },
  {
    name: 'RFC 7521 §4.2.1: an unsupported client_assertion_type is invalid_client',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }) }),
    expect: clientFails('ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED'),
  },
  {
    name: 'RFC 6749 §5.2: invalid_client after an Authorization header attempt carries WWW-Authenticate',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f), { client_assertion_type: 'urn:example:unknown' }), headers: BASIC }),
    expect: clientFails('ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED', { 'www-authenticate': BASIC_CHALLENGE }),
  },
  {
    name: 'RFC 6749 §2.3: Basic authentication together with a client assertion is invalid_request',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f)), headers: BASIC }),
    expect: badRequest('ERR_MULTIPLE_CLIENT_AUTH'),
  },
  {
    name: 'RFC 6749 §2.3.1: client_secret together with a client assertion is invalid_request',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f), { client_secret: 's3cret' }) }),
    expect: badRequest('ERR_MULTIPLE_CLIENT_AUTH'),
  },
  {
    name: 'RFC 7521 §4.2: a client_id parameter naming another client is invalid_request',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f), { client_id: 'someone-else' }) }),
    expect: badRequest('ERR_CLIENT_ID_MISMATCH'),
  },
  {
    name: "RFC 7521 §4.2: a client_id parameter equal to the assertion's sub is accepted",
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f), { client_id: CLIENT }) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 7523 §3 items 1-2: a client assertion whose iss differs from sub is invalid_client',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { issuer: 'someone-else' })) }),
    expect: clientFails('ERR_ISSUER_MISMATCH'),
  },
  {
    name: 'RFC 7523 §3 item 2.B: an unregistered client is invalid_client (401)',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { issuer: 'unknown-client', subject: 'unknown-client' })) }),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'RFC 7523 §3 item 9: a client assertion signed with another key is invalid_client without WWW-Authenticate',
    stack: (f) => client(f),
    request: () => ({
      form: clientForm(createAssertion({ issuer: CLIENT, subject: CLIENT, audience: AS, key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey })),
    }),
    expect: clientFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: 'RFC 10070: a client assertion whose aud is the token endpoint URL is invalid_client (audience injection)',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { audience: TOKEN_URL })) }),
    expect: clientFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'RFC 10070: a client assertion aud with the issuer plus another value is invalid_client',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { audience: [AS, 'https://attacker.example'] })) }),
    expect: clientFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'RFC 10070: a one-element aud array holding the issuer is accepted',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { audience: [AS] })) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 10070: audienceMode "legacy" still accepts the token endpoint URL as aud',
    stack: (f) => client(f, { audienceMode: 'legacy', onWarning: () => undefined }),
    request: (f) => ({ form: clientForm(clientJwt(f, { audience: TOKEN_URL })) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 7523 §3 item 4: an expired client assertion is invalid_client',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { issuedAt: now() - 300, expiresIn: 60 })) }),
    expect: clientFails('ERR_ASSERTION_EXPIRED'),
  },
  {
    name: 'RFC 7523 §3 item 7: a client assertion without jti is invalid_client (requireJti defaults to true)',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { jwtId: null })) }),
    expect: clientFails('ERR_JTI_MISSING'),
  },
  {
    name: 'RFC 7523 §3 item 7: a replayed client assertion is invalid_client the second time',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f)) }),
    before: [{ send: 'same', expect: reachedApp({ client: seenClient() }) }],
    expect: clientFails('ERR_ASSERTION_REPLAYED'),
  },
  {
    name: 'RFC 7523 §3 item 6: a client assertion issued more than maxLifetime (300 s) ago is invalid_client',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { issuedAt: now() - 400, expiresIn: 3600 })) }),
    expect: clientFails('ERR_ASSERTION_LIFETIME_EXCEEDED'),
  },
  {
    name: 'RFC 7523 §3 item 4: a fresh client assertion with a far exp (MSAL signs 600 s) is accepted',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { expiresIn: 600 })) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 10070 / RFC 8725 §3.11: typ client-authentication+jwt is accepted for client assertions',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { type: 'client-authentication+jwt' })) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 8725 §3.11: an access token (typ at+jwt) is not accepted as a client assertion (invalid_client)',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { type: 'at+jwt' })) }),
    expect: clientFails('ERR_TYPE_INVALID'),
  },
  {
    name: 'RFC 7521 §4.2.1: an over-long client assertion is invalid_client',
    stack: (f) => client(f, { maxAssertionLength: 256 }),
    request: (f) => ({ form: clientForm(clientJwt(f)) }),
    expect: clientFails('ERR_ASSERTION_TOO_LONG'),
  },
  {
    name: 'RFC 6749 §2.3: required:true answers a request without client assertion 401 invalid_client',
    stack: (f) => client(f),
    request: () => ({ form: { token: 'opaque-token' } }),
    expect: clientFails('ERR_CLIENT_AUTH_REQUIRED'),
  },
  {
    name: 'RFC 6749 §5.2: required:true after a Basic attempt answers 401 with WWW-Authenticate',
    stack: (f) => client(f),
    request: () => ({ form: { token: 'opaque-token' }, headers: BASIC }),
    expect: clientFails('ERR_CLIENT_AUTH_REQUIRED', { 'www-authenticate': BASIC_CHALLENGE }),
  },
  {
    name: 'RFC 6749 §2.3: required:false passes a request without client assertion through untouched',
    stack: (f) => client(f, { required: false }),
    request: () => ({ form: { token: 'opaque-token' }, headers: BASIC }),
    expect: reachedApp({ client: null, grant: null, body: { token: 'opaque-token' } }),
  },
  {
    name: 'RFC 7523 §2.2 / MSAL: unknown parameters (x-client-SKU, client-request-id, client_info) are ignored',
    stack: (f) => client(f),
    request: (f) => ({ form: clientForm(clientJwt(f, { expiresIn: 600 }), { grant_type: 'client_credentials', scope: 'api://x/.default', ...MSAL_PARAMS }) }),
    expect: reachedApp({ client: seenClient(), body: { ...clientForm('<jwt>'), grant_type: 'client_credentials', scope: 'api://x/.default', ...MSAL_PARAMS } }),
  },

  // ----- Composition with the app's other grant handlers (RFC 6749 §4, §5) ------------------------
  {
    name: "RFC 6749 §4.1.3: an authorization_code request passes through to the app's handler untouched (no body parser)",
    stack: (f) => grant(f),
    request: () => ({ form: { grant_type: 'authorization_code', code: 'SplxlOBeZQQYbYS6WxSbIA', redirect_uri: 'https://client.example.com/cb' } }),
    expect: reachedApp({
      grant: null,
      client: null,
      body: { grant_type: 'authorization_code', code: 'SplxlOBeZQQYbYS6WxSbIA', redirect_uri: 'https://client.example.com/cb' },
    }),
  },
  {
    name: "RFC 6749 §4.4.2: a client_credentials request passes through untouched after the framework's form parser",
    stack: (f) => ({ ...grant(f), parser: 'form' }),
    request: () => ({ form: { grant_type: 'client_credentials', scope: 'read' } }),
    expect: reachedApp({ grant: null, client: null, body: { grant_type: 'client_credentials', scope: 'read' } }),
  },
  {
    name: 'RFC 6749 §6: a refresh_token request with a client assertion reaches the app authenticated',
    stack: (f) => ({ client: clientOptions(f), grant: grantOptions(f) }),
    request: (f) => ({ form: clientForm(clientJwt(f), { grant_type: 'refresh_token', refresh_token: 'tGzv3JOkF0XG5Qx2TlKWIA' }) }),
    expect: reachedApp({
      client: seenClient(),
      grant: null,
      body: { ...clientForm('<jwt>'), grant_type: 'refresh_token', refresh_token: 'tGzv3JOkF0XG5Qx2TlKWIA' },
    }),
  },
  {
    name: "RFC 6749 §4.1.3: the app's own handler errors stay the app's (framework error handling, not server_error)",
    stack: (f) => ({ ...grant(f), app: 'throw' }),
    request: () => ({ form: { grant_type: 'authorization_code', code: 'abc' } }),
    expect: { kind: 'framework', status: 418, headers: { 'cache-control': null } },
  },
  {
    name: 'RFC 6749 §3.2: a body parser mounted after the middleware still gives the app the parsed body',
    stack: (f) => ({ ...grant(f), parserAfter: true }),
    request: () => ({ form: { grant_type: 'password', username: 'alice', password: 'pa55' } }),
    expect: reachedApp({ body: { grant_type: 'password', username: 'alice', password: 'pa55' } }),
  },
  {
    name: 'RFC 7523 §2.1 + §2.2: client authentication and grant in one request; the grant principal carries clientId',
    stack: (f) => ({ client: clientOptions(f, { required: false }), grant: grantOptions(f) }),
    request: (f) => ({ form: { ...grantForm(grantJwt(f), { scope: 'read' }), ...clientForm(clientJwt(f)) } }),
    expect: issued(token({ scope: 'read', client_id: CLIENT })),
  },
  {
    name: 'RFC 7523 §2.1 + §2.2: without issueToken the handler sees both principals',
    stack: (f) => ({ client: clientOptions(f), grant: grantOptions(f, { issueToken: undefined }) }),
    request: (f) => ({ form: { ...grantForm(grantJwt(f)), ...clientForm(clientJwt(f)) } }),
    expect: reachedApp({ client: seenClient(), grant: seenGrant({ clientId: CLIENT }) }),
  },
  {
    name: 'RFC 7523 §2.1: with required:false and no client assertion the grant has no clientId',
    stack: (f) => ({ client: clientOptions(f, { required: false }), grant: grantOptions(f) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: issued(),
  },
  {
    name: 'RFC 7523 §2.2: a failing client assertion stops the request before the grant (401 invalid_client)',
    stack: (f) => ({ client: clientOptions(f, { required: false }), grant: grantOptions(f) }),
    request: (f) => ({ form: { ...grantForm(grantJwt(f)), ...clientForm(clientJwt(f, { audience: TOKEN_URL })) } }),
    expect: clientFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'RFC 6749 §5.2: issueToken throwing an OAuthError (invalid_scope) is answered as that error',
    stack: (f) =>
      grant(f, {
        issueToken: () => {
          throw new OAuthError('ERR_SCOPE_INVALID');
        },
      }),
    request: (f) => ({ form: grantForm(grantJwt(f), { scope: 'admin' }) }),
    expect: fails(400, 'invalid_scope', 'ERR_SCOPE_INVALID'),
  },
  {
    name: 'RFC 6749 §5.2: issueToken rejecting with a plain Error is 500 server_error with no message or stack',
    stack: (f) =>
      grant(f, {
        issueToken: async () => {
          throw new Error('token store password=hunter2');
        },
      }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: fails(500, 'server_error', 'ERR_INTERNAL', {}, ['hunter2', 'token store', 'Error:', '    at ']),
  },
  {
    name: 'RFC 6749 §5.1: an asynchronous issueToken is answered like a synchronous one',
    stack: (f) => grant(f, { issueToken: async (p: GrantPrincipal) => issueToken(p) }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: issued(),
  },
  {
    name: 'RFC 6749 §5.1: an issueToken result that is not a token response is 500 server_error, not an empty 200/204',
    stack: (f) => grant(f, { issueToken: (() => undefined) as unknown as () => TokenResponse }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: fails(500, 'server_error', 'ERR_INTERNAL'),
  },
  {
    name: 'RFC 6749 §5.2: passErrors:true with jwtBearerErrorHandler() gives the same JSON answer (grant)',
    stack: (f) => ({ grant: grantOptions(f, { passErrors: true }), errorHandler: true }),
    request: (f) => ({ form: grantForm(grantJwt(f, { key: f.keys.other.privateKey })) }),
    expect: grantFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: 'RFC 6749 §5.2: passErrors:true with jwtBearerErrorHandler() keeps 401 and WWW-Authenticate (client)',
    stack: (f) => ({ client: clientOptions(f, { passErrors: true }), errorHandler: true }),
    request: () => ({ form: { token: 'x' }, headers: BASIC }),
    expect: clientFails('ERR_CLIENT_AUTH_REQUIRED', { 'www-authenticate': BASIC_CHALLENGE }),
  },
  {
    name: "RFC 6749 §5.2: passErrors:true without jwtBearerErrorHandler leaves the answer to the framework, with the error's status and headers",
    stack: (f) => ({ client: clientOptions(f, { passErrors: true }) }),
    request: () => ({ form: { token: 'x' }, headers: BASIC }),
    expect: { kind: 'framework', status: 401, headers: { 'www-authenticate': BASIC_CHALLENGE } },
  },

  // ----- Body handling (RFC 6749 §3.2: application/x-www-form-urlencoded) -------------------------
  {
    name: "RFC 6749 §3.2: the grant works after the framework's form parser",
    stack: (f) => ({ ...grant(f), parser: 'form' }),
    request: (f) => ({ form: grantForm(grantJwt(f)) }),
    expect: issued(),
  },
  {
    name: "RFC 6749 §3.2: client authentication works after the framework's form + JSON parsers",
    stack: (f) => ({ ...client(f), parser: 'form+json' }),
    request: (f) => ({ form: clientForm(clientJwt(f)) }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 6749 §3.2: Content-Type with charset=UTF-8, no body parser',
    stack: (f) => grant(f),
    request: (f) => ({ body: new URLSearchParams(grantForm(grantJwt(f))).toString(), contentType: 'application/x-www-form-urlencoded; charset=UTF-8' }),
    expect: issued(),
  },
  {
    name: "RFC 6749 §3.2: Content-Type with charset=UTF-8 after the framework's form parser",
    stack: (f) => ({ ...client(f), parser: 'form' }),
    request: (f) => ({ body: new URLSearchParams(clientForm(clientJwt(f))).toString(), contentType: 'application/x-www-form-urlencoded;charset=UTF-8' }),
    expect: reachedApp({ client: seenClient() }),
  },
  {
    name: 'RFC 6749 §3.2 / Appendix B: Content-Type with charset=ISO-8859-1 is decoded as Latin-1, no body parser',
    stack: (f) => ({ client: clientOptions(f, { required: false }), grant: grantOptions(f, { issueToken: undefined }) }),
    request: (f) => ({
      body: Buffer.concat([Buffer.from(`${new URLSearchParams(grantForm(grantJwt(f))).toString()}&note=caf`), Buffer.from([0xe9])]),
      contentType: 'application/x-www-form-urlencoded; charset=ISO-8859-1',
    }),
    expect: reachedApp({ grant: seenGrant(), body: { ...grantForm('<jwt>'), note: 'café' } }),
  },
  {
    name: 'RFC 6749 §3.2: the form media type is matched case-insensitively',
    stack: (f) => grant(f),
    request: (f) => ({ body: new URLSearchParams(grantForm(grantJwt(f))).toString(), contentType: 'Application/X-WWW-Form-URLEncoded' }),
    expect: issued(),
  },
  {
    name: 'RFC 6749 §3.2: a JSON body (no body parser) is invalid_request',
    stack: (f) => grant(f),
    request: (f) => ({ body: JSON.stringify(grantForm(grantJwt(f))), contentType: 'application/json' }),
    expect: badRequest('ERR_CONTENT_TYPE_UNSUPPORTED'),
  },
  {
    name: "RFC 6749 §3.2: a JSON grant body parsed by the app's JSON parser is still invalid_request",
    stack: (f) => ({ ...grant(f), parser: 'form+json' }),
    request: (f) => ({ body: JSON.stringify(grantForm(grantJwt(f))), contentType: 'application/json' }),
    expect: badRequest('ERR_CONTENT_TYPE_UNSUPPORTED'),
  },
  {
    name: "RFC 6749 §3.2: a JSON client assertion parsed by the app's JSON parser is invalid_request",
    stack: (f) => ({ ...client(f), parser: 'form+json' }),
    request: (f) => ({ body: JSON.stringify(clientForm(clientJwt(f))), contentType: 'application/json' }),
    expect: badRequest('ERR_CONTENT_TYPE_UNSUPPORTED'),
  },
  {
    name: 'RFC 6749 §3.2: a JSON body of another grant type, parsed by the app, passes through untouched',
    stack: (f) => ({ ...grant(f), parser: 'form+json' }),
    request: () => ({ body: JSON.stringify({ grant_type: 'urn:example:custom', ticket: 't-1' }), contentType: 'application/json' }),
    expect: reachedApp({ grant: null, body: { grant_type: 'urn:example:custom', ticket: 't-1' } }),
  },
  {
    name: 'RFC 6749 §3.2: a text/plain body is invalid_request',
    stack: (f) => client(f),
    request: (f) => ({ body: new URLSearchParams(clientForm(clientJwt(f))).toString(), contentType: 'text/plain' }),
    expect: badRequest('ERR_CONTENT_TYPE_UNSUPPORTED'),
  },
  {
    name: 'RFC 6749 §3.2: a form body over bodyLimit is invalid_request',
    stack: (f) => grant(f, { bodyLimit: 2048 }),
    request: (f) => ({ form: grantForm(grantJwt(f), { padding: 'x'.repeat(4096) }) }),
    expect: badRequest('ERR_BODY_TOO_LARGE'),
  },
  {
    name: 'RFC 6749 §3.2: a form body just under bodyLimit is accepted',
    stack: (f) => grant(f, { bodyLimit: 8192 }),
    request: (f) => ({ form: grantForm(grantJwt(f), { padding: 'x'.repeat(6000) }) }),
    expect: issued(),
  },
  {
    name: 'RFC 6749 §3.2: a repeated assertion parameter is invalid_request',
    stack: (f) => grant(f),
    request: (f) => ({ form: { grant_type: JWT_BEARER_GRANT_TYPE, assertion: [grantJwt(f), grantJwt(f)] } }),
    expect: badRequest('ERR_PARAMETER_INVALID'),
  },
  {
    name: 'RFC 6749 §3.2: a repeated grant_type parameter is invalid_request',
    stack: (f) => grant(f),
    request: (f) => ({ form: { grant_type: [JWT_BEARER_GRANT_TYPE, JWT_BEARER_GRANT_TYPE], assertion: grantJwt(f) } }),
    expect: badRequest('ERR_PARAMETER_INVALID'),
  },
  {
    name: "RFC 6749 §3.2: a repeated scope parameter after the framework's form parser is invalid_request",
    stack: (f) => ({ ...grant(f), parser: 'form' }),
    request: (f) => ({ form: grantForm(grantJwt(f), { scope: ['read', 'write'] }) }),
    expect: badRequest('ERR_PARAMETER_INVALID'),
  },
  {
    name: 'RFC 6749 §3.2: a repeated client_assertion parameter is invalid_request',
    stack: (f) => client(f),
    request: (f) => ({ form: { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: [clientJwt(f), clientJwt(f)] } }),
    expect: badRequest('ERR_PARAMETER_INVALID'),
  },
  {
    name: 'RFC 7523 §2.1: unknown parameters (audience, resource, MSAL telemetry) on a grant are ignored',
    stack: (f) => grant(f),
    request: (f) => ({ form: grantForm(grantJwt(f), { audience: 'https://api.example.com', resource: 'https://api.example.com/', ...MSAL_PARAMS }) }),
    expect: issued(),
  },
];
