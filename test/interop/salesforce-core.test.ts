/**
 * Interop with @salesforce/core 8 (the Salesforce CLI's library), unmodified, against both example
 * apps: `AuthInfo.create({ username, oauth2Options: { clientId, privateKeyFile, loginUrl } })`,
 * the JWT bearer flow of `sf org login jwt`, the authorization grant of RFC 7523 §2.1.
 *
 * What the library does (`authJwt` / `tryJwtAuth` in src/org/authInfo.ts): it signs with
 * jsonwebtoken, RS256, no kid, claims iss = the client id, sub = the user name, aud, iat (added by
 * jsonwebtoken) and **exp = `Date.now() + 300`, in milliseconds**, so far in the future: the
 * server takes iat + `maxLifetime` as the assertion's end. No jti. It posts the grant with jsforce
 * to `<login URL>/services/oauth2/token`, first with aud = the login URL itself; if that is
 * refused it tries again with other login URL and aud pairs, `https://login.salesforce.com`,
 * `https://test.salesforce.com` and `SF_AUDIENCE_URL` (alias `SFDX_AUDIENCE_URL`), and fails
 * only when all were refused. From the token response it takes the org id out of Salesforce's
 * `id` URL (`…/id/<org id>/<user id>`; required) and the `instance_url`, where it then queries
 * the REST API with the access token (`/services/data/v51.0/query`: ScratchOrgInfo for
 * `isDevHub`, Organization for `namespacePrefix`; failures there are ignored).
 *
 * So, here: the trusted issuer is the client id with the connected app's certificate and its user
 * names as `subjects`; the login URL is the server's issuer (the example sits behind a front on
 * 127.0.0.1 that serves Salesforce's token path, `/services/oauth2/token`, from the example's
 * `/token`); `issueToken` adds `id` and `instance_url` to the token response, the latter an API
 * stand-in that answers for live tokens of the example.
 *
 * The library writes its state under the home directory (`~/.sfdx`, `~/.sf`) and keeps its
 * encryption key in the OS keychain, so it runs in a child Node.js process with HOME set to a
 * fresh folder and `SF_USE_GENERIC_UNIX_KEYCHAIN=true` (the key in a file there). Its HTTP goes
 * through a proxy of the test (jsforce honours `https_proxy`), which tunnels to 127.0.0.1 and
 * refuses every other host: the retries against Salesforce's own hosts never leave the machine.
 *
 * Pinned at 8.12.0 (engines node >=18). Its range for @jsforce/jsforce-node, ^3.8.2, now resolves
 * to a release on undici 8, which needs Node 22 (3.10.17 and later), so the root `overrides` holds
 * that at 3.10.16, the release jsforce is pinned at here. @salesforce/core 9 needs Node 22; its
 * `authJwt` and `tryJwtAuth` are the same.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JWT_BEARER_GRANT_TYPE } from 'jwt-bearer-core';
import {
  decodeJwt,
  FRAMEWORKS,
  selfSignedCertificate,
  sharedDemoKeys,
  startExample,
  startResourceServer,
  type Example,
  type Framework,
  type ResourceServer,
} from './helpers';

// A child Node.js process that loads @salesforce/core, and RSA keys over HTTP.
jest.setTimeout(60_000);

const CLIENT_ID = '3MVG9interop.salesforce.core';
const USERNAME = 'ci@example.com';
const ORG_ID = '00D000000000001AAA';
const USER_ID = '005000000000001AAA';
/** A connected app holds a certificate; the CLI signs with its private key, from a file. */
const certificate = selfSignedCertificate('salesforce-core interop connected app');
let keyDir: string;
let keyFile: string;

beforeAll(() => {
  keyDir = mkdtempSync(join(tmpdir(), 'jwt-bearer-sf-key-'));
  keyFile = join(keyDir, 'server.key');
  writeFileSync(keyFile, certificate.privateKey, { mode: 0o600 });
});
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

interface Listening {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server, sockets: Set<Socket> = new Set()): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A token request the front passed on: the assertion it carried and the example's answer. */
interface TokenCall {
  assertion: string;
  status: number;
  body: Record<string, unknown>;
}

