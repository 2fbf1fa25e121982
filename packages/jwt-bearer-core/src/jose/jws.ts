import { OAuthError, type AssertionUse } from '../errors';

/** A compact JWS split and decoded, not yet trusted. */
export interface DecodedAssertion {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `BASE64URL(header) || '.' || BASE64URL(payload)`, the bytes the signature covers. */
  signingInput: Buffer;
  signature: Buffer;
}

// One linear scan, no backtracking: base64url characters only, no padding (RFC 7515 §2).
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Whether base64url text (already known to use only its alphabet) is the one encoding of its
 * bytes: a length that is 1 mod 4 encodes no whole byte, and the bits of the last character past
 * the last byte (4 of them when the length is 2 mod 4, 2 when 3 mod 4) must be zero. The same as
 * `Buffer.from(text, 'base64url').toString('base64url') === text`, without the round trip.
 *
 * @internal
 */
export function isCanonicalBase64url(text: string): boolean {
  const rest = text.length & 3;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const c = text.charCodeAt(text.length - 1);
  // The character's 6-bit value: A–Z 0–25, a–z 26–51, 0–9 52–61, '-' 62, '_' 63.
  const value = c >= 97 ? c - 71 : c >= 65 ? c - 65 : c >= 48 ? c + 4 : c === 45 ? 62 : 63;
  return (value & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/**
 * Deepest nesting of arrays and objects accepted in a header or claim set (the set itself is
 * level 1). Real assertions nest three or four levels (`cnf.jwk`, `authorization_details`); a
 * deeper value serves no one, and a 6,000-deep one that `JSON.parse` accepts overflows the stack
 * of whatever serialises it later: the app that logs or copies the claims, not only us.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether JSON text nests deeper than `max`: one pass over the characters, skipping string
 * contents (and their escapes); no allocation.
 *
 * @internal
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

function decodeSegment(segment: string, name: string, use: AssertionUse): Record<string, unknown> {
  if (!BASE64URL.test(segment)) {
    throw new OAuthError('ERR_ASSERTION_MALFORMED', { use, detail: `${name} is not base64url` });
  }
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new OAuthError('ERR_ASSERTION_MALFORMED', { use, detail: `${name} nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new OAuthError('ERR_ASSERTION_MALFORMED', { use, detail: `${name} is not JSON` });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OAuthError('ERR_ASSERTION_MALFORMED', { use, detail: `${name} is not a JSON object` });
  }
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes a compact JWS (RFC 7515 §7.1) without trusting it. Refuses anything longer
 * than `maxLength` before looking inside, a JWE (five segments), the JSON serialisation, an
 * unsigned JWT, and segments that are not base64url-encoded JSON objects.
 */
export function decodeAssertion(token: string, maxLength: number, use: AssertionUse): DecodedAssertion {
  if (token.length > maxLength) {
    throw new OAuthError('ERR_ASSERTION_TOO_LONG', { use, detail: `assertion is ${token.length} characters` });
  }
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) {
    const segments = token.split('.').length;
    throw new OAuthError('ERR_ASSERTION_MALFORMED', {
      use,
      detail: segments === 5 ? 'assertion is a JWE; only a signed JWT (JWS) is accepted' : `assertion has ${segments} segments, not 3`,
    });
  }
  const header = decodeSegment(token.slice(0, first), 'header', use);
  const payload = decodeSegment(token.slice(first + 1, second), 'payload', use);
  const sig = token.slice(second + 1);
  if (!BASE64URL.test(sig)) {
    throw new OAuthError('ERR_ASSERTION_MALFORMED', { use, detail: 'signature is empty or not base64url' });
  }
  // Only the canonical encoding: otherwise a last character differing in its unused bits gives
  // the same bytes, and one signed assertion would have several spellings.
  if (!isCanonicalBase64url(sig)) {
    throw new OAuthError('ERR_ASSERTION_MALFORMED', { use, detail: 'signature is not canonical base64url' });
  }
  const signature = Buffer.from(sig, 'base64url');
  return {
    header,
    payload,
    signingInput: Buffer.from(token.slice(0, second), 'latin1'),
    signature,
  };
}
