/**
 * DPoP proofs at the token endpoint: RFC 9449 (OAuth 2.0 Demonstrating Proof of Possession),
 * §4.2 (the proof), §4.3 (checking it), §5 (the token request) and RFC 7638 (the key's
 * thumbprint, which binds the access token: `cnf.jkt`).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { OAuthError, isOAuthError } from '../errors';
import { ALGORITHMS, isAlgorithm } from '../jose/algorithms';
import { decodeAssertion } from '../jose/jws';
import { header as headerValue } from '../http/request';
import { algorithmList, fail, isPlainObject, rejectUnknown, type ResolvedOptions } from '../options';
import { configuredUrl } from '../trust/url';
import { ReplayStoreFullError } from '../replay/memory-store';
import { ASYMMETRIC_ALGORITHMS, importJwk, type KeyEntry } from '../trust/keys';
import type { Algorithm, TokenRequest } from '../types';

/** The checked `dpop` option. */
export interface ResolvedDpop {
  /** The token endpoint without query and fragment, normalised by the WHATWG URL parser. */
  readonly htu: string;
  readonly algorithms: readonly Algorithm[];
  readonly maxAge: number;
  /**
   * Proof keys already imported, by RFC 7638 thumbprint. A client signs every proof of a session
   * with one key, so importing its JWK (the costliest step after the signature) happens once;
   * the thumbprint covers every member that defines the key, so a hit is the same public key.
   */
  readonly keys: LRUCache<string, KeyEntry>;
}

/** Proof keys remembered per verifier ({@link ResolvedDpop.keys}); a few hundred bytes each. */
export const DPOP_KEYS_CACHED = 1000;

/** A verified proof. */
export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's `jwk`, base64url. */
  jkt: string;
}

/** Longest `DPoP` header value accepted, in characters, before any decoding. */
const MAX_PROOF_LENGTH = 8192;
/** Longest proof `jti` remembered: RFC 9449 §4.2 asks for ≥ 96 bits of randomness, not kilobytes. */
const MAX_JTI_LENGTH = 256;
/** JWK members that make it a private or symmetric key (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
/** The required members of each key type, in the lexicographic order RFC 7638 §3.2 hashes them in. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] };

/** Validates option `dpop`; throws a `TypeError` naming the option. */
export function resolveDpopOptions(value: unknown, options: ResolvedOptions): ResolvedDpop | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) fail('dpop', 'must be an object { tokenEndpoint, algorithms?, maxAge? }');
  rejectUnknown(value, ['tokenEndpoint', 'algorithms', 'maxAge'], 'dpop');
  const url = configuredUrl(value.tokenEndpoint, 'dpop.tokenEndpoint');
  const algorithms =
    value.algorithms === undefined ? [...options.algorithms].filter((a) => ASYMMETRIC_ALGORITHMS.has(a)) : algorithmList(value.algorithms, 'dpop.algorithms');
  // RFC 9449 §4.3 item 6: a proof is signed with an asymmetric algorithm, never a MAC.
  if (algorithms.some((a) => !ASYMMETRIC_ALGORITHMS.has(a))) fail('dpop.algorithms', 'must list asymmetric algorithms only (RFC 9449 §4.3)');
  if (algorithms.length === 0) fail('dpop.algorithms', 'leaves no asymmetric algorithm of the global "algorithms"');
  const maxAge = value.maxAge ?? 60;
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 1) fail('dpop.maxAge', 'must be a number ≥ 1 (seconds)');
  return Object.freeze({
    htu: withoutQueryAndFragment(url),
    algorithms: Object.freeze(algorithms),
    maxAge,
    keys: new LRUCache<string, KeyEntry>({ max: DPOP_KEYS_CACHED }),
  });
}

