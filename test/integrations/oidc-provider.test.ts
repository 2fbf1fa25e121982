/**
 * oidc-provider 9 on a real HTTP server on 127.0.0.1 with the jwt-bearer grant registered by
 * koa-jwt-bearer's jwtBearerGrantType(): every client authentication method the provider supports
 * for the token endpoint, the jwt-bearer grant (RFC 7523 §2.1), an ID-JAG exchange issuing the
 * provider's own access token for the named resource server (RFC 8707), and the refusals.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAssertion, ID_JAG_TYPE, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import type Provider from 'oidc-provider';
import { jwtBearerGrantType } from 'koa-jwt-bearer';
import { createOidcProvider } from '../../examples/src/oidc-provider';
import { basic, close, lifetime, IDP, idp, keyClient, otherKeyClient, RESOURCE, service, SERVICE } from './fixtures';

const SECRET = 'a-secret-of-at-least-thirty-two-characters!';
const GRANTS = ['client_credentials', JWT_BEARER_GRANT_TYPE];
const base = { grant_types: GRANTS, redirect_uris: [], response_types: [] };

let server: Server;
let issuer: string;
let provider: Provider;

// Jest runs this file in a vm context whose globals include the host's structuredClone, so a
// clone it makes has the host realm's Object.prototype; oidc-provider clones its static client
// metadata with it and then checks each JWK with `constructor === Object`, which fails across
// realms. A same-realm clone (the metadata is JSON) keeps the check meaningful. Node runs the
// provider in one realm, where this does not arise.
const hostStructuredClone = globalThis.structuredClone;
beforeAll(() => {
  globalThis.structuredClone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
});
afterAll(() => {
  globalThis.structuredClone = hostStructuredClone;
});

beforeAll(async () => {
  // eslint-disable-next-line prefer-const -- assigned once the provider is built, after the closure that reads it
  let handler: RequestListener | undefined;
  server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ({ provider } = createOidcProvider({
    issuer,
    clients: [
      { client_id: 'basic-client', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', ...base },
      { client_id: 'post-client', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post', ...base },
      { client_id: 'hmac-client', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS256', ...base },
      {
        client_id: 'key-client',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [{ ...keyClient.publicKey.export({ format: 'jwk' }), use: 'sig' }] },
        ...base,
      },
      {
        client_id: 'other-key-client',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [{ ...otherKeyClient.publicKey.export({ format: 'jwk' }), use: 'sig' }] },
        ...base,
      },
      { client_id: 'public-client', token_endpoint_auth_method: 'none', grant_types: [JWT_BEARER_GRANT_TYPE], redirect_uris: [], response_types: [] },
    ] as never,
    service: { issuer: SERVICE, publicKey: service.publicKey },
    idp: { issuer: IDP, publicKey: idp.publicKey },
    resources: { [RESOURCE]: 'read write' },
    accounts: ['alice', 'bob'],
  }));
  // Koa's callback answers every error itself: its promise never rejects.
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);
});
afterAll(() => close(server));

const keyAssertion = (clientId: string, key = keyClient.privateKey) =>
  createAssertion({ issuer: clientId, subject: clientId, audience: issuer, key, expiresIn: 60 });
const keyAuth = (clientId = 'key-client', key = keyClient.privateKey) => ({
  client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
  client_assertion: keyAssertion(clientId, key),
});
const grant = (subject = 'alice') => createAssertion({ issuer: SERVICE, subject, audience: issuer, key: service.privateKey, expiresIn: 60 });
const idJag = (clientId: string) =>
  createAssertion({
    issuer: IDP,
    subject: 'alice',
    audience: issuer,
    key: idp.privateKey,
    type: ID_JAG_TYPE,
    expiresIn: 60,
    claims: { client_id: clientId, resource: RESOURCE, scope: 'read' },
  });

async function token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) expect(body.access_token).toBeUndefined();
  return { status: res.status, body };
}
const find = async (value: unknown) => provider.AccessToken.find(value as string);

describe('accepted: the jwt-bearer grant with every client authentication method of the provider', () => {
  it.each([
    ['client_secret_basic', 'basic-client', () => ({}), () => ({ authorization: basic('basic-client', SECRET) })],
    ['client_secret_post', 'post-client', () => ({ client_id: 'post-client', client_secret: SECRET }), () => ({})],
    [
      'client_secret_jwt',
      'hmac-client',
      () => ({
        client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
        client_assertion: createAssertion({
          issuer: 'hmac-client',
          subject: 'hmac-client',
          audience: issuer,
          key: Buffer.from(SECRET),
          algorithm: 'HS256',
          expiresIn: 60,
        }),
      }),
      () => ({}),
    ],
    ['private_key_jwt', 'key-client', () => keyAuth(), () => ({})],
  ] as const)("%s: the provider's own AccessToken for the grant's subject", async (_method, clientId, form, headers) => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grant('alice'), ...form() }, headers());
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
    expect(lifetime(r.body.expires_in, 600)).toBe(true);
    const saved = await find(r.body.access_token);
    expect(saved).toMatchObject({ accountId: 'alice', clientId, gty: 'jwt_bearer' });
  });
  it('client_credentials still works for a private_key_jwt client', async () => {
    const r = await token({ grant_type: 'client_credentials', ...keyAuth() });
    expect(r.status).toBe(200);
  });
});

describe('accepted: ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant)', () => {
  it('a private_key_jwt client exchanges an ID-JAG for a token of the named resource server, with its scope', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: idJag('key-client'), ...keyAuth() });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ scope: 'read', expires_in: expect.any(Number) });
    expect(lifetime(r.body.expires_in, 300)).toBe(true);
    const saved = await find(r.body.access_token);
    expect(saved).toMatchObject({ accountId: 'alice', clientId: 'key-client', aud: RESOURCE, scope: 'read' });
  });
});

describe('accepted: ID-JAG by a client_secret_basic client', () => {
  it('the ID-JAG names the client the provider authenticated by its secret', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: idJag('basic-client') }, { authorization: basic('basic-client', SECRET) });
    expect(r.status).toBe(200);
    expect(await find(r.body.access_token)).toMatchObject({ accountId: 'alice', clientId: 'basic-client', aud: RESOURCE });
  });
});

describe('jwtBearerGrantType(): options validated when called', () => {
  it.each([
    ['provider', () => jwtBearerGrantType({} as never, { issuer, issuers: [] })],
    ['accountId', () => jwtBearerGrantType(provider, { issuer, issuers: [{ issuer: SERVICE, publicKey: service.publicKey }], accountId: 'x' as never })],
    [
      'getResourceServerInfo',
      () => jwtBearerGrantType(provider, { issuer, issuers: [{ issuer: SERVICE, publicKey: service.publicKey }], getResourceServerInfo: 1 as never }),
    ],
    ['issuer', () => jwtBearerGrantType(provider, { issuer: 'not a url', issuers: [{ issuer: SERVICE, publicKey: service.publicKey }] })],
  ])('a bad %s throws a TypeError', (name, call) => {
    expect(call).toThrow(TypeError);
    expect(call).toThrow(new RegExp(name));
  });
});

describe('refused', () => {
  it('an ID-JAG for a resource the server does not serve → invalid_grant', async () => {
    const jag = createAssertion({
      issuer: IDP,
      subject: 'alice',
      audience: issuer,
      key: idp.privateKey,
      type: ID_JAG_TYPE,
      expiresIn: 60,
      claims: { client_id: 'key-client', resource: 'https://other.example.com/' },
    });
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: jag, ...keyAuth() });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_grant');
  });
  it('no client authentication at all (a client_id of a confidential client) → invalid_client', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, client_id: 'key-client', assertion: grant() });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
  });
  it('a public client (token_endpoint_auth_method none) → invalid_client', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, client_id: 'public-client', assertion: grant() });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
  });
  it('a client assertion for another client than client_id → refused by the provider (invalid_request "client_id mismatch")', async () => {
    const r = await token({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: grant(),
      client_id: 'key-client',
      ...keyAuth('other-key-client', otherKeyClient.privateKey),
    });
    expect(r.status).toBe(400);
    expect(['invalid_client', 'invalid_request']).toContain(r.body.error);
  });
  it('an ID-JAG for another client than the authenticated one → invalid_grant', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: idJag('key-client'), ...keyAuth('other-key-client', otherKeyClient.privateKey) });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_grant');
  });
  it("a replayed client assertion → invalid_client (the provider's replay detection)", async () => {
    const auth = keyAuth();
    expect((await token({ grant_type: 'client_credentials', ...auth })).status).toBe(200);
    const again = await token({ grant_type: 'client_credentials', ...auth });
    expect(again.body.error).toBe('invalid_client');
  });
  it('a replayed grant assertion → invalid_grant', async () => {
    const assertion = createAssertion({ issuer: SERVICE, subject: 'alice', audience: issuer, key: service.privateKey, expiresIn: 60, jwtId: randomUUID() });
    const headers = { authorization: basic('basic-client', SECRET) };
    expect((await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }, headers)).status).toBe(200);
    const again = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }, headers);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
  });
  it("a refused assertion, then the provider's other grants still work", async () => {
    const headers = { authorization: basic('basic-client', SECRET) };
    const bad = createAssertion({ issuer: SERVICE, subject: 'alice', audience: 'https://elsewhere.example', key: service.privateKey, expiresIn: 60 });
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: bad }, headers);
    expect(r.body.error).toBe('invalid_grant');
    expect((await token({ grant_type: 'client_credentials' }, headers)).status).toBe(200);
  });
  it('an account the provider does not know → invalid_grant', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grant('mallory') }, { authorization: basic('basic-client', SECRET) });
    expect(r.body.error).toBe('invalid_grant');
  });
});
