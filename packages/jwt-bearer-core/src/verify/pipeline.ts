import { ALGORITHMS, isAlgorithm, type AlgorithmSpec } from '../jose/algorithms';
import { isOAuthError, OAuthError, type AssertionUse, type ErrorCode } from '../errors';
import type { DecodedAssertion } from '../jose/jws';
import type { ResolvedOptions } from '../options';
import { MemoryReplayStore, ReplayStoreFullError } from '../replay/memory-store';
import { traceReplayClaim } from '../observe/tracing';
import type { Selection } from '../trust/keys';
import type { Party } from '../trust/registry';
import type { AssertionClaims, AssertionHeader, RejectionEvent } from '../types';
import { describe, errorMessage } from '../describe';

/** What is known of an assertion while it is checked, for the `onError` event and the tracing channels. */
export interface Seen {
  issuer?: string;
  subject?: string;
  /** The header's `alg` and `kid` (bounded, unverified until the signature is checked). */
  alg?: string;
  kid?: string;
  /** The client the request names, when it is not the assertion's `sub` (federation, SPIFFE). */
  clientId?: string;
  /** Whether the signature has been verified (for `errorDescriptions: 'uniform'`). */
  verified?: boolean;
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
    reject('ERR_ALGORITHM_NOT_ALLOWED', use, `alg ${describe(alg)} is not allowed`);
  }
  if (header.crit !== undefined) reject('ERR_CRIT_UNSUPPORTED', use, `crit ${describe(header.crit)} is not supported`);
  // RFC 7515 §4.1.10: a cty without "/" means "application/" + cty, so both spellings name a JWT.
  if (typeof header.cty === 'string' && /^(?:application\/)?jwt$/i.test(header.cty)) {
    reject('ERR_ASSERTION_MALFORMED', use, 'nested JWTs (cty JWT) are not accepted');
  }
  const typ = header.typ;
  if (typ !== undefined && (typeof typ !== 'string' || !types.has(typ.toLowerCase()))) {
    reject('ERR_TYPE_INVALID', use, `typ ${describe(typ)} is not accepted`);
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
    reject('ERR_ALGORITHM_NOT_ALLOWED', options.use, `alg ${spec.name} is not allowed for ${describe(party.id)}`);
  }
  const selected = party.source.select(spec, decoded.header);
  if (typeof (selected as PromiseLike<Selection>).then === 'function') {
    return Promise.resolve(selected).then((selection) => verifyWith(party, spec, decoded, options, selection));
  }
  return verifyWith(party, spec, decoded, options, selected as Selection);
}

function verifyWith(
  party: Party<unknown>,
  spec: AlgorithmSpec,
  decoded: DecodedAssertion,
  options: ResolvedOptions,
  selection: Selection,
  retried = false,
): void | Promise<void> {
  if (selection.keys.length === 0) {
    reject('ERR_KEY_NOT_FOUND', options.use, `no ${spec.name} key of ${describe(party.id)} matches kid ${describe(decoded.header.kid)}`);
  }
  if (spec.verifyOffThread && options.offloader.start()) return verifyOffThread(party, spec, decoded, options, selection, retried);
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
  return retryOrReject(party, spec, decoded, options, selection, retried);
}

/** {@link verifyWith} on libuv's thread pool, one candidate key after the other. */
async function verifyOffThread(
  party: Party<unknown>,
  spec: AlgorithmSpec,
  decoded: DecodedAssertion,
  options: ResolvedOptions,
  selection: Selection,
  retried: boolean,
): Promise<void> {
  try {
    for (const entry of selection.keys) {
      if (await spec.verifyOffThread!(entry.key, decoded.signingInput, decoded.signature)) return;
    }
  } finally {
    options.offloader.done();
  }
  return retryOrReject(party, spec, decoded, options, selection, retried);
}

/**
 * No key verified. A key source that can learn of new keys (a remote JWK Set whose owner rotated
 * its key) gets one chance to refresh, within its cooldown, and the new keys one try; otherwise,
 * or when that fails too, the signature is invalid.
 */
