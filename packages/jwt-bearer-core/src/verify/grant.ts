import { JWT_BEARER_GRANT_TYPE } from '../constants';
import { decodeAssertion } from '../jose/jws';
import { resolveCommonOptions } from '../options';
import { checkHeader, checkTimes, claimJti, reject, stringClaim, verifySignature, type Seen } from './pipeline';
import { FaultLog } from '../observe/fault-log';
import { failed, grantAccepted, grantSucceeded } from '../observe/outcome';
import { seeHeader, traceVerification, verificationChannel } from '../observe/tracing';
import { formBody, param, parseScope } from '../http/request';
import { issuerTrust } from '../trust/registry';
import { grantMetadata } from '../http/metadata';
import {
  checkIdJagClaims,
  checkSoleAudience,
  ID_JAG_TYPES,
  isIdJag,
  requireAuthenticatedClient,
  resolveResourcePolicy,
  resourceParameters,
} from '../profiles/id-jag';
import { claimProof, readDpopProof, resolveDpopOptions } from '../profiles/dpop';
import { describe } from '../describe';
import type { AssertionUse } from '../errors';
import type { AssertionClaims, AssertionHeader, GrantContext, GrantPrincipal, GrantProfile, GrantVerifier, GrantVerifierOptions, TokenRequest } from '../types';

/** `typ` values a grant assertion may carry (lower case). Explicitly typed other JWTs are refused. */
const GRANT_TYPES: ReadonlySet<string> = new Set(['jwt', 'application/jwt', 'jose', 'application/jose']);

/**
 * Principals whose granted scope differs from the `scope` parameter (narrowed by a signed claim,
 * or taken from the claim when the request had none): the token response must say what was
 * granted (RFC 6749 §5.1), so the adapters' `issueTokenResponse` adds `scope` when `issueToken` left it out.
 */
