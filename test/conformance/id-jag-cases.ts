/**
 * The ID-JAG and DPoP conformance table (DESIGN §10), run by id-jag.test.ts against both adapters
 * like the first table. Each case cites the section it checks: of
 * draft-ietf-oauth-identity-assertion-authz-grant-04 ("ID-JAG §…", numbered as in that revision),
 * RFC 9449 (DPoP), RFC 8707 (resource indicators) or RFC 7638 (thumbprints).
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import {
  createAssertion,
  ID_JAG_TYPE,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  jwkThumbprint,
  MemoryReplayStore,
  type CreateAssertionOptions,
  type ErrorCode,
  type GrantMiddlewareOptions,
  type GrantPrincipal,
  type Jwk,
  type TokenResponse,
} from 'jwt-bearer-core';
import { AS, CLIENT, fails, grantFails, NO_STORE, SVC, TOKEN_URL, type ConformanceCase, type Outcome, type RequestSpec, type StackSpec } from './cases';
import { signRaw, type Fixtures } from './fixtures';

/** The enterprise IdP, trusted for ID-JAGs only. */
export const IDP = 'https://idp.example.com';
/** An IdP trusted for both profiles. */
const BOTH = 'https://both.example.com';
/** The demo MCP server, a resource this authorization server issues tokens for. */
export const MCP = 'https://mcp.example.com/mcp';
const OTHER_RESOURCE = 'https://files.example.com/';
const USER = 'user-42@example.com';
/** A client registered for client_secret_basic, which the app authenticates itself. */
export const BASIC_CLIENT = 'mcp-client';
const BASIC_SECRET = 'mcp-client-secret';
const OTHER_BASIC_CLIENT = 'other-client';
const OTHER_BASIC_SECRET = 'other-client-secret';

const now = () => Math.floor(Date.now() / 1000);

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const BASIC_AUTH = { authorization: basic(BASIC_CLIENT, BASIC_SECRET) };

/**
 * The app's own client_secret_basic check (RFC 6749 §2.3.1), handed to the grant through
 * `authenticatedClient`. Express's `req` and Koa's `ctx` both carry `headers`.
 */
function basicClient(req: unknown): string | undefined {
  const header = (req as { headers: Record<string, string | undefined> }).headers.authorization;
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return undefined;
  const [id, secret] = Buffer.from(match[1]!, 'base64').toString('utf8').split(':').map(decodeURIComponent);
  const secrets: Record<string, string> = { [BASIC_CLIENT]: BASIC_SECRET, [OTHER_BASIC_CLIENT]: OTHER_BASIC_SECRET };
  return id !== undefined && secrets[id] !== undefined && secrets[id] === secret ? id : undefined;
}

/**
 * The token the cases' app issues: DPoP-bound when the request proved a key; no `scope` or
 * `resource` of its own. The key is named by which fixture key's RFC 7638 thumbprint it is, so
 * the expected bodies are the same on every run.
 */
function issuerOfTokens(f: Fixtures): (p: GrantPrincipal) => TokenResponse {
  const names = new Map([
    [jktOf(f.keys.client.jwk), 'client-key'],
    [jktOf(f.keys.ed.jwk), 'other-key'],
  ]);
  return (p) => ({
    access_token: `at.${p.subject}`,
    token_type: p.dpop ? 'DPoP' : 'Bearer',
    expires_in: 300,
    profile: p.profile,
    ...(p.clientId !== undefined ? { client_id: p.clientId } : {}),
    ...(p.dpop ? { cnf: { jkt: names.get(p.dpop.jkt) ?? p.dpop.jkt } } : {}),
  });
}

function grantOptions(f: Fixtures, extra: Partial<GrantMiddlewareOptions<unknown>> = {}): GrantMiddlewareOptions<unknown> {
  return {
    issuer: AS,
    audiences: [TOKEN_URL],
    issuers: [
      { issuer: IDP, publicKey: f.keys.ed.publicKey, profiles: ['id-jag'] },
      { issuer: SVC, publicKey: f.keys.svc.publicKey },
      { issuer: BOTH, publicKey: f.keys.svc.publicKey, profiles: ['rfc7523', 'id-jag'] },
    ],
    resources: [MCP, OTHER_RESOURCE],
    authenticatedClient: basicClient,
    dpop: { tokenEndpoint: TOKEN_URL },
    // Per app: proof jtis are reused across frameworks by the replay cases.
    replayStore: new MemoryReplayStore(),
    issueToken: issuerOfTokens(f),
    ...extra,
  };
}