/**
 * The login URL: Salesforce's token path, `POST /services/oauth2/token`, answered by the example's
 * `/token` (a reverse proxy, as a deployment routes it); every call is recorded.
 */
async function startLoginFront(example: () => Example, calls: TokenCall[]): Promise<Listening> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/services/oauth2/token') {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not_found"}');
        return;
      }
      const form = Buffer.concat(chunks).toString('utf8');
      void (async () => {
        try {
          const answer = await fetch(`${example().url}/token`, { method: 'POST', headers: { 'Content-Type': req.headers['content-type'] ?? '' }, body: form });
          const text = await answer.text();
          calls.push({ assertion: new URLSearchParams(form).get('assertion') ?? '', status: answer.status, body: JSON.parse(text) as Record<string, unknown> });
          res.writeHead(answer.status, { 'Content-Type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
        } catch {
          res.writeHead(502).end();
        }
      })();
    });
  });
  return listen(server);
}

/**
 * The child's only way out (`https_proxy`): CONNECT to 127.0.0.1 is tunnelled; any other host is
 * recorded and answered 403 with an OAuth error body, which jsforce reports without retrying.
 */
async function startNetworkGuard(refused: string[]): Promise<Listening> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    refused.push(req.url ?? '');
    res.writeHead(403).end();
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const at = target.lastIndexOf(':');
    const host = target.slice(0, at);
    sockets.add(client);
    client.on('error', () => client.destroy());
    if (host !== '127.0.0.1') {
      refused.push(target);
      const body = JSON.stringify({ error: 'access_denied', error_description: `no network beyond 127.0.0.1 here: ${target}` });
      client.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const upstream = connect(Number(target.slice(at + 1)), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
  });
  return listen(server, sockets);
}

interface CoreRun {
  fields?: Record<string, unknown>;
  limits?: { for?: string };
  error?: { name?: string; message: string };
  /** The auth file AuthInfo#save() wrote under the fresh home directory, if any. */
  authFile?: Record<string, unknown>;
}

/** Runs fixtures/salesforce-core-client.mjs with a fresh home directory, its HTTP through `proxy`. */
function runCore(loginUrl: string, username: string, proxy: string): Promise<CoreRun> {
  const home = mkdtempSync(join(tmpdir(), 'jwt-bearer-sf-home-'));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    https_proxy: proxy,
    SF_USE_GENERIC_UNIX_KEYCHAIN: 'true',
    SF_DISABLE_LOG_FILE: 'true',
    SF_DISABLE_TELEMETRY: 'true',
  };
  return new Promise<CoreRun>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(__dirname, 'fixtures', 'salesforce-core-client.mjs'), loginUrl, CLIENT_ID, username, keyFile],
      { env, cwd: home, timeout: 45_000 },
      (err: Error | null, stdout: string) => {
        try {
          if (err) return reject(err);
          const run = JSON.parse(stdout.trim().split('\n').pop()!) as CoreRun;
          try {
            run.authFile = JSON.parse(readFileSync(join(home, '.sfdx', `${username}.json`), 'utf8')) as Record<string, unknown>;
          } catch {
            // No auth file: the flow failed before save().
          }
          resolve(run);
        } finally {
          rmSync(home, { recursive: true, force: true });
        }
      },
    );
  });
}

