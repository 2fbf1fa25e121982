/**
 * The conformance table of the keys the server finds itself (DESIGN §11): OIDC discovery and
 * RFC 8414 for trusted issuers, client ID metadata documents, federated workload identities
 * and SPIFFE JWT-SVIDs. Each case names the RFC or draft section it checks; keys-found.test.ts
 * runs every case on Express 5 and 4 and Koa 3 and 2.
 */
import { randomUUID } from 'node:crypto';
import {
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  MemoryReplayStore,
  SPIFFE_CLIENT_ASSERTION_TYPE,
  createAssertion,
  type ClientMiddlewareOptions,
  type ErrorCode,
  type OAuthErrorName,
} from 'jwt-bearer-core';
import type { StackSpec } from './cases';
import { resolveTo } from '../support/tls-server';
import { AKS_ISSUER, AS, ENTRA_AUDIENCE, GITHUB_ISSUER, K8S_ISSUER, TRUST_DOMAIN, WORKLOAD, type KeysFixtures } from './keys-found-fixtures';

export interface Expectation {
  status: number;
  error?: OAuthErrorName;
  code?: ErrorCode;
  /** What the app's handler saw (the request reached it). */
  client?: { clientId: string; method: string; alg: string };
  grant?: { issuer: string; subject: string };
}

export interface KeysCase {
  name: string;
  stack: (f: KeysFixtures) => StackSpec;
  form: (f: KeysFixtures) => Record<string, string>;
  /** Send the very request once before, expecting this. */
  before?: Expectation;
  expect: Expectation;
}

const fails = (status: number, error: OAuthErrorName, code: ErrorCode): Expectation => ({ status, error, code });
const clientFails = (code: ErrorCode) => fails(401, 'invalid_client', code);
const unavailable = (code: ErrorCode = 'ERR_KEY_SOURCE_UNAVAILABLE') => fails(503, 'temporarily_unavailable', code);
const reached = (clientId: string, method: string, alg: string): Expectation => ({ status: 200, client: { clientId, method, alg } });

const assertionForm = (assertion: string, extra: Record<string, string> = {}) => ({
  client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
  client_assertion: assertion,
  ...extra,
});
const svidForm = (assertion: string, extra: Record<string, string> = {}) => ({
  client_assertion_type: SPIFFE_CLIENT_ASSERTION_TYPE,
  client_assertion: assertion,
  ...extra,
});

// ---------------------------------------------------------------------------------------------
// Discovery (grant issuers)
// ---------------------------------------------------------------------------------------------

function discoveryStack(f: KeysFixtures, issuer: string, discovery: true | string = true): StackSpec {
  return { grant: { issuer: AS, issuers: [{ issuer, discovery }], jwksOptions: { requestAgent: f.tls.agent } } };
}
const grantForm = (f: KeysFixtures, iss: string, key = f.keys.issuer.privateKey, kid = 'iss-1') => ({
  grant_type: JWT_BEARER_GRANT_TYPE,
  assertion: createAssertion({ issuer: iss, subject: 'alice', audience: AS, key, keyId: kid }),
});

