/*
 * The two uses of RFC 7523 as interchangeable test subjects: how to mint an assertion for a
 * trusted party, how to send it, and what a refusal looks like.
 */
import { expect } from '@jest/globals';
import type { TestKey } from './keys';
import { expectOAuthError, type Answer } from './oauth';
import type { Target } from './targets';
import { clientAssertionFor, clientParams, GRANT_ISSUER, GRANT_ISSUER_EC, grantAssertionFor, grantParams, world, type MintOptions } from './world';

export interface Use {
  name: 'grant' | 'client';
  /** The OAuth error a refused assertion gets. */
  refusal: 'invalid_grant' | 'invalid_client';
  /** The party's identifier (grant issuer / client_id) for an RSA and an EC key. */
  rsaParty: string;
  ecParty: string;
  mint(key: TestKey, options?: MintOptions): string;
  send(target: Target, assertion: string, extra?: Record<string, string | string[]>, headers?: Record<string, string>): Promise<Answer>;
}

export const GRANT: Use = {
  name: 'grant',
  refusal: 'invalid_grant',
  rsaParty: GRANT_ISSUER,
  ecParty: GRANT_ISSUER_EC,
  mint: (key, options) => grantAssertionFor(key === world().ec ? GRANT_ISSUER_EC : GRANT_ISSUER, key, options),
  send: (target, assertion, extra, headers) => target.token(grantParams(assertion, extra), headers),
};

export const CLIENT: Use = {
  name: 'client',
  refusal: 'invalid_client',
  rsaParty: 'client-rsa',
  ecParty: 'client-ec',
  mint: (key, options) => clientAssertionFor(key === world().ec ? 'client-ec' : 'client-rsa', key, options),
  send: (target, assertion, extra, headers) => target.client(clientParams(assertion, extra), headers),
};

export const USES: readonly Use[] = [GRANT, CLIENT];

/** Asserts the answer refuses the assertion (the use's error), and the code reported to onError. */
export function expectRefused(target: Target, use: Use, answer: Answer, ...codes: string[]): void {
  expectOAuthError(answer, use.refusal);
  if (codes.length > 0) expect(codes).toContain(target.lastCode());
}

/** Asserts success. */
export function expectAccepted(answer: Answer): void {
  if (answer.status !== 200) throw new Error(`expected success, got ${answer.status} ${answer.text.slice(0, 300)}`);
}
