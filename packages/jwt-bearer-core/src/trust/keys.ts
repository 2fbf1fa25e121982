import { createHash, createPublicKey, createSecretKey, KeyObject, X509Certificate } from 'node:crypto';
import { ALGORITHMS, ALL_ALGORITHMS, rsaKeyProblem, verifyCost, type AlgorithmSpec } from '../jose/algorithms';
import type { Algorithm, Jwk, JwkSet, PublicKeyInput, SecretInput } from '../types';

/** One usable key, parsed once, with what it may be selected by. */
export interface KeyEntry {
  readonly key: KeyObject;
  readonly kid: string | undefined;
  /**
   * Base64url SHA-1 / SHA-256 thumbprints of the key's X.509 certificate, when it has one, without
   * base64 padding (headers are compared without it too: MSAL for Python pads `x5t`).
   */
  readonly x5t: string | undefined;
  readonly x5tS256: string | undefined;
  /** Algorithms this key may verify: its type, curve and size, and the JWK's `alg` if any. */
  readonly algorithms: ReadonlySet<Algorithm>;
  /** Estimated CPU cost of one check with this key ({@link verifyCost}). */
  readonly cost: number;
}

/** The header members that select a key. Members such as `jku`, `x5u`, `jwk` are never used. */
export interface KeyHint {
  kid?: unknown;
  x5t?: unknown;
  'x5t#S256'?: unknown;
}

/** The keys a header may be verified with, and whether its `kid` / thumbprint matched nothing. */
export interface Selection {
  readonly keys: readonly KeyEntry[];
  readonly miss: boolean;
  /** Set by a remote key set when the keys were fetched while selecting them, for this very request. */
  readonly fresh?: boolean;
}

/** A source of keys: static (parsed at configuration) or a remote JWK Set. */
export interface KeySource {
  /** Key kinds the source can hold, so algorithms no key could verify are refused early. */
  readonly algorithms: ReadonlySet<Algorithm>;
  /** Keys to try for `alg` and the header's hints. May reject with a 503 `OAuthError`. */
  select(spec: AlgorithmSpec, hint: KeyHint): Selection | Promise<Selection>;
  /**
   * Called when no key of `previous` verified the signature: a source that can learn of new keys
   * (a remote JWK Set whose owner rotated a key and signs without `kid`) refreshes once, within
   * its cooldown, and answers the keys to try next; `undefined` when there is nothing new to try.
   */
  refreshForFailure?(spec: AlgorithmSpec, hint: KeyHint, previous: Selection): Promise<Selection | undefined> | undefined;
}

/**
 * At most this many keys are tried for one assertion, on every branch of the selection (`kid`,
 * `x5t`, `x5t#S256`, none): however many keys of a set share a `kid` or a thumbprint, an
 * assertion cannot make us run a signature check against each of them (DESIGN §9).
 */
export const MAX_KEYS_TRIED = 4;

/**
 * Beyond the first key, keys are tried only while their summed {@link verifyCost} stays within
 * this budget (in checks with a 2048-bit RSA key): four 2048-bit or two 4096-bit RSA keys, four
 * P-256 keys, but a single P-384 / P-521 key, so a set of expensive keys sharing a `kid` cannot
 * multiply the work of one junk assertion.
 */
export const MAX_VERIFY_COST = 8;

const ASYMMETRIC = ALL_ALGORITHMS.filter((a) => ALGORITHMS[a].kind !== 'secret');

function thumbprint(der: Buffer, hash: 'sha1' | 'sha256'): string {
  return createHash(hash).update(der).digest('base64url');
}

/** A thumbprint without trailing base64 padding; anything that is not a string is `undefined`. */
export function unpadded(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 61 /* = */) end -= 1;
  return end === value.length ? value : value.slice(0, end);
}

function entry(key: KeyObject, kid: unknown, jwkAlg: unknown, cert: Buffer | undefined, x5t?: unknown, x5tS256?: unknown): KeyEntry {
  const algorithms = new Set<Algorithm>();
  for (const name of ALL_ALGORITHMS) {
    if (ALGORITHMS[name].fits(key) && (jwkAlg === undefined || jwkAlg === name)) algorithms.add(name);
  }
  return {
    key,
    kid: typeof kid === 'string' ? kid : undefined,
    x5t: cert ? thumbprint(cert, 'sha1') : unpadded(x5t),
    x5tS256: cert ? thumbprint(cert, 'sha256') : unpadded(x5tS256),
    algorithms,
    cost: verifyCost(key),
  };
}

/** A short, bounded name for a key in a message: its position and `kid`. */
function keyName(where: string, kid: unknown): string {
  return typeof kid === 'string' ? `${where} (kid ${JSON.stringify(kid.length > 64 ? `${kid.slice(0, 64)}…` : kid)})` : where;
}