function withoutQueryAndFragment(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function invalid(detail: string): never {
  throw new OAuthError('ERR_DPOP_PROOF_INVALID', { detail });
}

/**
 * RFC 7638 §3.2: the required members of a public JWK, in the order they are hashed. Throws a
 * `TypeError` for an unsupported `kty` or a required member that is not a string.
 */
function thumbprintMembers(jwk: Record<string, unknown>): Record<string, string> {
  const members = THUMBPRINT_MEMBERS[jwk.kty as string];
  if (!members) throw new TypeError('unsupported kty');
  const canonical: Record<string, string> = {};
  for (const m of members) {
    const value = jwk[m];
    if (typeof value !== 'string') throw new TypeError(`member "${m}" is not a string`);
    canonical[m] = value;
  }
  return canonical;
}

function sha256Thumbprint(members: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** RFC 7638 §3: the SHA-256 thumbprint of a public JWK's required members, base64url. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  return sha256Thumbprint(thumbprintMembers(jwk));
}

/**
 * The proof key for `alg`, imported once per thumbprint. The cached entry is imported from the
 * required members alone; the members that restrict a key's use (`alg`, `use`, `key_ops`) are
 * checked on every proof, as {@link importJwk} would check them.
 */
function proofKey(jwk: Record<string, unknown>, alg: Algorithm, dpop: ResolvedDpop): { entry: KeyEntry; jkt: string } {
  let members: Record<string, string>;
  try {
    members = thumbprintMembers(jwk);
  } catch {
    invalid(`jwk is not a public ${alg} key`);
  }
  const jkt = sha256Thumbprint(members);
  let entry = dpop.keys.get(jkt);
  if (entry === undefined) {
    entry = importJwk(members);
    if (entry !== undefined) dpop.keys.set(jkt, entry);
  }
  const restricted =
    (jwk.alg !== undefined && jwk.alg !== alg) ||
    (jwk.use !== undefined && jwk.use !== 'sig') ||
    (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify'));
  if (entry === undefined || restricted || !entry.algorithms.has(alg)) invalid(`jwk is not a public ${alg} key`);
  return { entry, jkt };
}

/** A proof read and checked, its signature included. */
export interface ReadProof {
  proof: DpopProof;
  jti: string;
  ttl: number;
}

/**
 * Checks the request's `DPoP` header as a proof for `POST` to the token endpoint, RFC 9449 §4.3
 * items 1–11 (no server nonce: item 12 applies only to servers that send one). Returns
 * `undefined` when the request has no `DPoP` header. It does not record the `jti`: the caller
 * does that with {@link claimProof} last, after every other check passed.
 *
 * The signature is checked last, through the verifier's offloader like an assertion's: a promise
 * only when it runs on the thread pool, so a proof checked on the event loop costs no microtask.
 */
export function readDpopProof(request: TokenRequest, dpop: ResolvedDpop, options: ResolvedOptions): ReadProof | Promise<ReadProof> | undefined {
  const raw = request?.headers?.dpop;
  if (raw === undefined) return undefined;
  // §4.3 item 1: exactly one DPoP header (Node joins repeated ones with ", ", which no JWS contains).
  if (Array.isArray(raw) || typeof raw !== 'string' || raw.includes(',')) invalid('more than one DPoP header');
  const value = headerValue(request, 'dpop')!;
  let decoded;
  try {
    // §4.3 item 2: a well-formed JWS (item 3, all required claims, is checked below).
    decoded = decodeAssertion(value, MAX_PROOF_LENGTH, 'grant');
  } catch (err) {
    invalid(isOAuthError(err) ? `proof: ${err.detail}` : 'proof is not a JWS');
  }
  const { header, payload } = decoded;
  // §4.3 item 4: typ is dpop+jwt (a media type: case-insensitive, the application/ prefix optional).
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (typ !== 'dpop+jwt' && typ !== 'application/dpop+jwt') invalid('typ is not dpop+jwt');
  // §4.3 items 5, 6: an asymmetric algorithm the server supports; never none, never a MAC.
  const alg = header.alg;
  if (!isAlgorithm(alg) || !dpop.algorithms.includes(alg)) invalid('alg is not an allowed asymmetric algorithm');
  if (header.crit !== undefined) invalid('crit is not supported');
  // §4.3 item 7: the jwk header is a public key (RFC 9449 §4.2: it MUST NOT contain a private key).
  const jwk = header.jwk;
  if (!isPlainObject(jwk)) invalid('jwk header is missing or not an object');
  for (const member of PRIVATE_MEMBERS) if (member in jwk) invalid(`jwk has the private or symmetric member "${member}"`);
  const { entry, jkt } = proofKey(jwk, alg, dpop);
  // §4.3 item 3: jti, htm, htu, iat present; item 9: htm; item 10: htu without query and fragment.
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) invalid('jti is missing or not a string of at most 256 characters');
  if (payload.htm !== 'POST') invalid('htm is not POST');
  const htu = payload.htu;
  if (typeof htu !== 'string') invalid('htu is missing or not a string');
  // The configured form is already normalised: a client that sends exactly it needs no parse.
  if (htu !== dpop.htu) {
    let target: URL;
    try {
      target = new URL(htu);
    } catch {
      invalid('htu is not an absolute URL');
    }
    if (withoutQueryAndFragment(target) !== dpop.htu) invalid('htu does not name this token endpoint');
  }
  // §4.3 item 11: created within an acceptable window.
  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) invalid('iat is missing or not a NumericDate');
  const now = options.now() / 1000;
  if (iat > now + options.clockTolerance) invalid('iat is in the future');
  if (now - iat > dpop.maxAge) invalid(`iat is more than ${dpop.maxAge} s ago`);
  // The proof stays acceptable until iat + maxAge: remember its jti that long.
  const read: ReadProof = { proof: { jkt }, jti, ttl: Math.max(1, Math.ceil(iat + dpop.maxAge - now)) };

  // §4.3 item 8: the signature verifies with that key.
  const spec = ALGORITHMS[alg];
  if (spec.verifyOffThread && options.offloader.start()) {
    return spec
      .verifyOffThread(entry.key, decoded.signingInput, decoded.signature)
      .finally(() => options.offloader.done())
      .then((valid) => (valid ? read : invalid(SIGNATURE_INVALID)));
  }
  let valid: boolean;
  try {
    valid = spec.verify(entry.key, decoded.signingInput, decoded.signature);
  } catch {
    valid = false;
  }
  return valid ? read : invalid(SIGNATURE_INVALID);
}

const SIGNATURE_INVALID = 'signature does not verify with the jwk header';

/**
 * Records a proof's `jti` (RFC 9449 §11.1): single use per key. The key's thumbprint is part of
 * the record, and the `dpop:` prefix keeps it apart from assertion records.
 */
export async function claimProof(options: ResolvedOptions, jkt: string, jti: string, ttl: number): Promise<void> {
  const store = options.replayStore;
  const key = `dpop:${jkt}:${jti}`;
  let first: boolean;
  try {
    // A store shared between machines keeps it one clockTolerance longer (DESIGN §8).
    first = await store.claim(key, ttl + options.replayMargin);
  } catch (err) {
    throw new OAuthError(err instanceof ReplayStoreFullError ? 'ERR_REPLAY_STORE_FULL' : 'ERR_REPLAY_STORE_UNAVAILABLE', {
      detail: `replay store failed for a DPoP proof: ${(err as Error)?.message ?? String(err)}`,
      cause: err,
    });
  }
  if (first !== true) throw new OAuthError('ERR_DPOP_PROOF_REPLAYED', { detail: `DPoP proof jti ${JSON.stringify(jti.slice(0, 64))} was already used` });
}
