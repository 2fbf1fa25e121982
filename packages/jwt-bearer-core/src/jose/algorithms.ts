import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Algorithm } from '../types';

/** What kind of key an algorithm needs. */
export type KeyKind = 'rsa' | 'ec' | 'okp' | 'secret';

/** How one JWS algorithm verifies, and which keys it may use. */
export interface AlgorithmSpec {
  readonly name: Algorithm;
  readonly kind: KeyKind;
  /** Whether `key` may be used with this algorithm (type, curve, size). */
  fits(key: KeyObject): boolean;
  /** Verifies `signature` over `input` with a key that {@link fits}, on the event loop. */
  verify(key: KeyObject, input: Buffer, signature: Buffer): boolean;
  /**
   * The same check on libuv's thread pool; never rejects (an error is `false`, as a throw of
   * {@link verify} is a failed signature). Absent for HMAC, which is cheaper than the thread hop.
   */
  verifyOffThread?(key: KeyObject, input: Buffer, signature: Buffer): Promise<boolean>;
}

type VerifyKey = KeyObject | { key: KeyObject; padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' };

/** `crypto.verify` with a callback: the work runs on libuv's thread pool. */
function verifyOnPool(hash: string | null, input: Buffer, key: VerifyKey, signature: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(hash, input, key, signature, (err, valid) => resolve(!err && valid === true));
    } catch {
      resolve(false);
    }
  });
}

/**
 * Both forms of an asymmetric check from one description: the digest (`null` for EdDSA), how the
 * key is handed to node:crypto, and the exact signature length where the algorithm fixes it.
 */
function asymmetric(
  hash: string | null,
  keyFor: (key: KeyObject) => VerifyKey = (key) => key,
  signatureLength?: number,
): Pick<AlgorithmSpec, 'verify' | 'verifyOffThread'> {
  const fitsLength = (signature: Buffer) => signatureLength === undefined || signature.length === signatureLength;
  return {
    verify: (key, input, signature) => fitsLength(signature) && verify(hash, input, keyFor(key), signature),
    verifyOffThread: (key, input, signature) => (fitsLength(signature) ? verifyOnPool(hash, input, keyFor(key), signature) : Promise.resolve(false)),
  };
}

/** RSA keys below 2048 bits are refused, as RFC 7518 §3.3 / §3.5 require. */
export const MIN_RSA_BITS = 2048;
/** RSA keys above 8192 bits are refused: each verification would cost 16× a 2048-bit one or more. */
export const MAX_RSA_BITS = 8192;
/** RSA public exponents above 2^32 are refused: real keys use 65537, and a huge one makes each check slow. */
export const MAX_RSA_EXPONENT = 2n ** 32n;

/**
 * Why an RSA public key is refused, or `undefined` when its modulus is 2048–8192 bits and its
 * public exponent at most 2^32 (DESIGN §9). `name` names the key in the message.
 */
export function rsaKeyProblem(key: KeyObject, name: string): string | undefined {
  const details = key.asymmetricKeyDetails;
  const bits = details?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return `${name} has ${bits} bits, at least ${MIN_RSA_BITS} required`;
  if (bits > MAX_RSA_BITS) return `${name} has ${bits} bits, at most ${MAX_RSA_BITS} accepted`;
  const e = details?.publicExponent;
  if (typeof e !== 'bigint' || e > MAX_RSA_EXPONENT) return `${name} has a public exponent above 2^32`;
  return undefined;
}

function rsaFits(allowPss: boolean) {
  return (key: KeyObject): boolean => {
    const type = key.asymmetricKeyType;
    if (key.type !== 'public' || !(type === 'rsa' || (allowPss && type === 'rsa-pss'))) return false;
    return rsaKeyProblem(key, '') === undefined;
  };
}

/**
 * Rough CPU cost of one signature check with `key`, in checks with a 2048-bit RSA key of exponent
 * 65537 (the cheapest common check). Used to bound the keys tried for one assertion.
 * RSA: a modular exponentiation, quadratic in the modulus size and linear in the exponent's
 * squarings and multiplications. The EC and EdDSA figures were measured with node:crypto on x86-64.
 */