describe.each(FRAMEWORKS)('@salesforce/core 8.12.0 AuthInfo JWT flow against the %s example', (framework: Framework) => {
  let example: Example;
  let front: Listening;
  let guard: Listening;
  let api: ResourceServer;
  const calls: TokenCall[] = [];
  const refused: string[] = [];
  const apiCalls: string[] = [];

  beforeAll(async () => {
    front = await startLoginFront(() => example, calls);
    guard = await startNetworkGuard(refused);
    api = await startResourceServer(
      () => example,
      (path, record) => {
        apiCalls.push(path);
        // AuthInfo's own queries go to `<instance URL>//services/data/v51.0/query` (its URL ends in
        // a slash, and it adds `/services`): parsed as a path, `//services` reads as a host name.
        if (path === '/data/v51.0/query') return { totalSize: 1, done: true, records: [{ Id: '00Dxx', NamespacePrefix: 'interop' }] };
        if (path === '/services/data/v62.0/limits') return { DailyApiRequests: { Max: 15000, Remaining: 14999 }, for: record.sub };
        return undefined;
      },
    );
    // The login URL is the issuer: the aud the library sends first.
    example = await startExample(
      framework,
      {
        keys: sharedDemoKeys(),
        issuers: [{ issuer: CLIENT_ID, publicKey: certificate.certificate, algorithms: ['RS256'], subjects: [USERNAME], scopes: ['api'] }],
      },
      front.url,
    );
    // What a Salesforce-shaped issueToken returns besides the token: the identity URL (the library
    // reads the org id from it) and the instance URL (where it sends API calls).
    const issue = example.as.issueForGrant.bind(example.as);
    example.as.issueForGrant = (principal, client) => ({
      ...issue(principal, client),
      id: `${front.url}/id/${ORG_ID}/${USER_ID}`,
      instance_url: api.url,
    });
  });
  afterAll(() => Promise.all([example.close(), front.close(), guard.close(), api.close()]));
  beforeEach(() => {
    calls.length = 0;
    refused.length = 0;
    apiCalls.length = 0;
  });

  test('AuthInfo.create gets a token for the user with one grant request; the API accepts it', async () => {
    const run = await runCore(front.url, USERNAME, guard.url);
    expect(run.error).toBeUndefined();

    // One token request, with the assertion the library signed.
    expect(calls).toHaveLength(1);
    const { header, claims } = decodeJwt(calls[0]!.assertion);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(claims).toMatchObject({ iss: CLIENT_ID, sub: USERNAME, aud: front.url });
    expect(claims.jti).toBeUndefined();
    // exp in milliseconds, iat in seconds.
    expect(claims.exp as number).toBeGreaterThan((claims.iat as number) * 100);

    const accessToken = run.fields!.accessToken as string;
    expect(example.as.lookup(accessToken)).toMatchObject({ grant_type: JWT_BEARER_GRANT_TYPE, sub: USERNAME, assertion_issuer: CLIENT_ID });
    expect(run.fields).toMatchObject({
      username: USERNAME,
      orgId: ORG_ID,
      clientId: CLIENT_ID,
      loginUrl: front.url,
      instanceUrl: api.url,
      // Both from AuthInfo's own API queries with the token (a refused token gives false and none).
      isDevHub: true,
      namespacePrefix: 'interop',
    });
    // A Connection on the AuthInfo calls the API with the token.
    expect(run.limits?.for).toBe(USERNAME);
    expect(apiCalls).toEqual(['/data/v51.0/query', '/data/v51.0/query', '/services/data/v62.0/limits']);
    // save() wrote the auth file under the fresh home, the token encrypted.
    expect(run.authFile).toMatchObject({ username: USERNAME, orgId: ORG_ID, instanceUrl: api.url, clientId: CLIENT_ID, privateKey: keyFile });
    expect(run.authFile!.accessToken).not.toBe(accessToken);
    expect(refused).toEqual([]);
  });

  test('a user the connected app is not allowed to act for is refused: invalid_grant, on every retry', async () => {
    const run = await runCore(front.url, 'mallory@example.com', guard.url);
    expect(run.fields).toBeUndefined();
    expect(run.error?.name).toBe('JwtAuthError');
    expect(run.authFile).toBeUndefined();

    // The library tried its login URL with three values of aud, each refused…
    expect(calls.map((c) => [decodeJwt(c.assertion).claims.aud, c.status, c.body.error])).toEqual([
      [front.url, 400, 'invalid_grant'],
      ['https://login.salesforce.com', 400, 'invalid_grant'],
      ['https://test.salesforce.com', 400, 'invalid_grant'],
    ]);
    expect(example.logs.some((l) => l.includes('ERR_SUBJECT_NOT_ALLOWED') && l.includes(CLIENT_ID))).toBe(true);
    // …and Salesforce's own login hosts, which the guard kept on this machine.
    expect([...refused].sort()).toEqual(['login.salesforce.com:443', 'test.salesforce.com:443']);
    expect(apiCalls).toEqual([]);
  });
});
