/**
 * `@node-oauth/oauth2-server` 5 through `@node-oauth/express-oauth-server` 4, on a real HTTP server
 * on 127.0.0.1, with jwt-bearer-oauth2-server's bridge: the library's own client authentication
 * methods, private_key_jwt (RFC 7523 §2.2), the jwt-bearer grant (RFC 7523 §2.1), an ID-JAG
 * exchange, and the requests that must never obtain a token.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import ExpressOAuthServer from '@node-oauth/express-oauth-server';
import { createAssertion, ID_JAG_TYPE, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import { createOAuth2ServerBridge } from 'jwt-bearer-oauth2-server';
import { createOAuth2ServerApp, type SavedToken } from '../../examples/src/oauth2-server';
import { basic, close, lifetime, IDP, idp, keyClient, otherKeyClient, RESOURCE, service, SERVICE } from './fixtures';

const listen = (app: express.Express): Promise<Server> =>
  new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });

/** The shared secret of the client_secret_jwt client (HS256 needs at least 32 bytes). */
const JWT_SECRET = 'jwt-secret-client-shared-secret-0123456789';

let server: Server;
let base: string;
let issuer: string;
let tokens: SavedToken[];

beforeAll(async () => {
  // The issuer must be known before the app is built, and the port after it listens: route
  // through a holder app.
  // eslint-disable-next-line prefer-const -- assigned once the app is built, after the closure that reads it
  let inner: express.Express | undefined;
  const outer = express();
  outer.use((req, res, next) => (inner ? inner(req, res, next) : next()));
  server = await listen(outer);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = base;
  const built = createOAuth2ServerApp({
    issuer,
    clients: [
      { id: 'secret-client', secret: 'secret-client-secret', grants: ['client_credentials', 'password', JWT_BEARER_GRANT_TYPE] },
      { id: 'key-client', grants: ['client_credentials', JWT_BEARER_GRANT_TYPE] },
      { id: 'other-key-client', grants: ['client_credentials', JWT_BEARER_GRANT_TYPE] },
      { id: 'jwt-secret-client', grants: ['client_credentials', JWT_BEARER_GRANT_TYPE] },
    ],
    keyClients: [
      { clientId: 'key-client', publicKey: keyClient.publicKey },
      { clientId: 'other-key-client', publicKey: otherKeyClient.publicKey },
      { clientId: 'jwt-secret-client', clientSecret: JWT_SECRET },
    ],
    service: { issuer: SERVICE, publicKey: service.publicKey },
    idp: { issuer: IDP, publicKey: idp.publicKey },
    resources: [RESOURCE],
    users: ['alice', 'bob'],
  });
  inner = built.app;
  tokens = built.tokens;
});
afterAll(() => close(server));

const clientAssertionFor = (clientId: string, key = keyClient.privateKey) =>
  createAssertion({ issuer: clientId, subject: clientId, audience: issuer, key, expiresIn: 60 });
const grantAssertion = (subject = 'alice', extra: Record<string, unknown> = {}) =>
  createAssertion({ issuer: SERVICE, subject, audience: issuer, key: service.privateKey, expiresIn: 60, claims: extra });
const idJag = (clientId: string, subject = 'alice') =>
  createAssertion({
    issuer: IDP,
    subject,
    audience: issuer,
    key: idp.privateKey,
    type: ID_JAG_TYPE,
    expiresIn: 60,
    claims: { client_id: clientId, resource: RESOURCE, scope: 'read write' },
  });

async function token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const before = tokens.length;
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await res.json()) as Record<string, unknown>;
  // Whatever the answer, a token is saved exactly when one is returned.
  expect(tokens.length - before).toBe(res.status === 200 ? 1 : 0);
  return { status: res.status, body };
}
const lastToken = () => tokens[tokens.length - 1]!;

