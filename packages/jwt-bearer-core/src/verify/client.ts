import { JWT_BEARER_CLIENT_ASSERTION_TYPE } from '../constants';
import { OAuthError } from '../errors';
import { describe } from '../describe';
import { decodeAssertion } from '../jose/jws';
import { resolveCommonOptions } from '../options';
import { checkHeader, checkTimes, claimJti, observe, reject, stringClaim, verifySignature, type Seen } from './pipeline';
import { FaultLog } from '../observe/fault-log';
import { clientAccepted, clientSucceeded, failed } from '../observe/outcome';
import { seeHeader, traceVerification, verificationChannel } from '../observe/tracing';
import { challengeHeaders, formBody, header, param } from '../http/request';
import { clientTrust } from '../trust/registry';
import { clientMetadata, type AssertionAuthMethod } from '../http/metadata';
import { ALL_ALGORITHMS } from '../jose/algorithms';
import type {
  Algorithm,
  AssertionClaims,
  AssertionHeader,
  AudienceMode,
  AuthenticateOptions,
  ClientAuthenticator,
  ClientAuthenticatorOptions,
  ClientPrincipal,
  TokenRequest,
} from '../types';

/**
 * `typ` values a client assertion may carry (lower case): plain JWT, and the explicit type of
 * RFC 10070, each with and without the `application/` prefix, which RFC 7515 §4.1.9 makes the
 * same type.
 */
const CLIENT_TYPES: ReadonlySet<string> = new Set(['jwt', 'application/jwt', 'client-authentication+jwt', 'application/client-authentication+jwt']);

/**
 * Creates an authenticator for RFC 7523 §2.2 client assertions (OpenID Connect `private_key_jwt`
 * and `client_secret_jwt`). Options are validated now: a bad configuration throws a `TypeError`
 * naming the option.
 *
 * @example
 * const clients = createClientAuthenticator({ issuer: 'https://as.example', clients: [{ clientId: 'app', jwksUri }] });
 * const client = await clients.authenticate({ body: req.body, headers: req.headers }); // undefined: no assertion
 */
