/*
 * Key material and a hand-rolled JWS signer for the hostile-input suites. The signer takes any
 * header and payload (objects, or raw segment strings), so tests can produce validly signed
 * tokens with hostile content, and sign with whatever algorithm they claim or do not claim.
 */
import { constants, createHmac, createPublicKey, generateKeyPairSync, sign as cryptoSign, type JsonWebKey, type KeyObject } from 'node:crypto';

export const b64u = (input: string | Buffer): string => Buffer.from(input).toString('base64url');
export const segment = (value: unknown): string => b64u(JSON.stringify(value));

/** One asymmetric key pair with its public JWK (with `kid`) and SPKI PEM. */
export interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JsonWebKey & { kid: string; alg: string; use: string };
  publicPem: string;
}

function pair(kid: string, alg: string, privateKey: KeyObject, publicKey: KeyObject): TestKey {
  return {
    kid,
    alg,
    privateKey,
    publicKey,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function rsaKey(kid: string, alg = 'RS256'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return pair(kid, alg, privateKey, publicKey);
}

export function ecKey(kid: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return pair(kid, 'ES256', privateKey, publicKey);
}

export function edKey(kid: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return pair(kid, 'EdDSA', privateKey, publicKey);
}

/** A public JWK as a `KeyObject` (used to check a JWK is public). */
export const jwkToKey = (jwk: JsonWebKey): KeyObject => createPublicKey({ key: jwk, format: 'jwk' });

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Signs `input` as JWS algorithm `alg` with `key` (a private KeyObject, or HMAC secret bytes). */
export function signInput(alg: string, key: KeyObject | Buffer | string, input: string): Buffer {
  const family = alg.slice(0, 2);
  const hash = HASH[alg.slice(2)];
  const data = Buffer.from(input, 'latin1');
  if (alg === 'EdDSA' || alg === 'Ed25519') return cryptoSign(null, data, key as KeyObject);
  if (family === 'HS' && hash)
    return createHmac(hash, key as Buffer | string | KeyObject)
      .update(data)
      .digest();
  if (family === 'RS' && hash) return cryptoSign(hash, data, key as KeyObject);
  if (family === 'PS' && hash) {
    return cryptoSign(hash, data, {
      key: key as KeyObject,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  if (family === 'ES' && hash) return cryptoSign(hash, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  throw new Error(`signInput: cannot sign as ${alg}`);
}

/**
 * A compact JWS over any header and payload. `header` / `payload` may be objects (JSON-encoded)
 * or raw segment strings (used as they are). Signed as `as` (default: the header's `alg`).
 */
export function signJws(
  header: Record<string, unknown> | string,
  payload: Record<string, unknown> | string,
  key: KeyObject | Buffer | string,
  as?: string,
): string {
  const h = typeof header === 'string' ? header : segment(header);
  const p = typeof payload === 'string' ? payload : segment(payload);
  const alg = as ?? (typeof header === 'object' ? String(header.alg) : '');
  const input = `${h}.${p}`;
  return `${input}.${signInput(alg, key, input).toString('base64url')}`;
}

/** Splits a compact JWS into its three segments. */
export function parts(token: string): [string, string, string] {
  const [h = '', p = '', s = ''] = token.split('.');
  return [h, p, s];
}

/** Decodes a JSON segment (for tests only; throws on garbage). */
export function decodeSegment(seg: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(seg, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Seconds since the epoch on a clock in milliseconds. */
export const seconds = (ms: number): number => Math.floor(ms / 1000);
