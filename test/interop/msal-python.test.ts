/**
 * Interop with Microsoft's MSAL for Python 1.21 (Debian's python3-msal, with python3-jwt,
 * python3-cryptography and python3-requests), unmodified, run as a child process
 * (msal_python_client.py) against both example apps over real HTTP: ConfidentialClientApplication
 * with a certificate, the client credentials flow.
 *
 * What it sends (msal/application.py `_build_client`, msal/oauth2cli/assertion.py; checked below
 * on the wire): header `{ alg: RS256, typ: JWT, x5t, x5c }` (x5c with `public_certificate`), no
 * `kid`; the SHA-1 `x5t` is base64url **with its `=` padding** (`urlsafe_b64encode`); claims
 * aud = the authority's **token endpoint URL**, iss = sub = client_id, exp = iat + 600, a UUID
 * `jti`, no `nbf`; `iat` and `exp` are fractional seconds (`time.time()`). MSAL keeps that
 * assertion and sends it again, same `jti`, on every token request of the next 540 s
 * (`AutoRefresher`, 600 s − 60 s). So here the client needs:
 *
 * - `audienceMode: 'legacy'` with the token endpoint URL in `audiences` (the aud it sends);
 * - `allowReuse: true` on its registration (the second request re-sends the first one's jti);
 * - `maxLifetime: 600` on its registration (after 300 s the cached assertion is older than the
 *   client-authentication default);
 * - nothing for the padded `x5t`: thumbprints are compared without padding.
 *
 * Pointing it at 127.0.0.1: MSAL wants an https authority with a tenant segment, fetches
 * `<authority>/v2.0/.well-known/openid-configuration` (`instance_discovery=False` keeps it from
 * asking login.microsoftonline.com first), and wants the token endpoint named there to be https
 * too (it parses the tenant out of it). A small TLS server on 127.0.0.1, whose self-signed
 * certificate MSAL trusts through its `verify` option, serves that document and passes the token
 * requests on to the example's plain-http token endpoint, recording each form. No network, no patch.
 *
 * In 1.21 `acquire_token_for_client` never reads MSAL's token cache, so every call reaches the
 * token endpoint; the requests ask for different scopes anyway. The server's clock is advanced
 * through the middleware's `now` option between requests: the child waits for a line on stdin
 * before each one, so MSAL's own clock stays real while the server sees its assertion age past 300 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ClientRegistration } from 'jwt-bearer-core';
import {
  advancedClock,
  certificateRegistration,
  decodeJwt,
  FRAMEWORKS,
  selfSignedCertificate,
  sharedDemoKeys,
  startExample,
  type Framework,
  type TestCertificate,
} from './helpers';

/** Debian's interpreter, where python3-msal is installed. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(__dirname, 'msal_python_client.py');

// A Python start, an RSA signature and a TLS handshake per test: more than Jest's default 5 s on a
// loaded machine, and bounded anyway by the child's own 60 s limit.
jest.setTimeout(90_000);

const TENANT = 'interop-tenant';
const clientCertificate: TestCertificate = selfSignedCertificate('msal-python interop client');
const tlsCertificate: TestCertificate = selfSignedCertificate('127.0.0.1', '127.0.0.1');

/** The TLS certificate as a file, for MSAL's `verify` (requests takes a CA bundle path). */
let scratch: string;
let caFile: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'jwt-bearer-msal-python-'));
  caFile = join(scratch, 'authority-ca.pem');
  writeFileSync(caFile, tlsCertificate.certificate);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The authority host: https on 127.0.0.1, the tenant's OpenID configuration and a token endpoint passed on to the example. */
interface AuthorityHost {
  /** `https://127.0.0.1:<port>/<tenant>`, MSAL's `authority`. */
  authority: string;
  /** The https token endpoint MSAL posts to (and puts in `aud`). */
  tokenEndpoint: string;
  /** Every request, as `METHOD path`. */
  requests: string[];
  /** The form bodies posted to the token endpoint, in order. */
  sent: URLSearchParams[];
  close(): Promise<void>;
}

