/**
 * Shared set-up of the interop suites: the example apps (examples/src) started on 127.0.0.1:0,
 * and client keys as WebCrypto keys, which is what openid-client and oauth4webapi sign with.
 */
import { execFile, execFileSync } from 'node:child_process';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { serverOptions } from 'express-jwt-bearer';
import { createAssertion, JWT_BEARER_GRANT_TYPE, type ClientPrincipal, type ClientRegistration, type GrantPrincipal, type Jwk } from 'jwt-bearer-core';
import {
  AuthorizationServer,
  DEMO_ISSUER,
  generateDemoKeys,
  serve,
  type AuthorizationServerOptions,
  type DemoKeys,
  type IssuedToken,
  type RunningServer,
} from '../../examples/src/authorization-server';
import { createApp as createExpressApp } from '../../examples/src/express-server';
import { createApp as createKoaApp } from '../../examples/src/koa-server';

export type Framework = 'express' | 'koa';
export const FRAMEWORKS: readonly Framework[] = ['express', 'koa'];

/** A running example, its model and what it logged (rejections and legacy-audience warnings). */
export interface Example extends RunningServer {
  as: AuthorizationServer;
  tokenEndpoint: string;
  logs: string[];
  /** Every client the middleware authenticated, in order, with its assertion's verified header and claims. */
  authenticated: ClientPrincipal[];
}

/**
 * Options of the middleware that the example leaves at their defaults and a suite may set:
 * `now`, the server's clock in milliseconds (an advanced clock stands in for a real wait).
 */
export interface MiddlewareOverrides {
  now?: () => number;
}

/**
 * The example's model, with `overrides` added to the options of both middlewares, and a record
 * of every client the middleware authenticated (its verified assertion's header and claims), in
 * order: what a library sent, for the libraries that offer no hook on their HTTP requests.
 */
class TunedAuthorizationServer extends AuthorizationServer {
  readonly authenticated: ClientPrincipal[] = [];

  constructor(
    options: AuthorizationServerOptions,
    private readonly overrides: MiddlewareOverrides,
  ) {
    super(options);
  }

  override tokenRequest(...args: Parameters<AuthorizationServer['tokenRequest']>): ReturnType<AuthorizationServer['tokenRequest']> {
    if (args[1]?.client) this.authenticated.push(args[1].client);
    return super.tokenRequest(...args);
  }

  override issueForGrant(principal: GrantPrincipal, client?: ClientPrincipal): ReturnType<AuthorizationServer['issueForGrant']> {
    if (client) this.authenticated.push(client);
    return super.issueForGrant(principal, client);
  }

  override introspect(body: Record<string, unknown> | undefined, client: ClientPrincipal | undefined): ReturnType<AuthorizationServer['introspect']> {
    if (client) this.authenticated.push(client);
    return super.introspect(body, client);
  }

  override clientOptions(): ReturnType<AuthorizationServer['clientOptions']> {
    return { ...super.clientOptions(), ...this.overrides };
  }

  override grantOptions(): ReturnType<AuthorizationServer['grantOptions']> {
    return { ...super.grantOptions(), ...this.overrides };
  }
}

/**
 * Starts the Express or Koa example on 127.0.0.1 and a free port. Its issuer is its URL
 * (`http://127.0.0.1:<port>`), as with `npm start`, unless `issuer` is given (several servers
 * behind one issuer); `options` may depend on it (e.g. a legacy audience that is the token
 * endpoint URL). `overrides` go to both middlewares as they are.
 */
export async function startExample(
  framework: Framework,
  options: Omit<AuthorizationServerOptions, 'issuer' | 'log'> | ((issuer: string) => Omit<AuthorizationServerOptions, 'issuer' | 'log'>) = {},
  issuer?: string,
  overrides: MiddlewareOverrides = {},
): Promise<Example> {
  const logs: string[] = [];
  let as: TunedAuthorizationServer | undefined;
  // The Express example as `npm start` runs it: served with serverOptions(app).
  const expressApp = framework === 'express' ? express() : undefined;
  const running = await serve(
    (issuer) => {
      const resolved = typeof options === 'function' ? options(issuer) : options;
      as = new TunedAuthorizationServer({ ...resolved, issuer, log: (line) => logs.push(line) }, overrides);
      return { listener: expressApp ? createExpressApp(as, expressApp) : createKoaApp(as).callback() };
    },
    { port: 0, ...(issuer !== undefined ? { issuer } : {}), ...(expressApp ? { serverOptions: serverOptions(expressApp) } : {}) },
  );
  return Object.assign(running, { as: as!, tokenEndpoint: as!.tokenEndpoint, logs, authenticated: as!.authenticated });
}

