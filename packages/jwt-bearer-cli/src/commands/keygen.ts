import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { SUPPORTED_ALGORITHMS, type Algorithm } from 'jwt-bearer-core';
import { EXIT, option, parse, print, UsageError, type Io } from '../io';
import { publicJwk, thumbprint } from '../keys';

export const KEYGEN_HELP = `Usage: jwt-bearer keygen [--alg ALG] [--kid KID] [--key-out FILE] [--jwks-out FILE] [--force] [--json]

Generates a signing key and its public JWK Set (RFC 7517 §5), for a client (private_key_jwt)
or an issuer of grant assertions.

  --alg ALG        ${SUPPORTED_ALGORITHMS.join(', ')} (default ES256).
                   RS*/PS*: RSA 2048 bits; ES*: the algorithm's curve; EdDSA/Ed25519: Ed25519;
                   HS*: a random shared secret (client_secret_jwt), which has no public JWKS.
  --kid KID        key id (default: the RFC 7638 thumbprint of the public key; none for HS*)
  --key-out FILE   write the private key (PKCS#8 PEM, or the secret) to FILE, mode 0600
  --jwks-out FILE  write the public JWK Set to FILE
  --force          overwrite existing files
  --json           print JSON: { alg, kid, privateKey, privateJwk, jwks } (or the files written)

Without --key-out / --jwks-out, everything is printed to standard output.
`;

const CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const SECRET_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

function generate(alg: Algorithm): KeyObject {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  if (alg.startsWith('ES')) return generateKeyPairSync('ec', { namedCurve: CURVES[alg]! }).privateKey;
  return generateKeyPairSync('ed25519').privateKey;
}

function write(file: string, text: string, force: boolean, mode: number): void {
  try {
    writeFileSync(file, text, { flag: force ? 'w' : 'wx', mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'EEXIST' ? `${file} exists (use --force to overwrite)` : `cannot write ${file}: ${code ?? (err as Error).message}`);
  }
}

export async function keygen(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    alg: { type: 'string' },
    kid: { type: 'string' },
    'key-out': { type: 'string' },
    'jwks-out': { type: 'string' },
    force: { type: 'boolean' },
  });
  if (values.help) return (io.out(KEYGEN_HELP), EXIT.OK);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const alg = (option(values, 'alg') ?? 'ES256') as Algorithm;
  if (!SUPPORTED_ALGORITHMS.includes(alg)) throw new UsageError(`--alg must be one of ${SUPPORTED_ALGORITHMS.join(', ')}`);
  const json = values.json === true;
  const force = values.force === true;
  const keyOut = option(values, 'key-out');
  const jwksOut = option(values, 'jwks-out');
  let kid = option(values, 'kid');

  if (alg.startsWith('HS')) {
    if (jwksOut !== undefined) throw new UsageError('--jwks-out: a shared secret (HS*) has no public JWK Set');
    const secret = randomBytes(SECRET_BYTES[alg]!).toString('base64url');
    if (keyOut !== undefined) write(keyOut, `${secret}\n`, force, 0o600);
    const result = { alg, ...(kid !== undefined ? { kid } : {}), ...(keyOut !== undefined ? { keyFile: keyOut } : { secret }) };
    print(io, json, result, () => (keyOut !== undefined ? `wrote the ${alg} secret to ${keyOut}\n` : `${secret}\n`));
    return EXIT.OK;
  }

  const privateKey = generate(alg);
  const pub = publicJwk(privateKey);
  kid ??= thumbprint(pub);
  const jwks = { keys: [{ ...pub, kid, alg, use: 'sig' }] };
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  if (keyOut !== undefined) write(keyOut, pem, force, 0o600);
  if (jwksOut !== undefined) write(jwksOut, `${JSON.stringify(jwks, null, 2)}\n`, force, 0o644);
  if (keyOut !== undefined || jwksOut !== undefined) {
    const written = { alg, kid, ...(keyOut !== undefined ? { keyFile: keyOut } : {}), ...(jwksOut !== undefined ? { jwksFile: jwksOut } : { jwks }) };
    print(
      io,
      json,
      written,
      () =>
        [
          keyOut !== undefined ? `wrote the ${alg} private key to ${keyOut}` : undefined,
          jwksOut !== undefined ? `wrote the public JWK Set (kid ${kid}) to ${jwksOut}` : `public JWK Set:\n${JSON.stringify(jwks, null, 2)}`,
        ]
          .filter(Boolean)
          .join('\n') + '\n',
    );
    return EXIT.OK;
  }
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg };
  print(io, json, { alg, kid, privateKey: pem, privateJwk, jwks }, () => `${pem}\n${JSON.stringify(jwks, null, 2)}\n`);
  return EXIT.OK;
}
