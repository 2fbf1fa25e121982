/*
 * One authorization server, its trusted issuers and registered clients, and helpers that mint
 * assertions for them with the test signer (independent of the library's createAssertion).
 */
import { randomUUID } from 'node:crypto';
import { JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE, MemoryReplayStore, type ReplayStore } from 'jwt-bearer-core';
import { ecKey, edKey, rsaKey, seconds, signJws, type TestKey } from './keys';
import type { TargetConfig } from './targets';

export const AS_ISSUER = 'https://as.example.test';
export const TOKEN_ENDPOINT = 'https://as.example.test/oauth2/token';
export const GRANT_ISSUER = 'https://idp.example.test';
export const GRANT_ISSUER_EC = 'https://svc.example.test';
export const HS_SECRET = 'a shared secret of well over thirty-two bytes, for HS256';

export interface World {
  rsa: TestKey;
  ec: TestKey;
  ed: TestKey;
  attacker: TestKey;
  /** A fresh configuration (new replay store unless one is given). */
  config(options?: { replayStore?: ReplayStore; now?: () => number; scopes?: string[]; audienceMode?: 'strict' | 'legacy' }): TargetConfig;
}

let shared: World | undefined;

/** Keys are generated once per test file. */
export function world(): World {
  if (shared) return shared;
  const rsa = rsaKey('rsa-1');
  const ec = ecKey('ec-1');
  const ed = edKey('ed-1');
  const attacker = rsaKey('attacker-1');
  shared = {
    rsa,
    ec,
    ed,
    attacker,
    config(options = {}) {
      const replayStore = options.replayStore ?? new MemoryReplayStore({ max: 10_000 });
      const common = { issuer: AS_ISSUER, audiences: [TOKEN_ENDPOINT], replayStore, ...(options.now ? { now: options.now } : {}) };
      return {
        grant: {
          ...common,
          issuers: [
            { issuer: GRANT_ISSUER, publicKey: rsa.publicPem, ...(options.scopes ? { scopes: options.scopes } : {}) },
            { issuer: GRANT_ISSUER_EC, jwks: { keys: [ec.publicJwk as never] } },
          ],
        },
        client: {
          ...common,
          ...(options.audienceMode ? { audienceMode: options.audienceMode } : {}),
          clients: [
            { clientId: 'client-rsa', jwks: { keys: [rsa.publicJwk as never] } },
            { clientId: 'client-ec', publicKey: ec.publicJwk as never },
            { clientId: 'client-ed', publicKey: ed.publicPem },
            { clientId: 'client-hs', clientSecret: HS_SECRET },
          ],
        },
      };
    },
  };
  return shared;
}

export interface MintOptions {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Claims to leave out. */
  omit?: string[];
  /** Clock in ms. Default Date.now(). */
  now?: number;
  /** Sign as this algorithm (default: the header's). */
  signAs?: string;
}

function build(base: Record<string, unknown>, options: MintOptions): Record<string, unknown> {
  const payload: Record<string, unknown> = { ...base, ...options.claims };
  for (const name of options.omit ?? []) delete payload[name];
  return payload;
}

function times(now: number) {
  const t = seconds(now);
  return { iat: t, exp: t + 60, jti: randomUUID() };
}

/** A client assertion for `clientId`, signed with `key` (or the HS secret for client-hs). */
export function clientAssertionFor(clientId: string, key: TestKey | string, options: MintOptions = {}): string {
  const secret = typeof key === 'string';
  const header = { alg: secret ? 'HS256' : key.alg, typ: 'JWT', ...(secret ? {} : { kid: key.kid }), ...options.header };
  const payload = build({ iss: clientId, sub: clientId, aud: AS_ISSUER, ...times(options.now ?? Date.now()) }, options);
  return signJws(header, payload, secret ? Buffer.from(key) : key.privateKey, options.signAs);
}

/** A grant assertion of `issuer` for `subject`, signed with `key`. */
export function grantAssertionFor(issuer: string, key: TestKey, options: MintOptions = {}): string {
  const header = { alg: key.alg, typ: 'JWT', kid: key.kid, ...options.header };
  const payload = build({ iss: issuer, sub: 'alice@example.test', aud: AS_ISSUER, ...times(options.now ?? Date.now()) }, options);
  return signJws(header, payload, key.privateKey, options.signAs);
}

export const grantParams = (assertion: string, extra: Record<string, string | string[]> = {}) => ({
  grant_type: JWT_BEARER_GRANT_TYPE,
  assertion,
  ...extra,
});

export const clientParams = (assertion: string, extra: Record<string, string | string[]> = {}) => ({
  client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
  client_assertion: assertion,
  ...extra,
});
