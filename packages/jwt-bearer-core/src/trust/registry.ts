import { KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ALGORITHMS } from '../jose/algorithms';
import { OAuthError } from '../errors';
import { importJwkSet, importPublicKey, importSecret, MAX_KEYS_TRIED, StaticKeySource, type KeyEntry, type KeySource } from './keys';
import { configuredUrl } from './url';
import { discoverySource, discoveryUrls } from './discovery';
import { checkFederatedCredentials } from './federation';
import { checkSpiffeId } from './spiffe';
import { describe, describeKind, errorMessage } from '../describe';
import { observe } from '../verify/pipeline';
import { algorithmList, fail, isPlainObject, nonEmptyString, rejectUnknown, type ResolvedOptions } from '../options';
import type { Algorithm, ClientRegistration, FederationIssuer, Resolver, TrustedIssuer } from '../types';

/** A registration (trusted issuer or client) with its keys parsed and its algorithms settled. */
export interface Party<R> {
  readonly id: string;
  readonly registration: R;
  readonly source: KeySource;
  /** Global algorithms ∩ the registration's ∩ those its keys can verify. */
  readonly algorithms: ReadonlySet<Algorithm>;
  /** Whether the keys are shared secrets (`client_secret_jwt`). */
  readonly symmetric: boolean;
  /** The registration's `allowReuse`: its assertions skip the replay store (DESIGN §8). */
  readonly allowReuse: boolean;
  /** Seconds: the registration's `maxLifetime`, else the factory's. */
  readonly maxLifetime: number;
}

/** What of a party is parsed from its key material, and cached by that content. */
interface Keys {
  readonly source: KeySource;
  readonly algorithms: ReadonlySet<Algorithm>;
  readonly symmetric: boolean;
}

/** What a registration's fields say, checked on every lookup (cold or warm). */
interface Checked {
  readonly id: string;
  /** The one key source field present; `none` for a client that authenticates by federation or SPIFFE only. */
  readonly field: string;
  readonly own: ReadonlySet<Algorithm> | undefined;
  readonly allowReuse: boolean;
  readonly maxLifetime: number;
}

interface Shape {
  idField: 'issuer' | 'clientId';
  secretField: 'secret' | 'clientSecret';
  fields: readonly string[];
  listOption: string;
  /** Key sources besides jwksUri, jwks, publicKey and the secret. */
  extraSources?: readonly string[];
}

const POLICY_FIELDS = ['allowReuse', 'maxLifetime'] as const;

const ISSUER_SHAPE: Shape = {
  idField: 'issuer',
  secretField: 'secret',
  fields: ['issuer', 'jwksUri', 'jwks', 'publicKey', 'secret', 'discovery', 'algorithms', 'subjects', 'scopes', 'requireSubject', 'profiles', ...POLICY_FIELDS],
  listOption: 'issuers',
  extraSources: ['discovery'],
};

/** Federation issuers (DESIGN §11): public keys only, never a secret shared with a platform. */
const FEDERATION_SHAPE: Shape = {
  idField: 'issuer',
  secretField: 'secret',
  fields: ['issuer', 'jwksUri', 'jwks', 'publicKey', 'discovery', 'audience', 'algorithms', ...POLICY_FIELDS],
  listOption: 'federation',
  extraSources: ['discovery'],
};

const CLIENT_SHAPE: Shape = {
  idField: 'clientId',
  secretField: 'clientSecret',
  fields: ['clientId', 'jwksUri', 'jwks', 'publicKey', 'clientSecret', 'algorithms', 'federatedCredentials', 'spiffeId', ...POLICY_FIELDS],
  listOption: 'clients',
};

type Registration = TrustedIssuer | ClientRegistration | FederationIssuer;

/**
 * Every check of a registration that parses no key: unknown fields, exactly one key source, the
 * algorithm list, the per-party policy, and the issuer's subjects, scopes and requireSubject.
 * Run on every lookup, also when the keys come from the cache, so a warm hit refuses what a cold
 * one refuses.
 */
