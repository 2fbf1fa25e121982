/**
 * Discovery, federation and SPIFFE at the core's interface: how discovery URLs are built (OpenID
 * Connect Discovery §4, RFC 8414 §3.1), that discovery is cached, single-flight and refreshed on
 * an unknown kid only once per cooldown, the subject glob, and the options' TypeErrors.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  createAssertion,
  createClientAuthenticator,
  createGrantVerifier,
  JWT_BEARER_GRANT_TYPE,
  type ClientAuthenticatorOptions,
  type GrantVerifierOptions,
} from 'jwt-bearer-core';
import { discoveryUrls } from '../../packages/jwt-bearer-core/src/trust/discovery';
import { globMatch } from '../../packages/jwt-bearer-core/src/trust/federation';
import { parseSpiffeId } from '../../packages/jwt-bearer-core/src/trust/spiffe';
import { json, startTlsServer, type TlsFixture } from '../support/tls-server';
import { faultLinesOnly } from '../support/fault-log';

// Some tests answer 5xx without an onError hook: the core's line on console.error is expected.
faultLinesOnly();

const AS = 'https://as.example.com';
const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });

let tls: TlsFixture;
let keySet: { keys: unknown[] };

beforeAll(async () => {
  tls = await startTlsServer();
  keySet = { keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }] };
  tls.routes.set('/idp/.well-known/openid-configuration', (req, res) => json({ issuer: `${tls.origin}/idp`, jwks_uri: `${tls.origin}/idp/jwks` })(req, res));
  tls.routes.set('/idp/jwks', (req, res) => json(keySet)(req, res));
});

afterAll(async () => {
  await tls.close();
});

describe('discovery URLs (OpenID Connect Discovery 1.0 §4, RFC 8414 §3.1)', () => {
  test.each([
    ['https://idp.example', ['https://idp.example/.well-known/openid-configuration', 'https://idp.example/.well-known/oauth-authorization-server']],
    ['https://idp.example/', ['https://idp.example/.well-known/openid-configuration', 'https://idp.example/.well-known/oauth-authorization-server']],
    [
      'https://idp.example/tenant/a',
      ['https://idp.example/tenant/a/.well-known/openid-configuration', 'https://idp.example/.well-known/oauth-authorization-server/tenant/a'],
    ],
    [
      'https://idp.example/tenant/',
      ['https://idp.example/tenant/.well-known/openid-configuration', 'https://idp.example/.well-known/oauth-authorization-server/tenant'],
    ],
    [
      'http://localhost:8080/realms/x',
      ['http://localhost:8080/realms/x/.well-known/openid-configuration', 'http://localhost:8080/.well-known/oauth-authorization-server/realms/x'],
    ],
  ])('%s', (issuer, urls) => {
    expect(discoveryUrls(true, issuer, 'issuers[0].discovery')).toEqual(urls);
  });

  test('a document URL is used as given; the URL rule applies to it and to the issuer', () => {
    expect(discoveryUrls('https://idp.example/meta.json', 'x', 'o')).toEqual(['https://idp.example/meta.json']);
    expect(() => discoveryUrls('http://idp.example/meta.json', 'x', 'issuers[0].discovery')).toThrow(/"issuers\[0\]\.discovery" must be an https: URL/);
    expect(() => discoveryUrls(true, 'http://idp.example', 'issuers[0].discovery')).toThrow(/issuers\[0\]\.discovery/);
    expect(() => discoveryUrls(true, 'https://idp.example/?tenant=a', 'issuers[0].discovery')).toThrow(/query or fragment/);
  });
});

describe('discovery as a key source', () => {
  let clock = Date.now();
  const grantOptions = (): GrantVerifierOptions => ({
    issuer: AS,
    issuers: [{ issuer: `${tls.origin}/idp`, discovery: true }],
    jwksOptions: { requestAgent: tls.agent, cooldown: 30 },
    now: () => clock,
  });
  const grant = (kid: string, signer = key.privateKey) => ({
    headers: {},
    body: {
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: createAssertion({ issuer: `${tls.origin}/idp`, subject: 'alice', audience: AS, key: signer, keyId: kid, jwtId: null }),
    },
  });

  test('50 concurrent first grants make one document fetch and one key-set fetch', async () => {
    const docs = tls.hits['/idp/.well-known/openid-configuration'] ?? 0;
    const sets = tls.hits['/idp/jwks'] ?? 0;
    const verifier = createGrantVerifier(grantOptions());
    const principals = await Promise.all(Array.from({ length: 50 }, () => verifier.verify(grant('k1'))));
    expect(principals.map((p) => p.subject)).toEqual(Array(50).fill('alice'));
    expect((tls.hits['/idp/.well-known/openid-configuration'] ?? 0) - docs).toBe(1);
    expect((tls.hits['/idp/jwks'] ?? 0) - sets).toBe(1);
  });

  test('an unknown kid refreshes the document and the key set at most once per cooldown, and finds a rotated key', async () => {
    const verifier = createGrantVerifier(grantOptions());
    await verifier.verify(grant('k1'));
    const docs = () => tls.hits['/idp/.well-known/openid-configuration'] ?? 0;
    const before = docs();
    clock += 31_000;
    await expect(verifier.verify(grant('nope'))).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND', status: 400 });
    expect(docs() - before).toBe(1);
    // Inside the cooldown: refused at once, no fetch.
    await expect(verifier.verify(grant('nope-2'))).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    expect(docs() - before).toBe(1);
    // The issuer rotates; after the cooldown the new key is found.
    keySet = { keys: [...keySet.keys, { ...rotated.publicKey.export({ format: 'jwk' }), kid: 'k2', use: 'sig' }] };
    clock += 31_000;
    await expect(verifier.verify(grant('k2', rotated.privateKey))).resolves.toMatchObject({ subject: 'alice' });
  });

  test('a federation issuer may use discovery too, and a failing document is a 503', async () => {
    const auth = createClientAuthenticator({
      issuer: AS,
      jwksOptions: { requestAgent: tls.agent },
      federation: [{ issuer: `${tls.origin}/missing`, discovery: true }],
      clients: [{ clientId: 'w', federatedCredentials: [{ issuer: `${tls.origin}/missing`, subject: 'wl' }] }],
    });
    const assertion = createAssertion({ issuer: `${tls.origin}/missing`, subject: 'wl', audience: AS, key: key.privateKey, keyId: 'k1' });
    await expect(
      auth.authenticate({
        headers: {},
        body: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion, client_id: 'w' },
      }),
    ).rejects.toMatchObject({
      status: 503,
      code: 'ERR_KEY_SOURCE_UNAVAILABLE',
    });
  });
});

describe('subject globs: * matches any run, everything else only itself', () => {
  test.each([
    ['repo:acme/deploy:ref:refs/heads/*', 'repo:acme/deploy:ref:refs/heads/main', true],
    ['repo:acme/deploy:ref:refs/heads/*', 'repo:acme/deploy:ref:refs/heads/feature/x', true],
    ['repo:acme/deploy:ref:refs/heads/*', 'repo:acme/deploy:environment:prod', false],
    ['repo:acme@123/deploy@456:*', 'repo:acme@123/deploy@456:ref:refs/tags/v1', true],
    ['repo:acme@123/deploy@456:*', 'repo:acme@124/deploy@456:ref:refs/tags/v1', false],
    ['repo:acme/*:environment:prod', 'repo:acme/x:y:environment:prod', true],
    ['repo:acme/deploy:ref:refs/heads/ma?n', 'repo:acme/deploy:ref:refs/heads/main', false],
    ['repo:acme/deploy:ref:refs/heads/ma?n', 'repo:acme/deploy:ref:refs/heads/ma?n', true],
    ['system:serviceaccount:prod:[ab]*', 'system:serviceaccount:prod:a1', false],
    ['system:serviceaccount:prod:.*', 'system:serviceaccount:prod:x', false],
    ['*:prod:*', 'system:serviceaccount:prod:api', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
  ])('%s ~ %s → %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  test('a hostile pattern and subject are matched in bounded time (no backtracking explosion)', () => {
    const text = 'a'.repeat(5000);
    expect(globMatch('*a*a*a*a*a*a*a*a*b', text)).toBe(false);
  });
});

describe('SPIFFE IDs (SPIFFE ID standard §2)', () => {
  test.each([
    ['spiffe://prod.example.org/ns/billing/sa/worker', { trustDomain: 'prod.example.org', path: '/ns/billing/sa/worker' }],
    ['spiffe://prod.example.org', { trustDomain: 'prod.example.org', path: '' }],
    ['spiffe://Prod.example.org/x', undefined],
    ['spiffe://prod.example.org/x/', undefined],
    ['spiffe://prod.example.org/x//y', undefined],
    ['spiffe://prod.example.org/./y', undefined],
    ['spiffe://prod.example.org:443/y', undefined],
    ['spiffe://user@prod.example.org/y', undefined],
    ['https://prod.example.org/y', undefined],
    ['spiffe://prod.example.org/y?q=1', undefined],
  ])('%s', (id, parsed) => {
    expect(parseSpiffeId(id)).toEqual(parsed);
  });
});

describe('options are validated when the factory is called', () => {
  const base = { issuer: AS, clients: [{ clientId: 'c', publicKey: key.publicKey }] } as ClientAuthenticatorOptions;
  test.each([
    [
      'a federation issuer with a shared secret',
      { federation: [{ issuer: 'https://k8s.example', secret: 'x'.repeat(32) }] },
      /unknown option "secret" in federation\[0\]/,
    ],
    ['a federation issuer without keys', { federation: [{ issuer: 'https://k8s.example' }] }, /federation\[0\]" must have exactly one key source/],
    ['a federation issuer with an http jwksUri… discovery', { federation: [{ issuer: 'http://k8s.example', discovery: true }] }, /federation\[0\]\.discovery/],
    [
      'a glob of stars only',
      { clients: [{ clientId: 'c', federatedCredentials: [{ issuer: 'i', subjectPattern: '**' }] }] },
      /clients\[0\]\.federatedCredentials\[0\]\.subjectPattern/,
    ],
    [
      'a credential with subject and pattern',
      { clients: [{ clientId: 'c', federatedCredentials: [{ issuer: 'i', subject: 's', subjectPattern: 's*' }] }] },
      /exactly one of subject, subjectPattern/,
    ],
    [
      'a credential claim that is not a string',
      { clients: [{ clientId: 'c', federatedCredentials: [{ issuer: 'i', subject: 's', claims: { n: 1 } }] }] },
      /federatedCredentials\[0\]\.claims/,
    ],
    ['a spiffeId without a workload path', { clients: [{ clientId: 'c', spiffeId: 'spiffe://prod.example.org' }] }, /clients\[0\]\.spiffeId/],
    [
      'a trust domain with both bundle sources',
      { spiffe: { trustDomains: [{ trustDomain: 'td', bundleEndpoint: 'https://b.example/bundle', jwks: { keys: [] } }] } },
      /spiffe\.trustDomains\[0\]" must have exactly one of/,
    ],
    [
      'a bundle endpoint over http to another host',
      { spiffe: { trustDomains: [{ trustDomain: 'td', bundleEndpoint: 'http://b.example/bundle' }] } },
      /spiffe\.trustDomains\[0\]\.bundleEndpoint/,
    ],
    ['a metadata document option of the wrong type', { clientIdMetadataDocuments: 'yes' }, /clientIdMetadataDocuments/],
    ['a metadata document maxBytes of 0', { clientIdMetadataDocuments: { maxBytes: 0 } }, /clientIdMetadataDocuments\.maxBytes/],
    ['an unknown metadata document option', { clientIdMetadataDocuments: { maxSize: 10 } }, /unknown option "maxSize" in clientIdMetadataDocuments/],
    ['a discovery that is not true or a URL', { federation: [{ issuer: 'https://i.example', discovery: 'yes' }] }, /federation\[0\]\.discovery/],
  ])('%s', (_label, extra, message) => {
    expect(() => createClientAuthenticator({ ...base, ...extra } as never)).toThrow(message);
  });

  test('a client with only federated credentials or a spiffeId needs no key source; others still do', () => {
    expect(() => createClientAuthenticator({ ...base, clients: [{ clientId: 'w', spiffeId: 'spiffe://td/w' }] })).not.toThrow();
    expect(() => createClientAuthenticator({ ...base, clients: [{ clientId: 'w' }] })).toThrow(/clients\[0\]" must have exactly one key source/);
    expect(() =>
      createGrantVerifier({ issuer: AS, issuers: [{ issuer: 'https://idp.example', discovery: true, jwksUri: 'https://idp.example/jwks' }] }),
    ).toThrow(/issuers\[0\]" must have exactly one key source/);
  });
});

describe('metadata (RFC 8414 §2) implied by the new options', () => {
  test('client ID metadata documents: client_id_metadata_document_supported and private_key_jwt with asymmetric algorithms', () => {
    const auth = createClientAuthenticator({ issuer: AS, clients: () => undefined, clientIdMetadataDocuments: true, algorithms: ['ES256', 'HS256'] });
    expect(auth.metadata).toEqual({
      client_id_metadata_document_supported: true,
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['ES256', 'HS256'],
    });
    expect(Object.isFrozen(auth.metadata)).toBe(true);
  });

  test("federation: private_key_jwt with the platforms' algorithms; keyless clients add nothing of their own", () => {
    const auth = createClientAuthenticator({
      issuer: AS,
      federation: [{ issuer: 'https://k8s.example', publicKey: key.publicKey, algorithms: ['RS256'] }],
      clients: [{ clientId: 'w', federatedCredentials: [{ issuer: 'https://k8s.example', subject: 's' }] }],
    });
    expect(auth.metadata).toEqual({ token_endpoint_auth_methods_supported: ['private_key_jwt'], token_endpoint_auth_signing_alg_values_supported: ['RS256'] });
    expect(auth.metadata).not.toHaveProperty('client_id_metadata_document_supported');
  });
});
