import diagnostics from 'node:diagnostics_channel';
import { isOAuthError, type AssertionUse, type ErrorCode } from '../errors';
import type { ReplayStore } from '../types';

/*
 * Tracing channels (`node:diagnostics_channel`), the way Node's own http, undici and fetch publish
 * theirs: APM agents, OpenTelemetry instrumentations and metrics exporters subscribe by name, and
 * the library never depends on any of them.
 *
 * Zero cost when nobody listens: every entry point first reads the sub-channels' `hasSubscribers`
 * (a property read each) and builds no context, closure or promise when all are false. The
 * aggregate `TracingChannel.hasSubscribers` is not used: Node 20 does not have it.
 */

/** Name of the channel of RFC 7523 §2.1 authorization grants. */
export const GRANT_CHANNEL = 'jwt-bearer:grant';
/** Name of the channel of RFC 7523 §2.2 client assertions. */
export const CLIENT_ASSERTION_CHANNEL = 'jwt-bearer:client-assertion';
/** Name of the channel of JWK Set fetches (`jwksUri`). */
export const JWKS_FETCH_CHANNEL = 'jwt-bearer:jwks-fetch';
/** Name of the channel of replay store claims (`ReplayStore.claim`). */
export const REPLAY_CLAIM_CHANNEL = 'jwt-bearer:replay-claim';

/** How a verification ended, as published in {@link JwtBearerTraceContext.outcome}. */
export type TraceOutcome = 'accepted' | 'refused' | 'failed' | 'absent';

/**
 * The context object published on `jwt-bearer:grant` and `jwt-bearer:client-assertion`: one
 * object per request, the same at `start`, `end`, `asyncStart`, `asyncEnd` and `error`, filled in
 * as verification learns more. It never holds the assertion, a key or a secret. Values read from
 * the assertion before its signature was checked (`issuer`, `subject`, `alg`, `kid` of a refused
 * assertion) are unverified.
 */
export interface JwtBearerTraceContext {
  /** `'grant'` (RFC 7523 §2.1) or `'client'` (RFC 7523 §2.2). */
  use: AssertionUse;
  /** The assertion's `iss`, once decoded. */
  issuer?: string;
  /** The assertion's `sub` (the principal's subject once accepted). */
  subject?: string;
  /** The client: the authenticated client (grant), or the assertion's `sub` (client assertion). */
  clientId?: string;
  /** The header's `alg`, once decoded. */
  alg?: string;
  /** The header's `kid`, when it has one. */
  kid?: string;
  /** Grant profile of an accepted grant: `'rfc7523'` or `'id-jag'` (DESIGN §10). */
  profile?: string;
  /** Client authentication method of an accepted client assertion (`'private_key_jwt'`, …). */
  method?: string;
  /**
   * Set when the verification ends: `'accepted'`, `'refused'` (a 4xx), `'failed'` (a 5xx: key
   * source, replay store or lookup failing), or `'absent'` (no client assertion in the request,
   * not required).
   */
  outcome?: TraceOutcome;
  /** The stable error code of a refusal or failure, e.g. `ERR_ASSERTION_EXPIRED`. */
  code?: ErrorCode;
  /** The HTTP status of a refusal or failure. */
  status?: number;
  /** Set by Node on the `error` event: the {@link OAuthError} (its `detail` is private: log, never show). */
  error?: unknown;
}

/** The context published on `jwt-bearer:jwks-fetch`: one per HTTP fetch of a JWK Set. */
export interface JwksFetchTraceContext {
  use: AssertionUse;
  /** The `jwksUri` fetched. */
  uri: string;
  /** Set by Node on the `error` event: why the fetch failed. */
  error?: unknown;
}

/** The context published on `jwt-bearer:replay-claim`: one per `ReplayStore.claim` call. */
export interface ReplayClaimTraceContext {
  use: AssertionUse;
  /** The store's class name, e.g. `MemoryReplayStore`, `RedisReplayStore`. */
  store: string;
  /** Set by Node when the store answered: `true` first use, `false` replay. */
  result?: boolean;
  /** Set by Node on the `error` event: the store's failure. */
  error?: unknown;
}

type Channel<C extends object> = diagnostics.TracingChannel<unknown, C>;

const grantChannel = diagnostics.tracingChannel(GRANT_CHANNEL) as Channel<JwtBearerTraceContext>;
const clientChannel = diagnostics.tracingChannel(CLIENT_ASSERTION_CHANNEL) as Channel<JwtBearerTraceContext>;
const jwksChannel = diagnostics.tracingChannel(JWKS_FETCH_CHANNEL) as Channel<JwksFetchTraceContext>;
const replayChannel = diagnostics.tracingChannel(REPLAY_CLAIM_CHANNEL) as Channel<ReplayClaimTraceContext>;

