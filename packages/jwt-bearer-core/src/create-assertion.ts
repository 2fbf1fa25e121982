import { constants, createPrivateKey, createSecretKey, KeyObject, randomUUID, sign as cryptoSign } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { isAlgorithm, rsaKeyProblem } from './jose/algorithms';
import type { Algorithm, Jwk } from './types';

/** Options of {@link createAssertion}. */
export interface CreateAssertionOptions {
  /** `iss`: the client_id (client authentication) or the issuer (grant). */
  issuer: string;
  /** `sub`: the client_id (client authentication) or who the token is for (grant). Omit only for issuers that allow it. */
  subject?: string;
  /** `aud`: the authorization server's issuer identifier (RFC 7523bis), or a list of values. */
  audience: string | string[];
  /** Signing key: a private PEM, a private JWK, a private `KeyObject`, or for HS* the shared secret. */
  key: string | Jwk | KeyObject | Uint8Array;
  /** JWS algorithm. Default: RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519/Ed448, HS256 for secrets. */
  algorithm?: Algorithm;
  /** Seconds from `iat` to `exp`. Default 60. */
  expiresIn?: number;
  /** `iat`, seconds since the epoch. Default now. `null` leaves the claim out. */
  issuedAt?: number | null;
  /** `nbf`, seconds since the epoch. Default: none. */
  notBefore?: number;
  /** `jti`. Default: a random UUID. `null` leaves the claim out. */
  jwtId?: string | null;
  /** `kid` header parameter. */
  keyId?: string;
  /** `typ` header parameter, e.g. `client-authentication+jwt`. Default `JWT`. */
  type?: string;
  /** Further claims (they cannot replace the ones above). */
  claims?: Record<string, unknown>;
  /** Further header parameters. */
  header?: Record<string, unknown>;
}

function signingKey(key: CreateAssertionOptions['key']): KeyObject {
  if (key instanceof KeyObject) return key;
  if (key instanceof Uint8Array) return createSecretKey(Buffer.from(key));
  if (typeof key === 'string') return key.includes('-----BEGIN') ? createPrivateKey(key) : createSecretKey(Buffer.from(key, 'utf8'));
  if (typeof key === 'object' && key !== null) return createPrivateKey({ key: key as never, format: 'jwk' });
  throw new TypeError('createAssertion: option "key" must be a private PEM, a private JWK, a KeyObject or a secret');
}

function defaultAlgorithm(key: KeyObject): Algorithm {
  if (key.type === 'secret') return 'HS256';
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return key.asymmetricKeyType === 'rsa' ? 'RS256' : 'PS256';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256';
    }
    case 'ed25519':
    case 'ed448':
      return 'EdDSA';
    default:
      throw new TypeError(`createAssertion: unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

/**
 * Signs an RFC 7523 assertion: what a client sends as `client_assertion` (iss = sub = client_id,
 * aud = the server's issuer) or an issuer sends as a grant `assertion`. RS/PS/ES/HS are signed by
 * jsonwebtoken; EdDSA / Ed25519 (which jsonwebtoken lacks) and RSASSA-PSS-only keys by `node:crypto`.
 *
 * @example
 * const assertion = createAssertion({ issuer: 'my-client', subject: 'my-client', audience: 'https://as.example', key: privatePem });
 */
export function createAssertion(options: CreateAssertionOptions): string {
  if (typeof options !== 'object' || options === null) throw new TypeError('createAssertion: options must be an object');
  const { issuer, subject, audience } = options;
  if (typeof issuer !== 'string' || !issuer) throw new TypeError('createAssertion: option "issuer" must be a non-empty string');
  if (subject !== undefined && (typeof subject !== 'string' || !subject)) throw new TypeError('createAssertion: option "subject" must be a non-empty string');
  if (!(typeof audience === 'string' && audience) && !(Array.isArray(audience) && audience.length > 0)) {
    throw new TypeError('createAssertion: option "audience" must be a non-empty string or array');
  }
  const key = signingKey(options.key);
  const alg = options.algorithm ?? defaultAlgorithm(key);
  if (!isAlgorithm(alg)) throw new TypeError(`createAssertion: unsupported algorithm ${JSON.stringify(alg)}`);
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    // Checked here so the caller gets the reason in our words, not jsonwebtoken's; and a key the
    // verifiers refuse (DESIGN §9) is not used to sign assertions that could never be accepted.
    const problem = rsaKeyProblem(key, `the ${alg} key`);
    if (problem !== undefined) throw new TypeError(`createAssertion: option "key" is not usable: ${problem} (RFC 7518 §3.3)`);
  }
  const iat = options.issuedAt === undefined ? Math.floor(Date.now() / 1000) : options.issuedAt;
  const base = iat ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    ...options.claims,
    iss: issuer,
    ...(subject !== undefined ? { sub: subject } : {}),
    aud: audience,
    exp: base + (options.expiresIn ?? 60),
    ...(iat !== null ? { iat } : {}),
    ...(options.notBefore !== undefined ? { nbf: options.notBefore } : {}),
    ...(options.jwtId !== null ? { jti: options.jwtId ?? randomUUID() } : {}),
  };
  const header: Record<string, unknown> = {
    ...options.header,
    alg,
    typ: options.type ?? 'JWT',
    ...(options.keyId !== undefined ? { kid: options.keyId } : {}),
  };
  // jsonwebtoken has no EdDSA and refuses RSASSA-PSS KeyObjects: those are signed here.
  const pss = key.asymmetricKeyType === 'rsa-pss' && alg.startsWith('PS');
  if (alg === 'EdDSA' || alg === 'Ed25519' || pss) {
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const signature = pss
      ? cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : cryptoSign(null, Buffer.from(input), key);
    return `${input}.${signature.toString('base64url')}`;
  }
  // jsonwebtoken keeps a given `iat`; `noTimestamp` only serves to leave it out on request.
  return jwt.sign(payload, key, { algorithm: alg, header: header as unknown as jwt.JwtHeader, noTimestamp: iat === null });
}