async function startAuthorityHost(target: () => string): Promise<AuthorityHost> {
  const requests: string[] = [];
  const sent: URLSearchParams[] = [];
  const server: Server = createServer({ key: tlsCertificate.privateKey, cert: tlsCertificate.certificate }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const base = `https://${req.headers.host}/${TENANT}`;
    if (req.method === 'GET' && req.url === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          issuer: `${base}/v2.0`,
          token_endpoint: `${base}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
        }),
      );
      return;
    }
    if (req.method === 'POST' && req.url === `/${TENANT}/oauth2/v2.0/token`) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        sent.push(new URLSearchParams(body));
        fetch(target(), { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })
          .then(async (answer) => {
            res.statusCode = answer.status;
            res.setHeader('Content-Type', answer.headers.get('content-type') ?? 'application/json');
            res.end(await answer.text());
          })
          .catch(() => {
            res.statusCode = 502;
            res.end();
          });
      });
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const authority = `https://127.0.0.1:${port}/${TENANT}`;
  return {
    authority,
    tokenEndpoint: `${authority}/oauth2/v2.0/token`,
    requests,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Starts the authority host, then the example (legacy audience mode with the authority host's token
 * endpoint URL in `audiences`, unless `strict`) with `registration` as its only client, and a clock.
 */
async function startForMsal(framework: Framework, registration: ClientRegistration, strict = false) {
  const clock = advancedClock();
  const target: { tokenEndpoint?: string } = {};
  const host = await startAuthorityHost(() => target.tokenEndpoint!);
  const example = await startExample(
    framework,
    {
      keys: sharedDemoKeys(),
      clients: [registration],
      ...(strict ? {} : { audienceMode: 'legacy' as const, audiences: [host.tokenEndpoint] }),
    },
    undefined,
    { now: clock.now },
  );
  target.tokenEndpoint = example.tokenEndpoint;
  return { example, host, clock, close: () => Promise.all([example.close(), host.close()]) };
}

interface Result {
  scopes: string[];
  access_token: string | null;
  error: string | null;
}

/**
 * Runs msal_python_client.py for `clientId` at `host` with one request per entry of `requests`
 * (their scopes); `between(i)` runs after the i-th answer, before the next request is let go.
 * Bounded: 60 s.
 */
function runMsal(host: AuthorityHost, clientId: string, requests: string[][], between: (index: number) => void = () => undefined): Promise<Result[]> {
  const config = {
    authority: host.authority,
    client_id: clientId,
    private_key: clientCertificate.privateKey,
    thumbprint: clientCertificate.thumbprint,
    certificate: clientCertificate.certificate,
    ca_file: caFile,
    requests,
  };
  return new Promise((resolve, reject) => {
    // In requests, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE take precedence over the `verify` that MSAL
    // sets on its HTTP client (and CI machines often set them), so the child runs without them.
    const env = { ...process.env };
    delete env.REQUESTS_CA_BUNDLE;
    delete env.CURL_CA_BUNDLE;
    const child = spawn(PYTHON, [SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill(), 60_000);
    const results: Result[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    createInterface({ input: child.stdout }).on('line', (line) => {
      results.push(JSON.parse(line) as Result);
      if (results.length < requests.length) {
        between(results.length - 1);
        child.stdin.write('next\n');
      } else child.stdin.end();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 || results.length !== requests.length) reject(new Error(`msal_python_client.py exited with ${code}\n${stderr}`));
      else resolve(results);
    });
    child.stdin.write(`${JSON.stringify(config)}\nnext\n`);
  });
}

/** Three requests, each for a scope set no earlier one asked for; the server's clock moves 120 s, then 280 s more (400 s after signing). */
const THREE_REQUESTS = [['read'], ['write'], ['read', 'write']];
const advanceAcross300 = (clock: { advance(seconds: number): void }) => (index: number) => clock.advance(index === 0 ? 120 : 280);

describe.each(FRAMEWORKS)('MSAL for Python ConfidentialClientApplication against the %s example', (framework) => {
  test('three requests with one cached assertion across the 300 s mark: accepted with allowReuse and maxLifetime 600', async () => {
    const clientId = 'msal-python-reuse';
    const { example, host, clock, close } = await startForMsal(
      framework,
      certificateRegistration(clientId, clientCertificate, { allowReuse: true, maxLifetime: 600 }),
    );
    try {
      const results = await runMsal(host, clientId, THREE_REQUESTS, advanceAcross300(clock));
      for (const result of results) expect(result.error).toBeNull();
      const tokens = results.map((r) => r.access_token!);
      expect(new Set(tokens).size).toBe(3);
      tokens.forEach((token, i) => {
        expect(example.as.lookup(token)).toMatchObject({
          grant_type: 'client_credentials',
          client_id: clientId,
          scope: THREE_REQUESTS[i],
          client_auth: { method: 'private_key_jwt', alg: 'RS256' },
        });
      });

      // One assertion, three times: what MSAL signs and caches.
      const assertions = host.sent.map((form) => form.get('client_assertion'));
      expect(assertions).toHaveLength(3);
      expect(new Set(assertions).size).toBe(1);
      expect(host.sent[0]!.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const { header, claims } = decodeJwt(assertions[0]!);
      // The SHA-1 thumbprint, base64url with its padding; it still selected the registered certificate's
      // key (a key registered with its certificate is tried only when the thumbprint matches).
      const x5t = Buffer.from(clientCertificate.thumbprint, 'hex').toString('base64url');
      expect(header).toEqual({ alg: 'RS256', typ: 'JWT', x5t: `${x5t}=`, x5c: [expect.any(String)] });
      // x5c: the certificate's PEM body as it is, line breaks included (MSAL 1.21's extract_certs);
      // the server selects the key by x5t and never trusts x5c, so this does not matter here.
      const [x5c] = header.x5c as string[];
      expect(x5c).toContain('\n');
      expect(x5c!.replace(/\n/g, '')).toBe(clientCertificate.der);
      expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: host.tokenEndpoint });
      expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
      expect((claims.exp as number) - (claims.iat as number)).toBeCloseTo(600, 3);
      expect(claims.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      // The server verified that one assertion three times, same jti, padded x5t as sent.
      expect(example.authenticated).toHaveLength(3);
      for (const principal of example.authenticated) {
        expect(principal).toMatchObject({ clientId, header: { x5t: `${x5t}=` }, claims: { jti: claims.jti } });
      }
      expect(example.logs.some((l) => l.includes('WARN_LEGACY_AUDIENCE') && l.includes(clientId))).toBe(true);
      // Discovery once; the token requests went through the authority host to the example.
      expect(host.requests).toEqual([`GET /${TENANT}/v2.0/.well-known/openid-configuration`, ...THREE_REQUESTS.map(() => `POST /${TENANT}/oauth2/v2.0/token`)]);
    } finally {
      await close();
    }
  });

  test('without allowReuse the second request, which re-sends the cached assertion, is refused as a replay: 401 invalid_client', async () => {
    const clientId = 'msal-python-no-reuse';
    const { example, host, clock, close } = await startForMsal(framework, certificateRegistration(clientId, clientCertificate));
    try {
      const [first, second, third] = await runMsal(host, clientId, THREE_REQUESTS, advanceAcross300(clock));
      expect(example.as.lookup(first!.access_token!)).toMatchObject({ client_id: clientId });
      expect(second).toMatchObject({ access_token: null, error: 'invalid_client' });
      expect(third).toMatchObject({ access_token: null, error: 'invalid_client' });
      expect(new Set(host.sent.map((form) => form.get('client_assertion'))).size).toBe(1);
      // The onError detail names the option that would accept this client's habit.
      expect(example.logs.filter((l) => l.includes('ERR_ASSERTION_REPLAYED') && l.includes(clientId) && l.includes('allowReuse'))).toHaveLength(1);
      expect(example.logs.filter((l) => l.includes('ERR_ASSERTION_LIFETIME_EXCEEDED') && l.includes(clientId) && l.includes('maxLifetime'))).toHaveLength(1);
    } finally {
      await close();
    }
  });

  test('allowReuse without maxLifetime: accepted until the cached assertion is 300 s old, refused after', async () => {
    const clientId = 'msal-python-reuse-300';
    const { example, host, clock, close } = await startForMsal(framework, certificateRegistration(clientId, clientCertificate, { allowReuse: true }));
    try {
      const results = await runMsal(host, clientId, THREE_REQUESTS, advanceAcross300(clock));
      expect(results.map((r) => r.error)).toEqual([null, null, 'invalid_client']);
      expect(new Set(host.sent.map((form) => form.get('client_assertion'))).size).toBe(1);
      expect(example.logs.some((l) => l.includes('ERR_ASSERTION_LIFETIME_EXCEEDED') && l.includes(clientId))).toBe(true);
    } finally {
      await close();
    }
  });

  test('in the strict audience mode (the default) its token-endpoint aud is refused: 401 invalid_client', async () => {
    const clientId = 'msal-python-strict';
    const { example, host, close } = await startForMsal(
      framework,
      certificateRegistration(clientId, clientCertificate, { allowReuse: true, maxLifetime: 600 }),
      true,
    );
    try {
      const [result] = await runMsal(host, clientId, [['read']]);
      expect(result).toMatchObject({ access_token: null, error: 'invalid_client' });
      expect(example.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(clientId) && l.includes('audienceMode "legacy"'))).toBe(true);
    } finally {
      await close();
    }
  });
});
