import { ALL_ALGORITHMS, isAlgorithm } from './jose/algorithms';
import type { AssertionUse } from './errors';
import { JWKS_DEFAULTS, RemoteKeySets, type ResolvedJwksOptions } from './trust/jwks';
import { Offloader } from './verify/offload';
import { defaultReplayStore } from './replay/memory-store';
import { configuredUrl } from './trust/url';
import type { Algorithm, CommonOptions, ErrorDescriptions, OffloadMode, RejectionEvent, ReplayStore, SuccessEvent, WarningEvent } from './types';

/** Options common to both uses, validated, with defaults applied, frozen. */
export interface ResolvedOptions {
  readonly use: AssertionUse;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: ReadonlySet<Algorithm>;
  readonly clockTolerance: number;
  readonly maxLifetime: number;
  readonly requireJti: boolean;
  readonly replayStore: ReplayStore;
  readonly maxAssertionLength: number;
  readonly onError: ((event: RejectionEvent) => void) | undefined;
  readonly onWarning: ((event: WarningEvent) => void) | undefined;
  readonly onSuccess: ((event: SuccessEvent) => void) | undefined;
  readonly jwks: ResolvedJwksOptions;
  readonly remoteKeySets: RemoteKeySets;
  readonly now: () => number;
  /** This authenticator's / verifier's own scheduler of signature checks (option `offload`). */
  readonly offloader: Offloader;
  /** Milliseconds a `clients` / `issuers` lookup may take before the request answers 503. */
  readonly lookupTimeout: number;
  /** Whether `invalid_client` answers up to the signature check share one description. */
  readonly errorDescriptions: ErrorDescriptions;
  /** Seconds added to every replay record's TTL: `clockTolerance` for a store shared between machines, else 0. */
  readonly replayMargin: number;
}

const COMMON_KEYS = [
  'issuer',
  'audiences',
  'algorithms',
  'clockTolerance',
  'maxLifetime',
  'requireJti',
  'replayStore',
  'maxAssertionLength',
  'onError',
  'onWarning',
  'onSuccess',
  'jwksOptions',
  'now',
  'offload',
  'lookupTimeout',
  'errorDescriptions',
] as const;

const ERROR_DESCRIPTIONS: readonly ErrorDescriptions[] = ['detailed', 'uniform'];

const OFFLOAD_MODES: readonly OffloadMode[] = ['auto', 'always', 'never'];

const JWKS_KEYS = [
  'timeout',
  'cacheMaxAge',
  'cooldown',
  'staleIfError',
  'maxResponseBytes',
  'maxKeys',
  'maxKeySets',
  'requestHeaders',
  'requestAgent',
] as const;