export const scopeToReport = new WeakSet<GrantPrincipal>();

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
export function grantedScope(
  requested: string[] | undefined,
  claimed: string[] | undefined,
  allowed: readonly string[] | undefined,
  use: AssertionUse,
  iss: string,
): string[] {
  if (requested !== undefined && claimed !== undefined) {
    const granted = requested.filter((s) => claimed.includes(s) && (allowed === undefined || allowed.includes(s)));
    if (granted.length === 0) {
      reject(
        'ERR_SCOPE_INVALID',
        use,
        `scope parameter ${describe(requested.join(' '))} leaves nothing of the signed scope claim ${describe(claimed.join(' '))}${allowed === undefined ? '' : ` within the scopes of issuer ${describe(iss)}`}`,
      );
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
  const resolved = resolveCommonOptions(options, 'grant', ['issuers', 'resources', 'requireResource', 'dpop']);
  const trust = issuerTrust(options.issuers, resolved);
  const resourcePolicy = resolveResourcePolicy(options);
  const dpop = resolveDpopOptions(options.dpop, resolved);
  const use = 'grant' as const;
  const accepted = new Set([resolved.issuer, ...resolved.audiences]);
  // A lookup function may return an issuer of either profile (the draft's metadata says only that
  // the processing rules are implemented); a list says exactly.
  const parties = trust.list();
  const metadata = grantMetadata({
    idJag: parties === undefined || parties.some((p) => p.registration.profiles?.includes('id-jag') === true),
    ...(dpop ? { dpopAlgorithms: dpop.algorithms } : {}),
  });

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
    seeHeader(seen, decoded.header);
    // DESIGN §10: the `typ` chooses the profile (RFC 8725 §3.11: explicit typing).
    const profile: GrantProfile = isIdJag(decoded.header) ? 'id-jag' : 'rfc7523';
    const idJag = profile === 'id-jag';
    const spec = checkHeader(decoded, resolved, idJag ? ID_JAG_TYPES : GRANT_TYPES);
    // RFC 8707 §2: `resource` may repeat; each must be an absolute URI without a fragment. A
    // plain grant on a server without option `resources` ignores it, as any unknown parameter.
    const requestedResources = idJag || resourcePolicy.accepts ? resourceParameters(body) : [];
    const payload = decoded.payload;
    const iss = stringClaim(payload, 'iss', use, true)!;
    seen.issuer = iss;
    if (typeof payload.sub === 'string') seen.subject = payload.sub;
    // ID-JAG "Access Token Request": the client authenticates with its own credentials.
    const clientId = idJag ? requireAuthenticatedClient(context?.clientId, request, resolved) : context?.clientId;

    // A registration list answers synchronously: await only an asynchronous lookup.
    const found = trust.resolve(iss);
    const party = found instanceof Promise ? await found : found;
    if (!party) reject('ERR_ISSUER_UNTRUSTED', use, `issuer ${describe(iss)} is not trusted`);
    const trusted = party.registration;
    // An IdP trusted for ID-JAGs only cannot mint plain assertions for arbitrary subjects, nor
    // the reverse.
    if (!(trusted.profiles ?? ['rfc7523']).includes(profile)) {
      reject('ERR_PROFILE_NOT_ALLOWED', use, `issuer ${describe(iss)} is not trusted for the ${profile} profile`);
    }
    const verifying = verifySignature(party, spec, decoded, resolved);
    if (verifying) await verifying;

    const sub = stringClaim(payload, 'sub', use, idJag || trusted.requireSubject !== false);
    const subject = sub ?? iss;
    const subjects = trusted.subjects;
    // The rule applies to whom the token will be for, also when that is the issuer itself.
    if (subjects !== undefined && !(typeof subjects === 'function' ? subjects(subject) === true : subjects.includes(subject))) {
      reject('ERR_SUBJECT_NOT_ALLOWED', use, `subject ${describe(subject)} is not allowed for issuer ${describe(iss)}`);
    }
    const aud = payload.aud;
    if (idJag) checkSoleAudience(aud, resolved.issuer);
    // The common case, a single string naming this server, without allocating.
    else if (typeof aud !== 'string' || !accepted.has(aud)) {
      const audiences = typeof aud === 'string' ? [aud] : aud;
      if (aud === undefined) reject('ERR_CLAIM_MISSING', use, 'claim "aud" is missing');
      if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string')) {
        reject('ERR_CLAIM_INVALID', use, 'claim "aud" is not a string or an array of strings');
      }
      if (!audiences.some((a) => accepted.has(a))) reject('ERR_AUDIENCE_INVALID', use, `aud ${describe(aud)} does not name this server`);
    }
    const ttl = checkTimes(payload, resolved, party.maxLifetime);
    const jti = stringClaim(payload, 'jti', use, idJag || resolved.requireJti);
    const grant = idJag ? checkIdJagClaims(payload, clientId!, resourcePolicy) : undefined;
    // RFC 8707 §2: every requested resource must be one the grant allows: for an ID-JAG, one of
    // its `resource` values; for a plain grant, one served here.
    for (const r of requestedResources) {
      const allowed = grant ? grant.resources.includes(r) : resourcePolicy.accepts?.(r) === true;
      if (!allowed) reject('ERR_TARGET_INVALID', use, 'a resource parameter is outside what the grant allows');
    }

    let claimed: string[] | undefined;
    if (payload.scope !== undefined) {
      if (typeof payload.scope !== 'string') reject('ERR_CLAIM_INVALID', use, 'claim "scope" is not a string');
      claimed = payload.scope === '' ? [] : parseScope(payload.scope);
      if (claimed === undefined) reject('ERR_CLAIM_INVALID', use, 'claim "scope" is not RFC 6749 §3.3 syntax');
    }
    const scope = grantedScope(requested, claimed, trusted.scopes, use, iss);

    // RFC 9449 §4.3 at the token endpoint: any grant may carry a proof; an ID-JAG bound by
    // cnf.jkt requires one for that very key ("Proof-of-Possession During ID-JAG Exchange").
    const reading = dpop ? readDpopProof(request, dpop, resolved) : undefined;
    const proof = reading instanceof Promise ? await reading : reading;
    if (grant?.jkt !== undefined) {
      if (!dpop) reject('ERR_CONFIRMATION_UNSUPPORTED', use, 'the ID-JAG has cnf.jkt and option "dpop" is not configured');
      if (!proof) reject('ERR_DPOP_PROOF_REQUIRED', use, 'the ID-JAG has cnf.jkt and the request has no DPoP proof');
      if (proof.proof.jkt !== grant.jkt) reject('ERR_DPOP_KEY_MISMATCH', use, "the DPoP proof key is not the ID-JAG's cnf.jkt");
    }

    // Replay, last: the proof first (a client makes a new one per request anyway), then the
    // grant. DESIGN §8: a party with allowReuse skips the replay store; its lifetime cap still applies.
    if (proof) await claimProof(resolved, proof.proof.jkt, proof.jti, proof.ttl);
    if (jti !== undefined && !party.allowReuse) await claimJti(resolved, iss, jti, ttl);

    const principal: GrantPrincipal = {
      issuer: iss,
      subject,
      scope,
      audience: aud as string | string[],
      claims: payload as AssertionClaims,
      header: decoded.header as AssertionHeader,
      profile,
      resource: requestedResources.length > 0 ? requestedResources : (grant?.resources ?? []),
    };
    if (clientId !== undefined) principal.clientId = clientId;
    if (proof) principal.dpop = proof.proof;
    // RFC 6749 §5.1: the token response must carry the scope when it differs from the request's
    // (the grant is never wider than the request: a narrowed one is shorter); the ID-JAG draft's
    // processing rules: an ID-JAG's response always carries its granted scope.
    if ((idJag && scope.length > 0) || (requested === undefined ? scope.length > 0 : scope.length !== requested.length)) scopeToReport.add(principal);
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
    metadata,
    verify(request: TokenRequest, context?: GrantContext): Promise<GrantPrincipal> {
      const seen: Seen = {};
      // Nothing is built for tracing unless someone subscribed to jwt-bearer:grant.
      const channel = verificationChannel(use);
      if (channel === undefined) return attempt(request, context, seen);
      return traceVerification(channel, use, seen, context?.clientId, () => attempt(request, context, seen), grantAccepted);
    },
  };
}
