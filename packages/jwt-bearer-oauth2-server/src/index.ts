/**
 * jwt-bearer-oauth2-server: RFC 7523 for `@node-oauth/oauth2-server` 5. The library keeps its token
 * handler and its model (the source of clients, users, scopes and tokens); this package adds
 *
 * - JWT client authentication (RFC 7523 §2.2: `private_key_jwt`, `client_secret_jwt`), verified
 *   by `clientAssertion()` of express-jwt-bearer or koa-jwt-bearer and handed to the library's
 *   `getClient` for this request only, and
 * - the jwt-bearer authorization grant (RFC 7523 §2.1, plain and ID-JAG) as an extended grant type.
 *
 * The invariant it keeps: the library never issues a token to a request whose client was not
 * authenticated, whatever `requireClientAuthentication` says. The wrapped model's `getClient`
 * refuses every lookup without a secret unless the client assertion of the same request
 * authenticated that very client (or, opted in, a PKCE public client), and the grant type refuses
 * unless the wrapped `getClient` authenticated the client of the same request.
 *
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import OAuth2Server from '@node-oauth/oauth2-server';
import {
  createGrantVerifier,
  isOAuthError,
  JWT_BEARER_GRANT_TYPE,
  type AuthorizationServerMetadata,
  type ClientPrincipal,
  type GrantPrincipal,
  type GrantVerifierOptions,
} from 'jwt-bearer-core';

const { AbstractGrantType, OAuthError: LibraryOAuthError, InvalidClientError, InvalidGrantError, ServerError } = OAuth2Server;

/** How the client of a token request was authenticated. */
export type ClientAuthenticationMethod = ClientPrincipal['method'] | 'client_secret';

/** What the bridge knows of one token request (bound with {@link OAuth2ServerBridge.run}). */
export interface BoundRequest {
  /** The client `clientAssertion()` authenticated on this request, if it did. */
  client?: ClientPrincipal | undefined;
  /** The request's form body (to recognise a PKCE request when `publicClients` is on). */
  body?: Record<string, unknown> | undefined;
  /**
   * Which endpoint the request is for. Default `'token'`: every client lookup must be backed by
   * client authentication. `'authorization'`: the library's authorization endpoint, which looks
   * clients up by id (`getClient(id, null)`, RFC 6749 §4.1.1: no client authentication there); the
   * lookup goes to the model unchanged and no client counts as authenticated.
   */
  endpoint?: 'token' | 'authorization';
}

/** The client authentication the wrapped `getClient` established for the current request. */
export interface AuthenticatedClient {
  clientId: string;
  method: ClientAuthenticationMethod;
}

/** The part of an `@node-oauth/oauth2-server` model the bridge wraps. */
export interface ClientModel {
  getClient(
    clientId: string,
    clientSecret: string | null | undefined,
  ): Promise<OAuth2Server.Client | OAuth2Server.Falsey> | OAuth2Server.Client | OAuth2Server.Falsey;
}

/** Options of {@link createOAuth2ServerBridge}. */
export interface OAuth2ServerBridgeOptions<M extends ClientModel> {
  /**
   * The application's `@node-oauth/oauth2-server` model. It stays the source of clients, users,
   * scopes and tokens. Its `getClient(clientId, null)` must return the client by id alone: the
   * bridge calls it that way only after a client assertion authenticated `clientId` on the request
   * (or, with `publicClients`, for a PKCE request). Required.
   */
  model: M;
  /**
   * Options of the jwt-bearer grant verifier (`createGrantVerifier()` of jwt-bearer-core:
   * `issuer`, `issuers`, `replayStore`, `resources`, …). Without it the bridge authenticates
   * clients only and {@link OAuth2ServerBridge.grantTypes} is empty.
   */
  grant?: GrantVerifierOptions;
  /**
   * The user a verified grant issues a token for: look up `principal.subject` (and for an ID-JAG,
   * `principal.issuer`, the enterprise IdP) in your user store. A falsy result refuses the grant
   * with `invalid_grant`. Required with `grant`.
   */
  getUser?: (
    principal: GrantPrincipal,
    client: OAuth2Server.Client,
  ) => Promise<OAuth2Server.User | OAuth2Server.Falsey> | OAuth2Server.User | OAuth2Server.Falsey;
  /**
   * Whether an `authorization_code` request with a `code_verifier` (PKCE, RFC 7636) and no client
   * authentication may look up its client by id alone (a public client, RFC 6749 §2.1). Default
   * `false`: every token request must authenticate its client.
   */
  publicClients?: boolean;
}