/** Whether anyone listens on any of the channel's five events (per sub-channel: Node 20 has no aggregate). */
function listened(channel: Channel<object>): boolean {
  return (
    channel.start.hasSubscribers ||
    channel.end.hasSubscribers ||
    channel.asyncStart.hasSubscribers ||
    channel.asyncEnd.hasSubscribers ||
    channel.error.hasSubscribers
  );
}

/** What the verification knew of the assertion when it ended (the pipeline's `Seen` record). */
export interface TraceSeen {
  issuer?: string;
  subject?: string;
  alg?: string;
  kid?: string;
}

/** What an accepted verification adds to its context. */
export interface TraceAccepted {
  issuer?: string;
  subject?: string;
  clientId?: string;
  profile?: string;
  method?: string;
}

/**
 * The verification channel of `use` when someone listens on it, else `undefined`: the caller then
 * runs its verification untraced, with nothing allocated for tracing.
 */
export function verificationChannel(use: AssertionUse): Channel<JwtBearerTraceContext> | undefined {
  const channel = use === 'grant' ? grantChannel : clientChannel;
  return listened(channel) ? channel : undefined;
}

/**
 * Runs `attempt` traced on `channel`. The principal is handed back through a closure rather than
 * resolved by the traced promise, so Node does not publish it as `context.result`: the context
 * carries the fields above and nothing of the assertion's header or claims.
 */
export async function traceVerification<T>(
  channel: Channel<JwtBearerTraceContext>,
  use: AssertionUse,
  seen: TraceSeen,
  clientId: string | undefined,
  attempt: () => Promise<T>,
  accepted: (result: T) => TraceAccepted | undefined,
): Promise<T> {
  const context: JwtBearerTraceContext = { use };
  if (clientId !== undefined) context.clientId = clientId;
  let result: T;
  await channel.tracePromise(async () => {
    try {
      result = await attempt();
    } catch (err) {
      copySeen(context, seen);
      if (isOAuthError(err)) {
        context.code = err.code;
        context.status = err.status;
        context.outcome = err.status >= 500 ? 'failed' : 'refused';
      } else {
        context.outcome = 'failed';
      }
      throw err;
    }
    copySeen(context, seen);
    const found = accepted(result);
    if (found === undefined) {
      context.outcome = 'absent';
    } else {
      context.outcome = 'accepted';
      Object.assign(context, found);
    }
  }, context);
  return result!;
}

function copySeen(context: JwtBearerTraceContext, seen: TraceSeen): void {
  if (seen.issuer !== undefined) context.issuer = seen.issuer;
  if (seen.subject !== undefined) {
    context.subject = seen.subject;
    // A client assertion names its client in `sub` (RFC 7523 §3 item 2.B), verified or not.
    if (context.use === 'client') context.clientId ??= seen.subject;
  }
  if (seen.alg !== undefined) context.alg = seen.alg;
  if (seen.kid !== undefined) context.kid = seen.kid;
}

/** Runs a JWK Set fetch, traced on `jwt-bearer:jwks-fetch` when someone listens. */
export function traceJwksFetch<T>(use: AssertionUse, uri: string, fetch: () => Promise<T>): Promise<T> {
  if (!listened(jwksChannel)) return fetch();
  return jwksChannel.tracePromise(fetch, { use, uri });
}

/**
 * Traces a replay store claim on `jwt-bearer:replay-claim` when someone listens; otherwise hands
 * back `claiming` itself. The claim is already under way (started by the caller, so nothing is
 * allocated for tracing when nobody listens); `start` is published right after it was sent.
 */
export function traceReplayClaim(use: AssertionUse, store: ReplayStore, claiming: Promise<boolean>): Promise<boolean> {
  if (!listened(replayChannel)) return claiming;
  const context: ReplayClaimTraceContext = { use, store: store.constructor?.name || 'ReplayStore' };
  return replayChannel.tracePromise(() => claiming, context);
}

/**
 * Notes the header's `alg` and `kid` for the context, bounded: they are read before the signature
 * is checked, so they are whatever a client sent.
 */
export function seeHeader(seen: TraceSeen, header: Record<string, unknown>): void {
  const { alg, kid } = header;
  if (typeof alg === 'string' && alg.length <= 32) seen.alg = alg;
  if (typeof kid === 'string' && kid.length <= 256) seen.kid = kid;
}
