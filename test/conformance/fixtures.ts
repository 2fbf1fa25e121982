/**
 * Keys and key-set servers the conformance cases are built from. Minted once per test file:
 * RSA key generation is the slow part of the suite.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Jwk } from 'jwt-bearer-core';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as a JWK (no `kid`, no `alg`). */
  jwk: Jwk;
}

export interface Fixtures {
  keys: {
    /** RSA 2048: the trusted grant issuer's key. */
    svc: KeyPair;
    /** EC P-256: the `private_key_jwt` client's key. */
    client: KeyPair;
    /** Ed25519. */
    ed: KeyPair;
    /** RSA 2048 nobody trusts: an attacker's key. */
    other: KeyPair;
    /** RSA 1024: too small for RS256 (RFC 7518 §3.3). */
    weak: KeyPair;
    /** A 48-byte shared secret for `client_secret_jwt` / HS256 issuers. */
    secret: string;
  };
  jwks: {
    /** A JWK Set on a real 127.0.0.1 server: svc (kid `svc-rsa`), client (kid `client-ec`), ed (kid `ed`). */
    uri: string;
    /** Same server, answering HTTP 500. */
    failing: string;
    /** Same server, answering an HTML page. */
    notJson: string;
    /** A closed port on 127.0.0.1. */
    unreachable: string;
  };
  /** Requests the key-set server has answered, by path. */
  jwksHits: Record<string, number>;
  close(): Promise<void>;
}

export function pair(kind: 'rsa' | 'ec' | 'ed25519', bits?: number): KeyPair {
  const { privateKey, publicKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: bits ?? 2048 })
      : kind === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { privateKey, publicKey, jwk: publicKey.export({ format: 'jwk' }) as Jwk };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A port that was free a moment ago and now has nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

export async function createFixtures(): Promise<Fixtures> {
  const keys = {
    svc: pair('rsa'),
    client: pair('ec'),
    ed: pair('ed25519'),
    other: pair('rsa'),
    weak: pair('rsa', 1024),
    secret: randomBytes(48).toString('base64url'),
  };
  const set = {
    keys: [
      { ...keys.svc.jwk, kid: 'svc-rsa', use: 'sig', alg: 'RS256' },
      { ...keys.client.jwk, kid: 'client-ec', use: 'sig' },
      { ...keys.ed.jwk, kid: 'ed', use: 'sig' },
    ],
  };
  const jwksHits: Record<string, number> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    jwksHits[path] = (jwksHits[path] ?? 0) + 1;
    if (path === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(set));
    } else if (path === '/jwks-500') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
    } else if (path === '/jwks-html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>maintenance</body></html>');
    } else {
      res.writeHead(404).end();
    }
  });
  const port = await listen(server);
  const dead = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  return {
    keys,
    jwks: {
      uri: `${base}/jwks`,
      failing: `${base}/jwks-500`,
      notJson: `${base}/jwks-html`,
      unreachable: `http://127.0.0.1:${dead}/jwks`,
    },
    jwksHits,
    close: () => close(server),
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs any header and payload by hand, for assertions `createAssertion` will not make (no `aud`,
 * a 1024-bit key, a DER-encoded ECDSA signature). `signature` overrides the computed one.
 */
export function signRaw(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject | undefined,
  options: { dsaEncoding?: 'der' | 'ieee-p1363'; signature?: string } = {},
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (options.signature !== undefined) return `${input}.${options.signature}`;
  if (!key) return `${input}.`;
  const alg = String(header.alg);
  const hash = alg.endsWith('384') ? 'sha384' : alg.endsWith('512') ? 'sha512' : 'sha256';
  const sig =
    key.asymmetricKeyType === 'ec'
      ? sign(hash, Buffer.from(input), { key, dsaEncoding: options.dsaEncoding ?? 'ieee-p1363' })
      : sign(key.asymmetricKeyType === 'ed25519' ? null : hash, Buffer.from(input), key);
  return `${input}.${sig.toString('base64url')}`;
}