const discovery: KeysCase[] = [
  {
    name: 'OpenID Connect Discovery 1.0 §4: keys found through {issuer}/.well-known/openid-configuration',
    stack: (f) => discoveryStack(f, f.tls.origin),
    form: (f) => grantForm(f, f.tls.origin),
    expect: { status: 200, grant: { issuer: '<origin>', subject: 'alice' } },
  },
  {
    name: 'RFC 8414 §3.1: an issuer with a path is discovered at /.well-known/oauth-authorization-server/{path}',
    stack: (f) => discoveryStack(f, `${f.tls.origin}/tenant-a`),
    form: (f) => grantForm(f, `${f.tls.origin}/tenant-a`),
    expect: { status: 200, grant: { issuer: '<origin>/tenant-a', subject: 'alice' } },
  },
  {
    name: 'RFC 8414 §3: discovery given as a document URL',
    stack: (f) => discoveryStack(f, `${f.tls.origin}/custom`, `${f.tls.origin}/custom/metadata.json`),
    form: (f) => grantForm(f, `${f.tls.origin}/custom`),
    expect: { status: 200, grant: { issuer: '<origin>/custom', subject: 'alice' } },
  },
  {
    name: 'RFC 8414 §3.3: a document whose issuer is not the trusted issuer is refused: 503, never success',
    stack: (f) => discoveryStack(f, `${f.tls.origin}/tenant-b`),
    form: (f) => grantForm(f, `${f.tls.origin}/tenant-b`),
    expect: unavailable(),
  },
  {
    name: "RFC 8414 §3.2: a discovery endpoint answering 500 is the server's fault: 503 with Retry-After",
    stack: (f) => discoveryStack(f, `${f.tls.origin}/tenant-c`),
    form: (f) => grantForm(f, `${f.tls.origin}/tenant-c`),
    expect: unavailable(),
  },
  {
    name: 'RFC 8414 §2 (jwks_uri) + RFC 8725 §3.1: a jwks_uri that is http to a non-loopback host is refused: 503',
    stack: (f) => discoveryStack(f, `${f.tls.origin}/tenant-d`),
    form: (f) => grantForm(f, `${f.tls.origin}/tenant-d`),
    expect: unavailable(),
  },
  {
    name: 'RFC 8414 §3.2: a discovery answer that is not JSON is refused: 503',
    stack: (f) => discoveryStack(f, `${f.tls.origin}/tenant-e`),
    form: (f) => grantForm(f, `${f.tls.origin}/tenant-e`),
    expect: unavailable(),
  },
  {
    name: 'RFC 8414 §3.2: a redirect from the discovery endpoint is not followed: 503',
    stack: (f) => discoveryStack(f, `${f.tls.origin}/tenant-f`),
    form: (f) => grantForm(f, `${f.tls.origin}/tenant-f`),
    expect: unavailable(),
  },
  {
    name: "RFC 7523 §3 item 9: a discovered issuer's assertion signed by another key is invalid_grant",
    stack: (f) => discoveryStack(f, f.tls.origin),
    form: (f) => grantForm(f, f.tls.origin, f.keys.k8s.privateKey),
    expect: fails(400, 'invalid_grant', 'ERR_SIGNATURE_INVALID'),
  },
];

// ---------------------------------------------------------------------------------------------
// Client ID metadata documents
// ---------------------------------------------------------------------------------------------

