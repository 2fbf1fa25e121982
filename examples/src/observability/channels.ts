/**
 * The four jwt-bearer tracing channels, as one subscription. Both the Prometheus metrics and the
 * OpenTelemetry spans of this example are fed by this, and by nothing else: no hook, no wrapper.
 */
import diagnostics from 'node:diagnostics_channel';
import {
  CLIENT_ASSERTION_CHANNEL,
  GRANT_CHANNEL,
  JWKS_FETCH_CHANNEL,
  REPLAY_CLAIM_CHANNEL,
  type JwksFetchTraceContext,
  type JwtBearerTraceContext,
  type ReplayClaimTraceContext,
} from 'jwt-bearer-core';

/** What a subscriber is told: when each traced operation starts, and when it has settled. */
export interface Listener {
  verificationStart?(context: JwtBearerTraceContext): void;
  /** After the outcome is known (`asyncEnd`): `context.outcome`, `context.code` are set. */
  verificationEnd?(context: JwtBearerTraceContext): void;
  jwksFetchStart?(context: JwksFetchTraceContext): void;
  jwksFetchEnd?(context: JwksFetchTraceContext): void;
  replayClaimStart?(context: ReplayClaimTraceContext): void;
  replayClaimEnd?(context: ReplayClaimTraceContext): void;
}

/** Subscribes `listener` to the channels; returns the unsubscribe function. */
export function subscribe(listener: Listener): () => void {
  const pairs: [string, ((c: never) => void) | undefined, ((c: never) => void) | undefined][] = [
    [GRANT_CHANNEL, listener.verificationStart, listener.verificationEnd],
    [CLIENT_ASSERTION_CHANNEL, listener.verificationStart, listener.verificationEnd],
    [JWKS_FETCH_CHANNEL, listener.jwksFetchStart, listener.jwksFetchEnd],
    [REPLAY_CLAIM_CHANNEL, listener.replayClaimStart, listener.replayClaimEnd],
  ];
  const undo: (() => void)[] = [];
  for (const [name, start, end] of pairs) {
    if (!start && !end) continue;
    // An operation that settles publishes asyncEnd whether it succeeded or failed, so that is
    // where its outcome is read; start is published synchronously in the caller's async context.
    const subscribers = {
      start: (context: unknown) => start?.call(listener, context as never),
      asyncEnd: (context: unknown) => end?.call(listener, context as never),
    };
    const channel = diagnostics.tracingChannel(name);
    channel.subscribe(subscribers as never);
    undo.push(() => channel.unsubscribe(subscribers as never));
  }
  return () => undo.forEach((fn) => fn());
}
