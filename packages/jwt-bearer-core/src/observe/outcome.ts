import { isOAuthError, type AssertionUse, type OAuthError } from '../errors';
import type { ResolvedOptions } from '../options';
import { observe, report, type Seen } from '../verify/pipeline';
import type { ClientPrincipal, GrantPrincipal, RejectionEvent } from '../types';
import { FaultLog } from './fault-log';
import type { TraceAccepted } from './tracing';

/*
 * What the outer verify() / authenticate() wrappers do when a verification ends, besides tracing:
 * the hooks, and the default log line of a 5xx when no onError hook is set.
 */

/** Reports a failure to `onError`, or, without one, logs a 5xx through `faults`. Returns the `OAuthError`. */
export function failed(options: ResolvedOptions, faults: FaultLog, err: unknown, seen: Seen, extra: Partial<RejectionEvent>): OAuthError {
  const error = report(options.onError, options.use, err, seen, extra);
  if (options.onError === undefined) faults.log(error, options.use);
  return error;
}

/** Calls `onSuccess` for an accepted grant. */
export function grantSucceeded(options: ResolvedOptions, principal: GrantPrincipal): void {
  observe(options.onSuccess, () => ({
    use: 'grant' as AssertionUse,
    issuer: principal.issuer,
    subject: principal.subject,
    ...(principal.clientId !== undefined ? { clientId: principal.clientId } : {}),
    alg: principal.header.alg,
    ...(typeof principal.header.kid === 'string' ? { kid: principal.header.kid } : {}),
    scope: principal.scope,
    profile: principal.profile,
  }));
}

/** Calls `onSuccess` for an accepted client assertion. */
export function clientSucceeded(options: ResolvedOptions, principal: ClientPrincipal): void {
  observe(options.onSuccess, () => ({
    use: 'client' as AssertionUse,
    issuer: principal.clientId,
    subject: principal.clientId,
    clientId: principal.clientId,
    alg: principal.header.alg,
    ...(typeof principal.header.kid === 'string' ? { kid: principal.header.kid } : {}),
    method: principal.method,
  }));
}

/** What an accepted grant adds to its trace context. */
export function grantAccepted(principal: GrantPrincipal): TraceAccepted {
  const found: TraceAccepted = {
    issuer: principal.issuer,
    subject: principal.subject,
    profile: principal.profile,
  };
  if (principal.clientId !== undefined) found.clientId = principal.clientId;
  return found;
}

/** What an accepted client assertion adds to its trace context (`undefined`: none was sent). */
export function clientAccepted(principal: ClientPrincipal | undefined): TraceAccepted | undefined {
  return principal && { clientId: principal.clientId, subject: principal.clientId, method: principal.method };
}

/** The default log of `issueToken` failures: one per `issueToken` function, i.e. per middleware, like a verifier's. */
const issueFaults = new WeakMap<object, FaultLog>();

/**
 * What the grant middleware does when the app's `issueToken` fails (throws, rejects, or returns
 * no token response): the client gets a 500, so the operator must hear of it. It is reported to
 * `onError` (a plain error as `ERR_INTERNAL` with its message as the private detail), or, without
 * that hook, logged by the default 5xx line. A refusal the app chose (an `OAuthError` below 500,
 * e.g. `invalid_scope`) is its own business and not reported. Returns `err` unchanged, so that
 * `passErrors` still hands the app its own error.
 */
export function issueTokenFailed(err: unknown, issueToken: object, onError: ((event: RejectionEvent) => void) | undefined): unknown {
  if (isOAuthError(err) && err.status < 500) return err;
  const error = report(onError, 'grant', err);
  if (onError === undefined) {
    let faults = issueFaults.get(issueToken);
    if (faults === undefined) issueFaults.set(issueToken, (faults = new FaultLog()));
    faults.log(error, 'grant');
  }
  return err;
}