function cimdStack(f: KeysFixtures, extra: Record<string, unknown> = {}, client: Partial<ClientMiddlewareOptions> = {}): StackSpec {
  return {
    client: {
      issuer: AS,
      clients: [{ clientId: 'registered', publicKey: f.keys.other.publicKey }],
      clientIdMetadataDocuments: f.cimd(extra) as never,
      ...client,
    },
  };
}
const cimd: KeysCase[] = [
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4 + §8: a document URL client authenticates with private_key_jwt (jwks_uri over TLS)',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    expect: reached('<client>/app.json', 'private_key_jwt', 'ES256'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4.1: keys inline in the document (jwks)',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/inline.json`)),
    expect: reached('<client>/inline.json', 'private_key_jwt', 'ES256'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4.1: a document whose client_id is not its URL is invalid_client',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/wrong-id.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4.1: a document with a client_secret is refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/secret.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4.1: a shared-secret token_endpoint_auth_method is refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/basic.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: 'RFC 7591 §2: no token_endpoint_auth_method means client_secret_basic, which a document may not use',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/no-method.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: 'RFC 7591 §2: jwks_uri and jwks together are refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/both.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §8: private_key_jwt needs keys; a document without any is refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/no-keys.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: "draft-ietf-oauth-client-id-metadata-document-03 §4: a non-200 answer is an error, and the client's: invalid_client, never 503",
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/gone.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_UNAVAILABLE'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4: redirects are not followed',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/redirect.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_UNAVAILABLE'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §7.5: a document over the size cap (5 KB) is refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/big.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_UNAVAILABLE'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4.1: a document served as text/html is not JSON: refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/html.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_UNAVAILABLE'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §3: a client_id URL without a path is not a document URL',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/`)),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §3: a client_id URL with a dot segment is not fetched',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/x/../app.json`)),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §3: a client_id URL with a fragment is not fetched',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json#x`)),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §7.4: a host resolving to 10.0.0.1 is refused before any connection',
    stack: (f) => cimdStack(f, { lookup: resolveTo('10.0.0.1'), allowPrivateNetwork: false }),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_URL_REFUSED'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §7.4: a host resolving to 169.254.169.254 (cloud metadata) is refused',
    stack: (f) => cimdStack(f, { lookup: resolveTo('169.254.169.254'), allowPrivateNetwork: false }),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_URL_REFUSED'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §7.4: a host resolving to 127.0.0.1 is refused without allowPrivateNetwork',
    stack: (f) => cimdStack(f, { allowPrivateNetwork: false }),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_URL_REFUSED'),
  },
  {
    name: "DESIGN §9 whose fault: a document's jwks_uri answering 500 is invalid_client, never 503",
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/keys-500.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_UNAVAILABLE'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §7.4: a jwks_uri that is http to another host is refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/keys-http.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: "RFC 7517 §4 + RFC 7591 §2: a private key in the document's jwks is refused",
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/private-jwk.json`)),
    expect: clientFails('ERR_CLIENT_METADATA_INVALID'),
  },
  {
    name: 'OpenID Connect Registration §2: token_endpoint_auth_signing_alg RS256 refuses an ES256 assertion',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/rs256-only.json`)),
    expect: clientFails('ERR_ALGORITHM_NOT_ALLOWED'),
  },
  {
    name: 'RFC 7523 §3 item 9: an assertion of a document client signed by a key not in its key set is refused',
    stack: (f) => cimdStack(f),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`, { key: f.keys.other.privateKey })),
    expect: clientFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: "draft-ietf-oauth-client-id-metadata-document-03 §7.7: the operator's allow() predicate refuses a URL: unknown client",
    stack: (f) => cimdStack(f, { allow: (url: string) => !url.endsWith('/app.json') }),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §4: without clientIdMetadataDocuments a URL client_id stays unknown',
    stack: (f) => ({ client: { issuer: AS, clients: [{ clientId: 'registered', publicKey: f.keys.other.publicKey }] } }),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §7.9: a pre-registered document URL uses its registration, not the document',
    stack: (f) => cimdStack(f, {}, { clients: [{ clientId: `${f.clientOrigin}/app.json`, publicKey: f.keys.other.publicKey }] }),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    expect: clientFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: 'RFC 7523 §3 item 7: an assertion of a document client is single use',
    stack: (f) => cimdStack(f, {}, { replayStore: new MemoryReplayStore() }),
    form: (f) => assertionForm(f.clientJwt(`${f.clientOrigin}/app.json`)),
    before: reached('<client>/app.json', 'private_key_jwt', 'ES256'),
    expect: clientFails('ERR_ASSERTION_REPLAYED'),
  },
  {
    name: 'draft-ietf-oauth-client-id-metadata-document-03 §7.4: allowPrivateNetwork permits a document on http to 127.0.0.1 (tests)',
    stack: (f) => ({
      client: {
        issuer: AS,
        clients: [{ clientId: 'registered', publicKey: f.keys.other.publicKey }],
        clientIdMetadataDocuments: { allowPrivateNetwork: true },
      },
    }),
    form: (f) => assertionForm(f.clientJwt(`${f.httpOrigin}/app.json`)),
    expect: reached('<http>/app.json', 'private_key_jwt', 'ES256'),
  },
];

// ---------------------------------------------------------------------------------------------
// Federated client authentication
// ---------------------------------------------------------------------------------------------

function federationStack(f: KeysFixtures, extra: Partial<ClientMiddlewareOptions> = {}): StackSpec {
  return {
    client: {
      issuer: AS,
      jwksOptions: { requestAgent: f.tls.agent },
      federation: [
        { issuer: K8S_ISSUER, jwks: { keys: [{ ...f.keys.k8s.jwk, kid: 'k8s-1' }] } },
        { issuer: GITHUB_ISSUER, discovery: `${f.tls.origin}/github/.well-known/openid-configuration` },
        { issuer: AKS_ISSUER, publicKey: f.keys.aks.publicKey, audience: ENTRA_AUDIENCE, maxLifetime: 3600, allowReuse: true },
      ],
      clients: [
        { clientId: 'billing', federatedCredentials: [{ issuer: K8S_ISSUER, subject: 'system:serviceaccount:prod:billing', claims: {} }] },
        {
          clientId: 'deployer',
          federatedCredentials: [{ issuer: GITHUB_ISSUER, subjectPattern: 'repo:acme/deploy:ref:refs/heads/*', claims: { repository_owner_id: '123' } }],
        },
        { clientId: 'deployer-immutable', federatedCredentials: [{ issuer: GITHUB_ISSUER, subjectPattern: 'repo:acme@123/deploy@456:environment:*' }] },
        { clientId: 'qmark', federatedCredentials: [{ issuer: GITHUB_ISSUER, subjectPattern: 'repo:acme/deploy:ref:refs/heads/ma?n' }] },
        { clientId: 'payments', federatedCredentials: [{ issuer: AKS_ISSUER, subject: 'system:serviceaccount:payments:api' }] },
      ],
      ...extra,
    },
  };
}

const federation: KeysCase[] = [
  {
    name: 'RFC 7521 §4.2 + DESIGN §11: a Kubernetes projected service-account token (aud list) authenticates its client',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken(), { client_id: 'billing' }),
    expect: reached('billing', 'federated_jwt', 'RS256'),
  },
  {
    name: 'RFC 7521 §4.2: a GitHub Actions token (repo:org/repo:ref:… subject, glob) via discovery authenticates its client',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.githubToken('repo:acme/deploy:ref:refs/heads/main'), { client_id: 'deployer' }),
    expect: reached('deployer', 'federated_jwt', 'RS256'),
  },
  {
    name: 'RFC 7521 §4.2: a GitHub Actions token in the immutable repo:org@id/repo@id:… subject format matches literally',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.githubToken('repo:acme@123/deploy@456:environment:production'), { client_id: 'deployer-immutable' }),
    expect: reached('deployer-immutable', 'federated_jwt', 'RS256'),
  },
  {
    name: 'RFC 7523 §3 item 3: an Entra-style api://AzureADTokenExchange audience is accepted where configured',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.aksToken(), { client_id: 'payments' }),
    expect: reached('payments', 'federated_jwt', 'RS256'),
  },
  {
    name: "RFC 7523 §3 item 3: with audience api://AzureADTokenExchange, a token for this server's issuer is refused",
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.aksToken({ aud: [AS] }), { client_id: 'payments' }),
    expect: clientFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'RFC 10070 §3: a federated token whose aud also names another server is refused',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken({ aud: [AS, 'https://other.example'] }), { client_id: 'billing' }),
    expect: clientFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'RFC 7521 §4.2: a federated token without a client_id parameter is invalid_request',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken()),
    expect: fails(400, 'invalid_request', 'ERR_CLIENT_ID_REQUIRED'),
  },
  {
    name: 'RFC 7521 §4.2: a federated token for a client with no matching subject is invalid_client',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken({ sub: 'system:serviceaccount:prod:intruder' }), { client_id: 'billing' }),
    expect: clientFails('ERR_FEDERATED_CREDENTIAL_MISMATCH'),
  },
  {
    name: 'RFC 7521 §4.2: a claim condition (repository_owner_id) must hold exactly',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.githubToken('repo:acme/deploy:ref:refs/heads/main', { claims: { repository_owner_id: '999' } }), { client_id: 'deployer' }),
    expect: clientFails('ERR_FEDERATED_CREDENTIAL_MISMATCH'),
  },
  {
    name: 'RFC 7521 §4.2: in a subject glob only * is special; "?" matches only itself',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.githubToken('repo:acme/deploy:ref:refs/heads/main'), { client_id: 'qmark' }),
    expect: clientFails('ERR_FEDERATED_CREDENTIAL_MISMATCH'),
  },
  {
    name: "RFC 7521 §4.2: a federated token naming another platform's client does not authenticate it",
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken(), { client_id: 'deployer' }),
    expect: clientFails('ERR_FEDERATED_CREDENTIAL_MISMATCH'),
  },
  {
    name: 'RFC 7521 §4.2: a federated token for an unknown client_id is invalid_client',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken(), { client_id: 'nobody' }),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'RFC 7523 §3 item 9: a token signed by a key the platform does not publish is refused',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken({ key: f.keys.github.privateKey }), { client_id: 'billing' }),
    expect: clientFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: 'RFC 7523 §3 item 7: a federated token is single use unless the federation allows reuse',
    stack: (f) => federationStack(f, { replayStore: new MemoryReplayStore() }),
    form: (f) => assertionForm(f.k8sToken(), { client_id: 'billing' }),
    before: reached('billing', 'federated_jwt', 'RS256'),
    expect: clientFails('ERR_ASSERTION_REPLAYED'),
  },
  {
    name: "DESIGN §8 allowReuse: a federation with allowReuse accepts the kubelet's re-sent token",
    stack: (f) => federationStack(f, { replayStore: new MemoryReplayStore() }),
    form: (f) => assertionForm(f.aksToken(), { client_id: 'payments' }),
    before: reached('payments', 'federated_jwt', 'RS256'),
    expect: reached('payments', 'federated_jwt', 'RS256'),
  },
  {
    name: 'RFC 7523 §3 item 7: a federated token without jti is refused where reuse is not allowed',
    stack: (f) => federationStack(f),
    form: (f) => assertionForm(f.k8sToken({ jti: null }), { client_id: 'billing' }),
    expect: clientFails('ERR_JTI_MISSING'),
  },
  {
    name: 'RFC 7523 §3 item 4: a Kubernetes token older than maxLifetime (default 300 s) is refused',
    stack: (f) => federationStack(f),
    form: (f) =>
      assertionForm(
        createAssertion({
          issuer: K8S_ISSUER,
          subject: 'system:serviceaccount:prod:billing',
          audience: [AS],
          key: f.keys.k8s.privateKey,
          keyId: 'k8s-1',
          issuedAt: Math.floor(Date.now() / 1000) - 1200,
          expiresIn: 3600,
        }),
        { client_id: 'billing' },
      ),
    expect: clientFails('ERR_ASSERTION_LIFETIME_EXCEEDED'),
  },
];

// ---------------------------------------------------------------------------------------------
// SPIFFE JWT-SVIDs
// ---------------------------------------------------------------------------------------------

function spiffeStack(f: KeysFixtures, domain: Record<string, unknown> = {}, extra: Partial<ClientMiddlewareOptions> = {}): StackSpec {
  return {
    client: {
      issuer: AS,
      jwksOptions: { requestAgent: f.tls.agent },
      spiffe: { trustDomains: [{ trustDomain: TRUST_DOMAIN, bundleEndpoint: `${f.tls.origin}/bundle`, ...domain } as never] },
      clients: [
        { clientId: 'worker', spiffeId: WORKLOAD },
        { clientId: 'other-worker', spiffeId: `spiffe://${TRUST_DOMAIN}/ns/other/sa/worker` },
      ],
      ...extra,
    },
  };
}

