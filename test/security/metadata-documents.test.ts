/**
 * Client ID metadata documents fetched from URLs a client chose
 * (draft-ietf-oauth-client-id-metadata-document-03 §4, §7.4, §7.5): the address guard refuses
 * special-use addresses after resolution and before any connection, redirects are not followed,
 * oversized documents are cut off, the connection goes to the address checked, and one new
 * client makes one document fetch and one key-set fetch however many requests arrive at once.
 * Documents are served over real TLS on 127.0.0.1; names resolve through an injected resolver.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import type { Duplex } from 'node:stream';
import {
  createAssertion,
  createClientAuthenticator,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  MemoryReplayStore,
  type ClientIdMetadataDocumentOptions,
  type OAuthError,
} from 'jwt-bearer-core';
import { fetchJson, isSpecialUseAddress } from '../../packages/jwt-bearer-core/src/trust/fetch';
import { json, resolveTo, startTlsServer, type TlsFixture } from '../support/tls-server';
import { generateKeyPairSync } from 'node:crypto';

const AS = 'https://as.example.com';
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...keys.publicKey.export({ format: 'jwk' }), kid: 'c-1', use: 'sig' };

let tls: TlsFixture;
let origin: string;

/** An agent that trusts the test certificate and counts the connections it opens. */
class CountingAgent extends Agent {
  created = 0;
  override createConnection(...args: Parameters<Agent['createConnection']>): Duplex {
    this.created += 1;
    return super.createConnection(...args) as Duplex;
  }
}

beforeAll(async () => {
  tls = await startTlsServer();
  origin = `https://client.example:${tls.port}`;
  const doc = (path: string, headers: Record<string, string> = {}) =>
    json({ client_id: `${origin}${path}`, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${origin}/jwks.json` }, headers);
  tls.routes.set('/jwks.json', json({ keys: [jwk] }));
  tls.routes.set('/app.json', doc('/app.json', { 'cache-control': 'public, max-age=600' }));
  tls.routes.set('/fresh.json', doc('/fresh.json', { 'cache-control': 'no-store' }));
  tls.routes.set(
    '/invalid.json',
    json({ client_id: 'https://someone-else.example/app.json', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${origin}/jwks.json` }),
  );
  tls.routes.set('/redirect.json', (_req, res) => res.writeHead(302, { location: `${origin}/app.json` }).end());
  tls.routes.set('/slow.json', () => undefined);
});

afterAll(async () => {
  await tls.close();
});

function authenticator(o: ClientIdMetadataDocumentOptions = {}) {
  return createClientAuthenticator({
    issuer: AS,
    clients: () => undefined,
    replayStore: new MemoryReplayStore(),
    clientIdMetadataDocuments: { lookup: resolveTo('127.0.0.1'), allowPrivateNetwork: true, requestAgent: tls.agent, ...o },
  } as never);
}

const request = (clientId: string) => ({
  headers: {},
  body: {
    client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
    client_assertion: createAssertion({ issuer: clientId, subject: clientId, audience: AS, key: keys.privateKey, keyId: 'c-1' }),
  },
});

async function refusal(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (err) {
    return err as OAuthError;
  }
  throw new Error('expected a refusal');
}

describe('§7.4 SSRF: special-use addresses are refused after resolution and before any connection', () => {
  test.each([
    ['127.0.0.1 (loopback)', '127.0.0.1'],
    ['10.0.0.1 (private)', '10.0.0.1'],
    ['169.254.169.254 (link-local, cloud metadata)', '169.254.169.254'],
    ['::1 (IPv6 loopback)', '::1'],
    ['::ffff:127.0.0.1 (IPv4-mapped)', '::ffff:127.0.0.1'],
    ['0.0.0.0 (unspecified)', '0.0.0.0'],
    ['fd00::1 (unique local)', 'fd00::1'],
    ['fe80::1 (IPv6 link-local)', 'fe80::1'],
  ])('a host resolving to %s', async (_label, address) => {
    const agent = new CountingAgent({ ca: tls.ca, keepAlive: false });
    const lookup = resolveTo(address);
    const before = tls.connections;
    const err = await refusal(authenticator({ lookup, allowPrivateNetwork: false, requestAgent: agent }).authenticate(request(`${origin}/app.json`)));
    expect({ status: err.status, code: err.code }).toEqual({ status: 401, code: 'ERR_CLIENT_METADATA_URL_REFUSED' });
    // The name was resolved, and then no socket was opened: not by the agent, not to our server.
    expect(lookup.calls).toEqual(['client.example']);
    expect(agent.created).toBe(0);
    expect(tls.connections).toBe(before);
    agent.destroy();
  });

  test('a name that resolves to a public and a private address is refused (every answer is checked)', async () => {
    const agent = new CountingAgent({ ca: tls.ca });
    const lookup = async () => [
      { address: '93.184.215.14', family: 4 as const },
      { address: '10.1.2.3', family: 4 as const },
    ];
    const err = await refusal(authenticator({ lookup, allowPrivateNetwork: false, requestAgent: agent }).authenticate(request(`${origin}/app.json`)));
    expect(err.code).toBe('ERR_CLIENT_METADATA_URL_REFUSED');
    expect(agent.created).toBe(0);
    agent.destroy();
  });

  test('an IP-literal client_id in a private range is refused without resolving anything', async () => {
    const agent = new CountingAgent({ ca: tls.ca });
    const lookup = resolveTo('127.0.0.1');
    const err = await refusal(
      authenticator({ lookup, allowPrivateNetwork: false, requestAgent: agent }).authenticate(request(`https://10.0.0.1:${tls.port}/app.json`)),
    );
    expect(err.code).toBe('ERR_CLIENT_METADATA_URL_REFUSED');
    expect(lookup.calls).toEqual([]);
    expect(agent.created).toBe(0);
    agent.destroy();
  });

  test('the control: with allowPrivateNetwork the same counters do see the connection', async () => {
    const agent = new CountingAgent({ ca: tls.ca, keepAlive: false });
    const before = tls.connections;
    const principal = await authenticator({ requestAgent: agent }).authenticate(request(`${origin}/app.json`));
    expect(principal?.clientId).toBe(`${origin}/app.json`);
    expect(agent.created).toBeGreaterThanOrEqual(2);
    expect(tls.connections).toBeGreaterThan(before);
    agent.destroy();
  });

  test('the special-use table (RFC 6890) against public addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:8.8.8.8',
      'fc00::1',
      'fe80::1',
      '2001:db8::1',
      '64:ff9b::808:808',
      'not-an-ip',
    ]) {
      expect({ a, special: isSpecialUseAddress(a) }).toEqual({ a, special: true });
    }
    for (const a of ['8.8.8.8', '93.184.215.14', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e']) {
      expect({ a, special: isSpecialUseAddress(a) }).toEqual({ a, special: false });
    }
  });
});

