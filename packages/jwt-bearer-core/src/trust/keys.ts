import { createHash, createPublicKey, createSecretKey, KeyObject, X509Certificate } from 'node:crypto';
import { ALGORITHMS, ALL_ALGORITHMS, type AlgorithmSpec } from '../jose/algorithms';
import type { Algorithm, Jwk, JwkSet, PublicKeyInput, SecretInput } from '../types';

/** One usable key, parsed once, with what it may be selected by. */
export interface KeyEntry {
  readonly key: KeyObject;
  readonly kid: string | undefined;
  /** Base64url SHA-1 / SHA-256 thumbprints of the key's X.509 certificate, when it has one. */
  readonly x5t: string | undefined;
  readonly x5tS256: string | undefined;
  /** Algorithms this key may verify: its type, curve and size, and the JWK's `alg` if any. */
  readonly algorithms: ReadonlySet<Algorithm>;
}

/** The header members that select a key. Members such as `jku`, `x5u`, `jwk` are never used. */
export interface KeyHint {
  kid?: unknown;
  x5t?: unknown;
  'x5t#S256'?: unknown;
}

/** The keys a header may be verified with, and whether its `kid` / thumbprint matched nothing. */
export interface Selection {
  keys: KeyEntry[];
  miss: boolean;
}

/** A source of keys: static (parsed at configuration) or a remote JWK Set. */
export interface KeySource {
  /** Key kinds the source can hold, so algorithms no key could verify are refused early. */
  readonly algorithms: ReadonlySet<Algorithm>;
  /** Keys to try for `alg` and the header's hints. May reject with a 503 `OAuthError`. */
  select(spec: AlgorithmSpec, hint: KeyHint): Selection | Promise<Selection>;
}

/**
 * Without a `kid` or thumbprint, at most this many keys that fit the algorithm are tried, so an
 * assertion cannot make us run a signature check against every key of a large set.
 */
export const MAX_KEYS_TRIED = 4;

const ASYMMETRIC = ALL_ALGORITHMS.filter((a) => ALGORITHMS[a].kind !== 'secret');

function thumbprint(der: Buffer, hash: 'sha1' | 'sha256'): string {
  return createHash(hash).update(der).digest('base64url');
}

function entry(key: KeyObject, kid: unknown, jwkAlg: unknown, cert: Buffer | undefined, x5t?: unknown, x5tS256?: unknown): KeyEntry {
  const algorithms = new Set<Algorithm>();
  for (const name of ALL_ALGORITHMS) {
    if (ALGORITHMS[name].fits(key) && (jwkAlg === undefined || jwkAlg === name)) algorithms.add(name);
  }
  return {
    key,
    kid: typeof kid === 'string' ? kid : undefined,
    x5t: cert ? thumbprint(cert, 'sha1') : typeof x5t === 'string' ? x5t : undefined,
    x5tS256: cert ? thumbprint(cert, 'sha256') : typeof x5tS256 === 'string' ? x5tS256 : undefined,
    algorithms,
  };
}

/**
 * Parses one public JWK into a key entry. Returns `undefined` for keys that are not for
 * signatures, are private or symmetric, cannot be parsed, or fit no supported algorithm.
 */
export function importJwk(jwk: unknown): KeyEntry | undefined {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return undefined;
  const k = jwk as Jwk;
  if (k.kty !== 'RSA' && k.kty !== 'EC' && k.kty !== 'OKP') return undefined;
  if (k.use !== undefined && k.use !== 'sig') return undefined;
  if (Array.isArray(k.key_ops) && !k.key_ops.includes('verify')) return undefined;
  if ('d' in k) return undefined;
  let key: KeyObject;
  let cert: Buffer | undefined;
  try {
    key = createPublicKey({ key: k as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (Array.isArray(k.x5c) && typeof k.x5c[0] === 'string') cert = Buffer.from(k.x5c[0], 'base64');
  } catch {
    return undefined;
  }
  const e = entry(key, k.kid, k.alg, cert, k.x5t, k['x5t#S256']);
  return e.algorithms.size > 0 ? e : undefined;
}

/** Parses a configured public key; throws a `TypeError` naming `option` when it is not one. */
export function importPublicKey(input: PublicKeyInput, option: string): KeyEntry {
  if (input instanceof KeyObject) {
    if (input.type !== 'public') throw new TypeError(`${option} must be a public key; a ${input.type} key was given`);
    return checked(entry(input, undefined, undefined, undefined), option);
  }
  if (typeof input === 'string') {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input)) {
      throw new TypeError(`${option} must be a public key or certificate; a private key PEM was given`);
    }
    let key: KeyObject;
    let cert: Buffer | undefined;
    try {
      if (input.includes('-----BEGIN CERTIFICATE-----')) {
        const x509 = new X509Certificate(input);
        key = x509.publicKey;
        cert = x509.raw;
      } else {
        key = createPublicKey(input);
      }
    } catch (err) {
      throw new TypeError(`${option} is not a valid PEM public key or certificate (${(err as Error).message})`);
    }
    return checked(entry(key, undefined, undefined, cert), option);
  }
  if (typeof input === 'object' && input !== null) {
    if ('d' in input) throw new TypeError(`${option} must be a public JWK; it has a private member "d"`);
    const e = importJwk(input);
    if (!e) throw new TypeError(`${option} is not a usable public signing JWK (RSA ≥ 2048 bits, EC P-256/384/521, or OKP Ed25519/Ed448)`);
    return e;
  }
  throw new TypeError(`${option} must be a PEM string, a JWK or a KeyObject`);
}