/** What {@link createOAuth2ServerBridge} returns. */
export interface OAuth2ServerBridge<M extends ClientModel> {
  /** The application's model with `getClient` wrapped: pass it as the server's `model`. */
  readonly model: M;
  /**
   * `{ [JWT_BEARER_GRANT_TYPE]: class }` for the server's `extendedGrantTypes` (empty without
   * option `grant`).
   */
  readonly grantTypes: Record<string, typeof OAuth2Server.AbstractGrantType>;
  /**
   * `requireClientAuthentication` for the server: `false` for every grant, so that a client
   * authenticated by a client assertion (which sends no secret) reaches `getClient`. Safe only
   * with {@link OAuth2ServerBridge.model}, which then does the refusing.
   */
  readonly requireClientAuthentication: Readonly<Record<string, boolean>>;
  /** The RFC 8414 fields the grant's options imply (empty without option `grant`). */
  readonly metadata: AuthorizationServerMetadata;
  /**
   * Express/Connect middleware: mount after `clientAssertion({ required: false })` and before the
   * library's token handler. Binds `req.jwtBearer.client` and `req.body` to the rest of this
   * request's handling. On the authorization route (`oauth.authorize()`), mount
   * `bind({ endpoint: 'authorization' })` instead.
   */
  bind(options?: {
    endpoint?: 'token' | 'authorization';
  }): (req: { jwtBearer?: { client?: ClientPrincipal }; body?: unknown }, res: unknown, next: (err?: unknown) => void) => void;
  /** Runs `fn` with `request` bound (for Koa or hand-written handlers: wrap the call of `server.token()`). */
  run<T>(request: BoundRequest, fn: () => T): T;
  /** The client authentication of the current request, once the wrapped `getClient` established it. */
  authenticatedClient(): AuthenticatedClient | undefined;
}

interface Store {
  readonly request: BoundRequest;
  authenticated?: AuthenticatedClient;
}

function invalidClient(message: string): Error {
  return new InvalidClientError(`Invalid client: ${message}`);
}

/** The core's `OAuthError` as the library's, so that its token handler answers the same status and `error`. */
function toLibraryError(err: unknown): unknown {
  if (!isOAuthError(err)) return err;
  const converted = new LibraryOAuthError(err.description, { code: err.status, name: err.error });
  return Object.assign(converted, { jwtBearer: { code: err.code, headers: err.headers } });
}

/**
 * Bridges jwt-bearer to `@node-oauth/oauth2-server` 5: wraps the model's `getClient` so that a
 * client authenticated by `clientAssertion()` on this request is accepted (and nothing without
 * authentication is), and builds the jwt-bearer extended grant type. Options are validated now: a
 * bad configuration throws a `TypeError` naming the option.
 *
 * @example
 * const bridge = createOAuth2ServerBridge({ model, grant: { issuer, issuers }, getUser: (p) => users.get(p.subject) });
 * const oauth = new ExpressOAuthServer({ model: bridge.model, extendedGrantTypes: bridge.grantTypes,
 *   requireClientAuthentication: bridge.requireClientAuthentication });
 * app.post('/token', clientAssertion({ issuer, clients, required: false }), bridge.bind(), oauth.token());
 */