function checkFields(reg: Record<string, unknown>, shape: Shape, where: string, options: ResolvedOptions): Checked {
  rejectUnknown(reg, shape.fields, where);
  const id = nonEmptyString(reg[shape.idField], `${where}.${shape.idField}`);
  const names = keySourceNames(shape);
  let field: string | undefined;
  let count = 0;
  for (const f of names) {
    if (reg[f] === undefined) continue;
    count += 1;
    field ??= f;
  }
  // A client that only authenticates by federation or SPIFFE: its keys come from the platform.
  if (count === 0 && shape === CLIENT_SHAPE && (reg.federatedCredentials !== undefined || reg.spiffeId !== undefined)) field = 'none';
  else if (count !== 1) {
    const found = names.filter((f) => reg[f] !== undefined);
    fail(where, `must have exactly one key source of ${names.join(', ')} (found ${found.length ? found.join(', ') : 'none'})`);
  }
  const own = reg.algorithms === undefined ? undefined : new Set(algorithmList(reg.algorithms, `${where}.algorithms`));
  const allowReuse = reg.allowReuse;
  if (allowReuse !== undefined && typeof allowReuse !== 'boolean') fail(`${where}.allowReuse`, 'must be a boolean');
  const maxLifetime = reg.maxLifetime;
  if (maxLifetime !== undefined && (typeof maxLifetime !== 'number' || !Number.isFinite(maxLifetime) || maxLifetime < 1)) {
    fail(`${where}.maxLifetime`, 'must be a number of seconds ≥ 1');
  }
  if (shape === ISSUER_SHAPE) {
    const subjects = reg.subjects;
    if (subjects !== undefined && typeof subjects !== 'function' && !(Array.isArray(subjects) && subjects.every((s) => typeof s === 'string'))) {
      fail(`${where}.subjects`, 'must be an array of strings or a function');
    }
    if (reg.scopes !== undefined && !(Array.isArray(reg.scopes) && reg.scopes.every((s) => typeof s === 'string'))) {
      fail(`${where}.scopes`, 'must be an array of strings');
    }
    if (reg.requireSubject !== undefined && typeof reg.requireSubject !== 'boolean') fail(`${where}.requireSubject`, 'must be a boolean');
    const profiles = reg.profiles;
    if (profiles !== undefined && !(Array.isArray(profiles) && profiles.length > 0 && profiles.every((p) => p === 'rfc7523' || p === 'id-jag'))) {
      fail(`${where}.profiles`, 'must be a non-empty array of "rfc7523" and "id-jag"');
    }
  }
  if (shape === CLIENT_SHAPE) {
    if (reg.federatedCredentials !== undefined) checkFederatedCredentials(reg.federatedCredentials, `${where}.federatedCredentials`);
    if (reg.spiffeId !== undefined) checkSpiffeId(reg.spiffeId, `${where}.spiffeId`);
  }
  if (shape === FEDERATION_SHAPE && reg.audience !== undefined) nonEmptyString(reg.audience, `${where}.audience`);
  return { id, field: field!, own, allowReuse: allowReuse === true, maxLifetime: (maxLifetime as number | undefined) ?? options.maxLifetime };
}

/** The key source fields of a shape, in the order its error message names them. */
function keySourceNames(shape: Shape): string[] {
  return ['jwksUri', 'jwks', 'publicKey', ...(shape.fields.includes(shape.secretField) ? [shape.secretField] : []), ...(shape.extraSources ?? [])];
}

/** Secrets in one `secret` / `clientSecret` list at most: each is tried for a header without `kid`. */
const MAX_SECRETS = MAX_KEYS_TRIED;

/** Parses the secret or the list of secrets (current and next) of a registration. */
function importSecrets(value: unknown, option: string): KeyEntry[] {
  if (!Array.isArray(value)) return [importSecret(value as never, `jwt-bearer: option "${option}"`)];
  if (value.length === 0 || value.length > MAX_SECRETS) {
    fail(option, `must be a secret or a list of 1 to ${MAX_SECRETS} secrets (the current and the next, during a change)`);
  }
  return value.map((s, i) => importSecret(s as never, `jwt-bearer: option "${option}[${i}]"`));
}

/** The hash lengths HS256/384/512 need as a key (RFC 7518 §3.2), in bytes. */
const HMAC_MIN_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

function secretBytes(value: unknown): number {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? Buffer.byteLength(first, 'utf8') : first instanceof Uint8Array ? first.byteLength : 0;
}