export function createClientAuthenticator(options: ClientAuthenticatorOptions): ClientAuthenticator {
  const resolved = resolveCommonOptions(options, 'client', ['clients', 'audienceMode']);
  const mode: AudienceMode = options.audienceMode ?? 'strict';
  if (mode !== 'strict' && mode !== 'legacy') throw new TypeError('jwt-bearer: option "audienceMode" must be "strict" or "legacy"');
  const trust = clientTrust(options.clients, resolved);
  const use = 'client' as const;
  const legacy = new Set([resolved.issuer, ...resolved.audiences]);
  const uniform = resolved.errorDescriptions === 'uniform';

  /**
   * RFC 10070: `aud` is the issuer identifier, alone. `legacy` also takes the `audiences` values,
   * but every value must still name this server: a list that also names another server is the
   * very audience injection RFC 10070 closes.
   */
  function checkAudience(aud: unknown, clientId: string): void {
    // The common case, without allocating: exactly the issuer, as a string.
    if (aud === resolved.issuer) return;
    if (aud === undefined) reject('ERR_CLAIM_MISSING', use, 'claim "aud" is missing');
    const values = typeof aud === 'string' ? [aud] : aud;
    if (!Array.isArray(values) || values.length === 0 || !values.every((a) => typeof a === 'string')) {
      reject('ERR_CLAIM_INVALID', use, 'claim "aud" is not a string or an array of strings');
    }
    if (values.length === 1 && values[0] === resolved.issuer) return;
    const ours = values.every((a) => legacy.has(a));
    if (mode === 'legacy' && ours) {
      observe(resolved.onWarning, () => ({
        code: 'WARN_LEGACY_AUDIENCE' as const,
        detail: `aud ${describe(aud)} accepted only in legacy audience mode (RFC 10070 wants the issuer identifier alone)`,
        use,
        issuer: clientId,
        subject: clientId,
        clientId,
      }));
      return;
    }
    // The log line names the option that accepts a known client habit (a token endpoint URL as
    // aud), so operators find the compatibility notes from it; a list naming a foreign server
    // is never accepted, so it gets no such hint.
    let hint = '';
    if (ours) hint = '; audienceMode "legacy" accepts it (it is one of "audiences")';
    else if (values.length === 1) hint = `; if it is this server's token endpoint URL, add it to "audiences"${mode === 'strict' ? ' with audienceMode "legacy"' : ''}`;
    else if (mode === 'legacy') hint = '; it also names another server, which legacy mode does not accept either';
    reject('ERR_AUDIENCE_INVALID', use, `aud ${describe(aud)} is not exactly the issuer identifier (RFC 10070)${hint}`);
  }

  async function run(request: TokenRequest, required: boolean, seen: Seen): Promise<ClientPrincipal | undefined> {
    const body = formBody(request) ?? {};
    const assertion = param(body, 'client_assertion', use);
    const type = param(body, 'client_assertion_type', use);
    if (assertion === undefined && type === undefined) {
      if (required) throw clientAuthenticationRequired(request, resolved.issuer);
      return undefined;
    }
    if (type === undefined) reject('ERR_CLIENT_ASSERTION_TYPE_MISSING', use, 'client_assertion without client_assertion_type');
    if (type !== JWT_BEARER_CLIENT_ASSERTION_TYPE) reject('ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED', use, `client_assertion_type ${describe(type)}`);
    if (assertion === undefined) reject('ERR_CLIENT_ASSERTION_MISSING', use, 'client_assertion_type without client_assertion');
    // RFC 6749 §2.3: one authentication method per request.
    if (header(request, 'authorization') !== undefined) reject('ERR_MULTIPLE_CLIENT_AUTH', use, 'client_assertion together with an Authorization header');
    if (param(body, 'client_secret', use) !== undefined) reject('ERR_MULTIPLE_CLIENT_AUTH', use, 'client_assertion together with client_secret');
    const clientIdParam = param(body, 'client_id', use);

    const decoded = decodeAssertion(assertion, resolved.maxAssertionLength, use);
    seeHeader(seen, decoded.header);
    const payload = decoded.payload;
    // RFC 7523 §3 item 2.B: the subject is the client_id; OpenID Connect Core §9: so is the issuer.
    const sub = stringClaim(payload, 'sub', use, true)!;
    seen.subject = sub;
    if (typeof payload.iss === 'string') seen.issuer = payload.iss;
    // RFC 7521 §4.2: a client_id parameter must name the client of the assertion.
    if (clientIdParam !== undefined && clientIdParam !== sub) reject('ERR_CLIENT_ID_MISMATCH', use, `client_id ${describe(clientIdParam)} but sub ${describe(sub)}`);
    const spec = checkHeader(decoded, resolved, CLIENT_TYPES);
    const iss = stringClaim(payload, 'iss', use, true)!;
    if (iss !== sub) reject('ERR_ISSUER_MISMATCH', use, `iss ${describe(iss)} differs from sub ${describe(sub)}`);

    // A registration list answers synchronously: await only an asynchronous lookup.
    const found = trust.resolve(sub);
    const party = found instanceof Promise ? await found : found;
    if (!party) reject('ERR_CLIENT_UNKNOWN', use, `client ${describe(sub)} is not registered`);
    const verifying = verifySignature(party, spec, decoded, resolved);
    if (verifying) await verifying;
    seen.verified = true;
    checkAudience(payload.aud, sub);
    const ttl = checkTimes(payload, resolved, party.maxLifetime);
    const jti = stringClaim(payload, 'jti', use, resolved.requireJti);
    // DESIGN §8: a client with allowReuse (MSAL re-sends one assertion) skips the replay store;
    // its lifetime cap still applies.
    if (jti !== undefined && !party.allowReuse) await claimJti(resolved, sub, jti, ttl);
    return {
      clientId: sub,
      method: party.symmetric ? 'client_secret_jwt' : 'private_key_jwt',
      claims: payload as AssertionClaims,
      header: decoded.header as AssertionHeader,
    };
  }

  // RFC 8414 §2: the methods and algorithms these registrations can use. A lookup function may
  // return any client, so it advertises what the global algorithms allow.
  const methods = new Set<AssertionAuthMethod>();
  const algorithms = new Set<Algorithm>();
  const parties = trust.list();
  if (parties) {
    for (const party of parties) {
      methods.add(party.symmetric ? 'client_secret_jwt' : 'private_key_jwt');
      for (const alg of party.algorithms) algorithms.add(alg);
    }
  } else {
    for (const alg of resolved.algorithms) {
      algorithms.add(alg);
      methods.add(alg.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt');
    }
  }
  const metadata = clientMetadata({ methods, algorithms, order: ALL_ALGORITHMS });

  const faults = new FaultLog();

  async function attempt(request: TokenRequest, required: boolean, seen: Seen): Promise<ClientPrincipal | undefined> {
    try {
      const principal = await run(request, required, seen);
      if (principal && resolved.onSuccess) clientSucceeded(resolved, principal);
      return principal;
    } catch (err) {
      const error = withChallenge(err, request, resolved.issuer, uniform && seen.verified !== true);
      throw failed(resolved, faults, error, seen, seen.subject !== undefined ? { clientId: seen.subject } : {});
    }
  }

  return {
    metadata,
    authenticate(request: TokenRequest, authOptions?: AuthenticateOptions): Promise<ClientPrincipal | undefined> {
      const seen: Seen = {};
      const required = authOptions?.required === true;
      // Nothing is built for tracing unless someone subscribed to jwt-bearer:client-assertion.
      const channel = verificationChannel(use);
      if (channel === undefined) return attempt(request, required, seen);
      return traceVerification(channel, use, seen, undefined, () => attempt(request, required, seen), clientAccepted);
    },
  };
}

/**
 * Adds the RFC 6749 §5.2 `WWW-Authenticate` challenge to an `invalid_client` answer when due,
 * and, with `errorDescriptions: 'uniform'`, gives a failure before the signature was verified the
 * one uniform description.
 */
function withChallenge(err: unknown, request: TokenRequest, realm: string, uniform: boolean): unknown {
  if (!(err instanceof OAuthError) || err.error !== 'invalid_client') return err;
  const headers = challengeHeaders(request, realm);
  if (Object.keys(headers).length === 0 && !uniform) return err;
  return new OAuthError(err.code, { use: 'client', detail: err.detail, headers: { ...err.headers, ...headers }, cause: err.cause, uniform });
}

/**
 * The error for a request that carries no client assertion where one is required: 401
 * `invalid_client`, with a `WWW-Authenticate` challenge when the request used the Authorization
 * header (RFC 6749 §5.2). Used by the adapters' `clientAssertion({ required: true })`.
 */
export function clientAuthenticationRequired(request: TokenRequest, issuer: string): OAuthError {
  return new OAuthError('ERR_CLIENT_AUTH_REQUIRED', {
    use: 'client',
    detail: header(request, 'authorization') !== undefined ? 'request used the Authorization header, not a client assertion' : 'request has no client assertion',
    headers: challengeHeaders(request, issuer),
  });
}
