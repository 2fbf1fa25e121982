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
import { clientTrust, federationTrust, type Party } from '../trust/registry';
import { ClientMetadataDocuments } from '../trust/client-metadata';
import { matchCredential } from '../trust/federation';
import { parseSpiffeId, SPIFFE_CLIENT_ASSERTION_TYPE, SpiffeTrust } from '../trust/spiffe';
import { clientMetadata, type AssertionAuthMethod } from '../http/metadata';
import { ALGORITHMS, ALL_ALGORITHMS } from '../jose/algorithms';
import type { DecodedAssertion } from '../jose/jws';
import type { AlgorithmSpec } from '../jose/algorithms';
import type {
  Algorithm,
  FederationIssuer,
  AssertionClaims,
  AssertionHeader,
  AudienceMode,
  AuthenticateOptions,
  ClientAuthenticator,
  ClientRegistration,
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

/** JWT-SVID §2.3: `typ`, when present, is `JWT` or `JOSE`. */
const SVID_TYPES: ReadonlySet<string> = new Set(['jwt', 'application/jwt', 'jose', 'application/jose']);

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
  const resolved = resolveCommonOptions(options, 'client', ['clients', 'audienceMode', 'clientIdMetadataDocuments', 'federation', 'spiffe']);
  const mode: AudienceMode = options.audienceMode ?? 'strict';
  if (mode !== 'strict' && mode !== 'legacy') throw new TypeError('jwt-bearer: option "audienceMode" must be "strict" or "legacy"');
  const trust = clientTrust(options.clients, resolved);
  const use = 'client' as const;
  const cimd = options.clientIdMetadataDocuments;
  if (cimd !== undefined && cimd !== false && cimd !== true && (typeof cimd !== 'object' || cimd === null)) {
    throw new TypeError('jwt-bearer: option "clientIdMetadataDocuments" must be a boolean or an object');
  }
  const documents = cimd === undefined || cimd === false ? undefined : new ClientMetadataDocuments(cimd, resolved);
  const federation = options.federation === undefined ? undefined : federationTrust(options.federation, resolved);
  const spiffe = options.spiffe === undefined ? undefined : new SpiffeTrust(options.spiffe, options.clients, resolved);
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
    else if (values.length === 1)
      hint = `; if it is this server's token endpoint URL, add it to "audiences"${mode === 'strict' ? ' with audienceMode "legacy"' : ''}`;
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
    const svid = spiffe !== undefined && type === SPIFFE_CLIENT_ASSERTION_TYPE;
    if (type !== JWT_BEARER_CLIENT_ASSERTION_TYPE && !svid) reject('ERR_CLIENT_ASSERTION_TYPE_UNSUPPORTED', use, `client_assertion_type ${describe(type)}`);
    if (assertion === undefined) reject('ERR_CLIENT_ASSERTION_MISSING', use, 'client_assertion_type without client_assertion');
    // RFC 6749 §2.3: one authentication method per request.
    if (header(request, 'authorization') !== undefined) reject('ERR_MULTIPLE_CLIENT_AUTH', use, 'client_assertion together with an Authorization header');
    if (param(body, 'client_secret', use) !== undefined) reject('ERR_MULTIPLE_CLIENT_AUTH', use, 'client_assertion together with client_secret');
    const clientIdParam = param(body, 'client_id', use);

    const decoded = decodeAssertion(assertion, resolved.maxAssertionLength, use);
    seeHeader(seen, decoded.header);
    const payload = decoded.payload;
    if (svid) return authenticateSpiffe(decoded, clientIdParam, seen);
    if (federation !== undefined && typeof payload.iss === 'string') {
      const found = federation.resolve(payload.iss);
      const fed = found instanceof Promise ? await found : found;
      if (fed) return authenticateFederated(fed, decoded, clientIdParam, seen);
    }
    // RFC 7523 §3 item 2.B: the subject is the client_id; OpenID Connect Core §9: so is the issuer.
    const sub = stringClaim(payload, 'sub', use, true)!;
    seen.subject = sub;
    if (typeof payload.iss === 'string') seen.issuer = payload.iss;
    // RFC 7521 §4.2: a client_id parameter must name the client of the assertion.
    if (clientIdParam !== undefined && clientIdParam !== sub)
      reject('ERR_CLIENT_ID_MISMATCH', use, `client_id ${describe(clientIdParam)} but sub ${describe(sub)}`);
    const spec = checkHeader(decoded, resolved, CLIENT_TYPES);
    const iss = stringClaim(payload, 'iss', use, true)!;
    if (iss !== sub) reject('ERR_ISSUER_MISMATCH', use, `iss ${describe(iss)} differs from sub ${describe(sub)}`);

    // A registration list answers synchronously: await only an asynchronous lookup.
    const found = trust.resolve(sub);
    let party: Party<ClientRegistration> | undefined = found instanceof Promise ? await found : found;
    let metadata: Record<string, unknown> | undefined;
    if (!party && documents !== undefined) {
      // draft-ietf-oauth-client-id-metadata-document §4: an unknown https client_id names its metadata.
      const doc = documents.find(sub);
      const client = doc instanceof Promise ? await doc : doc;
      if (client) {
        party = client;
        metadata = client.registration.metadata;
      }
    }
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
    const principal: ClientPrincipal = {
      clientId: sub,
      method: party.symmetric ? 'client_secret_jwt' : 'private_key_jwt',
      claims: payload as AssertionClaims,
      header: decoded.header as AssertionHeader,
    };
    if (metadata !== undefined) principal.metadata = metadata;
    return principal;
  }

  /** The registered client named `clientId`, or `ERR_CLIENT_UNKNOWN`. */
  async function registeredClient(clientId: string): Promise<Party<ClientRegistration>> {
    const found = trust.resolve(clientId);
    const party = found instanceof Promise ? await found : found;
    if (!party) reject('ERR_CLIENT_UNKNOWN', use, `client ${describe(clientId)} is not registered`);
    return party;
  }

  /**
   * Federated client authentication (DESIGN §11): a platform's token, `iss` a `federation`
   * issuer, authenticates the client the `client_id` parameter names when one of that client's
   * `federatedCredentials` matches `iss`, `sub` and the listed claims.
   */
  async function authenticateFederated(
    fed: Party<FederationIssuer>,
    decoded: DecodedAssertion,
    clientIdParam: string | undefined,
    seen: Seen,
  ): Promise<ClientPrincipal> {
    const payload = decoded.payload;
    const iss = fed.id;
    seen.issuer = iss;
    // The token names a workload, not a client: the client must be named by the request.
    if (clientIdParam === undefined) reject('ERR_CLIENT_ID_REQUIRED', use, `token of federation issuer ${describe(iss)} without a client_id parameter`);
    seen.subject = typeof payload.sub === 'string' ? payload.sub : undefined;
    seen.clientId = clientIdParam;
    const spec: AlgorithmSpec = checkHeader(decoded, resolved, CLIENT_TYPES);
    const sub = stringClaim(payload, 'sub', use, true)!;
    const client = await registeredClient(clientIdParam);
    const verifying = verifySignature(fed, spec, decoded, resolved);
    if (verifying) await verifying;
    seen.verified = true;
    // The federation's audience (default: this server's issuer) as the sole value.
    const audience = fed.registration.audience ?? resolved.issuer;
    const aud = payload.aud;
    if (aud === undefined) reject('ERR_CLAIM_MISSING', use, 'claim "aud" is missing');
    if (!(aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience))) {
      reject('ERR_AUDIENCE_INVALID', use, `aud ${describe(aud)} is not exactly ${describe(audience)}`);
    }
    const ttl = checkTimes(payload, resolved, fed.maxLifetime);
    if (!matchCredential(client.registration.federatedCredentials, iss, sub, payload)) {
      reject(
        'ERR_FEDERATED_CREDENTIAL_MISMATCH',
        use,
        `no federated credential of ${describe(clientIdParam)} matches iss ${describe(iss)} sub ${describe(sub)}`,
      );
    }
    if (!fed.allowReuse) {
      const jti = stringClaim(payload, 'jti', use, resolved.requireJti);
      if (jti !== undefined) await claimJti(resolved, iss, jti, ttl);
    }
    return {
      clientId: clientIdParam,
      method: 'federated_jwt',
      federation: { issuer: iss, subject: sub },
      claims: payload as AssertionClaims,
      header: decoded.header as AssertionHeader,
    };
  }

  /**
   * SPIFFE JWT-SVID client authentication (draft-ietf-oauth-spiffe-client-auth §4): keys from the
   * trust domain's bundle only; the client is the one whose `spiffeId` is the SVID's `sub`.
   */
  async function authenticateSpiffe(decoded: DecodedAssertion, clientIdParam: string | undefined, seen: Seen): Promise<ClientPrincipal> {
    const payload = decoded.payload;
    const spec = checkHeader(decoded, resolved, SVID_TYPES);
    // JWT-SVID §3.1: sub is the SPIFFE ID, required.
    const sub = stringClaim(payload, 'sub', use, true)!;
    seen.subject = sub;
    if (typeof payload.iss === 'string') seen.issuer = payload.iss;
    const id = parseSpiffeId(sub);
    if (!id || id.path === '') reject('ERR_SPIFFE_ID_INVALID', use, `sub ${describe(sub)} is not the SPIFFE ID of a workload`);
    const domain = spiffe!.domain(id.trustDomain);
    if (!domain) reject('ERR_SPIFFE_TRUST_DOMAIN_UNKNOWN', use, `trust domain ${describe(id.trustDomain)} is not configured`);
    const verifying = verifySignature(domain, spec, decoded, resolved);
    if (verifying) await verifying;
    seen.verified = true;
    checkAudience(payload.aud, sub);
    const ttl = checkTimes(payload, resolved, resolved.maxLifetime);
    const clientId = spiffe!.clientIdFor(sub, clientIdParam);
    if (clientId === undefined) reject('ERR_CLIENT_UNKNOWN', use, `no client has spiffeId ${describe(sub)}`);
    seen.clientId = clientId;
    const client = await registeredClient(clientId);
    if (client.registration.spiffeId !== sub) {
      if (clientIdParam !== undefined) reject('ERR_CLIENT_ID_MISMATCH', use, `client ${describe(clientId)} does not have spiffeId ${describe(sub)}`);
      reject('ERR_CLIENT_UNKNOWN', use, `client ${describe(clientId)} does not have spiffeId ${describe(sub)}`);
    }
    // JWT-SVIDs need no jti (SPIRE caches and re-sends them); a present one is single use.
    const jti = stringClaim(payload, 'jti', use, false);
    if (jti !== undefined) await claimJti(resolved, typeof payload.iss === 'string' ? payload.iss : `spiffe://${id.trustDomain}`, jti, ttl);
    return { clientId, method: 'spiffe_jwt', spiffeId: sub, claims: payload as AssertionClaims, header: decoded.header as AssertionHeader };
  }

  // RFC 8414 §2: the methods and algorithms these registrations can use. A lookup function may
  // return any client, so it advertises what the global algorithms allow.
  const methods = new Set<AssertionAuthMethod>();
  const algorithms = new Set<Algorithm>();
  const parties = trust.list();
  if (parties) {
    for (const party of parties) {
      // A client with federated credentials or a SPIFFE ID only has no key of its own to advertise.
      if (party.algorithms.size === 0) continue;
      methods.add(party.symmetric ? 'client_secret_jwt' : 'private_key_jwt');
      for (const alg of party.algorithms) algorithms.add(alg);
    }
  } else {
    for (const alg of resolved.algorithms) {
      algorithms.add(alg);
      methods.add(alg.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt');
    }
  }
  // Document clients and federated workload tokens are JWT client assertions signed with public
  // keys (the jwt-bearer assertion type): private_key_jwt, with the algorithms their keys may use.
  if (documents !== undefined) {
    methods.add('private_key_jwt');
    for (const alg of resolved.algorithms) if (ALGORITHMS[alg].kind !== 'secret') algorithms.add(alg);
  }
  for (const fed of federation?.list() ?? []) {
    methods.add('private_key_jwt');
    for (const alg of fed.algorithms) algorithms.add(alg);
  }
  const base = clientMetadata({ methods, algorithms, order: ALL_ALGORITHMS });
  // draft-ietf-oauth-client-id-metadata-document §5: a server that supports the documents says so.
  const metadata = documents === undefined ? base : Object.freeze({ ...base, client_id_metadata_document_supported: true });

  const faults = new FaultLog();

  async function attempt(request: TokenRequest, required: boolean, seen: Seen): Promise<ClientPrincipal | undefined> {
    try {
      const principal = await run(request, required, seen);
      if (principal && resolved.onSuccess) clientSucceeded(resolved, principal);
      return principal;
    } catch (err) {
      const error = withChallenge(err, request, resolved.issuer, uniform && seen.verified !== true);
      // Federation and SPIFFE name the client apart from the assertion's `sub`.
      const clientId = seen.clientId ?? seen.subject;
      throw failed(resolved, faults, error, seen, clientId !== undefined ? { clientId } : {});
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
    detail:
      header(request, 'authorization') !== undefined ? 'request used the Authorization header, not a client assertion' : 'request has no client assertion',
    headers: challengeHeaders(request, issuer),
  });
}
