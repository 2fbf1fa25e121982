/**
 * oidc-provider 9 with the jwt-bearer grant (RFC 7523 §2.1): plain assertions from a trusted
 * service and ID-JAGs (draft-ietf-oauth-identity-assertion-authz-grant) from an enterprise IdP.
 * oidc-provider authenticates every client itself (client_secret_basic, client_secret_post,
 * client_secret_jwt, private_key_jwt) and issues its own access tokens, for the resource server an
 * ID-JAG names (RFC 8707). Keys are generated at start. Development only.
 *
 * Run: `npm run build && node examples/dist/oidc-provider.js` (port from PORT, default 3300).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import Provider, { errors, type ClientMetadata } from 'oidc-provider';
import { jwtBearerGrantType, JWT_BEARER_GRANT_TYPE } from 'koa-jwt-bearer';

/** Options of {@link createOidcProvider}. */
export interface OidcProviderExampleOptions {
  /** The provider's issuer identifier (the `aud` of assertions). */
  issuer: string;
  /** Clients, in oidc-provider's metadata format. */
  clients: ClientMetadata[];
  /** A service trusted to sign plain jwt-bearer grants. */
  service: { issuer: string; publicKey: KeyObject };
  /** An enterprise IdP trusted to sign ID-JAGs. */
  idp: { issuer: string; publicKey: KeyObject };
  /** Resource servers: identifier → the scopes it serves. */
  resources: Record<string, string>;
  /** Accounts the provider knows. */
  accounts: string[];
}

/** Builds the provider with the jwt-bearer grant registered. */
export function createOidcProvider(options: OidcProviderExampleOptions): { provider: Provider; metadata: Record<string, unknown> } {
  // The resource servers, as the provider's resourceIndicators feature and the grant both see them.
  const getResourceServerInfo = (_ctx: unknown, resource: string) => {
    const scope = options.resources[resource];
    if (scope === undefined) throw new errors.InvalidTarget();
    return { scope, audience: resource, accessTokenTTL: 300, accessTokenFormat: 'opaque' as const };
  };
  const provider = new Provider(options.issuer, {
    clients: options.clients,
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: { enabled: true, getResourceServerInfo, defaultResource: () => undefined as unknown as string },
      devInteractions: { enabled: false },
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
    // The resource server's TTL when the token is for one (as oidc-provider's default does), else 10 minutes.
    ttl: { AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600 },
  });
  const accounts = new Set(options.accounts);
  const { metadata } = jwtBearerGrantType(provider, {
    issuer: options.issuer,
    issuers: [
      { issuer: options.service.issuer, publicKey: options.service.publicKey },
      { issuer: options.idp.issuer, publicKey: options.idp.publicKey, profiles: ['id-jag'] },
    ],
    resources: Object.keys(options.resources),
    getResourceServerInfo,
    accountId: (principal) => (accounts.has(principal.subject) ? principal.subject : undefined),
  });
  return { provider, metadata: { ...metadata } };
}

/* istanbul ignore next: the script entry point */
if (require.main === module) {
  const port = Number(process.env.PORT ?? 3300);
  const service = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { provider } = createOidcProvider({
    issuer: `http://127.0.0.1:${port}`,
    clients: [
      {
        client_id: 'secret-client',
        client_secret: 'a-secret-of-at-least-thirty-two-characters',
        grant_types: ['client_credentials', JWT_BEARER_GRANT_TYPE],
        redirect_uris: [],
        response_types: [],
      },
    ],
    service: { issuer: 'https://service.example.com', publicKey: service.publicKey },
    idp: { issuer: 'https://idp.example.com', publicKey: idp.publicKey },
    resources: { 'https://api.example.com/': 'read write' },
    accounts: ['alice'],
  });
  provider.listen(port, '127.0.0.1' as never, () => {
    console.log(`oidc-provider example on http://127.0.0.1:${port}/token`);
  });
}
