import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from './io';

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK. */
export function thumbprint(jwk: JsonWebKey): string {
  const members: Record<string, string[]> = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] };
  const names = members[jwk.kty as string];
  if (!names) throw new UsageError(`no RFC 7638 thumbprint for key type ${String(jwk.kty)}`);
  const canonical = JSON.stringify(Object.fromEntries(names.map((n) => [n, (jwk as Record<string, unknown>)[n]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The public JWK of a key object. */
export function publicJwk(key: KeyObject): JsonWebKey {
  return createPublicKey(key).export({ format: 'jwk' });
}

/**
 * Reads a signing key file: a private PEM, a private JWK (JSON), or anything else as an HMAC
 * secret (its text, surrounding whitespace removed). Returns what `createAssertion` takes and the
 * JWK's `kid`, if it has one.
 */
export function readSigningKey(file: string): { key: string | KeyObject; kid?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    if (text.includes('-----BEGIN')) return { key: createPrivateKey(text) };
    if (text.trimStart().startsWith('{')) {
      const jwk = JSON.parse(text) as JsonWebKey & { kid?: string };
      const key = jwk.kty === 'oct' ? Buffer.from(String(jwk.k), 'base64url').toString('utf8') : createPrivateKey({ key: jwk, format: 'jwk' });
      return typeof jwk.kid === 'string' ? { key, kid: jwk.kid } : { key };
    }
  } catch (err) {
    throw new UsageError(`key file ${file} is not a usable private key: ${(err as Error).message}`);
  }
  const secret = text.trim();
  if (secret.length === 0) throw new UsageError(`key file ${file} is empty`);
  return { key: secret };
}