/** Parses the key material of a checked registration; throws a `TypeError` naming `where` on a bad one. */
function parseKeys(reg: Record<string, unknown>, checked: Checked, shape: Shape, where: string, options: ResolvedOptions): Keys {
  let source: KeySource;
  const field = checked.field;
  if (field === 'none') return { source: new StaticKeySource([]), algorithms: new Set(), symmetric: false };
  if (field === 'discovery') {
    source = discoverySource(checked.id, discoveryUrls(reg.discovery, checked.id, `${where}.discovery`), options);
  } else if (field === 'jwksUri') {
    configuredUrl(reg.jwksUri, `${where}.jwksUri`);
    source = options.remoteKeySets.get(reg.jwksUri as string);
  } else if (field === 'jwks') {
    source = new StaticKeySource(importJwkSet(reg.jwks as never, `jwt-bearer: option "${where}.jwks"`));
  } else if (field === 'publicKey') {
    source = new StaticKeySource([importPublicKey(reg.publicKey as never, `jwt-bearer: option "${where}.publicKey"`)]);
  } else {
    source = new StaticKeySource(importSecrets(reg[field], `${where}.${field}`));
  }
  const own = checked.own;
  const algorithms = new Set<Algorithm>();
  for (const alg of options.algorithms) {
    if ((own === undefined || own.has(alg)) && source.algorithms.has(alg)) algorithms.add(alg);
  }
  if (algorithms.size === 0) {
    if (field === shape.secretField && own !== undefined) {
      // The usual cause with a secret: it is too short for every HMAC the registration allows.
      const needed = [...own].filter((a) => options.algorithms.has(a) && HMAC_MIN_BYTES[a] !== undefined);
      if (needed.length > 0) {
        const bytes = secretBytes(reg[field]);
        const least = Math.min(...needed.map((a) => HMAC_MIN_BYTES[a]!));
        fail(
          `${where}.${field}`,
          `is ${bytes} bytes long; ${needed.join(', ')} need${needed.length === 1 ? 's' : ''} a secret of at least ${least} bytes (RFC 7518 §3.2: at least the hash output)`,
        );
      }
    }
    fail(where, 'has no usable algorithm: the global "algorithms", its own "algorithms" and its key type have nothing in common');
  }
  let symmetric = true;
  for (const a of algorithms) if (ALGORITHMS[a].kind !== 'secret') symmetric = false;
  return { source, algorithms, symmetric };
}

function party<R extends Registration>(reg: Record<string, unknown>, checked: Checked, keys: Keys): Party<R> {
  return {
    id: checked.id,
    registration: reg as unknown as R,
    source: keys.source,
    algorithms: keys.algorithms,
    symmetric: keys.symmetric,
    allowReuse: checked.allowReuse,
    maxLifetime: checked.maxLifetime,
  };
}

/** Compiles one registration; throws a `TypeError` naming `where` on a bad one. */
function compile<R extends Registration>(reg: unknown, shape: Shape, where: string, options: ResolvedOptions): Party<R> {
  if (!isPlainObject(reg)) fail(where, 'must be an object');
  const checked = checkFields(reg, shape, where, options);
  return party<R>(reg, checked, parseKeys(reg, checked, shape, where, options));
}

/** What a key source's parse can be cached by: its content, so a PEM is parsed once. */
function contentKey(reg: Record<string, unknown>, checked: Checked): string | undefined {
  const field = checked.field;
  const value = reg[field];
  const material =
    field === 'jwksUri'
      ? `u${String(value)}`
      : field === 'discovery'
        ? `d${String(value)}`
        : field === 'none'
          ? undefined
          : field === 'publicKey'
            ? typeof value === 'string'
              ? `p${value}`
              : isPlainObject(value) && !(value instanceof KeyObject)
                ? `k${JSON.stringify(value)}`
                : undefined
            : field === 'jwks'
              ? isPlainObject(value)
                ? `j${JSON.stringify(value)}`
                : undefined
              : secretKey(value);
  if (material === undefined) return undefined;
  return `${checked.id}\u0000${checked.own === undefined ? '*' : [...checked.own].join(',')}\u0000${material}`;
}

function secretKey(value: unknown): string | undefined {
  if (typeof value === 'string') return `s${value}`;
  if (value instanceof Uint8Array) return `b${Buffer.from(value).toString('base64')}`;
  if (!Array.isArray(value)) return undefined;
  const parts: string[] = [];
  for (const v of value) {
    const part = secretKey(Array.isArray(v) ? undefined : v);
    if (part === undefined) return undefined;
    parts.push(`${part.length}:${part}`);
  }
  return `l${parts.join('')}`;
}

/** Whether `value` is a plain object: made by a literal, `JSON.parse` or `Object.create(null)`. */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Resolves trusted issuers or clients from a list (compiled once) or an app's lookup function. */
export class Trust<R extends Registration> {
  private readonly byId: Map<string, Party<R>> | undefined;
  private readonly resolver: Resolver<R> | undefined;
  private readonly byContent = new LRUCache<string, Keys>({ max: 10_000 });

  constructor(
    input: unknown,
    private readonly shape: Shape,
    private readonly options: ResolvedOptions,
  ) {
    if (typeof input === 'function') {
      this.resolver = input as Resolver<R>;
    } else if (Array.isArray(input)) {
      if (input.length === 0) fail(shape.listOption, 'must not be empty (or pass a lookup function)');
      this.byId = new Map();
      input.forEach((reg, i) => {
        const party = compile<R>(reg, shape, `${shape.listOption}[${i}]`, options);
        if (this.byId!.has(party.id)) fail(`${shape.listOption}[${i}].${shape.idField}`, `repeats ${JSON.stringify(party.id)}`);
        this.byId!.set(party.id, party);
      });
    } else {
      fail(shape.listOption, `is required: an array of registrations or a function (id) => registration`);
    }
  }

