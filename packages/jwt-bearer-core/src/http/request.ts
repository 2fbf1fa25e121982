import { OAuthError, type AssertionUse } from '../errors';
import type { TokenRequest } from '../types';

/**
 * Reads one form parameter (RFC 6749 §3.2): a repeated parameter, or anything a body parser made
 * into an array or object, is refused; an empty value counts as absent.
 */
export function param(body: Record<string, unknown>, name: string, use: AssertionUse): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new OAuthError('ERR_PARAMETER_INVALID', { use, detail: `parameter "${name}" is repeated or not a string` });
  }
  return value;
}

/** The form body, or `undefined` when there is none. */
export function formBody(request: TokenRequest): Record<string, unknown> | undefined {
  const body = request?.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? body : undefined;
}

/** The value of one request header (the first, if repeated). */
export function header(request: TokenRequest, name: string): string | undefined {
  const value = request?.headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), tokens separated by one space.
// The separator is outside the token class, so matching is linear.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/** Splits a scope string into tokens; `undefined` when it is not RFC 6749 §3.3 syntax. */
export function parseScope(scope: string): string[] | undefined {
  if (!SCOPE.test(scope)) return undefined;
  return scope.split(' ');
}

/**
 * The `WWW-Authenticate` challenge RFC 6749 §5.2 requires with a 401 when the client tried the
 * Authorization header: the scheme it used.
 */
export function challengeHeaders(request: TokenRequest, realm: string): Record<string, string> {
  const authorization = header(request, 'authorization');
  if (!authorization) return {};
  const scheme = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(authorization.trimStart())?.[0] ?? 'Basic';
  // A quoted-string holds printable ASCII only, and Node refuses other header bytes outright.
  return { 'WWW-Authenticate': `${scheme} realm="${realm.replace(/[^\x20-\x7e]|["\\]/g, '')}"` };
}