describe("accepted: the library's own client authentication methods", () => {
  it('client_credentials with client_secret_basic (RFC 6749 §2.3.1)', async () => {
    const r = await token({ grant_type: 'client_credentials' }, { authorization: basic('secret-client', 'secret-client-secret') });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
    expect(lifetime(r.body.expires_in, 300)).toBe(true);
    expect(lastToken().client.id).toBe('secret-client');
  });
  it('client_credentials with client_secret_post (RFC 6749 §2.3.1)', async () => {
    const r = await token({ grant_type: 'client_credentials', client_id: 'secret-client', client_secret: 'secret-client-secret' });
    expect(r.status).toBe(200);
  });
  it('password grant with client_secret_basic', async () => {
    const r = await token(
      { grant_type: 'password', username: 'alice', password: 'alice-password' },
      { authorization: basic('secret-client', 'secret-client-secret') },
    );
    expect(r.status).toBe(200);
    expect(lastToken().user).toEqual({ id: 'alice' });
  });
});

describe('accepted: private_key_jwt (RFC 7523 §2.2) through clientAssertion()', () => {
  it('client_credentials, with and without client_id (RFC 7521 §4.2: optional)', async () => {
    const a = await token({
      grant_type: 'client_credentials',
      client_id: 'key-client',
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertionFor('key-client'),
    });
    expect(a.status).toBe(200);
    expect(lastToken().client.id).toBe('key-client');
    const b = await token({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertionFor('key-client'),
    });
    expect(b.status).toBe(200);
    expect(lastToken().client.id).toBe('key-client');
  });
});

describe('accepted: client_secret_jwt (RFC 7523 §2.2, HS256) through clientAssertion()', () => {
  it('client_credentials and the jwt-bearer grant, the client authenticated by its shared secret', async () => {
    const assertion = () => createAssertion({ issuer: 'jwt-secret-client', subject: 'jwt-secret-client', audience: issuer, key: JWT_SECRET, expiresIn: 60 });
    const a = await token({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion() });
    expect(a.status).toBe(200);
    expect(lastToken().client.id).toBe('jwt-secret-client');
    const b = await token({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: grantAssertion('bob'),
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(),
    });
    expect(b.status).toBe(200);
    expect(lastToken()).toMatchObject({ client: { id: 'jwt-secret-client' }, user: { id: 'bob' } });
  });

  it('signed with another secret → invalid_client, no token', async () => {
    const forged = createAssertion({ issuer: 'jwt-secret-client', subject: 'jwt-secret-client', audience: issuer, key: `${JWT_SECRET}-not`, expiresIn: 60 });
    const r = await token({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: forged });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
  });
});

describe('accepted: the jwt-bearer grant (RFC 7523 §2.1)', () => {
  it('plain assertion, client authenticated by private_key_jwt; the model receives the verified grant', async () => {
    const r = await token({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: grantAssertion('alice'),
      scope: 'read',
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertionFor('key-client'),
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', scope: 'read' });
    const saved = lastToken();
    expect(saved.client.id).toBe('key-client');
    expect(saved.user).toEqual({ id: 'alice', issuer: SERVICE });
    expect(saved.jwtBearer).toMatchObject({ issuer: SERVICE, subject: 'alice', clientId: 'key-client', profile: 'rfc7523' });
  });
  it('plain assertion, client authenticated by client_secret_basic', async () => {
    const r = await token(
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantAssertion('bob') },
      { authorization: basic('secret-client', 'secret-client-secret') },
    );
    expect(r.status).toBe(200);
    expect(lastToken().jwtBearer).toMatchObject({ subject: 'bob', clientId: 'secret-client' });
  });
  it('ID-JAG exchange (draft-ietf-oauth-identity-assertion-authz-grant) by a private_key_jwt client: scope in the response', async () => {
    const r = await token({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: idJag('key-client'),
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertionFor('key-client'),
    });
    expect(r.status).toBe(200);
    expect(r.body.scope).toBe('read write');
    expect(lastToken().jwtBearer).toMatchObject({ profile: 'id-jag', resource: [RESOURCE], clientId: 'key-client', issuer: IDP });
  });
  it('ID-JAG exchange by a client_secret_basic client', async () => {
    const r = await token(
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: idJag('secret-client') },
      { authorization: basic('secret-client', 'secret-client-secret') },
    );
    expect(r.status).toBe(200);
    expect(lastToken().jwtBearer).toMatchObject({ profile: 'id-jag', clientId: 'secret-client' });
  });
});