  /** Every registered party when the registrations are a list; `undefined` for a lookup function. */
  list(): readonly Party<R>[] | undefined {
    return this.byId ? [...this.byId.values()] : undefined;
  }

  /**
   * The party for `id`, `undefined` when unknown. Rejects with a 503 `OAuthError` when the lookup
   * fails or does not settle within `lookupTimeout`, and with the use's "unknown" error (and a
   * configuration warning) when it returns something that is not a registration for `id`.
   */
  resolve(id: string): Party<R> | undefined | Promise<Party<R> | undefined> {
    if (this.byId) return this.byId.get(id);
    let found: unknown;
    try {
      found = this.resolver!(id);
    } catch (err) {
      throw this.lookupFailed(err);
    }
    if (found instanceof Promise || (typeof found === 'object' && found !== null && typeof (found as PromiseLike<unknown>).then === 'function')) {
      return this.withDeadline(found as PromiseLike<unknown>).then((reg) => this.fromLookup(id, reg));
    }
    return this.fromLookup(id, found);
  }

  /** Settles with the lookup, or rejects with 503 once `lookupTimeout` has passed. */
  private withDeadline(lookup: PromiseLike<unknown>): Promise<unknown> {
    const ms = this.options.lookupTimeout;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new OAuthError('ERR_TRUST_LOOKUP_FAILED', {
            use: this.options.use,
            detail: `${this.shape.listOption} lookup did not answer within lookupTimeout (${ms} ms)`,
          }),
        );
      }, ms);
      timer.unref?.();
      Promise.resolve(lookup).then(
        (reg) => {
          clearTimeout(timer);
          resolve(reg);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(this.lookupFailed(err));
        },
      );
    });
  }

  private fromLookup(id: string, reg: unknown): Party<R> | undefined {
    if (reg === undefined || reg === null) return undefined;
    const shape = this.shape;
    // DESIGN §9: only a plain object that names the identifier asked for is its registration. A
    // lookup such as `(id) => table[id]` answers `__proto__` with Object.prototype and `toString`
    // with a function; a case-insensitive store answers `CLIENT-A` with `client-a`'s record.
    if (!isPlainRecord(reg) || reg[shape.idField] !== id) {
      const got = !isPlainRecord(reg) ? `a ${describeKind(reg)}, not a plain registration object` : `${shape.idField} ${describe(reg[shape.idField])}`;
      const detail = `configuration: ${shape.listOption} lookup for ${describe(id)} returned ${got}; treated as unknown`;
      observe(this.options.onWarning, () => ({
        code: 'WARN_LOOKUP_MISMATCH' as const,
        detail,
        use: this.options.use,
        issuer: id,
        subject: id,
        ...(this.options.use === 'client' ? { clientId: id } : {}),
      }));
      throw new OAuthError(shape === ISSUER_SHAPE ? 'ERR_ISSUER_UNTRUSTED' : 'ERR_CLIENT_UNKNOWN', { use: this.options.use, detail });
    }
    // Keys are cached by content only, never by object identity: an app that updates a
    // registration object in place (a rotated or revoked key) must see the change. The fields are
    // checked on every lookup, so a warm hit refuses exactly what a cold one refuses.
    const where = `${shape.listOption}(${describe(id)})`;
    try {
      const checked = checkFields(reg, shape, where, this.options);
      const key = contentKey(reg, checked);
      let keys = key === undefined ? undefined : this.byContent.get(key);
      if (keys === undefined) {
        keys = parseKeys(reg, checked, shape, where, this.options);
        if (key !== undefined) this.byContent.set(key, keys);
      }
      return party<R>(reg, checked, keys);
    } catch (err) {
      // A bad registration from the app's own store is the server's fault, not the client's.
      throw new OAuthError('ERR_INTERNAL', { use: this.options.use, detail: `configuration: ${(err as Error).message}`, cause: err });
    }
  }

  private lookupFailed(err: unknown): OAuthError {
    return new OAuthError('ERR_TRUST_LOOKUP_FAILED', {
      use: this.options.use,
      detail: `${this.shape.listOption} lookup failed: ${errorMessage(err)}`,
      cause: err,
    });
  }
}

/** Trusted issuers of grant assertions. */
export function issuerTrust(input: unknown, options: ResolvedOptions): Trust<TrustedIssuer> {
  return new Trust<TrustedIssuer>(input, ISSUER_SHAPE, options);
}

/** Federation issuers of workload tokens (client option `federation`). */
export function federationTrust(input: unknown, options: ResolvedOptions): Trust<FederationIssuer> {
  return new Trust<FederationIssuer>(input, FEDERATION_SHAPE, options);
}

/** Registered clients. */
export function clientTrust(input: unknown, options: ResolvedOptions): Trust<ClientRegistration> {
  return new Trust<ClientRegistration>(input, CLIENT_SHAPE, options);
}
