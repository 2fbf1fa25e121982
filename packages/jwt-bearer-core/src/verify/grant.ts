import { JWT_BEARER_GRANT_TYPE } from '../constants';
import { decodeAssertion } from '../jose/jws';
import { resolveCommonOptions } from '../options';
import { checkHeader, checkTimes, claimJti, reject, report, stringClaim, verifySignature, type Seen } from './pipeline';
import { formBody, param, parseScope } from '../http/request';
import { issuerTrust } from '../trust/registry';
import { describe } from '../describe';
import type { AssertionUse } from '../errors';
import type { AssertionClaims, AssertionHeader, GrantContext, GrantPrincipal, GrantVerifier, GrantVerifierOptions, TokenRequest } from '../types';

/** `typ` values a grant assertion may carry (lower case). Explicitly typed other JWTs are refused. */
const GRANT_TYPES: ReadonlySet<string> = new Set(['jwt', 'application/jwt', 'jose', 'application/jose']);

/**
 * The scope a grant carries (RFC 6749 §3.3, DESIGN §8). A signed `scope` claim is a ceiling: with
 * a `scope` parameter the grant is the parameter ∩ the claim (∩ the issuer's `scopes`), and a
 * parameter that leaves nothing is `invalid_scope`; without one, the claim itself, which must lie
 * within the issuer's `scopes`. Without a claim, the parameter, which must lie within the
 * issuer's `scopes` (no silent narrowing there). Allocates nothing when neither is present.
 *
 * @param requested - the `scope` parameter's tokens, if the request had one
 * @param claimed - the signed `scope` claim's tokens, if the assertion had one
 * @param allowed - the trusted issuer's `scopes`, if configured
 */
export function grantedScope(requested: string[] | undefined, claimed: string[] | undefined, allowed: readonly string[] | undefined, use: AssertionUse, iss: string): string[] {
  if (requested !== undefined && claimed !== undefined) {
    const granted = requested.filter((s) => claimed.includes(s) && (allowed === undefined || allowed.includes(s)));
    if (granted.length === 0) {
      reject('ERR_SCOPE_INVALID', use, `scope parameter ${describe(requested.join(' '))} leaves nothing of the signed scope claim ${describe(claimed.join(' '))}${allowed === undefined ? '' : ` within the scopes of issuer ${describe(iss)}`}`);
    }
    return granted;
  }
  const scope = requested ?? claimed ?? [];
  if (allowed !== undefined && scope.length > 0) {
    const outside = scope.filter((s) => !allowed.includes(s));
    if (outside.length > 0) reject('ERR_SCOPE_INVALID', use, `scope ${describe(outside.join(' '))} is not allowed for issuer ${describe(iss)}`);
  }
  return scope;
}

/**
 * Creates a verifier of RFC 7523 §2.1 authorization grants
 * (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`). Options are validated now: a bad
 * configuration throws a `TypeError` naming the option.
 *
 * @example
 * const grants = createGrantVerifier({ issuer: 'https://as.example', issuers: [{ issuer: 'svc', jwksUri }] });
 * const principal = await grants.verify({ body: req.body, headers: req.headers });
 */
