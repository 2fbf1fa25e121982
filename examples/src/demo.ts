/**
 * `npm run demo`: a client of the running example (`npm start` or `npm run start:koa`) that signs
 * RFC 7523 assertions with createAssertion() and exchanges them end to end, printing every
 * request and response:
 *
 *   1. client_credentials, client authenticated with private_key_jwt (demo-client, ES256)
 *   2. client_credentials, client authenticated with client_secret_jwt (demo-secret-client, HS256)
 *   3. the jwt-bearer grant (an assertion of demo-issuer for a user)
 *   4. the jwt-bearer grant and client authentication in one request
 *   5. introspection of the token of step 4
 *   6. refused: step 1's request sent again (the assertion's jti was used)
 *   7. refused: a client assertion whose aud is the token endpoint URL (audience injection)
 *
 * The server's URL comes from AS_URL (default http://127.0.0.1:3000). The demo keys come from the
 * example's development-only `GET /demo/keys`.
 */
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE, type Jwk } from 'jwt-bearer-core';

/** The outcome of one exchange. */
export interface DemoStep {
  name: string;
  /** The status the example should answer. */
  expectedStatus: number;
  /** The `error` the example should answer, for refusals. */
  expectedError?: string;
  status: number;
  body: unknown;
  /** Whether status (and error, or introspection's `active`) were as expected. */
  ok: boolean;
}

/** Options of {@link main}. */
export interface DemoOptions {
  /** The example's base URL. Default: `AS_URL`, else http://127.0.0.1:3000. */
  asUrl?: string;
  /** Where to print. Default `console.log`. */
  log?: (line: string) => void;
}

interface Metadata {
  issuer: string;
  token_endpoint: string;
  introspection_endpoint: string;
}

interface DemoKeysResponse {
  issuer: string;
  clients: {
    'demo-client': { alg: 'ES256'; kid: string; private_jwk: Jwk };
    'demo-secret-client': { alg: 'HS256'; client_secret: string };
  };
  issuers: {
    'demo-issuer': { alg: 'RS256'; kid: string; private_jwk: Jwk };
  };
}

const DEFAULT_AS_URL = 'http://127.0.0.1:3000';

