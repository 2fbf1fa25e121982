/**
 * The jwt-bearer grant (RFC 7523 §2.1, plain assertions and ID-JAGs) for oidc-provider 9, through
 * its `registerGrantType`: the provider authenticates the client with its own methods
 * (`client_secret_basic`, `client_secret_post`, `client_secret_jwt`, `private_key_jwt`, mTLS),
 * jwt-bearer-core verifies the assertion with that client, and the provider issues its own
 * `AccessToken` (its adapter, TTLs, formats and resource servers).
 *
 * No run-time dependency on oidc-provider: the types below describe the part of its API used.
 */
import {
  createGrantVerifier,
  isOAuthError,
  JWT_BEARER_GRANT_TYPE,
  type AuthorizationServerMetadata,
  type GrantPrincipal,
  type GrantVerifierOptions,
} from 'jwt-bearer-core';

/** The client oidc-provider authenticated (`ctx.oidc.client`). */
export interface OidcProviderClient {
  clientId: string;
  /** The client's `token_endpoint_auth_method`. */
  clientAuthMethod?: string | undefined;
  [key: string]: unknown;
}

/** The part of oidc-provider's Koa context the grant handler reads. */
export interface OidcProviderContext {
  oidc: {
    client?: OidcProviderClient | undefined;
    body?: Record<string, unknown> | undefined;
    entity?: (key: string, value: unknown) => void;
  };
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

/** An oidc-provider access token instance. */
export interface OidcProviderAccessToken {
  scope?: string | undefined;
  resourceServer?: unknown;
  expiration: number;
  tokenType: string;
  save(): Promise<string>;
}

/** The part of an oidc-provider `Provider` the helper uses. */
export interface OidcProviderLike {
  registerGrantType(
    name: string,
    handler: (ctx: OidcProviderContext) => void | Promise<void>,
    params?: Iterable<string> | string,
    dupes?: Iterable<string> | string,
  ): void;
  /** Typed loosely (the provider's own types are stricter than what is passed). */
  AccessToken: new (properties: never) => OidcProviderAccessToken;
  ResourceServer: new (identifier: string, info: never) => { scope?: string | undefined };
}

/** Options of {@link jwtBearerGrantType}: the core's grant options, and how to issue the token. */
export interface OidcProviderGrantOptions extends GrantVerifierOptions {
  /**
   * The provider's account id for a verified grant (the `accountId` of the access token). Default:
   * `principal.subject`. Return `undefined` to refuse the grant (`invalid_grant`): an account the
   * provider does not know.
   */
  accountId?: (principal: GrantPrincipal, ctx: OidcProviderContext) => string | undefined | Promise<string | undefined>;
  /**
   * The same function as the provider's `features.resourceIndicators.getResourceServerInfo`
   * (oidc-provider keeps its configuration private): with a resource (the `resource` parameter,
   * else the ID-JAG's), the token is issued for that resource server (its audience, TTL, format
   * and scopes). Without it, a grant naming a resource is refused with `invalid_target`.
   */
  getResourceServerInfo?: (
    ctx: OidcProviderContext,
    resourceIndicator: string,
    client: OidcProviderClient,
  ) => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** An RFC 6749 §5.2 error as oidc-provider's error handler renders it (`message` is the `error`). */
class ProviderFacingError extends Error {
  readonly expose = true;
  readonly error: string;
  readonly error_description: string;
  readonly status: number;
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(error: string, description: string, status: number, headers: Record<string, string> = {}) {
    super(error);
    this.error = error;
    this.error_description = description;
    this.status = status;
    this.statusCode = status;
    this.headers = headers;
  }
}

function toProviderError(err: unknown): unknown {
  if (!isOAuthError(err)) return err;
  // A 503 from a failing dependency stays a 5xx: oidc-provider answers server_error for it.
  if (err.status >= 500) return err;
  return new ProviderFacingError(err.error, err.description, err.status, err.headers);
}

const GRANT_PARAMETERS = ['assertion', 'scope', 'resource'];

/**
 * Registers `urn:ietf:params:oauth:grant-type:jwt-bearer` on an oidc-provider 9 `Provider`. Call
 * it once, after `new Provider(…)` and before serving; the provider must have the grant type
 * allowed for the clients that use it (`grant_types` of each client). Options are validated now.
 *
 * Every request is client-authenticated by the provider before the handler runs; a client
 * registered with `token_endpoint_auth_method: 'none'` is refused here with `invalid_client`
 * (RFC 7521 §4.2 leaves client authentication to the server; the ID-JAG draft requires it).
 *
 * @returns the RFC 8414 fields the grant's options imply, to merge into the provider's discovery.
 */
export function jwtBearerGrantType(provider: OidcProviderLike, options: OidcProviderGrantOptions): { metadata: AuthorizationServerMetadata } {
  if (typeof provider !== 'object' || provider === null || typeof provider.registerGrantType !== 'function' || typeof provider.AccessToken !== 'function') {
    throw new TypeError('jwtBearerGrantType(): provider must be an oidc-provider Provider');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { accountId, getResourceServerInfo, ...grantOptions } = options;
  if (accountId !== undefined && typeof accountId !== 'function') throw new TypeError('option "accountId" must be a function');
  if (getResourceServerInfo !== undefined && typeof getResourceServerInfo !== 'function')
    throw new TypeError('option "getResourceServerInfo" must be a function');
  const verifier = createGrantVerifier(grantOptions);

  async function handler(ctx: OidcProviderContext): Promise<void> {
    const client = ctx.oidc.client;
    if (!client || client.clientAuthMethod === 'none') {
      throw new ProviderFacingError('invalid_client', 'Client authentication is required for this grant.', 401);
    }
    let principal: GrantPrincipal;
    try {
      principal = await verifier.verify({ body: ctx.oidc.body ?? {}, headers: ctx.headers }, { clientId: client.clientId });
    } catch (err) {
      throw toProviderError(err);
    }
    const account = accountId ? await accountId(principal, ctx) : principal.subject;
    if (account === undefined) throw new ProviderFacingError('invalid_grant', 'The grant is not for a known account.', 400);

    const scope = principal.scope.join(' ') || undefined;
    const AccessToken = provider.AccessToken as unknown as new (properties: Record<string, unknown>) => OidcProviderAccessToken;
    const ResourceServer = provider.ResourceServer as unknown as new (identifier: string, info: unknown) => { scope?: string | undefined };
    const token = new AccessToken({
      accountId: account,
      client,
      gty: 'jwt_bearer',
      scope,
      extra: { jwt_bearer: { iss: principal.issuer, profile: principal.profile } },
    });
    const { resource } = principal;
    if (resource.length > 0) {
      // oidc-provider issues an access token for one resource server.
      if (resource.length !== 1 || !getResourceServerInfo) {
        throw new ProviderFacingError('invalid_target', 'Only one resource indicator, of a configured resource server, is supported.', 400);
      }
      const server = new ResourceServer(resource[0]!, await getResourceServerInfo(ctx, resource[0]!, client));
      token.resourceServer = server;
      // As the provider's own grants do: only the resource server's scopes.
      const served = new Set((server.scope ?? '').split(' '));
      token.scope = principal.scope.filter((s) => served.has(s)).join(' ') || undefined;
    }
    ctx.oidc.entity?.('AccessToken', token);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      expires_in: token.expiration,
      token_type: token.tokenType,
      // draft-ietf-oauth-identity-assertion-authz-grant: the response carries the granted scope.
      ...(token.scope ? { scope: token.scope } : {}),
    };
  }

  provider.registerGrantType(JWT_BEARER_GRANT_TYPE, handler, GRANT_PARAMETERS, ['resource']);
  return { metadata: verifier.metadata };
}
