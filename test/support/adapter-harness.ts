/**
 * What the express-jwt-bearer and koa-jwt-bearer tests share: keys, assertions and forms, a
 * 127.0.0.1 server and raw requests to it, and the shape of an adapter as the shared suites
 * (adapter-suites.ts) see it. Keys are minted once per test file (Jest loads this module once per
 * file).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import {
  createAssertion,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  toErrorResponse,
  type ClientMiddlewareOptions,
  type CreateAssertionOptions,
  type GrantMiddlewareOptions,
  type GrantPrincipal,
  type JwtBearerResult,
  type OAuthError,
} from 'jwt-bearer-core';

export const AS = 'https://as.example.com';
export const SVC = 'https://svc.example.com';
export const CLIENT = 'client-1';

export const svcKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const clientKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

export const grantOptions = () => ({ issuer: AS, issuers: [{ issuer: SVC, publicKey: svcKeys.publicKey }] });
export const clientOptions = () => ({ issuer: AS, clients: [{ clientId: CLIENT, publicKey: clientKeys.publicKey }] });

export function grantAssertion(o: Partial<CreateAssertionOptions> = {}): string {
  return createAssertion({ issuer: SVC, subject: 'alice', audience: AS, key: svcKeys.privateKey, keyId: 'svc-1', ...o });
}

export function clientAssertionJwt(o: Partial<CreateAssertionOptions> = {}): string {
  return createAssertion({ issuer: CLIENT, subject: CLIENT, audience: AS, key: clientKeys.privateKey, ...o });
}

export function grantForm(extra: Record<string, string> = {}, assertion = grantAssertion()): Record<string, string> {
  return { grant_type: JWT_BEARER_GRANT_TYPE, assertion, ...extra };
}

export function clientForm(extra: Record<string, string> = {}, assertion = clientAssertionJwt()): Record<string, string> {
  return { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion, ...extra };
}

/** HTTP Basic credentials (`client-1:secret`): client authentication other than by a JWT assertion. */
export const BASIC = { Authorization: 'Basic Y2xpZW50LTE6c2VjcmV0' };

export const encode = (form: Record<string, string>) => new URLSearchParams(form).toString();

/**
 * A request listener: an Express app, or Koa's `callback()`, whose promise never rejects (Koa
 * answers every error itself).
 */
export type AppListener = (...args: Parameters<RequestListener>) => void | Promise<void>;

/** Starts `listener` on 127.0.0.1 and a free port. */
export function listen(listener: AppListener): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => void listener(req, res));
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A list for the servers the tests of the calling describe block start; they are closed after each test. */
export function serversClosedAfterEach(): Server[] {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });
  return servers;
}

/**
 * Sends a POST with `chunks` written one by one and no Content-Length (chunked transfer
 * encoding), or aborts after the chunks with `abort`. Resolves the status and body, or `undefined`
 * for an aborted request.
 */
export function rawPost(
  server: Server,
  chunks: (string | Buffer)[],
  options: { headers?: Record<string, string>; abort?: boolean } = {},
): Promise<{ status: number; body: string } | undefined> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      },
    );
    req.on('error', (err) => (options.abort ? resolve(undefined) : reject(err)));
    for (const chunk of chunks) req.write(chunk);
    if (options.abort) {
      // Let the server start reading, then drop the connection mid-body.
      setTimeout(() => {
        req.destroy();
        resolve(undefined);
      }, 50);
    } else {
      req.end();
    }
  });
}

/** Collects `unhandledRejection` events while a test runs. */
export function trackUnhandledRejections(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const onRejection = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', onRejection);
  return { reasons, stop: () => process.off('unhandledRejection', onRejection) };
}

/** Lets pending rejections surface: Node reports them after the microtask queue drains. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** The headers of a token endpoint's JSON answer: not to be cached, JSON in UTF-8. */
export function expectNoStoreJson(res: Response): void {
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
}

/** `res` is exactly the answer the middleware gives for `err`: its status, its body, and the headers of {@link expectNoStoreJson}. */
export function expectErrorAnswer(res: Response, err: OAuthError): void {
  const expected = toErrorResponse(err);
  expect(res.status).toBe(expected.status);
  expect(res.body).toEqual(expected.body);
  expectNoStoreJson(res);
}

// ---------------------------------------------------------------------------------------------
// An adapter as the shared suites see it
// ---------------------------------------------------------------------------------------------

/**
 * One adapter package: its factories and how its tests name what is framework-specific. `M` is
 * the framework's middleware type, `R` what `issueToken` is given with the principal (the Express
 * request, the Koa context).
 */
export interface AdapterUnderTest<M, R> {
  /** The package name: its README's title and install command. */
  name: string;
  /** The package folder, which holds its README.md. */
  dir: string;
  jwtBearerGrant(options: GrantMiddlewareOptions<R>): M;
  clientAssertion(options: ClientMiddlewareOptions): M;
  /** The arity of the middleware the factories return, and what the test titles call that shape. */
  middleware: { arity: number; shape: string };
  /** Where later handlers find the verified principals (`req.jwtBearer`), and the parsed form (`req.body`). */
  principalsAt: string;
  bodyAt: string;
}

/** A request of the "no path leaves a promise rejection unhandled" test, and the status it must get. */
export interface UnhandledCase<M> {
  middleware: M[];
  send: Record<string, string>;
  headers?: Record<string, string>;
  status: number;
}

/** An app of one framework version for the shared error-path tests. */
export interface ErrorsApp<M> {
  /**
   * Starts an app running `before` (app-wide, e.g. a body parser), then `middleware` on
   * POST /token, ending in a handler that answers `{ ok: true }`.
   */
  start(middleware: M[], before?: M[]): Promise<Server>;
  /** The framework's JSON body parser. */
  jsonParser(): M;
  /** Framework-specific requests of the "no path leaves a promise rejection unhandled" test. */
  extraUnhandledCases?: () => UnhandledCase<M>[];
}

/** What the final handler of an {@link AttachApp} saw. */
export interface Seen {
  jwtBearer: JwtBearerResult | undefined;
  body: unknown;
}

/** An app of one framework version for the shared tests of what the middleware attaches. */
export interface AttachApp<M, R> {
  /** The framework version, e.g. `Express 5`. */
  name: string;
  /**
   * Starts an app running `before` (app-wide), then `middleware` on POST /token, ending in a
   * handler that records what it saw in `seen` and answers `{ ok: true }`.
   */
  start(middleware: M[], before?: M[]): Promise<{ server: Server; seen: Seen[] }>;
  /** The framework's form parser, and what the test titles call it. */
  formParser: { label: string; create(): M };
  /** What `issueToken` is given besides the principal. */
  issueTokenArgument: {
    /** What the test title calls it, e.g. `the Express request`. */
    label: string;
    /** The request path it carries. */
    path(arg: R): string;
    /** The framework's own checks that it is its request or context, with `principal` attached and the body parsed (`scope` = `read`). */
    expectPrepared(arg: R, principal: GrantPrincipal): void;
  };
}