function decodePart(part: string | undefined): string {
  try {
    return JSON.stringify(JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')));
  } catch {
    return '(not JSON)';
  }
}

function printForm(log: (line: string) => void, form: URLSearchParams): void {
  for (const [name, value] of form) {
    if (name === 'assertion' || name === 'client_assertion') {
      const [header, claims] = value.split('.');
      log(`  ${name}=${value.slice(0, 24)}…(${value.length} chars)`);
      log(`      header ${decodePart(header)}`);
      log(`      claims ${decodePart(claims)}`);
    } else {
      log(`  ${name}=${value}`);
    }
  }
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return (await response.json()) as T;
}

/**
 * Runs the exchanges against the example at `asUrl` and returns their outcomes (it does not throw
 * on a refusal, only when the example cannot be reached).
 */
export async function main(options: DemoOptions = {}): Promise<DemoStep[]> {
  const base = (options.asUrl ?? process.env.AS_URL ?? DEFAULT_AS_URL).replace(/\/+$/, '');
  const log = options.log ?? ((line: string) => console.log(line));

  log(`GET ${base}/.well-known/oauth-authorization-server`);
  const metadata = await getJson<Metadata>(`${base}/.well-known/oauth-authorization-server`);
  log(`  issuer ${metadata.issuer}, token endpoint ${metadata.token_endpoint}`);
  log(`GET ${base}/demo/keys   (development only: the demo's private keys)`);
  const keys = await getJson<DemoKeysResponse>(`${base}/demo/keys`);
  const issuer = metadata.issuer;
  const tokenEndpoint = metadata.token_endpoint;

  const client = keys.clients['demo-client'];
  const secretClient = keys.clients['demo-secret-client'];
  const demoIssuer = keys.issuers['demo-issuer'];

  /** private_key_jwt: iss = sub = client_id, aud = the issuer identifier (RFC 10070). */
  const clientAssertion = (audience: string = issuer) =>
    createAssertion({ issuer: 'demo-client', subject: 'demo-client', audience, key: client.private_jwk, algorithm: 'ES256', keyId: client.kid });
  /** client_secret_jwt: the same claims, HS256 with the client secret. */
  const secretAssertion = () =>
    createAssertion({ issuer: 'demo-secret-client', subject: 'demo-secret-client', audience: issuer, key: secretClient.client_secret, algorithm: 'HS256' });
  /** A grant assertion of demo-issuer: sub = the user the token is for. */
  const grantAssertion = (subject: string) =>
    createAssertion({
      issuer: 'demo-issuer',
      subject,
      audience: issuer,
      key: demoIssuer.private_jwk,
      algorithm: 'RS256',
      keyId: demoIssuer.kid,
      expiresIn: 300,
    });

  const steps: DemoStep[] = [];
  const exchange = async (
    name: string,
    url: string,
    form: URLSearchParams,
    expected: { status: number; error?: string; check?: (body: Record<string, unknown>) => boolean },
  ): Promise<Record<string, unknown>> => {
    log('');
    log(`── ${steps.length + 1}. ${name}`);
    log(`POST ${url}`);
    log('  Content-Type: application/x-www-form-urlencoded');
    printForm(log, form);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
    });
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { raw: text };
    }
    log(
      `← ${response.status} ${response.statusText}${response.headers.get('cache-control') ? `   (Cache-Control: ${response.headers.get('cache-control')})` : ''}`,
    );
    log(`  ${JSON.stringify(body)}`);
    const ok =
      response.status === expected.status &&
      (expected.error === undefined || body.error === expected.error) &&
      (expected.check === undefined || expected.check(body));
    log(
      ok
        ? `✓ as expected (${expected.status}${expected.error ? ` ${expected.error}` : ''})`
        : `✗ UNEXPECTED: wanted ${expected.status}${expected.error ? ` ${expected.error}` : ''}`,
    );
    steps.push({ name, expectedStatus: expected.status, ...(expected.error ? { expectedError: expected.error } : {}), status: response.status, body, ok });
    return body;
  };
  const hasToken = (body: Record<string, unknown>) => typeof body.access_token === 'string' && body.token_type === 'Bearer';

  // 1. client_credentials with private_key_jwt.
  const first = new URLSearchParams({
    grant_type: 'client_credentials',
    scope: 'read write',
    client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
    client_assertion: clientAssertion(),
  });
  await exchange('client_credentials, client authenticated with private_key_jwt (demo-client, ES256)', tokenEndpoint, first, { status: 200, check: hasToken });

  // 2. client_credentials with client_secret_jwt.
  await exchange(
    'client_credentials, client authenticated with client_secret_jwt (demo-secret-client, HS256)',
    tokenEndpoint,
    new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: secretAssertion() }),
    { status: 200, check: hasToken },
  );

  // 3. The jwt-bearer grant, no client authentication.
  await exchange(
    'jwt-bearer grant: demo-issuer asserts alice@example.com',
    tokenEndpoint,
    new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grantAssertion('alice@example.com'), scope: 'read' }),
    { status: 200, check: hasToken },
  );

  // 4. The grant and client authentication together.
  const both = await exchange(
    'jwt-bearer grant for bob@example.com, client authenticated with private_key_jwt (demo-client)',
    tokenEndpoint,
    new URLSearchParams({
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: grantAssertion('bob@example.com'),
      scope: 'read write',
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertion(),
    }),
    { status: 200, check: hasToken },
  );

  // 5. Introspection of step 4's token, as demo-secret-client.
  await exchange(
    "introspection of step 4's token (demo-secret-client authenticates with client_secret_jwt)",
    metadata.introspection_endpoint,
    new URLSearchParams({
      token: typeof both.access_token === 'string' ? both.access_token : 'none',
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: secretAssertion(),
    }),
    { status: 200, check: (body) => body.active === true && body.sub === 'bob@example.com' && body.client_id === 'demo-client' },
  );

  // 6. Replay: the exact request of step 1 again. Its jti is recorded until the assertion expires.
  await exchange('REFUSED: step 1 sent again (replayed client assertion)', tokenEndpoint, first, { status: 401, error: 'invalid_client' });

  // 7. Audience injection (RFC 10070): an assertion made out to the token endpoint URL, which a
  //    malicious server could have obtained by posing as that endpoint, is not accepted here.
  await exchange(
    'REFUSED: client assertion with aud = the token endpoint URL (audience injection)',
    tokenEndpoint,
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertion(tokenEndpoint),
    }),
    { status: 401, error: 'invalid_client' },
  );

  log('');
  const failed = steps.filter((s) => !s.ok);
  log(failed.length === 0 ? `All ${steps.length} exchanges went as expected.` : `${failed.length} of ${steps.length} exchanges did NOT go as expected.`);
  return steps;
}

if (require.main === module) {
  main().then(
    (steps) => {
      process.exitCode = steps.every((s) => s.ok) ? 0 : 1;
    },
    (err: unknown) => {
      const url = process.env.AS_URL ?? DEFAULT_AS_URL;
      console.error(`\nThe demo could not talk to the example at ${url}: ${err instanceof Error ? err.message : String(err)}`);
      console.error('Start it first, in another shell: npm start   (or npm run start:koa; set AS_URL if it listens elsewhere)');
      process.exitCode = 1;
    },
  );
}