export function createGrantVerifier(options: GrantVerifierOptions): GrantVerifier {
  const resolved = resolveCommonOptions(options, 'grant', ['issuers']);
  const trust = issuerTrust(options.issuers, resolved);
  const use = 'grant' as const;
  const accepted = new Set([resolved.issuer, ...resolved.audiences]);

  async function run(request: TokenRequest, context: GrantContext | undefined, seen: Seen): Promise<GrantPrincipal> {
    const body = formBody(request);
    if (!body) reject('ERR_BODY_MISSING', use, 'request has no form body');
    const grantType = param(body, 'grant_type', use);
    if (grantType !== JWT_BEARER_GRANT_TYPE) reject('ERR_GRANT_TYPE_UNSUPPORTED', use, `grant_type ${describe(grantType)}`);
    const assertion = param(body, 'assertion', use);
    if (assertion === undefined) reject('ERR_ASSERTION_MISSING', use, 'assertion parameter is missing');
    const scopeParam = param(body, 'scope', use);
    const requested = scopeParam === undefined ? undefined : parseScope(scopeParam);
    if (scopeParam !== undefined && requested === undefined) reject('ERR_SCOPE_INVALID', use, 'scope parameter is not RFC 6749 §3.3 syntax');

    const decoded = decodeAssertion(assertion, resolved.maxAssertionLength, use);
    const spec = checkHeader(decoded, resolved, GRANT_TYPES);
    const payload = decoded.payload;
    const iss = stringClaim(payload, 'iss', use, true)!;
    seen.issuer = iss;
    if (typeof payload.sub === 'string') seen.subject = payload.sub;

    // A registration list answers synchronously: await only an asynchronous lookup.
    const found = trust.resolve(iss);
    const party = found instanceof Promise ? await found : found;
    if (!party) reject('ERR_ISSUER_UNTRUSTED', use, `issuer ${describe(iss)} is not trusted`);
    const verifying = verifySignature(party, spec, decoded, resolved);
    if (verifying) await verifying;

    const trusted = party.registration;
    const sub = stringClaim(payload, 'sub', use, trusted.requireSubject !== false);
    const subject = sub ?? iss;
    const subjects = trusted.subjects;
    // The rule applies to whom the token will be for, also when that is the issuer itself.
    if (subjects !== undefined && !(typeof subjects === 'function' ? subjects(subject) === true : subjects.includes(subject))) {
      reject('ERR_SUBJECT_NOT_ALLOWED', use, `subject ${describe(subject)} is not allowed for issuer ${describe(iss)}`);
    }
    const aud = payload.aud;
    // The common case, a single string naming this server, without allocating.
    if (typeof aud !== 'string' || !accepted.has(aud)) {
      const audiences = typeof aud === 'string' ? [aud] : aud;
      if (aud === undefined) reject('ERR_CLAIM_MISSING', use, 'claim "aud" is missing');
      if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string')) {
        reject('ERR_CLAIM_INVALID', use, 'claim "aud" is not a string or an array of strings');
      }
      if (!audiences.some((a) => accepted.has(a))) reject('ERR_AUDIENCE_INVALID', use, `aud ${describe(aud)} does not name this server`);
    }
    const ttl = checkTimes(payload, resolved, party.maxLifetime);
    const jti = stringClaim(payload, 'jti', use, resolved.requireJti);

    let claimed: string[] | undefined;
    if (payload.scope !== undefined) {
      if (typeof payload.scope !== 'string') reject('ERR_CLAIM_INVALID', use, 'claim "scope" is not a string');
      claimed = payload.scope === '' ? [] : parseScope(payload.scope);
      if (claimed === undefined) reject('ERR_CLAIM_INVALID', use, 'claim "scope" is not RFC 6749 §3.3 syntax');
    }
    const scope = grantedScope(requested, claimed, trusted.scopes, use, iss);

    // DESIGN §8: a party with allowReuse skips the replay store; its lifetime cap still applies.
    if (jti !== undefined && !party.allowReuse) await claimJti(resolved, iss, jti, ttl);

    const principal: GrantPrincipal = {
      issuer: iss,
      subject,
      scope,
      audience: aud as string | string[],
      claims: payload as AssertionClaims,
      header: decoded.header as AssertionHeader,
    };
    if (context?.clientId !== undefined) principal.clientId = context.clientId;
    return principal;
  }

  return {
    async verify(request: TokenRequest, context?: GrantContext): Promise<GrantPrincipal> {
      const seen: Seen = {};
      try {
        return await run(request, context, seen);
      } catch (err) {
        throw report(resolved.onError, use, err, seen, context?.clientId !== undefined ? { clientId: context.clientId } : {});
      }
    },
  };
}