describe('the connection goes to the address that was checked (no second resolution: DNS rebinding)', () => {
  test('client.example exists only in the injected resolver, is resolved once per fetch, and the TLS name is still verified', async () => {
    const lookup = resolveTo('127.0.0.1');
    const principal = await authenticator({ lookup }).authenticate(request(`${origin}/app.json`));
    expect(principal?.method).toBe('private_key_jwt');
    // One resolution for the document, one for its jwks_uri: none by the socket layer.
    expect(lookup.calls).toEqual(['client.example', 'client.example']);
  });

  test('a certificate that does not name the host fails the handshake: unavailable, never accepted', async () => {
    const err = await refusal(authenticator({ lookup: resolveTo('127.0.0.1') }).authenticate(request(`https://unnamed.example:${tls.port}/app.json`)));
    expect(err.code).toBe('ERR_CLIENT_METADATA_UNAVAILABLE');
  });
});

describe('§4 and §7.5: redirects, size and time caps', () => {
  test('a redirect is not followed: its target is never requested', async () => {
    const hits = tls.hits['/app.json'] ?? 0;
    const err = await refusal(authenticator().authenticate(request(`${origin}/redirect.json`)));
    expect(err.code).toBe('ERR_CLIENT_METADATA_UNAVAILABLE');
    expect(tls.hits['/app.json'] ?? 0).toBe(hits);
  });

  test('a 10 MB document is cut off at the cap, long before the server has sent it', async () => {
    let written = 0;
    let closedEarly: Promise<void> = Promise.resolve();
    tls.routes.set('/huge.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      closedEarly = new Promise((resolve) => res.on('close', () => resolve()));
      const pump = () => {
        while (written < 10 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const err = await refusal(authenticator().authenticate(request(`${origin}/huge.json`)));
    expect(err.code).toBe('ERR_CLIENT_METADATA_UNAVAILABLE');
    await closedEarly;
    expect(written).toBeLessThan(10 * 1024 * 1024);
  });

  test('the cap holds for a body without Content-Length and for one that announces its size', async () => {
    await expect(fetchJson(`${tls.origin}/jwks.json`, { timeout: 2000, maxBytes: 16, agent: tls.agent })).rejects.toMatchObject({ reason: 'size' });
    await expect(fetchJson(`${tls.origin}/jwks.json`, { timeout: 2000, maxBytes: 4096, agent: tls.agent })).resolves.toMatchObject({ body: { keys: [jwk] } });
  });

  test('a server that never answers is given up at the timeout', async () => {
    const err = await refusal(authenticator({ timeout: 200 }).authenticate(request(`${origin}/slow.json`)));
    expect(err.code).toBe('ERR_CLIENT_METADATA_UNAVAILABLE');
    expect(err.detail).toMatch(/200 ms/);
  });
});

describe('§4.3 caching and single flight', () => {
  test('200 concurrent first requests of one new client make one document fetch and one key-set fetch', async () => {
    tls.routes.set(
      '/burst.json',
      json({ client_id: `${origin}/burst.json`, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${origin}/burst-jwks.json` }),
    );
    tls.routes.set('/burst-jwks.json', json({ keys: [jwk] }));
    const auth = authenticator();
    const results = await Promise.all(Array.from({ length: 200 }, () => auth.authenticate(request(`${origin}/burst.json`))));
    expect(results.every((p) => p?.clientId === `${origin}/burst.json`)).toBe(true);
    expect(tls.hits['/burst.json']).toBe(1);
    expect(tls.hits['/burst-jwks.json']).toBe(1);
  });

  test('Cache-Control max-age keeps the document; no-store fetches it again; an invalid document is never cached', async () => {
    const auth = authenticator();
    const count = (p: string) => tls.hits[p] ?? 0;
    const [app, fresh, invalid] = [count('/app.json'), count('/fresh.json'), count('/invalid.json')];
    for (let i = 0; i < 3; i += 1) {
      await auth.authenticate(request(`${origin}/app.json`));
      await auth.authenticate(request(`${origin}/fresh.json`));
      await refusal(auth.authenticate(request(`${origin}/invalid.json`)));
    }
    expect(count('/app.json') - app).toBe(1);
    expect(count('/fresh.json') - fresh).toBe(3);
    expect(count('/invalid.json') - invalid).toBe(3);
  });

  test('the principal carries the document as fetched', async () => {
    const principal = await authenticator().authenticate(request(`${origin}/app.json`));
    expect(principal?.metadata).toMatchObject({ client_id: `${origin}/app.json`, token_endpoint_auth_method: 'private_key_jwt' });
    expect(principal?.claims.jti).toEqual(expect.any(String));
    void randomUUID;
  });
});