/**
 * Parses one public JWK into a key entry, or says why it is not usable: not for signatures,
 * private or symmetric, unparsable, an RSA key outside 2048–8192 bits or with an exponent above
 * 2^32, or fitting no supported algorithm. `where` names the key in the reason.
 */
export function parseJwk(jwk: unknown, where = ''): KeyEntry | string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return `key ${where} is not an object`;
  const k = jwk as Jwk;
  const name = keyName(`${typeof k.kty === 'string' ? `${k.kty.slice(0, 8)} ` : ''}key${where ? ` ${where}` : ''}`, k.kid);
  if (k.kty !== 'RSA' && k.kty !== 'EC' && k.kty !== 'OKP') return `${name} is not an RSA, EC or OKP key`;
  if (k.use !== undefined && k.use !== 'sig') return `${name} is not for signatures (use)`;
  if (Array.isArray(k.key_ops) && !k.key_ops.includes('verify')) return `${name} is not for verification (key_ops)`;
  if ('d' in k) return `${name} is a private key`;
  let key: KeyObject;
  let cert: Buffer | undefined;
  try {
    key = createPublicKey({ key: k as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (Array.isArray(k.x5c) && typeof k.x5c[0] === 'string') cert = Buffer.from(k.x5c[0], 'base64');
  } catch {
    return `${name} cannot be parsed`;
  }
  if (k.kty === 'RSA') {
    const problem = rsaKeyProblem(key, name);
    if (problem !== undefined) return problem;
  }
  const e = entry(key, k.kid, k.alg, cert, k.x5t, k['x5t#S256']);
  return e.algorithms.size > 0 ? e : `${name} fits no supported algorithm`;
}

/**
 * Parses one public JWK into a key entry. Returns `undefined` for keys that are not usable
 * (see {@link parseJwk} for the reason).
 */
export function importJwk(jwk: unknown): KeyEntry | undefined {
  const e = parseJwk(jwk);
  return typeof e === 'string' ? undefined : e;
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
      throw new TypeError(`${option} is not a valid PEM public key or certificate (${(err as Error).message})`, { cause: err });
    }
    return checked(entry(key, undefined, undefined, cert), option);
  }
  if (typeof input === 'object' && input !== null) {
    if ('d' in input) throw new TypeError(`${option} must be a public JWK; it has a private member "d"`);
    const e = parseJwk(input);
    if (typeof e === 'string') {
      throw new TypeError(`${option} is not a usable public signing JWK (RSA 2048–8192 bits, EC P-256/384/521, or OKP Ed25519/Ed448): ${e}`);
    }
    return e;
  }
  throw new TypeError(`${option} must be a PEM string, a JWK or a KeyObject`);
}

function checked(e: KeyEntry, option: string): KeyEntry {
  const type = e.key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') {
    const problem = rsaKeyProblem(e.key, 'RSA key');
    if (problem !== undefined) throw new TypeError(`${option} is not usable: ${problem}`);
  }
  if (e.algorithms.size === 0) throw new TypeError(`${option} fits no supported algorithm`);
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

const NONE: Selection = Object.freeze({ keys: Object.freeze([]) as readonly KeyEntry[], miss: true });

/**
 * The first of `candidates`, then more while fewer than {@link MAX_KEYS_TRIED} and their summed
 * cost is within {@link MAX_VERIFY_COST}. `miss` when there is none.
 */
function bounded(candidates: readonly KeyEntry[]): Selection {
  if (candidates.length === 0) return NONE;
  const keys: KeyEntry[] = [candidates[0]!];
  let cost = candidates[0]!.cost;
  for (let i = 1; i < candidates.length && keys.length < MAX_KEYS_TRIED; i++) {
    cost += candidates[i]!.cost;
    if (cost > MAX_VERIFY_COST) break;
    keys.push(candidates[i]!);
  }
  return Object.freeze({ keys: Object.freeze(keys), miss: false });
}

/** Every selection for one algorithm, computed once per key set. */
interface AlgorithmTable {
  /** No `kid` nor thumbprint in the header. */
  readonly any: Selection;
  /** A `kid` that names no key: the keys registered without one (a bare PEM, say). */
  readonly unnamed: Selection;
  /** A thumbprint that matches no key: the keys without a certificate thumbprint. */
  readonly bare: Selection;
  readonly byKid: ReadonlyMap<string, Selection>;
  readonly byX5t: ReadonlyMap<string, Selection>;
  readonly byX5tS256: ReadonlyMap<string, Selection>;
}