const stack =
  (extra: Partial<GrantMiddlewareOptions<unknown>> = {}) =>
  (f: Fixtures): StackSpec => ({ grant: grantOptions(f, extra) });

/** An ID-JAG ("ID-JAG §3.1") for BASIC_CLIENT, naming the MCP resource. */
function idJag(f: Fixtures, o: Partial<CreateAssertionOptions> & { claims?: Record<string, unknown> } = {}): string {
  return createAssertion({
    issuer: IDP,
    subject: USER,
    audience: AS,
    key: f.keys.ed.privateKey,
    type: ID_JAG_TYPE,
    expiresIn: 300,
    ...o,
    claims: { client_id: BASIC_CLIENT, resource: MCP, scope: 'tools.read tools.call', ...o.claims },
  });
}

const form = (assertion: string, extra: Record<string, string | string[]> = {}) => ({ grant_type: JWT_BEARER_GRANT_TYPE, assertion, ...extra });

/** The DPoP key pairs: the client's (EC P-256) and another (Ed25519). */
const dpopKey = (f: Fixtures) => ({ privateKey: f.keys.client.privateKey, jwk: f.keys.client.jwk });
const otherDpopKey = (f: Fixtures) => ({ privateKey: f.keys.ed.privateKey, jwk: f.keys.ed.jwk });
const jktOf = (jwk: Jwk) => jwkThumbprint(jwk);

/** A DPoP proof (RFC 9449 §4.2) for POST to the token endpoint; anything can be overridden. */
function proof(
  key: { privateKey: KeyObject; jwk: Jwk },
  o: { header?: Record<string, unknown>; claims?: Record<string, unknown>; signWith?: KeyObject } = {},
): string {
  const alg = key.privateKey.asymmetricKeyType === 'ec' ? 'ES256' : 'EdDSA';
  return signRaw(
    { typ: 'dpop+jwt', alg, jwk: key.jwk, ...o.header },
    { jti: randomUUID(), htm: 'POST', htu: TOKEN_URL, iat: now(), ...o.claims },
    o.signWith ?? key.privateKey,
  );
}

/** A request with client_secret_basic and an ID-JAG; `dpop` adds a proof header. */
function request(
  f: Fixtures,
  o: {
    jag?: Partial<CreateAssertionOptions> & { claims?: Record<string, unknown> };
    form?: Record<string, string | string[]>;
    headers?: Record<string, string>;
    dpop?: string;
  } = {},
): RequestSpec {
  return {
    form: form(idJag(f, o.jag), o.form),
    headers: { ...BASIC_AUTH, ...(o.dpop !== undefined ? { dpop: o.dpop } : {}), ...o.headers },
  };
}

const issued = (body: Record<string, unknown>): Outcome => ({
  kind: 'token',
  status: 200,
  token: body,
  headers: { ...NO_STORE, 'www-authenticate': null, 'retry-after': null },
});

/** The token an accepted ID-JAG gets: the middleware adds the granted scope and resource. */
const idJagToken = (extra: Record<string, unknown> = {}) => ({
  access_token: `at.${USER}`,
  token_type: 'Bearer',
  expires_in: 300,
  profile: 'id-jag',
  client_id: BASIC_CLIENT,
  scope: 'tools.read tools.call',
  resource: MCP,
  ...extra,
});

const unauthorized = (code: ErrorCode, wwwAuthenticate: string | null = null) => fails(401, 'invalid_client', code, { 'www-authenticate': wwwAuthenticate });
const badProof = (code: ErrorCode = 'ERR_DPOP_PROOF_INVALID') => fails(400, 'invalid_dpop_proof', code);
const badTarget = () => fails(400, 'invalid_target', 'ERR_TARGET_INVALID');
const badScope = () => fails(400, 'invalid_scope', 'ERR_SCOPE_INVALID');