export function createOAuth2ServerBridge<M extends ClientModel>(options: OAuth2ServerBridgeOptions<M>): OAuth2ServerBridge<M> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { model, grant, getUser } = options;
  if (typeof model !== 'object' || model === null || typeof model.getClient !== 'function') {
    throw new TypeError('option "model" must be an @node-oauth/oauth2-server model with getClient()');
  }
  if (grant !== undefined && typeof getUser !== 'function') throw new TypeError('option "getUser" must be a function when option "grant" is given');
  if (getUser !== undefined && typeof getUser !== 'function') throw new TypeError('option "getUser" must be a function');
  if (options.publicClients !== undefined && typeof options.publicClients !== 'boolean') throw new TypeError('option "publicClients" must be a boolean');
  const publicClients = options.publicClients === true;
  const verifier = grant === undefined ? undefined : createGrantVerifier(grant);
  const storage = new AsyncLocalStorage<Store>();
  const getClient = model.getClient.bind(model);

  async function bridgedGetClient(clientId: string, clientSecret: string | null | undefined): Promise<OAuth2Server.Client | OAuth2Server.Falsey> {
    const store = storage.getStore();
    if (!store) throw new ServerError('Server error: the jwt-bearer bridge is not bound to this request (mount bridge.bind() before the token handler)');
    if (store.request.endpoint === 'authorization') return getClient(clientId, clientSecret);
    const assertion = store.request.client;
    if (assertion) {
      // RFC 6749 §2.3: a client must not use more than one authentication method per request.
      if (clientSecret) throw invalidClient('more than one client authentication method');
      // The lookup's client_id (from the body or Basic) must be the client the assertion authenticated.
      if (clientId !== assertion.clientId) throw invalidClient('client_id does not match the client assertion');
      const client = await getClient(clientId, null);
      if (client) store.authenticated = { clientId, method: assertion.method };
      return client;
    }
    if (clientSecret) {
      const client = await getClient(clientId, clientSecret);
      if (client) store.authenticated = { clientId, method: 'client_secret' };
      return client;
    }
    const body = store.request.body;
    // RFC 7636 with a public client: the library verifies the code_verifier against the code.
    if (publicClients && body?.grant_type === 'authorization_code' && typeof body.code_verifier === 'string') {
      return getClient(clientId, null);
    }
    throw invalidClient('client authentication is required');
  }

  const wrapped = Object.create(model) as M;
  Object.defineProperty(wrapped, 'getClient', { value: bridgedGetClient, enumerable: true });

  const grantTypes: Record<string, typeof OAuth2Server.AbstractGrantType> = {};
  if (verifier) {
    const resolveUser = getUser!;
    class JwtBearerGrantType extends AbstractGrantType {
      declare model: OAuth2Server.BaseModel & { saveToken: NonNullable<OAuth2Server.ClientCredentialsModel['saveToken']> };

      constructor(grantOptions: OAuth2Server.TokenOptions) {
        // The token handler passes its model (TokenOptions in the library's types omits it).
        if (typeof (grantOptions as { model?: { saveToken?: unknown } }).model?.saveToken !== 'function') {
          throw new TypeError('the model does not implement saveToken()');
        }
        super(grantOptions);
      }

      /** RFC 7523 §2.1: verifies the assertion with the client authenticated on this request, then issues the library's token. */
      async handle(request: OAuth2Server.Request, client: OAuth2Server.Client): Promise<OAuth2Server.Token | OAuth2Server.Falsey> {
        const authenticated = storage.getStore()?.authenticated;
        // Never a token for a request the bridged getClient did not authenticate, whatever
        // requireClientAuthentication says (RFC 7521 §4.2 leaves client authentication to the server;
        // the ID-JAG draft requires it).
        if (!authenticated || (typeof client?.id === 'string' && client.id !== authenticated.clientId)) {
          throw invalidClient('the jwt-bearer grant requires client authentication');
        }
        let principal: GrantPrincipal;
        try {
          principal = await verifier!.verify(
            { body: request.body as Record<string, unknown>, headers: request.headers as Record<string, string> },
            { clientId: authenticated.clientId },
          );
        } catch (err) {
          throw toLibraryError(err);
        }
        const user = await resolveUser(principal, client);
        if (!user) throw new InvalidGrantError('Invalid grant: no user for this assertion');
        const requested = principal.scope.length > 0 ? principal.scope : undefined;
        const scope = await this.validateScope(user, client, requested);
        const accessToken = await this.generateAccessToken(client, user, scope || []);
        const token: OAuth2Server.Token = {
          accessToken,
          accessTokenExpiresAt: this.getAccessTokenExpiresAt(),
          ...(scope ? { scope } : {}),
          client,
          user,
          // For the model's saveToken: the verified grant (issuer, subject, resource, dpop, profile).
          jwtBearer: principal,
        };
        const saved = await this.model.saveToken(token, client, user);
        // draft-ietf-oauth-identity-assertion-authz-grant: the response to an ID-JAG carries the granted scope.
        if (saved && principal.profile === 'id-jag' && !saved.scope && scope) saved.scope = scope;
        return saved;
      }
    }
    grantTypes[JWT_BEARER_GRANT_TYPE] = JwtBearerGrantType;
  }

  function bindRun<T>(request: BoundRequest, fn: () => T): T {
    const { client, body, endpoint } = request;
    if (endpoint === 'authorization') return storage.run({ request: { endpoint } }, fn);
    // RFC 7521 §4.2: with a client assertion, client_id is optional; the library finds the client
    // to look up only in client_id, so it names the client the assertion authenticated.
    if (client && body && body.client_id === undefined) body.client_id = client.clientId;
    return storage.run({ request: { client, body } }, fn);
  }

  const requireClientAuthentication = Object.freeze({
    authorization_code: false,
    client_credentials: false,
    password: false,
    refresh_token: false,
    [JWT_BEARER_GRANT_TYPE]: false,
  });

  return Object.freeze({
    model: wrapped,
    grantTypes: Object.freeze(grantTypes),
    requireClientAuthentication,
    metadata: verifier?.metadata ?? Object.freeze({}),
    bind(bindOptions?: { endpoint?: 'token' | 'authorization' }) {
      const endpoint = bindOptions?.endpoint ?? 'token';
      if (endpoint !== 'token' && endpoint !== 'authorization') throw new TypeError('bind(): option "endpoint" must be "token" or "authorization"');
      return (req: { jwtBearer?: { client?: ClientPrincipal }; body?: unknown }, _res: unknown, next: (err?: unknown) => void) => {
        const body = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : undefined;
        bindRun({ client: req.jwtBearer?.client, body, endpoint }, next);
      };
    },
    run<T>(request: BoundRequest, fn: () => T): T {
      return bindRun(request, fn);
    },
    authenticatedClient() {
      const a = storage.getStore()?.authenticated;
      return a ? { ...a } : undefined;
    },
  });
}

export { JWT_BEARER_GRANT_TYPE };