function checked(e: KeyEntry, option: string): KeyEntry {
  if (e.algorithms.size === 0) {
    throw new TypeError(`${option} fits no supported algorithm (RSA keys need at least 2048 bits)`);
  }
  return e;
}

/** Parses a shared secret for HS256/384/512; throws a `TypeError` naming `option`. */
export function importSecret(input: SecretInput, option: string): KeyEntry {
  let bytes: Buffer;
  if (typeof input === 'string') bytes = Buffer.from(input, 'utf8');
  else if (input instanceof Uint8Array) bytes = Buffer.from(input);
  else throw new TypeError(`${option} must be a string or a Uint8Array`);
  const e = entry(createSecretKey(bytes), undefined, undefined, undefined);
  if (e.algorithms.size === 0) {
    // RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
    throw new TypeError(`${option} must be at least 32 bytes long for HS256 (48 for HS384, 64 for HS512)`);
  }
  return e;
}

/** Picks the keys to try for a header among `entries` (RFC 7515 §4.1.4, §4.1.7, §4.1.8). */
export function selectKeys(entries: readonly KeyEntry[], spec: AlgorithmSpec, hint: KeyHint): Selection {
  const fitting = entries.filter((e) => e.algorithms.has(spec.name));
  if (typeof hint.kid === 'string') {
    const byKid = fitting.filter((e) => e.kid === hint.kid);
    if (byKid.length > 0) return { keys: byKid, miss: false };
    // A key registered without a `kid` (a bare PEM, say) still verifies a header that names one.
    const unnamed = fitting.filter((e) => e.kid === undefined).slice(0, MAX_KEYS_TRIED);
    return { keys: unnamed, miss: unnamed.length === 0 };
  }
  const s256 = hint['x5t#S256'];
  const s1 = hint.x5t;
  if (typeof s256 === 'string' || typeof s1 === 'string') {
    const byThumb = fitting.filter((e) => (typeof s256 === 'string' ? e.x5tS256 === s256 : e.x5t === s1));
    if (byThumb.length > 0) return { keys: byThumb, miss: false };
    const bare = fitting.filter((e) => e.x5t === undefined && e.x5tS256 === undefined).slice(0, MAX_KEYS_TRIED);
    return { keys: bare, miss: bare.length === 0 };
  }
  return { keys: fitting.slice(0, MAX_KEYS_TRIED), miss: fitting.length === 0 };
}

/** Keys known at configuration time: a PEM, a JWK, an inline JWK Set or a secret. */
export class StaticKeySource implements KeySource {
  readonly algorithms: ReadonlySet<Algorithm>;

  constructor(private readonly entries: readonly KeyEntry[]) {
    const algs = new Set<Algorithm>();
    for (const e of entries) for (const a of e.algorithms) algs.add(a);
    this.algorithms = algs;
  }

  select(spec: AlgorithmSpec, hint: KeyHint): Selection {
    return selectKeys(this.entries, spec, hint);
  }
}

/** Parses an inline JWK Set; throws a `TypeError` naming `option` when it holds no usable key. */
export function importJwkSet(input: JwkSet, option: string): KeyEntry[] {
  if (typeof input !== 'object' || input === null || !Array.isArray(input.keys)) {
    throw new TypeError(`${option} must be a JWK Set: an object with a "keys" array`);
  }
  const entries: KeyEntry[] = [];
  input.keys.forEach((jwk, i) => {
    if (typeof jwk === 'object' && jwk !== null && 'd' in jwk) {
      throw new TypeError(`${option}.keys[${i}] is a private key; register public keys only`);
    }
    const e = importJwk(jwk);
    if (e) entries.push(e);
  });
  if (entries.length === 0) throw new TypeError(`${option} holds no usable public signing key`);
  return entries;
}

/** Asymmetric algorithms: what a remote key set may be used with. */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<Algorithm> = new Set(ASYMMETRIC);
