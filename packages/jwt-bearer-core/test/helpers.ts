/**
 * Shared test helpers for jwt-bearer-core: keys minted fresh per run, a raw JWS signer for
 * assertions no well-behaved library would produce, request builders, a recording replay store,
 * a controllable clock, and a real JWK Set HTTP server on 127.0.0.1.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isOAuthError, type OAuthError } from '../src/errors';
import type { Jwk, ReplayStore, TokenRequest } from '../src/types';

export const ISSUER = 'https://as.example.com';
export const TOKEN_ENDPOINT = 'https://as.example.com/oauth2/token';
export const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const CLIENT_ID = 's6BhdRkqt3';
export const GRANT_ISSUER = 'https://idp.example.org';
export const SUBJECT = 'user-1234';

/** A fixed instant (seconds) for deterministic clocks. */
export const NOW = 1_760_000_000;

/** Current time in whole seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A clock whose time the test sets; `now()` has the shape of the `now` option (milliseconds). */
export class Clock {
  constructor(public seconds: number = NOW) {}
  readonly now = (): number => this.seconds * 1000;
  advance(seconds: number): void {
    this.seconds += seconds;
  }
}

/** A fixed `now` option. */
export function fixedNow(seconds: number = NOW): () => number {
  return () => seconds * 1000;
}

// ---------------------------------------------------------------------------------------------
// Keys

export interface TestKeyPair {
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  privatePem: string;
  publicPem: string;
  /** The public JWK (no kid). */
  publicJwk: Jwk;
  /** The private JWK. */
  privateJwk: Jwk;
}

function wrap(pair: crypto.KeyPairKeyObjectResult): TestKeyPair {
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: pair.publicKey.export({ format: 'jwk' }) as unknown as Jwk,
    privateJwk: pair.privateKey.export({ format: 'jwk' }) as unknown as Jwk,
  };
}

export function rsaKeyPair(modulusLength = 2048): TestKeyPair {
  return wrap(crypto.generateKeyPairSync('rsa', { modulusLength }));
}

export function ecKeyPair(namedCurve: 'P-256' | 'P-384' | 'P-521' = 'P-256'): TestKeyPair {
  return wrap(crypto.generateKeyPairSync('ec', { namedCurve }));
}

export function ed25519KeyPair(): TestKeyPair {
  return wrap(crypto.generateKeyPairSync('ed25519'));
}

export function ed448KeyPair(): TestKeyPair {
  return wrap(crypto.generateKeyPairSync('ed448'));
}

/** A random HMAC secret of `bytes` bytes, as a string of printable characters. */
export function secret(bytes = 64): string {
  return crypto.randomBytes(bytes).toString('base64url').slice(0, bytes);
}

