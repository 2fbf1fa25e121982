import { KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ALGORITHMS } from '../jose/algorithms';
import { OAuthError } from '../errors';
import { importJwkSet, importPublicKey, importSecret, StaticKeySource, type KeySource } from './keys';
import { discoverySource, discoveryUrls } from './discovery';
import { checkFederatedCredentials } from './federation';
import { checkSpiffeId } from './spiffe';
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
}

interface Shape {
  idField: 'issuer' | 'clientId';
  secretField: 'secret' | 'clientSecret';
  fields: readonly string[];
  listOption: string;
  /** Key sources besides jwksUri, jwks, publicKey and the secret. */
  extraSources?: readonly string[];
}

const ISSUER_SHAPE: Shape = {
  idField: 'issuer',
  secretField: 'secret',
  fields: ['issuer', 'jwksUri', 'jwks', 'publicKey', 'secret', 'discovery', 'algorithms', 'subjects', 'scopes', 'requireSubject'],
  listOption: 'issuers',
  extraSources: ['discovery'],
};

/** Federation issuers (DESIGN §11): public keys only, never a secret shared with a platform. */
const FEDERATION_SHAPE: Shape = {
  idField: 'issuer',
  secretField: 'secret',
  fields: ['issuer', 'jwksUri', 'jwks', 'publicKey', 'discovery', 'audience', 'algorithms', 'maxLifetime', 'allowReuse'],
  listOption: 'federation',
  extraSources: ['discovery'],
};

const CLIENT_SHAPE: Shape = {
  idField: 'clientId',
  secretField: 'clientSecret',
  fields: ['clientId', 'jwksUri', 'jwks', 'publicKey', 'clientSecret', 'algorithms', 'federatedCredentials', 'spiffeId'],
  listOption: 'clients',
};

type Registration = TrustedIssuer | ClientRegistration | FederationIssuer;

/**
 * The checks of a registration that parse no key: unknown fields, and the issuer's subjects,
 * scopes and requireSubject. Run on every lookup, also when the keys come from the cache.
 */
function checkFields(reg: Record<string, unknown>, shape: Shape, where: string): void {
  rejectUnknown(reg, shape.fields, where);
  if (shape === ISSUER_SHAPE) {
    const subjects = reg.subjects;
    if (subjects !== undefined && typeof subjects !== 'function' && !(Array.isArray(subjects) && subjects.every((s) => typeof s === 'string'))) {
      fail(`${where}.subjects`, 'must be an array of strings or a function');
    }
    if (reg.scopes !== undefined && !(Array.isArray(reg.scopes) && reg.scopes.every((s) => typeof s === 'string'))) {
      fail(`${where}.scopes`, 'must be an array of strings');
    }
    if (reg.requireSubject !== undefined && typeof reg.requireSubject !== 'boolean') fail(`${where}.requireSubject`, 'must be a boolean');
  }
  if (shape === CLIENT_SHAPE) {
    if (reg.federatedCredentials !== undefined) checkFederatedCredentials(reg.federatedCredentials, `${where}.federatedCredentials`);
    if (reg.spiffeId !== undefined) checkSpiffeId(reg.spiffeId, `${where}.spiffeId`);
  }
  if (shape === FEDERATION_SHAPE) {
    if (reg.audience !== undefined) nonEmptyString(reg.audience, `${where}.audience`);
    if (reg.maxLifetime !== undefined && !(typeof reg.maxLifetime === 'number' && Number.isFinite(reg.maxLifetime) && reg.maxLifetime >= 1)) {
      fail(`${where}.maxLifetime`, 'must be a number ≥ 1 (seconds)');
    }
    if (reg.allowReuse !== undefined && typeof reg.allowReuse !== 'boolean') fail(`${where}.allowReuse`, 'must be a boolean');
  }
}

/** Whether a client registration authenticates without keys of its own (federated or SPIFFE only). */
function keyless(reg: Record<string, unknown>, shape: Shape): boolean {
  return shape === CLIENT_SHAPE && (reg.federatedCredentials !== undefined || reg.spiffeId !== undefined);
}

