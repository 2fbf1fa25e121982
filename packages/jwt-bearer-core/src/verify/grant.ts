import { JWT_BEARER_GRANT_TYPE } from '../constants';
import { decodeAssertion } from '../jose/jws';
import { resolveCommonOptions } from '../options';
import { checkHeader, checkTimes, claimJti, reject, stringClaim, verifySignature, type Seen } from './pipeline';
import { FaultLog } from '../observe/fault-log';
import { failed, grantAccepted, grantSucceeded } from '../observe/outcome';
import { seeHeader, traceVerification, verificationChannel } from '../observe/tracing';
import { formBody, param, parseScope } from '../http/request';
import { issuerTrust } from '../trust/registry';
import type { AssertionClaims, AssertionHeader, GrantContext, GrantPrincipal, GrantVerifier, GrantVerifierOptions, TokenRequest } from '../types';

/** `typ` values a grant assertion may carry (lower case). Explicitly typed other JWTs are refused. */
const GRANT_TYPES: ReadonlySet<string> = new Set(['jwt', 'application/jwt', 'jose', 'application/jose']);

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
    if (grantType !== JWT_BEARER_GRANT_TYPE) reject('ERR_GRANT_TYPE_UNSUPPORTED', use, `grant_type ${JSON.stringify(grantType)}`);
    const assertion = param(body, 'assertion', use);
    if (assertion === undefined) reject('ERR_ASSERTION_MISSING', use, 'assertion parameter is missing');
    const scopeParam = param(body, 'scope', use);
    let requested = scopeParam === undefined ? undefined : parseScope(scopeParam);
    if (scopeParam !== undefined && requested === undefined) reject('ERR_SCOPE_INVALID', use, 'scope parameter is not RFC 6749 §3.3 syntax');

    const decoded = decodeAssertion(assertion, resolved.maxAssertionLength, use);
    seeHeader(seen, decoded.header);
    const spec = checkHeader(decoded, resolved, GRANT_TYPES);
    const payload = decoded.payload;
    const iss = stringClaim(payload, 'iss', use, true)!;
    seen.issuer = iss;
    if (typeof payload.sub === 'string') seen.subject = payload.sub;

    // A registration list answers synchronously: await only an asynchronous lookup.
    const found = trust.resolve(iss);
    const party = found instanceof Promise ? await found : found;
    if (!party) reject('ERR_ISSUER_UNTRUSTED', use, `issuer ${JSON.stringify(iss)} is not trusted`);
    const verifying = verifySignature(party, spec, decoded, resolved);
    if (verifying) await verifying;

    const trusted = party.registration;
    const sub = stringClaim(payload, 'sub', use, trusted.requireSubject !== false);
    const subject = sub ?? iss;
    const subjects = trusted.subjects;
    // The rule applies to whom the token will be for, also when that is the issuer itself.
    if (subjects !== undefined && !(typeof subjects === 'function' ? subjects(subject) === true : subjects.includes(subject))) {
      reject('ERR_SUBJECT_NOT_ALLOWED', use, `subject ${JSON.stringify(subject)} is not allowed for issuer ${JSON.stringify(iss)}`);
    }
    const aud = payload.aud;
    // The common case, a single string naming this server, without allocating.
    if (typeof aud !== 'string' || !accepted.has(aud)) {
      const audiences = typeof aud === 'string' ? [aud] : aud;
      if (aud === undefined) reject('ERR_CLAIM_MISSING', use, 'claim "aud" is missing');
      if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string')) {
        reject('ERR_CLAIM_INVALID', use, 'claim "aud" is not a string or an array of strings');
      }
      if (!audiences.some((a) => accepted.has(a))) reject('ERR_AUDIENCE_INVALID', use, `aud ${JSON.stringify(aud)} does not name this server`);
    }
    const ttl = checkTimes(payload, resolved);
    const jti = stringClaim(payload, 'jti', use, resolved.requireJti);

    if (requested === undefined && payload.scope !== undefined) {
      if (typeof payload.scope !== 'string') reject('ERR_CLAIM_INVALID', use, 'claim "scope" is not a string');
      requested = payload.scope === '' ? [] : parseScope(payload.scope);
      if (requested === undefined) reject('ERR_CLAIM_INVALID', use, 'claim "scope" is not RFC 6749 §3.3 syntax');
    }
    const scope = requested ?? [];
    const allowed = trusted.scopes;
    if (allowed !== undefined) {
      const outside = scope.filter((s) => !allowed.includes(s));
      if (outside.length > 0) reject('ERR_SCOPE_INVALID', use, `scope ${JSON.stringify(outside.join(' '))} is not allowed for issuer ${JSON.stringify(iss)}`);
    }

    if (jti !== undefined) await claimJti(resolved, iss, jti, ttl);

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

  const faults = new FaultLog();

  async function attempt(request: TokenRequest, context: GrantContext | undefined, seen: Seen): Promise<GrantPrincipal> {
    try {
      const principal = await run(request, context, seen);
      if (resolved.onSuccess) grantSucceeded(resolved, principal);
      return principal;
    } catch (err) {
      throw failed(resolved, faults, err, seen, context?.clientId !== undefined ? { clientId: context.clientId } : {});
    }
  }

  return {
    verify(request: TokenRequest, context?: GrantContext): Promise<GrantPrincipal> {
      const seen: Seen = {};
      // Nothing is built for tracing unless someone subscribed to jwt-bearer:grant.
      const channel = verificationChannel(use);
      if (channel === undefined) return attempt(request, context, seen);
      return traceVerification(channel, use, seen, context?.clientId, () => attempt(request, context, seen), grantAccepted);
    },
  };
}
