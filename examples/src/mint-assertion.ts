/**
 * Prints one assertion signed with the running example's demo keys, for trying the example with
 * curl (see examples/README.md):
 *
 *   node examples/dist/mint-assertion.js demo-client                   # private_key_jwt client assertion
 *   node examples/dist/mint-assertion.js demo-secret-client            # client_secret_jwt client assertion
 *   node examples/dist/mint-assertion.js demo-issuer alice@example.com # grant assertion for a user
 *   node examples/dist/mint-assertion.js demo-client --aud http://127.0.0.1:3000/token
 *
 * The keys come from the example's development-only `GET /demo/keys` (AS_URL, default
 * http://127.0.0.1:3000); `aud` defaults to the example's issuer identifier.
 */
import { createAssertion, type Jwk } from 'jwt-bearer-core';

interface Keys {
  issuer: string;
  clients: Record<string, { kid?: string; private_jwk?: Jwk; client_secret?: string }>;
  issuers: Record<string, { kid: string; private_jwk: Jwk }>;
}

const USAGE = 'usage: node examples/dist/mint-assertion.js <demo-client | demo-secret-client | demo-issuer <subject>> [--aud <audience>]';

/** Mints the assertion that `args` describe with the keys of the example at `asUrl`. */
export async function mint(args: string[], asUrl: string): Promise<string> {
  const audIndex = args.indexOf('--aud');
  const audience = audIndex >= 0 ? args[audIndex + 1] : undefined;
  if (audIndex >= 0 && !audience) throw new Error(USAGE);
  const [who, subject, ...rest] = audIndex >= 0 ? [...args.slice(0, audIndex), ...args.slice(audIndex + 2)] : args;
  const known = ['demo-client', 'demo-secret-client', 'demo-issuer'];
  if (!who || !known.includes(who) || rest.length > 0 || (who === 'demo-issuer') !== (subject !== undefined)) throw new Error(USAGE);
  const response = await fetch(`${asUrl.replace(/\/+$/, '')}/demo/keys`);
  if (!response.ok) throw new Error(`GET ${asUrl}/demo/keys answered ${response.status}`);
  const keys = (await response.json()) as Keys;
  const aud = audience ?? keys.issuer;
  if (who === 'demo-issuer') {
    const issuer = keys.issuers['demo-issuer']!;
    return createAssertion({ issuer: who, subject: subject!, audience: aud, key: issuer.private_jwk, keyId: issuer.kid, expiresIn: 300 });
  }
  const client = keys.clients[who];
  if (!client) throw new Error(`the example at ${asUrl} has no ${who}`);
  if (client.client_secret !== undefined) {
    return createAssertion({ issuer: who, subject: who, audience: aud, key: client.client_secret, algorithm: 'HS256' });
  }
  return createAssertion({ issuer: who, subject: who, audience: aud, key: client.private_jwk!, ...(client.kid ? { keyId: client.kid } : {}) });
}

if (require.main === module) {
  mint(process.argv.slice(2), process.env.AS_URL ?? 'http://127.0.0.1:3000').then(
    (assertion) => console.log(assertion),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    },
  );
}