/** Throws `TypeError('jwt-bearer: option "name" must be …')`. */
export function fail(name: string, must: string): never {
  throw new TypeError(`jwt-bearer: option "${name}" ${must}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(name, 'must be a non-empty string');
  return value;
}

export function stringArray(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    fail(name, 'must be an array of non-empty strings');
  }
  return [...value];
}

function number(value: unknown, name: string, fallback: number, min: number, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    fail(name, `must be a${integer ? 'n integer' : ' number'} ≥ ${min}`);
  }
  return value;
}

function optionalFunction<T>(value: unknown, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') fail(name, 'must be a function');
  return value as T | undefined;
}

/** Validates an algorithm list; `none` and unknown names are refused by name. */
export function algorithmList(value: unknown, name: string): Algorithm[] {
  if (!Array.isArray(value) || value.length === 0) fail(name, `must be a non-empty array of algorithms (${ALL_ALGORITHMS.join(', ')})`);
  for (const alg of value) {
    if (typeof alg === 'string' && alg.toLowerCase() === 'none') fail(name, 'must not contain "none": unsigned assertions are never accepted');
    if (!isAlgorithm(alg)) fail(name, `contains unsupported algorithm ${JSON.stringify(alg)} (supported: ${ALL_ALGORITHMS.join(', ')})`);
  }
  return value as Algorithm[];
}

/**
 * An option name nobody reads. Carries the name, the known names and where it was passed, so a
 * caller that adds options of its own (the middlewares) can report the typo under its own name
 * with its whole list of options.
 */
export class UnknownOptionError extends TypeError {
  constructor(
    readonly option: string,
    readonly known: readonly string[],
    readonly where: string,
  ) {
    super(`jwt-bearer: unknown option "${option}" in ${where} (known: ${known.join(', ')})`);
    this.name = 'TypeError';
  }
}

/** Refuses option names nobody reads: a typo (`audience`, `clockSkew`) must not pass silently. */
export function rejectUnknown(options: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new UnknownOptionError(key, known, where);
  }
}

function jwksOptions(value: unknown): ResolvedJwksOptions {
  if (value === undefined) return { ...JWKS_DEFAULTS };
  if (!isPlainObject(value)) fail('jwksOptions', 'must be an object');
  rejectUnknown(value, JWKS_KEYS, 'jwksOptions');
  const headers = value.requestHeaders;
  if (headers !== undefined && (!isPlainObject(headers) || !Object.values(headers).every((h) => typeof h === 'string'))) {
    fail('jwksOptions.requestHeaders', 'must be an object of string header values');
  }
  if (value.requestAgent !== undefined && typeof value.requestAgent !== 'object') fail('jwksOptions.requestAgent', 'must be an http(s).Agent');
  return {
    timeout: number(value.timeout, 'jwksOptions.timeout', JWKS_DEFAULTS.timeout, 1),
    cacheMaxAge: number(value.cacheMaxAge, 'jwksOptions.cacheMaxAge', JWKS_DEFAULTS.cacheMaxAge, 0),
    cooldown: number(value.cooldown, 'jwksOptions.cooldown', JWKS_DEFAULTS.cooldown, 0),
    staleIfError: number(value.staleIfError, 'jwksOptions.staleIfError', JWKS_DEFAULTS.staleIfError, 0),
    maxResponseBytes: number(value.maxResponseBytes, 'jwksOptions.maxResponseBytes', JWKS_DEFAULTS.maxResponseBytes, 1, true),
    maxKeys: number(value.maxKeys, 'jwksOptions.maxKeys', JWKS_DEFAULTS.maxKeys, 1, true),
    maxKeySets: number(value.maxKeySets, 'jwksOptions.maxKeySets', JWKS_DEFAULTS.maxKeySets, 1, true),
    requestHeaders: headers as Record<string, string> | undefined,
    requestAgent: value.requestAgent,
  };
}

/**
 * The `issuer` option: this server's issuer identifier, which RFC 8414 §2 makes an `https` URL
 * with no query or fragment (`http:` to a loopback host is allowed for development and tests).
 */
function issuerIdentifier(value: unknown): string {
  const issuer = nonEmptyString(value, 'issuer');
  let url: URL;
  try {
    url = configuredUrl(issuer, 'issuer');
  } catch {
    fail(
      'issuer',
      "must be an https URL, the authorization server's issuer identifier (RFC 8414 §2); http: is accepted only to a loopback host, for development",
    );
  }
  if (url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')) {
    fail('issuer', 'must have no query or fragment (RFC 8414 §2)');
  }
  return issuer;
}

/**
 * Validates the options both factories share. `extra` names the factory's own options, which the
 * factory validates itself.
 */
export function resolveCommonOptions(options: unknown, use: AssertionUse, extra: readonly string[]): ResolvedOptions {
  if (!isPlainObject(options)) throw new TypeError('jwt-bearer: options must be an object');
  rejectUnknown(options, [...COMMON_KEYS, ...extra], use === 'grant' ? 'createGrantVerifier()' : 'createClientAuthenticator()');
  const o = options as Partial<CommonOptions> & Record<string, unknown>;
  const issuer = issuerIdentifier(o.issuer);
  const audiences = o.audiences === undefined ? [] : stringArray(o.audiences, 'audiences');
  const algorithms = new Set(o.algorithms === undefined ? ALL_ALGORITHMS : algorithmList(o.algorithms, 'algorithms'));
  const replayStore = o.replayStore ?? defaultReplayStore();
  if (typeof (replayStore as ReplayStore)?.claim !== 'function') fail('replayStore', 'must have a claim(key, ttlSeconds) method');
  if (o.requireJti !== undefined && typeof o.requireJti !== 'boolean') fail('requireJti', 'must be a boolean');
  const now = optionalFunction<() => number>(o.now, 'now') ?? Date.now;
  const jwks = jwksOptions(o.jwksOptions);
  const offload = o.offload ?? 'auto';
  if (!OFFLOAD_MODES.includes(offload)) fail('offload', `must be one of ${OFFLOAD_MODES.map((m) => `"${m}"`).join(', ')}`);
  const errorDescriptions = o.errorDescriptions ?? 'detailed';
  if (!ERROR_DESCRIPTIONS.includes(errorDescriptions)) fail('errorDescriptions', 'must be "detailed" or "uniform"');
  const shared = (replayStore as ReplayStore).shared;
  if (shared !== undefined && typeof shared !== 'boolean') fail('replayStore', 'must have a boolean "shared" property, if any');
  const clockTolerance = number(o.clockTolerance, 'clockTolerance', 30, 0);
  return Object.freeze({
    use,
    issuer,
    audiences: Object.freeze(audiences),
    algorithms,
    clockTolerance,
    maxLifetime: number(o.maxLifetime, 'maxLifetime', use === 'client' ? 300 : 3600, 1),
    requireJti: o.requireJti ?? use === 'client',
    replayStore,
    maxAssertionLength: number(o.maxAssertionLength, 'maxAssertionLength', 16384, 16, true),
    onError: optionalFunction<(event: RejectionEvent) => void>(o.onError, 'onError'),
    onWarning: optionalFunction<(event: WarningEvent) => void>(o.onWarning, 'onWarning'),
    onSuccess: optionalFunction<(event: SuccessEvent) => void>(o.onSuccess, 'onSuccess'),
    jwks,
    remoteKeySets: new RemoteKeySets(jwks, now, use),
    now,
    offloader: new Offloader(offload),
    lookupTimeout: number(o.lookupTimeout, 'lookupTimeout', 5000, 1),
    errorDescriptions,
    replayMargin: shared === true ? clockTolerance : 0,
  });
}
