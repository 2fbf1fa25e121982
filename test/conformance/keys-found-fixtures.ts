/**
 * What the keys-found conformance table (keys-found-cases.ts) is built from: one HTTPS server on
 * 127.0.0.1 (a certificate made for the run, trusted through an https.Agent) serving discovery
 * documents, client ID metadata documents, key sets and SPIFFE bundles; one plain-HTTP server for
 * the `allowPrivateNetwork` http path; and the keys of the platforms whose tokens the cases mint.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAssertion } from 'jwt-bearer-core';
import { json, resolveTo, startTlsServer, type TlsFixture } from '../support/tls-server';
import { pair, signRaw, type KeyPair } from './fixtures';

export type Pair = KeyPair;

/** This authorization server. */
export const AS = 'https://as.example.com';
/** A Kubernetes cluster's service-account issuer (EKS-style). */
export const K8S_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/5C2B4F0E1D';
/** GitHub Actions' OIDC issuer. */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** An AKS cluster whose tokens carry Entra's federated-credential audience. */
export const AKS_ISSUER = 'https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/0f1e2d3c/';
export const ENTRA_AUDIENCE = 'api://AzureADTokenExchange';
export const TRUST_DOMAIN = 'prod.example.org';
export const WORKLOAD = `spiffe://${TRUST_DOMAIN}/ns/billing/sa/worker`;

export interface KeysFixtures {
  tls: TlsFixture;
  /** Base of the client ID metadata documents: `https://client.example:PORT`. */
  clientOrigin: string;
  /** A plain-HTTP server on 127.0.0.1 for the `allowPrivateNetwork` http path. */
  httpOrigin: string;
  keys: { client: Pair; other: Pair; issuer: Pair; k8s: Pair; github: Pair; aks: Pair; svid: Pair; x509: Pair };
  /** Options every metadata-document case shares: resolve client.example to the test server, trust its certificate. */
  cimd(extra?: Record<string, unknown>): Record<string, unknown>;
  k8sToken(o?: { aud?: string[]; sub?: string; jti?: string | null; key?: KeyObject }): string;
  githubToken(sub: string, o?: { aud?: string; claims?: Record<string, unknown> }): string;
  aksToken(o?: { aud?: string[] }): string;
  svid(o?: { sub?: string; aud?: string[]; jti?: string; kid?: string; key?: KeyObject }): string;
  clientJwt(clientId: string, o?: { key?: KeyObject; kid?: string; alg?: 'ES256' }): string;
  close(): Promise<void>;
}

const now = () => Math.floor(Date.now() / 1000);

