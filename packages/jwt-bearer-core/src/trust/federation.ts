/**
 * Federated client authentication (workload identity federation): a client proves who it is with
 * a token its platform issued it (a Kubernetes projected service-account token, a GitHub Actions
 * OIDC token, a cloud workload identity), matched against the client's `federatedCredentials`.
 * The same model as Entra ID's federated identity credentials and Keycloak's federated client
 * authentication. This module holds the matching; the dispatch is in verify/client.ts.
 */
import { fail, isPlainObject, nonEmptyString } from '../options';
import type { FederatedCredential } from '../types';

/** Validates `federatedCredentials`; throws a `TypeError` naming `where`. */
export function checkFederatedCredentials(value: unknown, where: string): void {
  if (!Array.isArray(value) || value.length === 0) fail(where, 'must be a non-empty array of { issuer, subject | subjectPattern, claims? }');
  value.forEach((c: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isPlainObject(c)) fail(at, 'must be an object');
    for (const key of Object.keys(c)) {
      if (!['issuer', 'subject', 'subjectPattern', 'claims'].includes(key))
        fail(at, `has unknown field "${key}" (known: issuer, subject, subjectPattern, claims)`);
    }
    nonEmptyString(c.issuer, `${at}.issuer`);
    if ((c.subject === undefined) === (c.subjectPattern === undefined)) fail(at, 'must have exactly one of subject, subjectPattern');
    if (c.subject !== undefined) nonEmptyString(c.subject, `${at}.subject`);
    if (c.subjectPattern !== undefined) {
      const pattern = nonEmptyString(c.subjectPattern, `${at}.subjectPattern`);
      // A pattern of stars only would let any workload of the platform in.
      if (/^\**$/.test(pattern)) fail(`${at}.subjectPattern`, 'must contain more than "*": it would match every subject of the issuer');
    }
    if (c.claims !== undefined && !(isPlainObject(c.claims) && Object.values(c.claims).every((v) => typeof v === 'string'))) {
      fail(`${at}.claims`, 'must be an object of string values');
    }
  });
}

/**
 * Whether `text` matches `pattern`, where `*` matches any run of characters (also none, also
 * `/` and `:`) and every other character only itself: no character classes, no escapes, so
 * `repo:org@123/repo@456:ref:refs/heads/main` is matched by a pattern spelled the same way.
 * Greedy matching with one backtrack point: O(|text| · |pattern|) at worst, no regular
 * expression built from configuration.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p += 1;
      t += 1;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p;
      mark = t;
      p += 1;
    } else if (star >= 0) {
      p = star + 1;
      mark += 1;
      t = mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p += 1;
  return p === pattern.length;
}

/** The first of `credentials` that `payload` (from `issuer`, with subject `subject`) matches. */
export function matchCredential(
  credentials: readonly FederatedCredential[] | undefined,
  issuer: string,
  subject: string,
  payload: Record<string, unknown>,
): FederatedCredential | undefined {
  if (!credentials) return undefined;
  return credentials.find(
    (c) =>
      c.issuer === issuer &&
      (c.subject !== undefined ? c.subject === subject : globMatch(c.subjectPattern!, subject)) &&
      Object.entries(c.claims ?? {}).every(([name, value]) => Object.prototype.hasOwnProperty.call(payload, name) && payload[name] === value),
  );
}