function retryOrReject(
  party: Party<unknown>,
  spec: AlgorithmSpec,
  decoded: DecodedAssertion,
  options: ResolvedOptions,
  selection: Selection,
  retried: boolean,
): Promise<void> {
  const next = retried ? undefined : party.source.refreshForFailure?.(spec, decoded.header, selection);
  if (next === undefined) signatureInvalid(party, spec, options, selection);
  return next.then((fresh) => {
    if (fresh === undefined || fresh.keys.length === 0) signatureInvalid(party, spec, options, selection);
    return verifyWith(party, spec, decoded, options, fresh, true);
  });
}

function signatureInvalid(party: Party<unknown>, spec: AlgorithmSpec, options: ResolvedOptions, selection: Selection): never {
  reject('ERR_SIGNATURE_INVALID', options.use, `signature does not verify with ${selection.keys.length} ${spec.name} key(s) of ${describe(party.id)}`);
}

function numericDate(payload: Record<string, unknown>, name: string, use: AssertionUse): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) reject('ERR_CLAIM_INVALID', use, `claim "${name}" is not a NumericDate`);
  return value;
}

/**
 * Time claims (RFC 7519 §4.1.4–6, RFC 7523 §3 items 4–6) and the lifetime cap, `maxLifetime`
 * seconds (a party's own, else the factory's). Returns the seconds until the assertion would be
 * refused anyway: how long its `jti` must be remembered.
 */
export function checkTimes(payload: Record<string, unknown>, options: ResolvedOptions, maxLifetime: number = options.maxLifetime): number {
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
    if (now - iat > maxLifetime + tolerance) {
      reject(
        'ERR_ASSERTION_LIFETIME_EXCEEDED',
        use,
        `iat ${iat} is more than ${maxLifetime} s ago (maxLifetime; a client that re-sends one assertion longer, such as MSAL for 600 s, needs a per-party maxLifetime and allowReuse)`,
      );
    }
    end = Math.min(exp, iat + maxLifetime);
  } else if (exp - now > maxLifetime + tolerance) {
    reject('ERR_ASSERTION_LIFETIME_EXCEEDED', use, `exp ${exp} is more than ${maxLifetime} s away and there is no iat`);
  }
  return Math.max(1, Math.ceil(end + tolerance - now));
}

/**
 * Records the `jti` (RFC 7519 §4.1.7, RFC 7523 §3 item 7): last, so a refused assertion never
 * burns it. The record is keyed by (iss, jti) whatever the use (DESIGN §5 step 6, §8): an
 * assertion accepted as a client assertion is not accepted again as a grant, nor the reverse.
 * `ttl` is {@link checkTimes}'s; a store shared between machines keeps it `clockTolerance` longer.
 */
export async function claimJti(options: ResolvedOptions, iss: string, jti: string, ttl: number): Promise<void> {
  const use = options.use;
  const store = options.replayStore;
  // Length-prefixed parts: no issuer / jti pair can collide with another.
  const key = `${iss.length}:${iss}:${jti}`;
  let first: boolean;
  try {
    const claiming = store instanceof MemoryReplayStore ? store.claimFor(iss, key, ttl + options.replayMargin) : store.claim(key, ttl + options.replayMargin);
    first = await traceReplayClaim(use, store, claiming);
  } catch (err) {
    const full = err instanceof ReplayStoreFullError;
    throw new OAuthError(full ? 'ERR_REPLAY_STORE_FULL' : 'ERR_REPLAY_STORE_UNAVAILABLE', {
      use,
      detail: `replay store failed: ${errorMessage(err)}`,
      cause: err,
      ...(full ? { retryAfter: err.retryAfter } : {}),
    });
  }
  if (first !== true) {
    reject(
      'ERR_ASSERTION_REPLAYED',
      use,
      `jti ${describe(jti)} of ${describe(iss)} was already used (a client that re-sends one assertion, such as MSAL, needs allowReuse on its registration)`,
    );
  }
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
  const error = isOAuthError(err) ? err : new OAuthError('ERR_INTERNAL', { use, detail: errorMessage(err), cause: err });
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