/** Compiles one registration; throws a `TypeError` naming `where` on a bad one. */
function compile<R extends Registration>(reg: unknown, shape: Shape, where: string, options: ResolvedOptions): Party<R> {
  if (!isPlainObject(reg)) fail(where, 'must be an object');
  checkFields(reg, shape, where);
  const id = nonEmptyString(reg[shape.idField], `${where}.${shape.idField}`);
  const names = ['jwksUri', 'jwks', 'publicKey', ...(shape.fields.includes(shape.secretField) ? [shape.secretField] : []), ...(shape.extraSources ?? [])];
  const sources = names.filter((f) => reg[f] !== undefined);
  if (sources.length === 0 && keyless(reg, shape)) {
    // A client that only authenticates by federation or SPIFFE: keys come from the platform.
    return { id, registration: reg as unknown as R, source: new StaticKeySource([]), algorithms: new Set(), symmetric: false };
  }
  if (sources.length !== 1) {
    fail(where, `must have exactly one key source of ${names.join(', ')} (found ${sources.length ? sources.join(', ') : 'none'})`);
  }
  let source: KeySource;
  const field = sources[0];
  if (field === 'discovery') {
    source = discoverySource(id, discoveryUrls(reg.discovery, id, `${where}.discovery`), options);
  } else if (field === 'jwksUri') {
    const uri = nonEmptyString(reg.jwksUri, `${where}.jwksUri`);
    let url: URL | undefined;
    try {
      url = new URL(uri);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) fail(`${where}.jwksUri`, 'must be an http(s) URL');
    source = options.remoteKeySets.get(uri);
  } else if (field === 'jwks') {
    source = new StaticKeySource(importJwkSet(reg.jwks as never, `jwt-bearer: option "${where}.jwks"`));
  } else if (field === 'publicKey') {
    source = new StaticKeySource([importPublicKey(reg.publicKey as never, `jwt-bearer: option "${where}.publicKey"`)]);
  } else {
    source = new StaticKeySource([importSecret(reg[field] as never, `jwt-bearer: option "${where}.${field}"`)]);
  }
  const own = reg.algorithms === undefined ? undefined : new Set(algorithmList(reg.algorithms, `${where}.algorithms`));
  const algorithms = new Set<Algorithm>();
  for (const alg of options.algorithms) {
    if ((own === undefined || own.has(alg)) && source.algorithms.has(alg)) algorithms.add(alg);
  }
  if (algorithms.size === 0) {
    fail(where, 'has no usable algorithm: the global "algorithms", its own "algorithms" and its key type have nothing in common');
  }
  const symmetric = [...algorithms].every((a) => ALGORITHMS[a].kind === 'secret');
  return { id, registration: reg as unknown as R, source, algorithms, symmetric };
}

/** What a key source's parse can be cached by: its content, so a PEM is parsed once. */
function contentKey(reg: Record<string, unknown>, shape: Shape): string | undefined {
  const secret = reg[shape.secretField];
  const material =
    typeof reg.jwksUri === 'string' ? `u${reg.jwksUri}`
      : reg.discovery !== undefined ? `d${String(reg.discovery)}`
      : typeof reg.publicKey === 'string' ? `p${reg.publicKey}`
      : isPlainObject(reg.publicKey) && !(reg.publicKey instanceof KeyObject) ? `k${JSON.stringify(reg.publicKey)}`
      : isPlainObject(reg.jwks) ? `j${JSON.stringify(reg.jwks)}`
      : typeof secret === 'string' ? `s${secret}`
      : secret instanceof Uint8Array ? `b${Buffer.from(secret).toString('base64')}`
      : undefined;
  if (material === undefined) return undefined;
  return `${String(reg[shape.idField])}\u0000${Array.isArray(reg.algorithms) ? reg.algorithms.join(',') : '*'}\u0000${material}`;
}

/** Resolves trusted issuers or clients from a list (compiled once) or an app's lookup function. */
export class Trust<R extends Registration> {
  private readonly byId: Map<string, Party<R>> | undefined;
  private readonly resolver: Resolver<R> | undefined;
  private readonly byContent = new LRUCache<string, Party<R>>({ max: 10_000 });

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

  /** The party for `id`, `undefined` when unknown. Rejects with a 5xx `OAuthError` on a lookup failure. */
  resolve(id: string): Party<R> | undefined | Promise<Party<R> | undefined> {
    if (this.byId) return this.byId.get(id);
    let found: unknown;
    try {
      found = this.resolver!(id);
    } catch (err) {
      throw this.lookupFailed(err);
    }
    if (found instanceof Promise || (typeof found === 'object' && found !== null && typeof (found as PromiseLike<unknown>).then === 'function')) {
      return Promise.resolve(found as PromiseLike<unknown>).then(
        (reg) => this.fromLookup(id, reg),
        (err) => {
          throw this.lookupFailed(err);
        },
      );
    }
    return this.fromLookup(id, found);
  }

  private fromLookup(id: string, reg: unknown): Party<R> | undefined {
    if (reg === undefined || reg === null) return undefined;
    // Cached by content only, never by object identity: an app that updates a registration object
    // in place (a rotated or revoked key) must see the change, and every lookup is checked below.
    const where = `${this.shape.listOption}(${JSON.stringify(id)})`;
    const key = isPlainObject(reg) ? contentKey(reg, this.shape) : undefined;
    const cached = key === undefined ? undefined : this.byContent.get(key);
    let party: Party<R>;
    try {
      if (cached) {
        checkFields(reg as Record<string, unknown>, this.shape, where);
        party = { ...cached, registration: reg as R };
      } else {
        party = compile<R>(reg, this.shape, where, this.options);
        if (key !== undefined) this.byContent.set(key, party);
      }
    } catch (err) {
      // A bad registration from the app's own store is the server's fault, not the client's.
      throw new OAuthError('ERR_INTERNAL', { use: this.options.use, detail: (err as Error).message, cause: err });
    }
    if (party.id !== id) {
      throw new OAuthError('ERR_INTERNAL', {
        use: this.options.use,
        detail: `${this.shape.listOption} lookup for ${JSON.stringify(id)} returned ${this.shape.idField} ${JSON.stringify(party.id)}`,
      });
    }
    return party;
  }

  private lookupFailed(err: unknown): OAuthError {
    return new OAuthError('ERR_TRUST_LOOKUP_FAILED', { use: this.options.use, detail: `${this.shape.listOption} lookup failed: ${(err as Error)?.message ?? String(err)}`, cause: err });
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