/** A public JWK with a `kid`. */
export function jwkWithKid(pair: TestKeyPair, kid: string, extra: Partial<Jwk> = {}): Jwk {
  return { ...pair.publicJwk, kid, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Raw JWS

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Signs `input` for JWS `alg` with node:crypto (RFC 7518), whatever the key type. */
export function rawSignature(alg: string, input: string, key: crypto.KeyObject | string | Buffer, options: { der?: boolean } = {}): Buffer {
  const data = Buffer.from(input);
  const family = alg.slice(0, 2);
  const hash = HASH[alg.slice(2)];
  if (alg === 'EdDSA' || alg === 'Ed25519') return crypto.sign(null, data, key as crypto.KeyObject);
  if (family === 'HS')
    return crypto
      .createHmac(hash!, key as crypto.KeyObject | string | Buffer)
      .update(data)
      .digest();
  if (family === 'RS') return crypto.sign(hash!, data, key as crypto.KeyObject);
  if (family === 'PS') {
    return crypto.sign(hash!, data, {
      key: key as crypto.KeyObject,
      padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  if (family === 'ES') {
    return crypto.sign(hash!, data, { key: key as crypto.KeyObject, dsaEncoding: options.der ? 'der' : 'ieee-p1363' });
  }
  throw new Error(`rawSignature: cannot sign ${alg}`);
}

/**
 * A compact JWS with exactly the given header and payload (claims whose value is `undefined` are
 * left out), signed with node:crypto according to `header.alg`.
 */
export function signJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: crypto.KeyObject | string | Buffer,
  options: { der?: boolean } = {},
): string {
  const input = `${b64url(strip(header))}.${b64url(strip(payload))}`;
  return `${input}.${rawSignature(String(header.alg), input, key, options).toString('base64url')}`;
}

/** A compact JWS-shaped string with a given (fake) signature. */
export function unsignedJws(header: unknown, payload: unknown, signature = 'c2lnbmF0dXJl'): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`;
}

function strip(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}

/** Claims of a client assertion (iss = sub = client_id, aud = the issuer); `undefined` removes one. */
export function clientClaims(overrides: Record<string, unknown> = {}, now: number = nowSeconds()): Record<string, unknown> {
  return strip({
    iss: CLIENT_ID,
    sub: CLIENT_ID,
    aud: ISSUER,
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...overrides,
  });
}

/** Claims of a grant assertion; `undefined` removes one. */
export function grantClaims(overrides: Record<string, unknown> = {}, now: number = nowSeconds()): Record<string, unknown> {
  return strip({
    iss: GRANT_ISSUER,
    sub: SUBJECT,
    aud: ISSUER,
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...overrides,
  });
}

// ---------------------------------------------------------------------------------------------
// Requests

export function grantRequest(assertion: unknown, extra: Record<string, unknown> = {}, headers: TokenRequest['headers'] = {}): TokenRequest {
  return { body: { grant_type: GRANT_TYPE, assertion, ...extra }, headers };
}

export function clientRequest(assertion: unknown, extra: Record<string, unknown> = {}, headers: TokenRequest['headers'] = {}): TokenRequest {
  return {
    body: { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, ...extra },
    headers,
  };
}

/** Awaits a promise that must reject with an `OAuthError`, and returns that error. */
export async function rejection(promise: Promise<unknown>): Promise<OAuthError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    if (!isOAuthError(err)) throw new Error(`expected an OAuthError, got ${String(err)}`, { cause: err });
    return err;
  }
  throw new Error(`expected a rejection, resolved with ${JSON.stringify(result)}`);
}

/** Asserts the rejection's code (and, when given, OAuth error name and HTTP status). */
export async function expectRejected(promise: Promise<unknown>, code: string, error?: string, status?: number): Promise<OAuthError> {
  const err = await rejection(promise);
  expect(err.code).toBe(code);
  if (error !== undefined) expect(err.error).toBe(error);
  if (status !== undefined) expect(err.status).toBe(status);
  return err;
}

// ---------------------------------------------------------------------------------------------
// Replay store

/** A ReplayStore that records every claim; `failWith` makes it reject. */
export class RecordingStore implements ReplayStore {
  readonly calls: Array<{ key: string; ttlSeconds: number }> = [];
  private readonly seen = new Set<string>();
  failWith: unknown = undefined;
  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    this.calls.push({ key, ttlSeconds });
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- a store may reject with anything; tests set non-Error reasons on purpose
    if (this.failWith !== undefined) throw this.failWith;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// A real JWK Set endpoint

export type JwksMode = 'ok' | 'status500' | 'invalidJson' | 'oversized' | 'slow' | 'reset' | 'raw';

/** A JWK Set server on 127.0.0.1 that counts its requests and misbehaves on demand. */
export class JwksServer {
  requests = 0;
  mode: JwksMode = 'ok';
  /** Delay of `slow` answers, in ms. */
  delayMs = 2000;
  /** Body of `raw` answers. */
  rawBody = '';
  jwks: { keys: unknown[] } = { keys: [] };
  lastHeaders: http.IncomingHttpHeaders | undefined;
  /** Requests by path and query: fetches per key set URI. */
  readonly byUrl = new Map<string, number>();
  url = '';
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/.well-known/jwks.json`;
    return this;
  }

  /** Back to a healthy server serving `keys`, request count zeroed. */
  reset(keys: unknown[] = []): void {
    this.requests = 0;
    this.byUrl.clear();
    this.mode = 'ok';
    this.jwks = { keys };
    this.lastHeaders = undefined;
  }

  private send(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests += 1;
    this.byUrl.set(req.url ?? '', (this.byUrl.get(req.url ?? '') ?? 0) + 1);
    this.lastHeaders = req.headers;
    switch (this.mode) {
      case 'ok':
        return this.send(res, 200, JSON.stringify(this.jwks));
      case 'status500':
        return this.send(res, 500, '{"error":"boom"}');
      case 'invalidJson':
        return this.send(res, 200, '{"keys": [');
      case 'oversized':
        return this.send(res, 200, JSON.stringify({ ...this.jwks, padding: 'x'.repeat(256 * 1024) }));
      case 'raw':
        return this.send(res, 200, this.rawBody);
      case 'reset':
        req.socket.destroy();
        return;
      case 'slow': {
        const body = JSON.stringify(this.jwks);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.destroyed) this.send(res, 200, body);
        }, this.delayMs);
        this.timers.add(timer);
        return;
      }
    }
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A URL on 127.0.0.1 where nothing listens (connection refused). */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}

// ---------------------------------------------------------------------------------------------
// Certificates

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...parts: Buffer[]): Buffer => der(0x30, Buffer.concat(parts));

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return der(0x17, Buffer.from(text, 'ascii'));
}

/**
 * A self-signed X.509 v3 certificate (PEM) for an RSA `pair`, DER-encoded by hand and signed with
 * sha256WithRSAEncryption, so the tests need no openssl CLI.
 */
export function selfSignedCertificate(pair: TestKeyPair, commonName = 'jwt-bearer-test'): string {
  const sha256WithRsa = seq(der(0x06, Buffer.from('2a864886f70d01010b', 'hex')), Buffer.from([0x05, 0x00]));
  const name = seq(der(0x31, seq(der(0x06, Buffer.from('550403', 'hex')), der(0x0c, Buffer.from(commonName, 'utf8')))));
  const serial = der(0x02, Buffer.concat([Buffer.from([0x01]), crypto.randomBytes(8)]));
  const now = Date.now();
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    serial,
    sha256WithRsa,
    name,
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 86_400_000))),
    name,
    pair.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = crypto.sign('sha256', tbs, pair.privateKey);
  const cert = seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0x00]), signature])));
  const body = cert.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${body}${body.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/** DER bytes of a PEM certificate, and its x5t / x5t#S256 thumbprints. */
export function certificateInfo(pem: string): { der: Buffer; x5t: string; x5tS256: string } {
  const der = new crypto.X509Certificate(pem).raw;
  return {
    der,
    x5t: crypto.createHash('sha1').update(der).digest('base64url'),
    x5tS256: crypto.createHash('sha256').update(der).digest('base64url'),
  };
}

/** An RSA public JWK with a random odd modulus of `bits` bits and exponent `e`: importable, never verifying. */
export function hostileRsaJwk(bits: number, e: bigint, extra: Partial<Jwk> = {}): Jwk {
  const n = crypto.randomBytes(bits / 8);
  n[0]! |= 0x80;
  n[n.length - 1]! |= 1;
  let hex = e.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return { kty: 'RSA', n: n.toString('base64url'), e: Buffer.from(hex, 'hex').toString('base64url'), ...extra };
}