export async function createKeysFixtures(): Promise<KeysFixtures> {
  const keys = {
    client: pair('ec'),
    other: pair('ec'),
    issuer: pair('rsa'),
    k8s: pair('rsa'),
    github: pair('rsa'),
    aks: pair('rsa'),
    svid: pair('ec'),
    x509: pair('ec'),
  };
  const tls = await startTlsServer();
  const clientOrigin = `https://client.example:${tls.port}`;
  const o = tls.origin;
  const r = tls.routes;

  // Discovery: an issuer at the root (OpenID Connect Discovery), one with a path served only at
  // RFC 8414's inserted location, and broken variants.
  const issuerJwks = { keys: [{ ...keys.issuer.jwk, kid: 'iss-1', use: 'sig', alg: 'RS256' }] };
  r.set('/issuer/jwks', json(issuerJwks));
  r.set('/.well-known/openid-configuration', json({ issuer: o, jwks_uri: `${o}/issuer/jwks`, token_endpoint: `${o}/token` }));
  r.set('/.well-known/oauth-authorization-server/tenant-a', json({ issuer: `${o}/tenant-a`, jwks_uri: `${o}/issuer/jwks` }));
  r.set('/tenant-b/.well-known/openid-configuration', json({ issuer: 'https://evil.example/tenant-b', jwks_uri: `${o}/issuer/jwks` }));
  r.set('/tenant-c/.well-known/openid-configuration', json({ error: 'boom' }, {}, 500));
  r.set('/tenant-d/.well-known/openid-configuration', json({ issuer: `${o}/tenant-d`, jwks_uri: 'http://keys.example/jwks' }));
  r.set('/tenant-e/.well-known/openid-configuration', (_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));
  r.set('/tenant-f/.well-known/openid-configuration', (_q, res) => res.writeHead(302, { location: `${o}/.well-known/openid-configuration` }).end());
  r.set('/custom/metadata.json', json({ issuer: `${o}/custom`, jwks_uri: `${o}/issuer/jwks` }));
  // GitHub Actions' discovery, served here under its own path.
  r.set('/github/.well-known/openid-configuration', json({ issuer: GITHUB_ISSUER, jwks_uri: `${o}/github/jwks` }));
  r.set('/github/jwks', json({ keys: [{ ...keys.github.jwk, kid: 'gh-1', use: 'sig', alg: 'RS256' }] }));

  // Client ID metadata documents.
  const doc = (path: string, extra: Record<string, unknown> = {}) => ({
    client_id: `${clientOrigin}${path}`,
    client_name: 'Example MCP client',
    redirect_uris: [`${clientOrigin}/callback`],
    token_endpoint_auth_method: 'private_key_jwt',
    jwks_uri: `${clientOrigin}/jwks.json`,
    ...extra,
  });
  r.set('/jwks.json', json({ keys: [{ ...keys.client.jwk, kid: 'c-1', use: 'sig', alg: 'ES256' }] }));
  r.set('/jwks-500.json', json({ error: 'down' }, {}, 500));
  r.set('/app.json', json(doc('/app.json'), { 'cache-control': 'max-age=600' }));
  r.set('/inline.json', json(doc('/inline.json', { jwks_uri: undefined, jwks: { keys: [{ ...keys.client.jwk, kid: 'c-1' }] } })));
  r.set('/wrong-id.json', json(doc('/app.json')));
  r.set('/secret.json', json(doc('/secret.json', { client_secret: 'shh' })));
  r.set('/basic.json', json(doc('/basic.json', { token_endpoint_auth_method: 'client_secret_basic' })));
  r.set('/no-method.json', json(doc('/no-method.json', { token_endpoint_auth_method: undefined })));
  r.set('/both.json', json(doc('/both.json', { jwks: { keys: [keys.client.jwk] } })));
  r.set('/no-keys.json', json(doc('/no-keys.json', { jwks_uri: undefined })));
  r.set('/html.json', (_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(JSON.stringify(doc('/html.json'))));
  r.set('/redirect.json', (_q, res) => res.writeHead(302, { location: `${clientOrigin}/app.json` }).end());
  r.set('/big.json', json({ ...doc('/big.json'), padding: 'x'.repeat(8000) }));
  r.set('/keys-500.json', json(doc('/keys-500.json', { jwks_uri: `${clientOrigin}/jwks-500.json` })));
  r.set('/keys-http.json', json(doc('/keys-http.json', { jwks_uri: 'http://keys.example/jwks.json' })));
  r.set('/private-jwk.json', json(doc('/private-jwk.json', { jwks_uri: undefined, jwks: { keys: [keys.client.privateKey.export({ format: 'jwk' })] } })));
  r.set('/rs256-only.json', json(doc('/rs256-only.json', { token_endpoint_auth_signing_alg: 'RS256' })));
  r.set('/gone.json', json({ error: 'gone' }, {}, 404));

  // SPIFFE bundle (https_web profile): the JWT-SVID key, an X.509 authority, SPIFFE members.
  r.set(
    '/bundle',
    json({
      keys: [
        { ...keys.svid.jwk, kid: 'svid-1', use: 'jwt-svid' },
        { ...keys.x509.jwk, kid: 'x509-1', use: 'x509-svid' },
      ],
      spiffe_sequence: 12,
      spiffe_refresh_hint: 300,
    }),
  );
  r.set('/bundle-500', json({ error: 'down' }, {}, 500));

  // The allowPrivateNetwork http path: a document and key set on plain HTTP to 127.0.0.1.
  let httpOrigin = '';
  const httpServer: Server = createServer((req, res) => {
    if (req.url === '/app.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          client_id: `${httpOrigin}/app.json`,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks_uri: `${httpOrigin}/jwks.json`,
        }),
      );
    } else if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [{ ...keys.client.jwk, kid: 'c-1' }] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
  httpOrigin = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;

  return {
    tls,
    clientOrigin,
    httpOrigin,
    keys,
    cimd: (extra = {}) => ({ lookup: resolveTo('127.0.0.1'), allowPrivateNetwork: true, requestAgent: tls.agent, ...extra }),
    k8sToken: (x = {}) =>
      createAssertion({
        issuer: K8S_ISSUER,
        subject: x.sub ?? 'system:serviceaccount:prod:billing',
        audience: x.aud ?? [AS],
        key: x.key ?? keys.k8s.privateKey,
        keyId: 'k8s-1',
        expiresIn: 3600,
        notBefore: now(),
        jwtId: x.jti === undefined ? randomUUID() : x.jti,
        claims: {
          'kubernetes.io': {
            namespace: 'prod',
            node: { name: 'ip-10-0-1-17.eu-west-1.compute.internal', uid: '4f7c6f5e-0f0e-4d4b-9d43-2f2a6b1c1a10' },
            pod: { name: 'billing-7c9d8f6b5-x2k4q', uid: 'a2b1c3d4-1111-2222-3333-444455556666' },
            serviceaccount: { name: 'billing', uid: '9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff' },
            warnafter: now() + 3000,
          },
        },
      }),
    githubToken: (sub, x = {}) =>
      createAssertion({
        issuer: GITHUB_ISSUER,
        subject: sub,
        audience: x.aud ?? AS,
        key: keys.github.privateKey,
        keyId: 'gh-1',
        expiresIn: 300,
        notBefore: now(),
        header: { x5t: 'cc413527-173f-5a05-976e-9c52b1d7b431' },
        claims: {
          ref: 'refs/heads/main',
          sha: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4',
          repository: 'acme/deploy',
          repository_owner: 'acme',
          repository_owner_id: '123',
          repository_id: '456',
          repository_visibility: 'private',
          run_id: '9123456789',
          run_number: '42',
          run_attempt: '1',
          actor: 'octocat',
          actor_id: '583231',
          workflow: 'release',
          event_name: 'push',
          ref_type: 'branch',
          ref_protected: 'true',
          head_ref: '',
          base_ref: '',
          job_workflow_ref: 'acme/deploy/.github/workflows/release.yml@refs/heads/main',
          workflow_ref: 'acme/deploy/.github/workflows/release.yml@refs/heads/main',
          runner_environment: 'github-hosted',
          ...x.claims,
        },
      }),
    aksToken: (x = {}) =>
      createAssertion({
        issuer: AKS_ISSUER,
        subject: 'system:serviceaccount:payments:api',
        audience: x.aud ?? [ENTRA_AUDIENCE],
        key: keys.aks.privateKey,
        keyId: 'aks-1',
        expiresIn: 3600,
        claims: { 'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api', uid: '0a1b2c3d-0000-1111-2222-333344445555' } } },
      }),
    svid: (x = {}) =>
      signRaw(
        { alg: 'ES256', kid: x.kid ?? 'svid-1', typ: 'JWT' },
        { sub: x.sub ?? WORKLOAD, aud: x.aud ?? [AS], exp: now() + 300, iat: now(), ...(x.jti ? { jti: x.jti } : {}) },
        x.key ?? keys.svid.privateKey,
      ),
    clientJwt: (clientId, x = {}) =>
      createAssertion({ issuer: clientId, subject: clientId, audience: AS, key: x.key ?? keys.client.privateKey, keyId: x.kid ?? 'c-1', algorithm: 'ES256' }),
    close: async () => {
      await tls.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