/** The demo keys, generated once per test file (RSA generation is the slow part). */
let demoKeys: DemoKeys | undefined;
export function sharedDemoKeys(): DemoKeys {
  demoKeys ??= generateDemoKeys();
  return demoKeys;
}

export type ClientKind = 'RS256' | 'ES256' | 'Ed25519' | 'HS256';

/** A client of the interop suites: its registration at the example, and what the library signs with. */
export interface InteropClient {
  kind: ClientKind;
  clientId: string;
  method: 'private_key_jwt' | 'client_secret_jwt';
  /** The `alg` the library is expected to send. */
  alg: string;
  /** WebCrypto private key (private_key_jwt). */
  privateKey?: webcrypto.CryptoKey;
  /** `kid` the library is told to send, if any. */
  kid?: string;
  /** The shared secret (client_secret_jwt). */
  secret?: string;
  registration: ClientRegistration;
}

const ALGORITHMS = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  Ed25519: { name: 'Ed25519' },
} as const;

/** A WebCrypto key pair and its public JWK. */
export async function webCryptoKeyPair(kind: 'RS256' | 'ES256' | 'Ed25519'): Promise<{ privateKey: webcrypto.CryptoKey; publicJwk: Jwk }> {
  const pair = (await webcrypto.subtle.generateKey(ALGORITHMS[kind], false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const publicJwk = (await webcrypto.subtle.exportKey('jwk', pair.publicKey)) as Jwk;
  return { privateKey: pair.privateKey, publicJwk };
}

/**
 * The four clients every library is run with. They are registered three different ways, as
 * deployments do: a JWK Set with `kid` (RS256, Ed25519; the library sends the `kid`), a single
 * public JWK and no `kid` (ES256), and a client secret (HS256, client_secret_jwt).
 */
export async function createInteropClients(prefix: string): Promise<InteropClient[]> {
  const rsa = await webCryptoKeyPair('RS256');
  const ec = await webCryptoKeyPair('ES256');
  const ed = await webCryptoKeyPair('Ed25519');
  const secret = Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  return [
    {
      kind: 'RS256',
      clientId: `${prefix}-rs256`,
      method: 'private_key_jwt',
      alg: 'RS256',
      privateKey: rsa.privateKey,
      kid: 'rsa-1',
      registration: { clientId: `${prefix}-rs256`, jwks: { keys: [{ ...rsa.publicJwk, kid: 'rsa-1' }] } },
    },
    {
      kind: 'ES256',
      clientId: `${prefix}-es256`,
      method: 'private_key_jwt',
      alg: 'ES256',
      privateKey: ec.privateKey,
      registration: { clientId: `${prefix}-es256`, publicKey: ec.publicJwk },
    },
    {
      kind: 'Ed25519',
      clientId: `${prefix}-ed25519`,
      method: 'private_key_jwt',
      // openid-client and oauth4webapi name it by RFC 9864's fully specified `Ed25519`, not `EdDSA`.
      alg: 'Ed25519',
      privateKey: ed.privateKey,
      kid: 'ed-1',
      registration: { clientId: `${prefix}-ed25519`, jwks: { keys: [{ ...ed.publicJwk, kid: 'ed-1' }] } },
    },
    {
      kind: 'HS256',
      clientId: `${prefix}-hs256`,
      method: 'client_secret_jwt',
      alg: 'HS256',
      secret,
      registration: { clientId: `${prefix}-hs256`, clientSecret: secret },
    },
  ];
}

/**
 * Starts the example with the demo keys and `clients` registered. `legacy`: in audienceMode
 * legacy, with the token endpoint URL listed in its audiences.
 */
export function startWithClients(framework: Framework, clients: InteropClient[], mode: 'strict' | 'legacy' = 'strict'): Promise<Example> {
  return startWithRegistrations(
    framework,
    clients.map((c) => c.registration),
    mode,
  );
}

/**
 * Starts the example with the demo keys and `registrations`; in `legacy` mode with the token
 * endpoint URL listed in its audiences. `overrides` go to both middlewares.
 */
export function startWithRegistrations(
  framework: Framework,
  registrations: ClientRegistration[],
  mode: 'strict' | 'legacy' = 'strict',
  overrides: MiddlewareOverrides = {},
): Promise<Example> {
  const options = () => ({ keys: sharedDemoKeys(), clients: registrations });
  if (mode === 'strict') return startExample(framework, options(), undefined, overrides);
  return startExample(framework, (issuer) => ({ ...options(), audienceMode: 'legacy', audiences: [`${issuer}/token`] }), undefined, overrides);
}

/** The authorization server metadata a library is configured with: the example's issuer, token and introspection endpoints. */
export function serverMetadata(example: Example): { issuer: string; token_endpoint: string; introspection_endpoint: string } {
  return { issuer: example.issuer, token_endpoint: example.tokenEndpoint, introspection_endpoint: example.as.introspectionEndpoint };
}

/**
 * A client library under test, as far as its suite's set-up needs: its client authentication
 * factories and the class of the error it rejects with when the server refuses (openid-client's
 * are oauth4webapi's, wrapped or re-exported).
 */
export interface InteropLibrary<Auth, Options> {
  ClientSecretJwt(clientSecret: string, options?: Options): Auth;
  PrivateKeyJwt(key: webcrypto.CryptoKey | { key: webcrypto.CryptoKey; kid: string }, options?: Options): Auth;
  ResponseBodyError: abstract new (...args: never[]) => { status: number; error: string };
}

/**
 * The set-up an interop suite of `library` shares: the four clients (made in the file's
 * `beforeAll`, `prefix` starting their client ids), how the library authenticates a client
 * (client_secret_jwt with its secret, or private_key_jwt with its key and its `kid`, if any), and
 * `expectRefused`, which checks that a request is rejected with the library's ResponseBodyError
 * carrying the HTTP `status` and the OAuth `error`.
 */
export function interopSuite<Auth, Options>(prefix: string, library: InteropLibrary<Auth, Options>) {
  const clients: InteropClient[] = [];
  beforeAll(async () => {
    clients.push(...(await createInteropClients(prefix)));
  });

  function clientAuth(client: InteropClient, options?: Options): Auth {
    if (client.method === 'client_secret_jwt') return library.ClientSecretJwt(client.secret!, options);
    return library.PrivateKeyJwt(client.kid ? { key: client.privateKey!, kid: client.kid } : client.privateKey!, options);
  }

  async function expectRefused(promise: Promise<unknown>, status: number, error: string): Promise<void> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(library.ResponseBodyError);
    const refusal = err as { status: number; error: string };
    expect(refusal.status).toBe(status);
    expect(refusal.error).toBe(error);
  }

  return { clients, clientAuth, expectRefused };
}

/** A jwt-bearer grant assertion for `subject` from the demo issuer, made out to the example. */
export function grantAssertion(example: Example, subject: string): string {
  return createAssertion({ issuer: DEMO_ISSUER, subject, audience: example.issuer, key: sharedDemoKeys().issuer.privateKey, algorithm: 'RS256' });
}

/** The example issued `accessToken` on a jwt-bearer grant for `subject` from the demo issuer, to `client`, authenticated by its assertion. */
export function expectGrantIssued(example: Example, accessToken: string, subject: string, client: InteropClient): void {
  expect(example.as.lookup(accessToken)).toMatchObject({
    grant_type: JWT_BEARER_GRANT_TYPE,
    sub: subject,
    assertion_issuer: DEMO_ISSUER,
    client_id: client.clientId,
    client_auth: { method: client.method, alg: client.alg },
  });
}

/** The decoded header and claims of a compact JWS (not verified). */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(claims ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** Wraps `fetch` to record the form bodies a library sends. */
export function recordingFetch(bodies: URLSearchParams[]): typeof fetch {
  return async (input, init) => {
    if (init?.body instanceof URLSearchParams) bodies.push(new URLSearchParams(init.body));
    else if (typeof init?.body === 'string') bodies.push(new URLSearchParams(init.body));
    return fetch(input, init);
  };
}

/**
 * A server clock for `now` that runs with the real one plus an offset the test moves forward:
 * an assertion's age is what the server computes, so advancing it crosses a lifetime limit
 * without waiting.
 */
export function advancedClock(): { now: () => number; advance(seconds: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(seconds: number) {
      offset += seconds * 1000;
    },
  };
}

/** A self-signed X.509 certificate and its RSA private key, both PEM, as a client or a TLS server holds them. */
export interface TestCertificate {
  certificate: string;
  privateKey: string;
  x509: X509Certificate;
  /** The certificate's DER, base64 (a JWK's `x5c` member). */
  der: string;
  /** SHA-1 and SHA-256 fingerprints as hex without separators, as Azure's tooling prints them. */
  thumbprint: string;
  thumbprintSha256: string;
}

/**
 * Makes a self-signed RSA-2048 certificate for `commonName` with the openssl command line (Node
 * cannot issue certificates), valid for two days; `ipAddress` adds it as a subjectAltName, for a
 * TLS server on that address.
 */
export function selfSignedCertificate(commonName: string, ipAddress?: string): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-bearer-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${commonName}`];
    if (ipAddress !== undefined) args.push('-addext', `subjectAltName=IP:${ipAddress}`);
    execFileSync('openssl', args, { stdio: 'ignore', timeout: 30_000 });
    const certificate = readFileSync(certFile, 'utf8');
    const x509 = new X509Certificate(certificate);
    const hex = (fingerprint: string) => fingerprint.replace(/:/g, '');
    return {
      certificate,
      privateKey: readFileSync(keyFile, 'utf8'),
      x509,
      der: x509.raw.toString('base64'),
      thumbprint: hex(x509.fingerprint),
      thumbprintSha256: hex(x509.fingerprint256),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A registration by certificate, as Entra ID keeps one: the public key with its certificate in `x5c`, no `kid`. */
export function certificateRegistration(clientId: string, cert: TestCertificate, extra: Partial<ClientRegistration> = {}): ClientRegistration {
  const jwk = cert.x509.publicKey.export({ format: 'jwk' }) as Jwk;
  return { clientId, jwks: { keys: [{ ...jwk, x5c: [cert.der] }] }, ...extra } as ClientRegistration;
}

/** A resource server of the suites: see {@link startResourceServer}. */
export interface ResourceServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A resource server on 127.0.0.1 standing in for a vendor's API that a library calls with the
 * access token it got: a GET with `Authorization: Bearer <token>` of a live token the example
 * issued is answered with `answer(path, record)` as JSON (404 when that is undefined); any other
 * token gets 401.
 */
export async function startResourceServer(example: () => Example, answer: (path: string, record: IssuedToken) => unknown): Promise<ResourceServer> {
  const server = createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const record = token === undefined ? undefined : example().as.lookup(token);
    const body = record && req.method === 'GET' ? answer(new URL(req.url ?? '/', 'http://127.0.0.1').pathname, record) : undefined;
    res.statusCode = !record ? 401 : body === undefined ? 404 : 200;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body ?? { error: res.statusCode === 401 ? 'invalid_token' : 'not_found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Runs a client library's script in another language (`program` `script`, e.g. Debian's
 * `/usr/bin/python3` or `/usr/bin/ruby`), or a compiled client (`program` alone, `script`
 * undefined), with `input` as JSON on stdin, bounded by 60 s. The client prints one JSON object
 * per line, each with a `step` name; resolves them by name.
 */
export function runClientScript<T extends { step: string }>(program: string, script: string | undefined, input: unknown): Promise<Record<string, T>> {
  const name = (script ?? program).split(/[\\/]/).pop();
  return new Promise((resolve, reject) => {
    const child = execFile(program, script === undefined ? [] : [script], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${name} failed: ${err.message}\n${stderr}`));
      const steps = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as T);
      resolve(Object.fromEntries(steps.map((s) => [s.step, s])));
    });
    child.stdin!.end(JSON.stringify(input));
  });
}
