/**
 * Prometheus metrics for jwt-bearer with prom-client, fed by the tracing channels only.
 *
 *   jwt_bearer_assertions_total{use, outcome, code}          accepted / refused / failed, by code
 *   jwt_bearer_verification_duration_seconds{use, outcome}   histogram, start to settled
 *   jwt_bearer_jwks_fetches_total{outcome}                   JWK Set fetches, ok / error
 *   jwt_bearer_jwks_fetch_duration_seconds{outcome}          histogram
 *   jwt_bearer_replay_claim_duration_seconds{store, outcome} histogram: first / replay / error
 *
 * Labels are bounded sets only (use, outcome, error code, store class). Never a label per issuer,
 * subject or client: a refused assertion's values are whatever an attacker sent, and would grow
 * the series without bound.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { subscribe } from './channels';

/** Latency buckets in seconds: a verification is sub-millisecond warm, a JWKS fetch tens of ms. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface JwtBearerMetrics {
  registry: Registry;
  /** Stops listening (the metrics keep their values). */
  close(): void;
}

/** Registers the metrics on `registry` (default: a new one) and starts listening. */
export function jwtBearerMetrics(registry: Registry = new Registry()): JwtBearerMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter({ name, help, labelNames, registers: [registry] });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Histogram({ name, help, labelNames, buckets: BUCKETS, registers: [registry] });
  const assertions = counter(
    'jwt_bearer_assertions_total',
    'RFC 7523 assertions verified, by use (grant, client), outcome (accepted, refused, failed, absent) and error code',
    ['use', 'outcome', 'code'],
  );
  const duration = histogram('jwt_bearer_verification_duration_seconds', 'Time from the start of a verification until it settled, in seconds', [
    'use',
    'outcome',
  ]);
  const fetches = counter('jwt_bearer_jwks_fetches_total', 'HTTP fetches of JWK Sets (jwksUri), by outcome (ok, error)', ['outcome']);
  const fetchDuration = histogram('jwt_bearer_jwks_fetch_duration_seconds', 'Duration of JWK Set fetches, in seconds', ['outcome']);
  const claimDuration = histogram(
    'jwt_bearer_replay_claim_duration_seconds',
    'Latency of ReplayStore.claim, by store class and outcome (first, replay, error), in seconds',
    ['store', 'outcome'],
  );

  // One timer per traced operation, keyed by its context object (the same object at start and end).
  const started = new WeakMap<object, bigint>();
  const elapsed = (context: object): number => {
    const t0 = started.get(context);
    return t0 === undefined ? 0 : Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const start = (context: object) => void started.set(context, process.hrtime.bigint());

  const close = subscribe({
    verificationStart: start,
    verificationEnd(context) {
      const outcome = context.outcome ?? 'failed';
      assertions.inc({ use: context.use, outcome, code: context.code ?? '' });
      duration.observe({ use: context.use, outcome }, elapsed(context));
    },
    jwksFetchStart: start,
    jwksFetchEnd(context) {
      const outcome = context.error === undefined ? 'ok' : 'error';
      fetches.inc({ outcome });
      fetchDuration.observe({ outcome }, elapsed(context));
    },
    replayClaimStart: start,
    replayClaimEnd(context) {
      const outcome = context.error !== undefined ? 'error' : context.result === true ? 'first' : 'replay';
      claimDuration.observe({ store: context.store, outcome }, elapsed(context));
    },
  });
  return { registry, close };
}