function group(fitting: readonly KeyEntry[], by: (e: KeyEntry) => string | undefined): Map<string, Selection> {
  const lists = new Map<string, KeyEntry[]>();
  for (const e of fitting) {
    const value = by(e);
    if (value === undefined) continue;
    const list = lists.get(value);
    if (list) list.push(e);
    else lists.set(value, [e]);
  }
  const out = new Map<string, Selection>();
  for (const [value, list] of lists) out.set(value, bounded(list));
  return out;
}

/**
 * A key set's keys, indexed once so that choosing the keys for a header allocates nothing and
 * every branch returns a bounded list (RFC 7515 §4.1.4, §4.1.7, §4.1.8; DESIGN §6, §9).
 */
export class KeyTable {
  private readonly tables = new Map<Algorithm, AlgorithmTable>();

  constructor(readonly entries: readonly KeyEntry[]) {
    const algs = new Set<Algorithm>();
    for (const e of entries) for (const a of e.algorithms) algs.add(a);
    for (const alg of algs) {
      const fitting = entries.filter((e) => e.algorithms.has(alg));
      const unnamed = fitting.filter((e) => e.kid === undefined);
      const bare = fitting.filter((e) => e.x5t === undefined && e.x5tS256 === undefined);
      this.tables.set(alg, {
        any: bounded(fitting),
        unnamed: unnamed.length > 0 ? bounded(unnamed) : NONE,
        bare: bare.length > 0 ? bounded(bare) : NONE,
        byKid: group(fitting, (e) => e.kid),
        byX5t: group(fitting, (e) => e.x5t),
        byX5tS256: group(fitting, (e) => e.x5tS256),
      });
    }
  }

  /** The keys to try for `spec` and the header's hints; `miss` when its `kid` / thumbprint matched nothing. */
  select(spec: AlgorithmSpec, hint: KeyHint): Selection {
    const table = this.tables.get(spec.name);
    if (table === undefined) return NONE;
    const kid = hint.kid;
    if (typeof kid === 'string') return table.byKid.get(kid) ?? table.unnamed;
    const s256 = hint['x5t#S256'];
    if (typeof s256 === 'string') return table.byX5tS256.get(unpadded(s256)!) ?? table.bare;
    const s1 = hint.x5t;
    if (typeof s1 === 'string') return table.byX5t.get(unpadded(s1)!) ?? table.bare;
    return table.any;
  }
}

/** Picks the keys to try for a header among `entries` (see {@link KeyTable}). */
export function selectKeys(entries: readonly KeyEntry[], spec: AlgorithmSpec, hint: KeyHint): Selection {
  return new KeyTable(entries).select(spec, hint);
}

/** Keys known at configuration time: a PEM, a JWK, an inline JWK Set or a secret. */
export class StaticKeySource implements KeySource {
  readonly algorithms: ReadonlySet<Algorithm>;
  private readonly table: KeyTable;

  constructor(entries: readonly KeyEntry[]) {
    const algs = new Set<Algorithm>();
    for (const e of entries) for (const a of e.algorithms) algs.add(a);
    this.algorithms = algs;
    this.table = new KeyTable(entries);
  }

  select(spec: AlgorithmSpec, hint: KeyHint): Selection {
    return this.table.select(spec, hint);
  }
}

/** The usable keys of a JWK Set's `keys` array (at most `limit`), and why the first refused one was refused. */
export function importJwks(keys: readonly unknown[], limit = Infinity): { entries: KeyEntry[]; refused: string | undefined } {
  const entries: KeyEntry[] = [];
  let refused: string | undefined;
  for (let i = 0; i < keys.length && entries.length < limit; i++) {
    const e = parseJwk(keys[i], `keys[${i}]`);
    if (typeof e === 'string') refused ??= e;
    else entries.push(e);
  }
  return { entries, refused };
}

/** "no usable signing key", with the reason the first key was refused when there was one. */
export function noUsableKey(refused: string | undefined): string {
  return `no usable signing key${refused === undefined ? '' : `: ${refused}`}`;
}

/** Parses an inline JWK Set; throws a `TypeError` naming `option` when it holds no usable key. */
export function importJwkSet(input: JwkSet, option: string): KeyEntry[] {
  if (typeof input !== 'object' || input === null || !Array.isArray(input.keys)) {
    throw new TypeError(`${option} must be a JWK Set: an object with a "keys" array`);
  }
  input.keys.forEach((jwk, i) => {
    if (typeof jwk === 'object' && jwk !== null && 'd' in jwk) {
      throw new TypeError(`${option}.keys[${i}] is a private key; register public keys only`);
    }
  });
  const { entries, refused } = importJwks(input.keys);
  if (entries.length === 0) throw new TypeError(`${option} holds ${noUsableKey(refused)}`);
  return entries;
}

/** Asymmetric algorithms: what a remote key set may be used with. */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<Algorithm> = new Set(ASYMMETRIC);
