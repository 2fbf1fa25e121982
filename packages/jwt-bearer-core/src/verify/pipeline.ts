import { ALGORITHMS, isAlgorithm, type AlgorithmSpec } from '../jose/algorithms';
import { isOAuthError, OAuthError, type AssertionUse, type ErrorCode } from '../errors';
import type { DecodedAssertion } from '../jose/jws';
import type { ResolvedOptions } from '../options';
import { ReplayStoreFullError } from '../replay/memory-store';
import type { Selection } from '../trust/keys';
import type { Party } from '../trust/registry';
import type { AssertionClaims, AssertionHeader, RejectionEvent } from '../types';

/** What is known of an assertion while it is checked, for the `onError` event. */
export interface Seen {
  issuer?: string;
  subject?: string;
  /** The client the request names, when it is not the assertion's `sub` (federation, SPIFFE). */
  clientId?: string;
}

/** Throws the error for `code` in this use. */
export function reject(code: ErrorCode, use: AssertionUse, detail: string): never {
  throw new OAuthError(code, { use, detail });
}

/**
 * Header checks before any key is looked up (RFC 7515 §4.1.11, RFC 8725 §3.11): the algorithm
 * must be on the global allow-list, `crit` is refused (we implement no extension), a nested JWT
 * is refused, and an explicit `typ` must be one of `types` (compared case-insensitively, as media
 * types are).
 */
export function checkHeader(decoded: DecodedAssertion, options: ResolvedOptions, types: ReadonlySet<string>): AlgorithmSpec {
  const { header } = decoded;
  const use = options.use;
  const alg = header.alg;
  if (!isAlgorithm(alg) || !options.algorithms.has(alg)) {
    reject('ERR_ALGORITHM_NOT_ALLOWED', use, `alg ${JSON.stringify(alg)} is not allowed`);
  }
  if (header.crit !== undefined) reject('ERR_CRIT_UNSUPPORTED', use, `crit ${JSON.stringify(header.crit)} is not supported`);
  // RFC 7515 §4.1.10: a cty without "/" means "application/" + cty, so both spellings name a JWT.
  if (typeof header.cty === 'string' && /^(?:application\/)?jwt$/i.test(header.cty)) {
    reject('ERR_ASSERTION_MALFORMED', use, 'nested JWTs (cty JWT) are not accepted');
  }
  const typ = header.typ;
  if (typ !== undefined && (typeof typ !== 'string' || !types.has(typ.toLowerCase()))) {
    reject('ERR_TYPE_INVALID', use, `typ ${JSON.stringify(typ)} is not accepted`);
  }
  return ALGORITHMS[alg];
}

/** A required string claim (RFC 7523 §3 items 1, 2). */
export function stringClaim(payload: Record<string, unknown>, name: string, use: AssertionUse, required: boolean): string | undefined {
  const value = payload[name];
  if (value === undefined) {
    if (required) reject(name === 'jti' ? 'ERR_JTI_MISSING' : 'ERR_CLAIM_MISSING', use, `claim "${name}" is missing`);
    return undefined;
  }
  if (typeof value !== 'string' || value.length === 0) reject('ERR_CLAIM_INVALID', use, `claim "${name}" is not a non-empty string`);
  return value;
}

/**
 * Finds the key and checks the signature (RFC 7515 §5.2), with the algorithm bound to the key type.
 * Returns a promise only when the key source is asynchronous (a remote JWK Set) or the check runs
 * on the thread pool (option `offload`): otherwise the signature is checked synchronously, without
 * a microtask hop on the hot path. Either way it throws / rejects with the same errors.
 */
export function verifySignature(party: Party<unknown>, spec: AlgorithmSpec, decoded: DecodedAssertion, options: ResolvedOptions): void | Promise<void> {
  if (!party.algorithms.has(spec.name)) {
    reject('ERR_ALGORITHM_NOT_ALLOWED', options.use, `alg ${spec.name} is not allowed for ${JSON.stringify(party.id)}`);
  }
  const selected = party.source.select(spec, decoded.header);
  if (typeof (selected as PromiseLike<Selection>).then === 'function') {
    return Promise.resolve(selected).then((selection) => verifyWith(party, spec, decoded, options, selection));
  }
  return verifyWith(party, spec, decoded, options, selected as Selection);
}

function verifyWith(party: Party<unknown>, spec: AlgorithmSpec, decoded: DecodedAssertion, options: ResolvedOptions, selection: Selection): void | Promise<void> {
  if (selection.keys.length === 0) {
    reject('ERR_KEY_NOT_FOUND', options.use, `no ${spec.name} key of ${JSON.stringify(party.id)} matches kid ${JSON.stringify(decoded.header.kid)}`);
  }
  if (spec.verifyOffThread && options.offloader.start()) return verifyOffThread(party, spec, decoded, options, selection);
  for (const entry of selection.keys) {
    let valid = false;
    try {
      valid = spec.verify(entry.key, decoded.signingInput, decoded.signature);
    } catch {
      // node:crypto throws for some key / algorithm pairs (an RSASSA-PSS key restricted to another
      // digest): the assertion does not verify with this key; it is not a server error.
    }
    if (valid) return;
  }
  signatureInvalid(party, spec, options, selection);
}

