import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE, SUPPORTED_ALGORITHMS, type Algorithm } from 'jwt-bearer-core';
import { EXIT, option, parse, print, seconds, UsageError, type Io } from '../io';
import { decode } from '../jwt';
import { readSigningKey } from '../keys';

export const MINT_HELP = `Usage: jwt-bearer mint --key FILE --iss ISS [--sub SUB] --aud AUD [--grant | --client] [options]

Signs an RFC 7523 assertion with createAssertion() and prints it.

  --key FILE        private key: PEM, private JWK (its kid is used), or a file holding an HMAC secret
  --iss ISS         iss: the client id (--client) or the issuer (--grant)
  --sub SUB         sub: who the token is for (--grant); for --client it defaults to --iss
  --aud AUD         aud: the authorization server's issuer identifier; repeat for a list
  --grant           an authorization grant assertion (RFC 7523 §2.1; the default)
  --client          a client assertion (RFC 7523 §2.2, private_key_jwt / client_secret_jwt)
  --alg ALG         ${SUPPORTED_ALGORITHMS.join(', ')} (default: from the key)
  --kid KID         kid header parameter
  --typ TYP         typ header parameter (e.g. client-authentication+jwt)
  --exp SECONDS     lifetime: exp = iat + SECONDS (default 60)
  --jti JTI         jti (default: a random UUID)
  --claim K=V       a further claim; V is parsed as JSON when it is JSON, else kept as a string; repeatable
  --json            print { assertion, header, claims, form } where form is the request's parameters
`;

/** `k=v`: the value parsed as JSON when it is JSON (numbers, booleans, arrays), else the string. */
function claim(text: string): [string, unknown] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`--claim ${JSON.stringify(text)} must be NAME=VALUE`);
  const value = text.slice(at + 1);
  try {
    return [text.slice(0, at), JSON.parse(value)];
  } catch {
    return [text.slice(0, at), value];
  }
}

export async function mint(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    key: { type: 'string' },
    iss: { type: 'string' },
    sub: { type: 'string' },
    aud: { type: 'string', multiple: true },
    grant: { type: 'boolean' },
    client: { type: 'boolean' },
    alg: { type: 'string' },
    kid: { type: 'string' },
    typ: { type: 'string' },
    exp: { type: 'string' },
    jti: { type: 'string' },
    claim: { type: 'string', multiple: true },
  });
  if (values.help) return (io.out(MINT_HELP), EXIT.OK);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.grant && values.client) throw new UsageError('--grant and --client exclude each other');
  const forClient = values.client === true;
  const iss = option(values, 'iss', true);
  const aud = values.aud as string[] | undefined;
  if (!aud || aud.length === 0) throw new UsageError('--aud is required');
  const alg = option(values, 'alg') as Algorithm | undefined;
  if (alg !== undefined && !SUPPORTED_ALGORITHMS.includes(alg)) throw new UsageError(`--alg must be one of ${SUPPORTED_ALGORITHMS.join(', ')}`);
  const { key, kid: jwkKid } = readSigningKey(option(values, 'key', true));
  const kid = option(values, 'kid') ?? jwkKid;
  const sub = option(values, 'sub') ?? (forClient ? iss : undefined);
  const claims = Object.fromEntries(((values.claim as string[] | undefined) ?? []).map(claim));
  let assertion: string;
  try {
    assertion = createAssertion({
      issuer: iss,
      ...(sub !== undefined ? { subject: sub } : {}),
      audience: aud.length === 1 ? aud[0]! : aud,
      key,
      ...(alg !== undefined ? { algorithm: alg } : {}),
      ...(kid !== undefined ? { keyId: kid } : {}),
      ...(values.typ !== undefined ? { type: values.typ as string } : {}),
      ...(values.exp !== undefined ? { expiresIn: seconds(values, 'exp') } : {}),
      ...(values.jti !== undefined ? { jwtId: values.jti as string } : {}),
      claims,
    });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot sign: ${(err as Error).message}`);
  }
  const form = forClient
    ? { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion }
    : { grant_type: JWT_BEARER_GRANT_TYPE, assertion };
  const decoded = decode(assertion)!;
  print(io, values.json === true, { assertion, header: decoded.header, claims: decoded.claims, form }, () => `${assertion}\n`);
  return EXIT.OK;
}
