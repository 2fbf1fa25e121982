/**
 * `@node-oauth/oauth2-server` 5 (through `@node-oauth/express-oauth-server`) with jwt-bearer: the
 * library's token handler and model issue every token; jwt-bearer adds
 *
 *   - `private_key_jwt` client authentication (RFC 7523 §2.2) next to the library's own
 *     `client_secret_basic` and `client_secret_post`, and
 *   - the jwt-bearer grant (RFC 7523 §2.1): plain assertions from a trusted service, and ID-JAGs
 *     (draft-ietf-oauth-identity-assertion-authz-grant) from a demo enterprise IdP.
 *
 * The model is in memory (clients, users, tokens). Development only.
 *
 * Run: `npm run build && node examples/dist/oauth2-server.js` (port from PORT, default 3200).
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import ExpressOAuthServer from '@node-oauth/express-oauth-server';
import type OAuth2Server from '@node-oauth/oauth2-server';
import { clientAssertion, JWT_BEARER_GRANT_TYPE, type ClientRegistration, type ReplayStore, MemoryReplayStore } from 'express-jwt-bearer';
import { createOAuth2ServerBridge } from 'jwt-bearer-oauth2-server';

/** A client of the in-memory model. */
export interface DemoClient extends OAuth2Server.Client {
  /** For `client_secret_basic` / `client_secret_post`; absent for `private_key_jwt` clients. */
  secret?: string;
}

/** Options of {@link createOAuth2ServerApp}. */
export interface OAuth2ServerAppOptions {
  /** This server's issuer identifier (the `aud` of assertions). */
  issuer: string;
  /** Clients of the library's model. */
  clients: DemoClient[];
  /** Clients that authenticate with `private_key_jwt`: their keys. */
  keyClients: ClientRegistration[];
  /** A service trusted to sign plain jwt-bearer grants for its own users. */
  service: { issuer: string; publicKey: KeyObject };
  /** An enterprise IdP trusted to sign ID-JAGs. */
  idp: { issuer: string; publicKey: KeyObject };
  /** Resource indicators (RFC 8707) tokens may be issued for. */
  resources: string[];
  /** Users of the model, by subject. */
  users: string[];
  /** Replay store shared by both uses. Default: one in-memory store. */
  replayStore?: ReplayStore;
}

/** A token the in-memory model saved. */
export type SavedToken = OAuth2Server.Token;

/** Builds the Express app; `tokens` is the model's token table, for inspection. */
export function createOAuth2ServerApp(options: OAuth2ServerAppOptions): { app: express.Express; tokens: SavedToken[]; metadata: Record<string, unknown> } {
  const tokens: SavedToken[] = [];
  const clients = new Map(options.clients.map((c) => [c.id, c]));
  const users = new Set(options.users);
  // The application's model, written for the library as usual. getClient(id, null) returns the
  // client by id alone: the bridge calls it that way only for a client that a client assertion
  // authenticated on this very request.
  const model = {
    async getClient(clientId: string, clientSecret: string | null | undefined) {
      const client = clients.get(clientId);
      if (!client) return false;
      if (clientSecret === null) return client;
      return client.secret !== undefined && client.secret === clientSecret ? client : false;
    },
    async getUserFromClient(client: OAuth2Server.Client) {
      return { id: `service:${client.id}` };
    },
    async getUser(username: string, password: string) {
      return users.has(username) && password === `${username}-password` ? { id: username } : false;
    },
    async saveToken(token: OAuth2Server.Token, client: OAuth2Server.Client, user: OAuth2Server.User) {
      const saved = { ...token, client, user };
      tokens.push(saved);
      return saved;
    },
    async getAccessToken(accessToken: string) {
      return tokens.find((t) => t.accessToken === accessToken) ?? false;
    },
    async generateAccessToken() {
      return randomBytes(24).toString('base64url');
    },
  };

  const replayStore = options.replayStore ?? new MemoryReplayStore();
  const bridge = createOAuth2ServerBridge({
    model,
    grant: {
      issuer: options.issuer,
      issuers: [
        { issuer: options.service.issuer, publicKey: options.service.publicKey },
        { issuer: options.idp.issuer, publicKey: options.idp.publicKey, profiles: ['id-jag'] },
      ],
      resources: options.resources,
      replayStore,
    },
    // The user the grant is for: the model's user store decides.
    getUser: (principal) => (users.has(principal.subject) ? { id: principal.subject, issuer: principal.issuer } : false),
  });
  const oauth = new ExpressOAuthServer({
    model: bridge.model,
    extendedGrantTypes: bridge.grantTypes,
    requireClientAuthentication: bridge.requireClientAuthentication,
    accessTokenLifetime: 300,
    allowBearerTokensInQueryString: false,
    useErrorHandler: false,
  });

  const app = express();
  app.disable('x-powered-by');
  app.post(
    '/token',
    express.urlencoded({ extended: false, limit: '16kb' }),
    // private_key_jwt: verified here; a request without client_assertion passes on to the library.
    clientAssertion({ issuer: options.issuer, clients: options.keyClients, replayStore, required: false }),
    bridge.bind(),
    oauth.token({ requireClientAuthentication: bridge.requireClientAuthentication }),
  );
  const metadata = {
    issuer: options.issuer,
    token_endpoint: `${options.issuer}/token`,
    ...bridge.metadata,
    grant_types_supported: ['client_credentials', 'password', JWT_BEARER_GRANT_TYPE],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  };
  app.get('/.well-known/oauth-authorization-server', (_req, res) => {
    res.json(metadata);
  });
  return { app, tokens, metadata };
}

/* istanbul ignore next: the script entry point */
if (require.main === module) {
  const port = Number(process.env.PORT ?? 3200);
  const issuer = `http://127.0.0.1:${port}`;
  const service = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { app } = createOAuth2ServerApp({
    issuer,
    clients: [
      { id: 'secret-client', secret: 'secret-client-secret', grants: ['client_credentials', 'password', JWT_BEARER_GRANT_TYPE] },
      { id: 'key-client', grants: ['client_credentials', JWT_BEARER_GRANT_TYPE] },
    ],
    keyClients: [{ clientId: 'key-client', publicKey: client.publicKey }],
    service: { issuer: 'https://service.example.com', publicKey: service.publicKey },
    idp: { issuer: 'https://idp.example.com', publicKey: idp.publicKey },
    resources: ['https://api.example.com/'],
    users: ['alice'],
  });
  const server = app.listen(port, '127.0.0.1', () => {
    console.log(`oauth2-server example on http://127.0.0.1:${(server.address() as AddressInfo).port}/token`);
  });
}