describe('refused: never a token without valid client authentication', () => {
  it('jwt-bearer grant with client_id and no client authentication at all → invalid_client', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, client_id: 'key-client', assertion: grantAssertion() });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_client');
  });
  it('jwt-bearer grant with no client_id and no client authentication → invalid_client', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantAssertion() });
    expect(r.body.error).toBe('invalid_client');
  });
  it('client_credentials naming a private_key_jwt client without its assertion → invalid_client', async () => {
    const r = await token({ grant_type: 'client_credentials', client_id: 'key-client' });
    expect(r.body.error).toBe('invalid_client');
  });
  it('ID-JAG without client authentication → invalid_client', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, client_id: 'key-client', assertion: idJag('key-client') });
    expect(r.body.error).toBe('invalid_client');
  });
  it('wrong client secret → invalid_client (401 with Basic, RFC 6749 §5.2)', async () => {
    const r = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantAssertion() }, { authorization: basic('secret-client', 'wrong') });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
  });
  it("a client assertion for another client than the request's client_id (RFC 7521 §4.2)", async () => {
    const r = await token({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: grantAssertion(),
      client_id: 'key-client',
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertionFor('other-key-client', otherKeyClient.privateKey),
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(['invalid_client', 'invalid_request']).toContain(r.body.error);
  });
  it('an ID-JAG for another client than the authenticated one → invalid_grant', async () => {
    const r = await token({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: idJag('key-client'),
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertionFor('other-key-client', otherKeyClient.privateKey),
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_grant');
  });
  it('a replayed client assertion (RFC 7523 §3 item 7) → invalid_client', async () => {
    const assertion = clientAssertionFor('key-client');
    const form = { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion };
    expect((await token(form)).status).toBe(200);
    const again = await token(form);
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('invalid_client');
  });
  it('a replayed grant assertion → invalid_grant', async () => {
    const assertion = grantAssertion('alice', { jti: randomUUID() });
    const auth = { authorization: basic('secret-client', 'secret-client-secret') };
    expect((await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }, auth)).status).toBe(200);
    const again = await token({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }, auth);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
  });
  it("a refused assertion, then the library's other grants still work", async () => {
    const bad = await token({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: createAssertion({ issuer: SERVICE, subject: 'alice', audience: 'https://elsewhere.example', key: service.privateKey, expiresIn: 60 }),
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertionFor('key-client'),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_grant');
    expect(
      (
        await token(
          { grant_type: 'password', username: 'alice', password: 'alice-password' },
          { authorization: basic('secret-client', 'secret-client-secret') },
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await token({
          grant_type: 'client_credentials',
          client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
          client_assertion: clientAssertionFor('key-client'),
        })
      ).status,
    ).toBe(200);
  });
  it('a user the model does not know → invalid_grant', async () => {
    const r = await token(
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantAssertion('mallory') },
      { authorization: basic('secret-client', 'secret-client-secret') },
    );
    expect(r.body.error).toBe('invalid_grant');
  });
});

describe('the unsafe configuration of issue 17: requireClientAuthentication false for the grant', () => {
  const model = {
    // A typical model: a null secret looks the client up by id alone.
    async getClient(id: string, secret: string | null) {
      return id === 'c' && (secret === null || secret === undefined || secret === 's') ? { id: 'c', grants: [JWT_BEARER_GRANT_TYPE] } : false;
    },
    async saveToken(t: Record<string, unknown>, client: unknown, user: unknown) {
      return { ...t, client, user } as never;
    },
    async getAccessToken() {
      return false as const;
    },
  };
  const config = (iss: string) => ({ issuer: iss, issuers: [{ issuer: SERVICE, publicKey: service.publicKey }] });

  async function serve(build: (iss: string) => express.RequestHandler[]): Promise<{
    post: (form: Record<string, string>, headers?: Record<string, string>) => Promise<{ status: number; body: Record<string, unknown> }>;
    close: () => Promise<void>;
    iss: string;
  }> {
    let handlers: express.RequestHandler[] = [];
    const app = express();
    app.post('/token', express.urlencoded({ extended: false }), (req, res, next) => {
      const run = (i: number): void => {
        if (i === handlers.length) return next();
        handlers[i]!(req, res, (err?: unknown) => (err ? next(err) : run(i + 1)));
      };
      run(0);
    });
    const s = await listen(app);
    const iss = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    handlers = build(iss);
    return {
      iss,
      post: async (form, headers = {}) => {
        const res = await fetch(`${iss}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams(form).toString(),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      },
      close: () => close(s),
    };
  }

  it('with the documented wiring, a request without client authentication gets invalid_client, with authentication a token', async () => {
    const srv = await serve((iss) => {
      const bridge = createOAuth2ServerBridge({ model, grant: config(iss), getUser: (p) => ({ id: p.subject }) });
      const oauth = new ExpressOAuthServer({
        model: bridge.model,
        extendedGrantTypes: bridge.grantTypes,
        requireClientAuthentication: { [JWT_BEARER_GRANT_TYPE]: false },
        accessTokenLifetime: 60,
      });
      return [bridge.bind(), oauth.token()];
    });
    try {
      const assertion = createAssertion({ issuer: SERVICE, subject: 'alice', audience: srv.iss, key: service.privateKey, expiresIn: 60 });
      const refused = await srv.post({ grant_type: JWT_BEARER_GRANT_TYPE, client_id: 'c', assertion });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_client');
      expect(refused.body.access_token).toBeUndefined();
      const accepted = await srv.post({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }, { authorization: basic('c', 's') });
      expect(accepted.status).toBe(200);
      expect(typeof accepted.body.access_token).toBe('string');
    } finally {
      await srv.close();
    }
  });

  it('the grant type with the model left unwrapped still refuses: it issues only for a client the bridge authenticated', async () => {
    const srv = await serve((iss) => {
      const bridge = createOAuth2ServerBridge({ model, grant: config(iss), getUser: (p) => ({ id: p.subject }) });
      const oauth = new ExpressOAuthServer({
        model,
        extendedGrantTypes: bridge.grantTypes,
        requireClientAuthentication: { [JWT_BEARER_GRANT_TYPE]: false },
        accessTokenLifetime: 60,
      });
      return [bridge.bind(), oauth.token()];
    });
    try {
      const assertion = createAssertion({ issuer: SERVICE, subject: 'alice', audience: srv.iss, key: service.privateKey, expiresIn: 60 });
      for (const headers of [{}, { authorization: basic('c', 's') }] as Array<Record<string, string>>) {
        const r = await srv.post({ grant_type: JWT_BEARER_GRANT_TYPE, client_id: 'c', assertion }, headers);
        expect(r.body.access_token).toBeUndefined();
        expect(r.body.error).toBe('invalid_client');
      }
    } finally {
      await srv.close();
    }
  });

  it('bind() forgotten: the wrapped model refuses every client lookup with server_error, never a token', async () => {
    const srv = await serve((iss) => {
      const bridge = createOAuth2ServerBridge({ model, grant: config(iss), getUser: (p) => ({ id: p.subject }) });
      const oauth = new ExpressOAuthServer({
        model: bridge.model,
        extendedGrantTypes: bridge.grantTypes,
        requireClientAuthentication: bridge.requireClientAuthentication,
        accessTokenLifetime: 60,
      });
      return [oauth.token()];
    });
    try {
      const assertion = createAssertion({ issuer: SERVICE, subject: 'alice', audience: srv.iss, key: service.privateKey, expiresIn: 60 });
      const r = await srv.post({ grant_type: JWT_BEARER_GRANT_TYPE, client_id: 'c', assertion });
      expect(r.status).toBeGreaterThanOrEqual(500);
      expect(r.body.error).toBe('server_error');
      expect(r.body.access_token).toBeUndefined();
    } finally {
      await srv.close();
    }
  });
});
