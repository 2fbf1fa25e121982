import fc from 'fast-check';
import { describe as describeValue, DESCRIBE_MAX_LENGTH, describeKind, errorMessage } from '../src/describe';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/jose/jws';
import { checkHeader } from '../src/verify/pipeline';
import { resolveCommonOptions } from '../src/options';
import { OAuthError } from '../src/errors';
import { ISSUER } from './helpers';

/** `depth` nested arrays, built without recursion (as JSON.parse would build them). */
function deep(depth: number): unknown {
  let value: unknown = 'RS256';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

describe('describe(): bounded descriptions of untrusted values (DESIGN §9, issue 12 finding 1)', () => {
  it('describes a 6,000-deep array without overflowing the stack, in a bounded string', () => {
    // JSON.stringify of such a value overflows the stack on Node.js 20–24 (Node.js 26's V8 no longer
    // recurses there); describe() must be bounded whatever the runtime does.
    const text = describeValue(deep(200_000));
    expect(text).toBe('[[[…]]]');
    expect(text.length).toBeLessThanOrEqual(DESCRIBE_MAX_LENGTH + 1);
  });

  it('quotes strings like JSON and cuts long ones', () => {
    expect(describeValue('RS256')).toBe('"RS256"');
    expect(describeValue('a"b')).toBe('"a\\"b"');
    const long = describeValue('x'.repeat(100_000));
    expect(long.length).toBeLessThanOrEqual(DESCRIBE_MAX_LENGTH + 1);
    expect(long.endsWith('…')).toBe(true);
  });

  it('shows at most five members per level and two levels', () => {
    expect(describeValue([1, 2, 3, 4, 5, 6, 7])).toBe('[1,2,3,4,5,…]');
    expect(describeValue({ a: { b: { c: 1 } } })).toBe('{"a":{"b":{…}}}');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
  });

  it('property: any JSON value gives at most DESCRIBE_MAX_LENGTH + 1 characters', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => describeValue(value).length <= DESCRIBE_MAX_LENGTH + 1));
  });

  it('describeKind and errorMessage never print the value itself', () => {
    expect(describeKind(new Map())).toBe('Map object');
    expect(describeKind('secret')).toBe('string');
    expect(describeKind([1])).toBe('array');
    expect(errorMessage(new Error('x'.repeat(1000))).length).toBeLessThanOrEqual(301);
    expect(errorMessage(deep(10_000))).toBe('[[[…]]]');
  });

  it('checkHeader builds its details with describe(): a deep alg, crit or typ is the ordinary 4xx', () => {
    const options = resolveCommonOptions({ issuer: ISSUER }, 'client', []);
    const types = new Set(['jwt']);
    const decoded = (header: Record<string, unknown>) => ({ header, payload: {}, signingInput: Buffer.alloc(0), signature: Buffer.alloc(0) });
    for (const header of [{ alg: deep(6000) }, { alg: 'RS256', crit: deep(6000) }, { alg: 'RS256', typ: deep(6000) }]) {
      let error: unknown;
      try {
        checkHeader(decoded(header), options, types);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(OAuthError);
      expect((error as OAuthError).status).toBe(401);
      expect((error as OAuthError).detail!.length).toBeLessThan(200);
    }
  });
});

describe('nestsDeeperThan(): the decode-time depth bound', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(nestsDeeperThan('{"a":[[1]]}', 3)).toBe(false);
    expect(nestsDeeperThan('{"a":[[[1]]]}', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":"[[[[[[[[[["}', 1)).toBe(false);
    expect(nestsDeeperThan('{"a":"\\\\\\"[[[[["}', 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify(deep(MAX_JSON_DEPTH - 1)), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(`{"a":${JSON.stringify(deep(MAX_JSON_DEPTH))}}`, MAX_JSON_DEPTH)).toBe(true);
  });

  it('property: agrees with the real depth of any JSON value', () => {
    const depthOf = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6 }),
        fc.integer({ min: 0, max: 7 }),
        (value, max) => nestsDeeperThan(JSON.stringify(value), max) === depthOf(value) > max,
      ),
    );
  });
});