/** {@link verifyWith} on libuv's thread pool, one candidate key after the other. */
async function verifyOffThread(party: Party<unknown>, spec: AlgorithmSpec, decoded: DecodedAssertion, options: ResolvedOptions, selection: Selection): Promise<void> {
  try {
    for (const entry of selection.keys) {
      if (await spec.verifyOffThread!(entry.key, decoded.signingInput, decoded.signature)) return;
    }
  } finally {
    options.offloader.done();
  }
  signatureInvalid(party, spec, options, selection);
}

function signatureInvalid(party: Party<unknown>, spec: AlgorithmSpec, options: ResolvedOptions, selection: Selection): never {
  reject('ERR_SIGNATURE_INVALID', options.use, `signature does not verify with ${selection.keys.length} ${spec.name} key(s) of ${JSON.stringify(party.id)}`);
}

function numericDate(payload: Record<string, unknown>, name: string, use: AssertionUse): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) reject('ERR_CLAIM_INVALID', use, `claim "${name}" is not a NumericDate`);
  return value;
}

/**
 * Time claims (RFC 7519 §4.1.4–6, RFC 7523 §3 items 4–6) and the lifetime cap. Returns the
 * seconds until the assertion would be refused anyway: how long its `jti` must be remembered.
 */
export function checkTimes(payload: Record<string, unknown>, options: ResolvedOptions): number {
  const use = options.use;
  const now = options.now() / 1000;
  const tolerance = options.clockTolerance;
  const exp = numericDate(payload, 'exp', use);
  if (exp === undefined) reject('ERR_CLAIM_MISSING', use, 'claim "exp" is missing');
  const nbf = numericDate(payload, 'nbf', use);
  const iat = numericDate(payload, 'iat', use);
  if (now >= exp + tolerance) reject('ERR_ASSERTION_EXPIRED', use, `exp ${exp} is past (now ${Math.floor(now)})`);
  if (nbf !== undefined && nbf > now + tolerance) reject('ERR_ASSERTION_NOT_YET_VALID', use, `nbf ${nbf} is in the future (now ${Math.floor(now)})`);
  let end = exp;
  if (iat !== undefined) {
    if (iat > now + tolerance) reject('ERR_ASSERTION_ISSUED_IN_FUTURE', use, `iat ${iat} is in the future (now ${Math.floor(now)})`);
    if (now - iat > options.maxLifetime + tolerance) {
      reject('ERR_ASSERTION_LIFETIME_EXCEEDED', use, `iat ${iat} is more than ${options.maxLifetime} s ago`);
    }
    end = Math.min(exp, iat + options.maxLifetime);
  } else if (exp - now > options.maxLifetime + tolerance) {
    reject('ERR_ASSERTION_LIFETIME_EXCEEDED', use, `exp ${exp} is more than ${options.maxLifetime} s away and there is no iat`);
  }
  return Math.max(1, Math.ceil(end + tolerance - now));
}

/** Records the `jti` (RFC 7519 §4.1.7, RFC 7523 §3 item 7): last, so a refused assertion never burns it. */
export async function claimJti(options: ResolvedOptions, scope: string, jti: string, ttl: number): Promise<void> {
  const use = options.use;
  let first: boolean;
  try {
    // Length-prefixed parts: no issuer / jti pair can collide with another.
    first = await options.replayStore.claim(`${use}:${scope.length}:${scope}:${jti}`, ttl);
  } catch (err) {
    throw new OAuthError(err instanceof ReplayStoreFullError ? 'ERR_REPLAY_STORE_FULL' : 'ERR_REPLAY_STORE_UNAVAILABLE', {
      use,
      detail: `replay store failed: ${(err as Error)?.message ?? String(err)}`,
      cause: err,
    });
  }
  if (first !== true) reject('ERR_ASSERTION_REPLAYED', use, `jti ${JSON.stringify(jti)} of ${JSON.stringify(scope)} was already used`);
}

/** Calls an observation hook; a hook that throws never changes the answer. */
export function observe<E>(hook: ((event: E) => void) | undefined, event: () => E): void {
  if (!hook) return;
  try {
    hook(event());
  } catch {
    // Hooks are for logging and metrics only.
  }
}

/**
 * Turns anything thrown into an `OAuthError` (a bare 500 for what is not one) and reports it to
 * the `onError` hook with what is known of the assertion.
 */
export function report(
  onError: ((event: RejectionEvent) => void) | undefined,
  use: AssertionUse,
  err: unknown,
  seen: Seen = {},
  extra: Partial<RejectionEvent> = {},
): OAuthError {
  const error = isOAuthError(err) ? err : new OAuthError('ERR_INTERNAL', { use, detail: (err as Error)?.message ?? String(err), cause: err });
  observe(onError, () => ({
    code: error.code,
    error: error.error,
    status: error.status,
    detail: error.detail,
    use,
    ...(seen.issuer !== undefined ? { issuer: seen.issuer } : {}),
    ...(seen.subject !== undefined ? { subject: seen.subject } : {}),
    ...(error.cause !== undefined ? { cause: error.cause } : {}),
    ...extra,
  }));
  return error;
}

export type { AssertionClaims, AssertionHeader };
