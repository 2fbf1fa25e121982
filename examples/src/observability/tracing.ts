/**
 * OpenTelemetry spans for jwt-bearer through @opentelemetry/api, fed by the tracing channels only.
 * Works with any tracer: the SDK's, an APM vendor's, or the no-op one when none is registered.
 *
 * Spans (kind INTERNAL): `jwt-bearer grant`, `jwt-bearer client-assertion`, `jwt-bearer jwks fetch`,
 * `jwt-bearer replay claim`. Attributes follow OpenTelemetry's semantic conventions where one
 * exists (see the README for the list, and for what has none: those are under `jwt_bearer.*`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestListener } from 'node:http';
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { JwtBearerTraceContext } from 'jwt-bearer-core';
import { subscribe } from './channels';

/**
 * What the app knows of the HTTP request that the channels do not carry: the client's address.
 * Serve each request inside it ({@link withRequestInfo}); a span reads it when verification
 * starts, which happens synchronously inside the request's async context.
 */
export const requestInfo = new AsyncLocalStorage<{ clientAddress?: string }>();

/** Wraps a Node request listener (an Express app, a Koa `app.callback()`) to serve each request inside {@link requestInfo}. */
export function withRequestInfo(listener: RequestListener): RequestListener {
  return (req, res) => {
    const address = req.socket.remoteAddress;
    requestInfo.run(address === undefined ? {} : { clientAddress: address }, () => listener(req, res));
  };
}

export interface JwtBearerTracing {
  close(): void;
}

/** Attributes of a verification context that are known once it settled. */
function settled(context: JwtBearerTraceContext): Attributes {
  const a: Attributes = { 'jwt_bearer.outcome': context.outcome ?? 'failed' };
  const set = (key: string, value: string | number | undefined) => {
    if (value !== undefined) a[key] = value;
  };
  set('jwt_bearer.issuer', context.issuer);
  set('jwt_bearer.client_id', context.clientId);
  set('jwt_bearer.alg', context.alg);
  set('jwt_bearer.kid', context.kid);
  set('jwt_bearer.profile', context.profile);
  set('jwt_bearer.method', context.method);
  if (context.outcome === 'accepted' && context.use === 'grant' && context.subject !== undefined) {
    // Only a verified subject is an end user; a refused assertion's sub is whatever was sent.
    a['user.id'] = context.subject;
    a['enduser.id'] = context.subject;
  }
  if (context.code !== undefined) {
    a['error.type'] = context.code;
    a['jwt_bearer.error_code'] = context.code;
    set('jwt_bearer.status', context.status);
  }
  return a;
}

/** Starts listening and turns each traced operation into a span of `tracer`. */
export function jwtBearerTracing(tracer: Tracer = trace.getTracer('jwt-bearer')): JwtBearerTracing {
  const spans = new WeakMap<object, Span>();
  const open = (context: object, name: string, attributes: Attributes) => {
    const clientAddress = requestInfo.getStore()?.clientAddress;
    if (clientAddress !== undefined) attributes['client.address'] = clientAddress;
    spans.set(context, tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }));
  };
  const close = (context: object, attributes: Attributes, error: string | undefined, message?: string) => {
    const span = spans.get(context);
    if (!span) return;
    span.setAttributes(attributes);
    if (error !== undefined) {
      span.setAttribute('error.type', error);
      span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined ? { message } : {}) });
    }
    span.end();
  };
  const unsubscribe = subscribe({
    verificationStart(context) {
      open(context, context.use === 'grant' ? 'jwt-bearer grant' : 'jwt-bearer client-assertion', { 'jwt_bearer.use': context.use });
    },
    verificationEnd(context) {
      // A refusal (4xx) and a failure (5xx) both end the operation in error; error.type tells them apart by code.
      close(context, settled(context), context.code ?? (context.outcome === 'failed' ? 'ERR_INTERNAL' : undefined));
    },
    jwksFetchStart(context) {
      open(context, 'jwt-bearer jwks fetch', { 'url.full': context.uri, 'jwt_bearer.use': context.use });
    },
    jwksFetchEnd(context) {
      const error = context.error as { name?: string; message?: string } | undefined;
      close(context, {}, error === undefined ? undefined : (error.name ?? 'Error'), error?.message);
    },
    replayClaimStart(context) {
      open(context, 'jwt-bearer replay claim', { 'jwt_bearer.replay_store': context.store, 'jwt_bearer.use': context.use });
    },
    replayClaimEnd(context) {
      const replay = context.error === undefined && context.result === false;
      close(context, { 'jwt_bearer.replay': replay }, context.error === undefined ? undefined : ((context.error as Error).name ?? 'Error'));
    },
  });
  return { close: unsubscribe };
}