const spiffe: KeysCase[] = [
  {
    name: 'draft-ietf-oauth-spiffe-client-auth-02 §4: a JWT-SVID with keys from the bundle endpoint (no jti) authenticates its client',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid()),
    expect: reached('worker', 'spiffe_jwt', 'ES256'),
  },
  {
    name: 'draft-ietf-oauth-spiffe-client-auth-02 §4: an inline bundle (use "jwt-svid" keys) works the same',
    stack: (f) => spiffeStack(f, { bundleEndpoint: undefined, jwks: { keys: [{ ...f.keys.svid.jwk, kid: 'svid-1', use: 'jwt-svid' }], spiffe_sequence: 1 } }),
    form: (f) => svidForm(f.svid()),
    expect: reached('worker', 'spiffe_jwt', 'ES256'),
  },
  {
    name: "draft-ietf-oauth-spiffe-client-auth-02 §4: a client_id parameter naming the SVID's client is accepted",
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid(), { client_id: 'worker' }),
    expect: reached('worker', 'spiffe_jwt', 'ES256'),
  },
  {
    name: 'draft-ietf-oauth-spiffe-client-auth-02 §4: a client_id parameter naming another client is refused',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid(), { client_id: 'other-worker' }),
    expect: fails(400, 'invalid_request', 'ERR_CLIENT_ID_MISMATCH'),
  },
  {
    name: 'SPIFFE JWT-SVID §7.1: a JWT-SVID with a jti is single use',
    stack: (f) => spiffeStack(f, {}, { replayStore: new MemoryReplayStore() }),
    form: (f) => svidForm(f.svid({ jti: randomUUID() })),
    before: reached('worker', 'spiffe_jwt', 'ES256'),
    expect: clientFails('ERR_ASSERTION_REPLAYED'),
  },
  {
    name: 'SPIFFE Trust Domain and Bundle §4.1: an X.509-SVID authority (use "x509-svid") does not verify JWT-SVIDs',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid({ kid: 'x509-1', key: f.keys.x509.privateKey })),
    expect: clientFails('ERR_KEY_NOT_FOUND'),
  },
  {
    name: 'draft-ietf-oauth-spiffe-client-auth-02 §4: a trust domain that is not configured is invalid_client',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid({ sub: 'spiffe://evil.example.org/ns/billing/sa/worker' })),
    expect: clientFails('ERR_SPIFFE_TRUST_DOMAIN_UNKNOWN'),
  },
  {
    name: 'SPIFFE ID standard §2: a subject that is not a SPIFFE ID is refused',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid({ sub: `spiffe://${TRUST_DOMAIN}/ns/../admin` })),
    expect: clientFails('ERR_SPIFFE_ID_INVALID'),
  },
  {
    name: 'draft-ietf-oauth-spiffe-client-auth-02 §4: a SPIFFE ID no client is registered with is invalid_client',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid({ sub: `spiffe://${TRUST_DOMAIN}/ns/billing/sa/stranger` })),
    expect: clientFails('ERR_CLIENT_UNKNOWN'),
  },
  {
    name: 'SPIFFE JWT-SVID §3.2 + RFC 10070: a JWT-SVID for another audience is refused',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid({ aud: ['https://other.example'] })),
    expect: clientFails('ERR_AUDIENCE_INVALID'),
  },
  {
    name: 'draft-ietf-oauth-spiffe-client-auth-02 §4: keys come only from the bundle, never from the token',
    stack: (f) => spiffeStack(f),
    form: (f) => svidForm(f.svid({ key: f.keys.other.privateKey })),
    expect: clientFails('ERR_SIGNATURE_INVALID'),
  },
  {
    name: 'DESIGN §9: a bundle endpoint the operator configured that fails is 503, never invalid_client',
    stack: (f) => spiffeStack(f, { bundleEndpoint: `${f.tls.origin}/bundle-500` }),
    form: (f) => svidForm(f.svid()),
    expect: unavailable(),
  },
  {
    name: 'RFC 7521 §4.2: without the spiffe option the jwt-spiffe assertion type is not supported',
    stack: (f) => ({ client: { issuer: AS, clients: [{ clientId: 'worker', publicKey: f.keys.svid.publicKey }] } }),
    form: (f) => svidForm(f.svid()),
    expect: clientFails('ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED'),
  },
];

export const KEYS_CASES: KeysCase[] = [...discovery, ...cimd, ...federation, ...spiffe];