export function verifyCost(key: KeyObject): number {
  if (key.type === 'secret') return 0.1;
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const bits = details?.modulusLength ?? MIN_RSA_BITS;
      const e = (details?.publicExponent ?? 65537n).toString(2);
      let ones = 0;
      for (let i = 0; i < e.length; i++) if (e.charCodeAt(i) === 49) ones += 1;
      const steps = e.length - 1 + (ones - 1);
      return (bits / MIN_RSA_BITS) ** 2 * (Math.max(steps, 4) / 17);
    }
    case 'ec':
      return details?.namedCurve === 'secp521r1' ? 50 : details?.namedCurve === 'secp384r1' ? 20 : 2;
    case 'ed448':
      return 10;
    default:
      return 3;
  }
}

function rsa(name: Algorithm, hash: string): AlgorithmSpec {
  return {
    name,
    kind: 'rsa',
    fits: rsaFits(false),
    ...asymmetric(hash),
  };
}

const pssKey = (key: KeyObject): VerifyKey => ({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });

function pss(name: Algorithm, hash: string): AlgorithmSpec {
  return {
    name,
    kind: 'rsa',
    fits: rsaFits(true),
    // RFC 7518 §3.5: the salt is as long as the hash output.
    ...asymmetric(hash, pssKey),
  };
}

function ecdsa(name: Algorithm, hash: string, curve: string, signatureLength: number): AlgorithmSpec {
  return {
    name,
    kind: 'ec',
    fits: (key) => key.type === 'public' && key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve,
    // RFC 7518 §3.4: R || S, each exactly as long as the curve order; DER is not JWS.
    ...asymmetric(hash, (key) => ({ key, dsaEncoding: 'ieee-p1363' }), signatureLength),
  };
}

function eddsa(name: Algorithm, curves: readonly string[]): AlgorithmSpec {
  return {
    name,
    kind: 'okp',
    fits: (key) => key.type === 'public' && curves.includes(key.asymmetricKeyType ?? ''),
    ...asymmetric(null),
  };
}

function hmac(name: Algorithm, hash: string, bytes: number): AlgorithmSpec {
  return {
    name,
    kind: 'secret',
    // RFC 7518 §3.2: the key must be at least as long as the hash output.
    fits: (key) => key.type === 'secret' && (key.symmetricKeySize ?? 0) >= bytes,
    verify: (key, input, signature) => {
      if (signature.length !== bytes) return false;
      return timingSafeEqual(createHmac(hash, key).update(input).digest(), signature);
    },
  };
}

/** Every supported algorithm. `none` is not among them and cannot be configured. */
export const ALGORITHMS: Readonly<Record<Algorithm, AlgorithmSpec>> = Object.freeze({
  RS256: rsa('RS256', 'sha256'),
  RS384: rsa('RS384', 'sha384'),
  RS512: rsa('RS512', 'sha512'),
  PS256: pss('PS256', 'sha256'),
  PS384: pss('PS384', 'sha384'),
  PS512: pss('PS512', 'sha512'),
  ES256: ecdsa('ES256', 'sha256', 'prime256v1', 64),
  ES384: ecdsa('ES384', 'sha384', 'secp384r1', 96),
  ES512: ecdsa('ES512', 'sha512', 'secp521r1', 132),
  // `EdDSA` (RFC 8037) names no curve; `Ed25519` (RFC 9864) is the fully specified name that
  // openid-client and oauth4webapi send.
  EdDSA: eddsa('EdDSA', ['ed25519', 'ed448']),
  Ed25519: eddsa('Ed25519', ['ed25519']),
  HS256: hmac('HS256', 'sha256', 32),
  HS384: hmac('HS384', 'sha384', 48),
  HS512: hmac('HS512', 'sha512', 64),
});

/** All algorithm names, in a stable order. */
export const ALL_ALGORITHMS = Object.freeze(Object.keys(ALGORITHMS) as Algorithm[]);

/** Whether `name` is a supported algorithm name. */
export function isAlgorithm(name: unknown): name is Algorithm {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(ALGORITHMS, name);
}