/** A value made once per case and shared by its runs on every framework (a proof replayed across requests). */
function once<T>(make: (f: Fixtures) => T): (f: Fixtures) => T {
  let value: T | undefined;
  return (f) => (value ??= make(f));
}

const D = 'draft-ietf-oauth-identity-assertion-authz-grant-04';

const replayedProof = once((f: Fixtures) => proof(dpopKey(f)));
const unburnt = once((f: Fixtures) => idJag(f));

/** A request builder answering `first` and `second` by turns. */
function alternate(first: (f: Fixtures) => RequestSpec, second: (f: Fixtures) => RequestSpec): (f: Fixtures) => RequestSpec {
  let calls = 0;
  return (f) => (calls++ % 2 === 0 ? first(f) : second(f));
}

export const ID_JAG_CASES: ConformanceCase[] = [
  // --- Accepted exchanges --------------------------------------------------------------------
  {
    name: `${D} §4.4: an ID-JAG with client_secret_basic (authenticatedClient) is exchanged; the response carries scope and resource (§4.4.1)`,
    stack: stack(),
    request: (f) => request(f),
    expect: issued(idJagToken()),
  },
  {
    name: `${D} §4.4: an ID-JAG after clientAssertion() (private_key_jwt) is bound to that client`,
    stack: (f) => ({
      client: { issuer: AS, clients: [{ clientId: CLIENT, publicKey: f.keys.client.publicKey }], required: false },
      grant: grantOptions(f, { authenticatedClient: undefined }),
    }),
    request: (f) => ({
      form: {
        ...form(idJag(f, { claims: { client_id: CLIENT } })),
        client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
        client_assertion: createAssertion({ issuer: CLIENT, subject: CLIENT, audience: AS, key: f.keys.client.privateKey }),
      },
    }),
    expect: issued(idJagToken({ client_id: CLIENT })),
  },
  {
    name: `${D} §3 / RFC 7515 §4.1.9: typ application/oauth-id-jag+jwt is the same type`,
    stack: stack(),
    request: (f) => request(f, { jag: { type: 'application/oauth-id-jag+jwt' } }),
    expect: issued(idJagToken()),
  },
  {
    name: `${D} §3 / RFC 7515 §4.1.9: typ is compared case-insensitively`,
    stack: stack(),
    request: (f) => request(f, { jag: { type: 'OAuth-ID-JAG+JWT' } }),
    expect: issued(idJagToken()),
  },
  {
    name: `${D} §4.4.1: aud as a one-element array holding the issuer identifier is accepted`,
    stack: stack(),
    request: (f) => request(f, { jag: { audience: [AS] } }),
    expect: issued(idJagToken()),
  },
  {
    name: `${D} §3.1: resource as an array of two served resources is accepted and returned`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { resource: [MCP, OTHER_RESOURCE] } } }),
    expect: issued(idJagToken({ resource: [MCP, OTHER_RESOURCE] })),
  },
  {
    name: `${D} §4.4.1: an issuer trusted for both profiles may present an ID-JAG`,
    stack: stack(),
    request: (f) => request(f, { jag: { issuer: BOTH, key: f.keys.svc.privateKey } }),
    expect: issued(idJagToken()),
  },
  {
    name: `${D} §4.4.1: an issuer trusted for both profiles may present a plain RFC 7523 assertion`,
    stack: stack(),
    request: (f) => ({ form: form(createAssertion({ issuer: BOTH, subject: USER, audience: AS, key: f.keys.svc.privateKey })) }),
    expect: issued({ access_token: `at.${USER}`, token_type: 'Bearer', expires_in: 300, profile: 'rfc7523' }),
  },
  {
    name: `${D} §4.4.1 / RFC 6749 §3.3: a scope parameter narrows the ID-JAG's scope; the response says what was granted`,
    stack: stack(),
    request: (f) => request(f, { form: { scope: 'tools.read admin' } }),
    expect: issued(idJagToken({ scope: 'tools.read' })),
  },
  {
    name: `${D} §4.4.1: the app's own scope in the token response is kept`,
    stack: (f) => ({ grant: grantOptions(f, { issueToken: (p) => ({ ...issuerOfTokens(f)(p), scope: 'tools.read' }) }) }),
    request: (f) => request(f),
    expect: issued(idJagToken({ scope: 'tools.read' })),
  },
  {
    name: `RFC 8707 §2: one resource parameter among the ID-JAG's resources is the token's resource`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { resource: [MCP, OTHER_RESOURCE] } }, form: { resource: OTHER_RESOURCE } }),
    expect: issued(idJagToken({ resource: OTHER_RESOURCE })),
  },
  {
    name: `RFC 8707 §2: repeated resource parameters, each among the ID-JAG's resources, are accepted`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { resource: [MCP, OTHER_RESOURCE] } }, form: { resource: [OTHER_RESOURCE, MCP] } }),
    expect: issued(idJagToken({ resource: [OTHER_RESOURCE, MCP] })),
  },
  {
    name: `${D} §8.6.1.2 / RFC 9449 §4.3: cnf.jkt and a proof for that key give a DPoP-bound token`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { cnf: { jkt: jktOf(f.keys.client.jwk) } } }, dpop: proof(dpopKey(f)) }),
    expect: issued(idJagToken({ token_type: 'DPoP', cnf: { jkt: 'client-key' } })),
  },
  {
    name: `${D} §8.6.1.2: without cnf, a valid proof still binds the token to its key (principal.dpop.jkt)`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(otherDpopKey(f)) }),
    expect: issued(idJagToken({ token_type: 'DPoP', cnf: { jkt: 'other-key' } })),
  },
  {
    name: `RFC 9449 §4.3 item 10: htu is compared without its query and fragment`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { claims: { htu: `${TOKEN_URL}?tenant=1#x` } }) }),
    expect: issued(idJagToken({ token_type: 'DPoP', cnf: { jkt: 'client-key' } })),
  },
  {
    name: `RFC 9449 §5: a plain RFC 7523 grant with a DPoP proof exposes the proof's key too`,
    stack: stack(),
    request: (f) => ({
      form: form(createAssertion({ issuer: SVC, subject: USER, audience: AS, key: f.keys.svc.privateKey })),
      headers: { dpop: proof(dpopKey(f)) },
    }),
    expect: issued({ access_token: `at.${USER}`, token_type: 'DPoP', expires_in: 300, profile: 'rfc7523', cnf: { jkt: 'client-key' } }),
  },
  {
    name: `RFC 9449 §5: without the dpop option a DPoP header is ignored`,
    stack: stack({ dpop: undefined }),
    request: (f) => request(f, { dpop: 'not-even-a-jwt' }),
    expect: issued(idJagToken()),
  },

  // --- Profiles and trust ----------------------------------------------------------------------
  {
    name: `${D} §4.4.1 / DESIGN §10: an ID-JAG from an issuer not trusted for the profile (default profiles) is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { jag: { issuer: SVC, key: f.keys.svc.privateKey } }),
    expect: grantFails('ERR_PROFILE_NOT_ALLOWED'),
  },
  {
    name: `${D} §4.4.1 / DESIGN §10: an ID-JAG typ on an issuer configured for rfc7523 only is invalid_grant`,
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: IDP, publicKey: f.keys.ed.publicKey, profiles: ['rfc7523'] }] }) }),
    request: (f) => request(f),
    expect: grantFails('ERR_PROFILE_NOT_ALLOWED'),
  },
  {
    name: `${D} §3 / RFC 8725 §3.11: a plain assertion (typ JWT) from an ID-JAG-only issuer is invalid_grant`,
    stack: stack(),
    request: (f) => ({ form: form(createAssertion({ issuer: IDP, subject: 'anyone@example.com', audience: AS, key: f.keys.ed.privateKey })) }),
    expect: grantFails('ERR_PROFILE_NOT_ALLOWED'),
  },
  {
    name: `${D} §3 / RFC 8725 §3.11: an untyped assertion from an ID-JAG-only issuer is invalid_grant`,
    stack: stack(),
    request: (f) => ({
      form: form(
        signRaw(
          { alg: 'EdDSA' },
          { iss: IDP, sub: USER, aud: AS, exp: now() + 60, iat: now(), jti: randomUUID(), client_id: BASIC_CLIENT },
          f.keys.ed.privateKey,
        ),
      ),
    }),
    expect: grantFails('ERR_PROFILE_NOT_ALLOWED'),
  },
  {
    name: `${D} §4.4.1 / RFC 7521 §5.2: an ID-JAG whose claims were changed after signing is invalid_grant`,
    stack: stack(),
    request: (f) => {
      const [header, , signature] = idJag(f).split('.');
      const payload = Buffer.from(
        JSON.stringify({ iss: IDP, sub: 'ceo@example.com', aud: AS, client_id: BASIC_CLIENT, jti: randomUUID(), iat: now(), exp: now() + 60 }),
      ).toString('base64url');
      return { form: form(`${header}.${payload}.${signature}`), headers: BASIC_AUTH };
    },
    expect: grantFails('ERR_SIGNATURE_INVALID'),
  },

  // --- Audience and required claims ----------------------------------------------------------
  {
    name: `${D} §4.4.1: aud as a two-element array (this server and another) is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { jag: { audience: [AS, 'https://evil.example.com'] } }),
    expect: grantFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: `${D} §4.4.1: aud naming the token endpoint (an "audiences" value) is invalid_grant: only the issuer identifier`,
    stack: stack(),
    request: (f) => request(f, { jag: { audience: TOKEN_URL } }),
    expect: grantFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: `${D} §3.1: client_id is required`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { client_id: undefined } } }),
    expect: grantFails('ERR_CLAIM_MISSING'),
  },
  {
    name: `${D} §3.1: jti is required`,
    stack: stack(),
    request: (f) => request(f, { jag: { jwtId: null } }),
    expect: grantFails('ERR_JTI_MISSING'),
  },
  {
    name: `${D} §3.1: iat is required`,
    stack: stack(),
    request: (f) => request(f, { jag: { issuedAt: null } }),
    expect: grantFails('ERR_CLAIM_MISSING'),
  },
  {
    name: `${D} §3.1: sub is required`,
    stack: stack(),
    request: (f) => ({
      form: form(
        signRaw(
          { alg: 'EdDSA', typ: ID_JAG_TYPE },
          { iss: IDP, aud: AS, exp: now() + 60, iat: now(), jti: randomUUID(), client_id: BASIC_CLIENT },
          f.keys.ed.privateKey,
        ),
      ),
      headers: BASIC_AUTH,
    }),
    expect: grantFails('ERR_CLAIM_MISSING'),
  },
  {
    name: `${D} §3.1 / RFC 7519 §4.1.4: an expired ID-JAG is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { jag: { issuedAt: now() - 900, expiresIn: 300 } }),
    expect: grantFails('ERR_ASSERTION_EXPIRED'),
  },

  // --- The authenticated client --------------------------------------------------------------
  {
    name: `${D} §4.4.1: client_id naming another client than the authenticated one is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { headers: { authorization: basic(OTHER_BASIC_CLIENT, OTHER_BASIC_SECRET) } }),
    expect: grantFails('ERR_GRANT_CLIENT_MISMATCH'),
  },
  {
    name: `${D} §4.4 / RFC 6749 §5.2: an ID-JAG without client authentication is 401 invalid_client`,
    stack: stack(),
    request: (f) => ({ form: form(idJag(f)) }),
    expect: unauthorized('ERR_GRANT_CLIENT_AUTH_REQUIRED'),
  },
  {
    name: `${D} §4.4 / RFC 6749 §5.2: a wrong client secret in the Authorization header is 401 with WWW-Authenticate`,
    stack: stack(),
    request: (f) => request(f, { headers: { authorization: basic(BASIC_CLIENT, 'wrong') } }),
    expect: unauthorized('ERR_GRANT_CLIENT_AUTH_REQUIRED', `Basic realm="${AS}"`),
  },
  {
    name: `${D} §4.4: without authenticatedClient nor clientAssertion() an ID-JAG is 401 invalid_client`,
    stack: stack({ authenticatedClient: undefined }),
    request: (f) => request(f),
    expect: unauthorized('ERR_GRANT_CLIENT_AUTH_REQUIRED', `Basic realm="${AS}"`),
  },

  // --- Resources -------------------------------------------------------------------------------
  {
    name: `${D} §4.4.1 / RFC 8707 §2: a resource claim outside "resources" is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { resource: 'https://elsewhere.example.com/mcp' } } }),
    expect: grantFails('ERR_RESOURCE_NOT_ALLOWED'),
  },
  {
    name: `${D} §4.4.1 / RFC 8707 §2: one resource of two outside "resources" is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { resource: [MCP, 'https://elsewhere.example.com/'] } } }),
    expect: grantFails('ERR_RESOURCE_NOT_ALLOWED'),
  },
  {
    name: `${D} §4.4.1: a resource claim with no "resources" configured is invalid_grant`,
    stack: stack({ resources: undefined }),
    request: (f) => request(f),
    expect: grantFails('ERR_RESOURCE_NOT_ALLOWED'),
  },
  {
    name: `${D} §3.1 / RFC 8707 §2: a resource claim with a fragment is invalid_grant`,
    stack: stack({ resources: () => true }),
    request: (f) => request(f, { jag: { claims: { resource: `${MCP}#frag` } } }),
    expect: grantFails('ERR_CLAIM_INVALID'),
  },
  {
    name: `${D} §4.4.1 / MCP enterprise-managed authorization: requireResource refuses an ID-JAG without resource`,
    stack: stack({ requireResource: true }),
    request: (f) => request(f, { jag: { claims: { resource: undefined } } }),
    expect: grantFails('ERR_RESOURCE_REQUIRED'),
  },
  {
    name: `RFC 8707 §2: repeated resource parameters, one outside the ID-JAG's resources, are invalid_target`,
    stack: stack(),
    request: (f) => request(f, { form: { resource: [MCP, OTHER_RESOURCE] } }),
    expect: badTarget(),
  },
  {
    name: `RFC 8707 §2: a resource parameter with a fragment is invalid_target`,
    stack: stack(),
    request: (f) => request(f, { form: { resource: `${MCP}#tools` } }),
    expect: badTarget(),
  },
  {
    name: `RFC 8707 §2: a relative resource parameter is invalid_target`,
    stack: stack(),
    request: (f) => request(f, { form: { resource: '/mcp' } }),
    expect: badTarget(),
  },

  // --- Scope -----------------------------------------------------------------------------------
  {
    name: `${D} §4.4.1 / RFC 6749 §5.2: a scope parameter wholly outside the ID-JAG's scope (widening) is invalid_scope`,
    stack: stack(),
    request: (f) => request(f, { form: { scope: 'admin' } }),
    expect: badScope(),
  },

  // --- Replay ----------------------------------------------------------------------------------
  {
    name: `${D} §3.1 / RFC 7519 §4.1.7: an ID-JAG is accepted once; the replay is invalid_grant`,
    stack: stack(),
    request: (f) => request(f),
    before: [{ send: 'same', expect: issued(idJagToken()) }],
    expect: grantFails('ERR_ASSERTION_REPLAYED'),
  },
  {
    name: `${D} §4.4.3 / DESIGN §8: an IdP with allowReuse lets a client re-present one ID-JAG until it expires`,
    stack: (f) => ({ grant: grantOptions(f, { issuers: [{ issuer: IDP, publicKey: f.keys.ed.publicKey, profiles: ['id-jag'], allowReuse: true }] }) }),
    request: (f) => request(f),
    before: [{ send: 'same', expect: issued(idJagToken()) }],
    expect: issued(idJagToken()),
  },
  {
    name: `${D} §4.4.3 / DESIGN §8: allowReuse keeps the lifetime cap: an ID-JAG older than maxLifetime is refused`,
    stack: (f) => ({
      grant: grantOptions(f, { issuers: [{ issuer: IDP, publicKey: f.keys.ed.publicKey, profiles: ['id-jag'], allowReuse: true, maxLifetime: 60 }] }),
    }),
    request: (f) => request(f, { jag: { issuedAt: now() - 200, expiresIn: 3600 } }),
    expect: grantFails('ERR_ASSERTION_LIFETIME_EXCEEDED'),
  },
  {
    name: `${D} §4.4 / RFC 7523 §3 item 7: an ID-JAG refused for another client does not burn its jti`,
    stack: stack(),
    // The request under test is built first, the earlier one second (runner order): one ID-JAG,
    // presented by the wrong client, then by its own.
    request: alternate(
      (f) => ({ form: form(unburnt(f)), headers: BASIC_AUTH }),
      (f) => ({ form: form(unburnt(f)), headers: { authorization: basic(OTHER_BASIC_CLIENT, OTHER_BASIC_SECRET) } }),
    ),
    before: [{ send: 'fresh', expect: grantFails('ERR_GRANT_CLIENT_MISMATCH') }],
    expect: issued(idJagToken()),
  },

  // --- DPoP ------------------------------------------------------------------------------------
  {
    name: `${D} §8.6.1.2: cnf.jkt without a DPoP proof is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { cnf: { jkt: jktOf(f.keys.client.jwk) } } } }),
    expect: grantFails('ERR_DPOP_PROOF_REQUIRED'),
  },
  {
    name: `${D} §8.6.1.2 / RFC 7638: cnf.jkt with a proof for another key is invalid_grant`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { cnf: { jkt: jktOf(f.keys.client.jwk) } } }, dpop: proof(otherDpopKey(f)) }),
    expect: grantFails('ERR_DPOP_KEY_MISMATCH'),
  },
  {
    name: `${D} §8.6.1.2 / DESIGN §10: cnf.jkt without the dpop option configured is invalid_grant`,
    stack: stack({ dpop: undefined }),
    request: (f) => request(f, { jag: { claims: { cnf: { jkt: jktOf(f.keys.client.jwk) } } }, dpop: proof(dpopKey(f)) }),
    expect: grantFails('ERR_CONFIRMATION_UNSUPPORTED'),
  },
  {
    name: `RFC 7800 §3.1: a cnf with a confirmation method other than jkt is invalid_grant, never ignored`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } } } }),
    expect: grantFails('ERR_CONFIRMATION_UNSUPPORTED'),
  },
  {
    name: `RFC 9449 §4.3 item 10: a proof for another htu is invalid_dpop_proof`,
    stack: stack(),
    request: (f) =>
      request(f, { jag: { claims: { cnf: { jkt: jktOf(f.keys.client.jwk) } } }, dpop: proof(dpopKey(f), { claims: { htu: 'https://as.example.com/other' } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 9: a proof for another htm is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { cnf: { jkt: jktOf(f.keys.client.jwk) } } }, dpop: proof(dpopKey(f), { claims: { htm: 'GET' } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §11.1: a replayed proof is invalid_dpop_proof, even with a fresh ID-JAG`,
    stack: stack(),
    request: (f) => request(f, { jag: { claims: { cnf: { jkt: jktOf(f.keys.client.jwk) } } }, dpop: replayedProof(f) }),
    before: [{ send: 'fresh', expect: issued(idJagToken({ token_type: 'DPoP', cnf: { jkt: 'client-key' } })) }],
    expect: badProof('ERR_DPOP_PROOF_REPLAYED'),
  },
  {
    name: `RFC 9449 §4.2 / §4.3 item 7: a proof whose jwk holds the private key is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { header: { jwk: f.keys.client.privateKey.export({ format: 'jwk' }) } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 4: a proof with typ JWT is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { header: { typ: 'JWT' } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 6: a proof with a MAC algorithm (HS256) is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { header: { alg: 'HS256' } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 8: a proof not signed by its jwk is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { header: { jwk: f.keys.ed.jwk, alg: 'ES256' } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 11: a proof older than maxAge is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { claims: { iat: now() - 600 } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 11: a proof issued further ahead than clockTolerance is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { claims: { iat: now() + 600 } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 3: a proof without jti is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: proof(dpopKey(f), { claims: { jti: undefined } }) }),
    expect: badProof(),
  },
  {
    name: `RFC 9449 §4.3 item 2: a DPoP header that is not a JWS is invalid_dpop_proof`,
    stack: stack(),
    request: (f) => request(f, { dpop: 'not-a-jwt' }),
    expect: badProof(),
  },
];
