/*
 * Shared pieces of the fuzz suites: the seed and run count, JWT mutations, hostile values, and a
 * reference model of which validly signed assertions must be accepted.
 *
 * FUZZ_SEED (default 7523) fixes the runs; FUZZ_RUNS (default 100) scales every property.
 */
import fc from 'fast-check';
import { b64u } from './keys';

export const FUZZ_SEED = Number.parseInt(process.env.FUZZ_SEED ?? '7523', 10);
export const FUZZ_RUNS = Math.max(1, Number.parseInt(process.env.FUZZ_RUNS ?? '100', 10));

/** fast-check parameters for property number `id`, with `scale` × FUZZ_RUNS runs. */
export function fuzzParams(id: number, scale = 1): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED + id, numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)) };
}

/** Counts the cases each suite executes (and, apart, what it observed), for the report line. */
export class Tally {
  readonly counts: Record<string, number> = {};
  readonly observed: Record<string, number> = {};
  /** One executed case of `name`. */
  add(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
  /** An observation (e.g. a success), not a case. */
  note(name: string, n = 1): void {
    this.observed[name] = (this.observed[name] ?? 0) + n;
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
  line(suite: string): string {
    const list = (r: Record<string, number>) =>
      Object.entries(r)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    return `[fuzz] ${suite}: seed ${FUZZ_SEED}, FUZZ_RUNS ${FUZZ_RUNS}, ${this.total} cases (${list(this.counts)}); observed: ${list(this.observed) || 'nothing'}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Characters that break parsers: separators, padding, controls, non-ASCII, lone surrogates. */
export const NASTY_CHARS = ['.', '=', '+', '/', ' ', '%', '&', '\u0000', '\n', 'é', '\u202e', '\ufeff', '\ud800', '😀', '"', '\\', '[', ']', '{', '}'];

/** Raw JSON texts for members a serialiser would never write (non-finite, -0, deep, duplicate). */
export const RAW_JSON_VALUES = [
  '1e400',
  '-1e400',
  '1.7976931348623157e308',
  '-0',
  '9007199254740993',
  '0.1e-400',
  '"\\u0000"',
  '"\\ud800"',
  'null',
  '[]',
  '{}',
  '{"__proto__":{"polluted":true}}',
  `${'['.repeat(500)}${']'.repeat(500)}`,
];

/** Long pathological strings: one unit repeated up to `max` characters. */
export function longString(max: number): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom('a', '.', 'A.', '..', ' ', 'a ', '=', '%', '%2', '&', 'eyJ', '\u00e9', '😀', '[', '{"a":', '\\', 'a"', '; '),
      fc.integer({ min: 1, max }),
    )
    .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n));
}

/** A JSON value of any shape, including hostile keys and extreme numbers. */
export function hostileJson(): fc.Arbitrary<unknown> {
  const key = fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'alg', 'iss', 'aud', 'exp', ''),
    fc.string({ maxLength: 8 }),
  );
  const leaf = fc.oneof(
    fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53 + 2, 1.5, Date.now(), Date.now() * 1000, '', ' ', 'none', true, false, null),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
}

// ---------------------------------------------------------------------------------------------
// JWT mutations (printable plain objects, so fast-check counterexamples are readable)

export type Mutation =
  | { op: 'identity' }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'replaceChar'; at: number; char: string }
  | { op: 'deleteChar'; at: number }
  | { op: 'insertChar'; at: number; char: string }
  | { op: 'permute'; order: [number, number, number] }
  | { op: 'segments'; pick: number[] }
  | { op: 'replaceSegment'; which: 0 | 1 | 2; with: string }
  | { op: 'reheader'; header: Record<string, unknown> }
  | { op: 'truncate'; at: number }
  | { op: 'append'; text: string }
  | { op: 'swapCase'; which: 0 | 1 | 2 }
  | { op: 'otherSignature'; index: number }
  | { op: 'repeat'; times: number };

const segmentText = fc.oneof(
  hostileJson().map((v) => b64u(JSON.stringify(v) ?? 'null')),
  fc.constantFrom('null', '[]', '"s"', '123', 'true', '{"alg":"RS256"', '{"alg":"RS256"}x', '\ufeff{"alg":"RS256"}', '{}').map((t) => b64u(t)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => b64u(Buffer.from(bytes))),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom('', '=', 'e30', 'e30=', 'AAAA', '*'),
);

const hostileHeader = fc.record(
  {
    alg: fc.constantFrom('none', 'None', 'NONE', 'HS256', 'RS256', 'ES256', 'PS256', 'EdDSA', 'rs256', 'RS256 ', '', null, ['RS256'], 256),
    typ: fc.constantFrom('JWT', 'at+jwt', 'client-authentication+jwt', 'JOSE', '', null),
    kid: fc.oneof(fc.constantFrom('rsa-1', 'ec-1', '../../etc/passwd', "' OR 1=1 --", ''), fc.string({ maxLength: 10 })),
    crit: fc.constantFrom(['exp'], [], ['b64']),
    cty: fc.constantFrom('JWT', 'application/jwt', 'json'),
    jku: fc.constant('http://127.0.0.1:9/jwks.json'),
    jwk: fc.constant({ kty: 'oct', k: 'AAAA' }),
    b64: fc.constant(false),
    zip: fc.constant('DEF'),
  },
  { requiredKeys: ['alg'] },
);

export function mutationArb(poolSize: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.constant<Mutation>({ op: 'identity' }),
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(5000), bit: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ op: fc.constant('replaceChar' as const), at: fc.nat(5000), char: fc.constantFrom(...NASTY_CHARS) }),
    fc.record({ op: fc.constant('deleteChar' as const), at: fc.nat(5000) }),
    fc.record({ op: fc.constant('insertChar' as const), at: fc.nat(5000), char: fc.constantFrom(...NASTY_CHARS) }),
    fc.record({
      op: fc.constant('permute' as const),
      order: fc.constantFrom<[number, number, number]>([0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]),
    }),
    fc.record({ op: fc.constant('segments' as const), pick: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 0, maxLength: 6 }) }),
    fc.record({ op: fc.constant('replaceSegment' as const), which: fc.constantFrom<0 | 1 | 2>(0, 1, 2), with: segmentText }),
    fc.record({ op: fc.constant('reheader' as const), header: hostileHeader }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat(5000) }),
    fc.record({ op: fc.constant('append' as const), text: fc.constantFrom('=', '==', ' ', '\n', '.', '..', '.e30', '%3D', '\u0000') }),
    fc.record({ op: fc.constant('swapCase' as const), which: fc.constantFrom<0 | 1 | 2>(0, 1, 2) }),
    fc.record({ op: fc.constant('otherSignature' as const), index: fc.nat(Math.max(0, poolSize - 1)) }),
    fc.record({ op: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 12 }) }),
  ) as fc.Arbitrary<Mutation>;
}

const swapCase = (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');

/** Applies one mutation to a token; `pool` gives other genuine tokens. */
export function mutate(token: string, m: Mutation, pool: readonly string[]): string {
  const segs = token.split('.');
  const at = (n: number) => (token.length === 0 ? 0 : n % token.length);
  switch (m.op) {
    case 'identity':
      return token;
    case 'flip': {
      const i = at(m.at);
      return token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ (1 << m.bit)) + token.slice(i + 1);
    }
    case 'replaceChar': {
      const i = at(m.at);
      return token.slice(0, i) + m.char + token.slice(i + 1);
    }
    case 'deleteChar': {
      const i = at(m.at);
      return token.slice(0, i) + token.slice(i + 1);
    }
    case 'insertChar': {
      const i = at(m.at);
      return token.slice(0, i) + m.char + token.slice(i);
    }
    case 'permute':
      return m.order.map((i) => segs[i] ?? '').join('.');
    case 'segments':
      return m.pick.map((i) => segs[i] ?? '').join('.');
    case 'replaceSegment': {
      const copy = [...segs];
      copy[m.which] = m.with;
      return copy.join('.');
    }
    case 'reheader':
      return [b64u(JSON.stringify(m.header)), ...segs.slice(1)].join('.');
    case 'truncate':
      return token.slice(0, at(m.at));
    case 'append':
      return token + m.text;
    case 'swapCase': {
      const copy = [...segs];
      copy[m.which] = swapCase(copy[m.which] ?? '');
      return copy.join('.');
    }
    case 'otherSignature': {
      const other = pool[m.index % Math.max(1, pool.length)] ?? token;
      return [segs[0], segs[1], other.split('.')[2] ?? ''].join('.');
    }
    case 'repeat':
      return Array.from({ length: m.times }, () => token).join('');
  }
}

// ---------------------------------------------------------------------------------------------
// The success oracle: a token may only be accepted when it is, byte for byte once decoded, one
// we signed with a trusted key; and each (use, issuer, jti) only once.

export class Minted {
  private readonly byInput = new Map<string, Buffer>();
  private readonly succeeded = new Set<string>();

  add(token: string): string {
    const [h, p, s] = token.split('.');
    this.byInput.set(`${h}.${p}`, Buffer.from(s ?? '', 'base64url'));
    return token;
  }

  /** Whether `token` is a genuine token (signature bytes equal; base64url may differ in spare bits). */
  isGenuine(token: string): boolean {
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    const sig = this.byInput.get(`${parts[0]}.${parts[1]}`);
    return sig !== undefined && /^[A-Za-z0-9_-]+$/.test(parts[2]!) && Buffer.from(parts[2]!, 'base64url').equals(sig);
  }

  /** Records a success; false when this (use, issuer, jti) already succeeded (a replay accepted). */
  firstSuccess(use: string, issuer: unknown, jti: unknown): boolean {
    if (jti === undefined) return true;
    const key = JSON.stringify([use, issuer, jti]);
    if (this.succeeded.has(key)) return false;
    this.succeeded.add(key);
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Reference model of acceptance for validly signed assertions (default options of the world).

const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export interface ModelOptions {
  use: 'grant' | 'client';
  /** ms */
  now: number;
  issuer: string;
  audiences: readonly string[];
  /** The only trusted issuer (grant) / registered client (client) signed for. */
  party: string;
  /** Algorithms the party's key may use. */
  algorithms: ReadonlySet<string>;
  /** The kid of the party's only key, or undefined for a key registered without one. */
  kid: string | undefined;
  maxLifetime: number;
  tolerance: number;
  /** Used (party, jti) pairs: the model records accepted ones. */
  used: Set<string>;
}

/** Why the model refuses, or undefined when it accepts (and records the jti). */
export function modelVerdict(header: Record<string, unknown>, payload: Record<string, unknown>, o: ModelOptions): string | undefined {
  const now = o.now / 1000;
  const has = (obj: Record<string, unknown>, k: string) => Object.prototype.hasOwnProperty.call(obj, k);
  const h = (k: string) => (has(header, k) ? header[k] : undefined);
  const c = (k: string) => (has(payload, k) ? payload[k] : undefined);
  const alg = h('alg');
  if (typeof alg !== 'string' || !o.algorithms.has(alg)) return 'alg';
  if (h('crit') !== undefined) return 'crit';
  const cty = h('cty');
  if (typeof cty === 'string' && /^(?:application\/)?jwt$/i.test(cty)) return 'cty';
  const typ = h('typ');
  // Media types, compared case-insensitively, with or without the "application/" prefix (RFC 7515 §4.1.9).
  const types =
    o.use === 'grant' ? ['jwt', 'application/jwt', 'jose'] : ['jwt', 'application/jwt', 'client-authentication+jwt', 'application/client-authentication+jwt'];
  if (typ !== undefined && (typeof typ !== 'string' || !types.includes(typ.toLowerCase()))) return 'typ';
  const iss = c('iss');
  const sub = c('sub');
  if (!nonEmpty(iss)) return 'iss';
  if (o.use === 'client') {
    if (!nonEmpty(sub)) return 'sub';
    if (iss !== sub) return 'iss!=sub';
  }
  if (iss !== o.party) return 'untrusted';
  const kid = h('kid');
  if (o.kid !== undefined && typeof kid === 'string' && kid !== o.kid) return 'kid';
  if (o.use === 'grant' && !nonEmpty(sub)) return 'sub';
  const aud = c('aud');
  const auds = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(auds) || auds.length === 0 || !auds.every((a) => typeof a === 'string')) return 'aud type';
  if (o.use === 'client') {
    if (!(auds.length === 1 && auds[0] === o.issuer)) return 'aud';
  } else if (!auds.some((a) => a === o.issuer || o.audiences.includes(a))) {
    return 'aud';
  }
  const exp = c('exp');
  const nbf = c('nbf');
  const iat = c('iat');
  if (exp === undefined) return 'exp missing';
  if (!isNum(exp)) return 'exp type';
  if (nbf !== undefined && !isNum(nbf)) return 'nbf type';
  if (iat !== undefined && !isNum(iat)) return 'iat type';
  if (now >= exp + o.tolerance) return 'expired';
  if (nbf !== undefined && nbf > now + o.tolerance) return 'nbf';
  if (iat !== undefined) {
    if (iat > now + o.tolerance) return 'iat future';
    if (now - iat > o.maxLifetime + o.tolerance) return 'iat old';
  } else if (exp - now > o.maxLifetime + o.tolerance) {
    return 'lifetime';
  }
  const jti = c('jti');
  if (jti === undefined ? o.use === 'client' : !nonEmpty(jti)) return 'jti';
  if (o.use === 'grant') {
    const scope = c('scope');
    if (scope !== undefined && (typeof scope !== 'string' || (scope !== '' && !SCOPE.test(scope)))) return 'scope';
  }
  if (jti !== undefined) {
    const key = `${iss}\u0000${jti as string}`;
    if (o.used.has(key)) return 'replay';
    o.used.add(key);
  }
  return undefined;
}
