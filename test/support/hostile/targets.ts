/*
 * The same scenario run against the core and both adapters. A Target exposes two routes:
 *  - token(): the token endpoint — an optional client assertion, then the jwt-bearer grant; any
 *    other grant type goes on to the app's own handler (answered by the app, marked x-handler: app);
 *  - client(): an endpoint that requires a client assertion.
 * On the core these call createClientAuthenticator / createGrantVerifier directly; on Express 5
 * and Koa 3 they are real HTTP requests (supertest) to an app listening on 127.0.0.1.
 */
import * as http from 'node:http';
import bodyParser from '@koa/bodyparser';
import express from 'express';
import * as expressJwtBearer from 'express-jwt-bearer';
import {
  createClientAuthenticator,
  createGrantVerifier,
  hasClientAssertion,
  isJwtBearerGrantRequest,
  parseForm,
  toErrorResponse,
  type ClientAuthenticatorOptions,
  type GrantVerifierOptions,
  type RejectionEvent,
  type WarningEvent,
} from 'jwt-bearer-core';
import Koa from 'koa';
import * as koaJwtBearer from 'koa-jwt-bearer';
import request from 'supertest';
import { encodeForm, listen, type Listening } from './http';
import type { Answer } from './oauth';

export type TargetName = 'core' | 'express' | 'koa';
export const ALL_TARGETS: readonly TargetName[] = ['core', 'express', 'koa'];
export const HTTP_TARGETS: readonly ('express' | 'koa')[] = ['express', 'koa'];

export type Params = Record<string, string | readonly string[] | undefined>;

export interface TargetConfig {
  grant?: Omit<GrantVerifierOptions, 'onError' | 'onWarning'>;
  client?: Omit<ClientAuthenticatorOptions, 'onError' | 'onWarning'>;
  /** Mount the framework's usual body parsers (urlencoded extended + json) before the middleware. */
  bodyParser?: boolean;
  /** The middleware's own body limit (bytes). */
  bodyLimit?: number;
}

export interface Target {
  readonly name: TargetName;
  /** Base URL of the app (HTTP targets only). */
  readonly url: string | undefined;
  /** Codes the middleware reported to onError, in order. */
  readonly codes: string[];
  readonly events: RejectionEvent[];
  readonly warnings: WarningEvent[];
  token(params: Params | string, headers?: Record<string, string>, contentType?: string): Promise<Answer>;
  client(params: Params | string, headers?: Record<string, string>, contentType?: string): Promise<Answer>;
  /** The last code reported to onError. */
  lastCode(): string | undefined;
  close(): Promise<void>;
}

export const APP_FALLBACK_BODY = {
  error: 'unsupported_grant_type',
  error_description: 'The grant type is not supported by this handler.',
};

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** An error the app's own handlers throw, answered by the app's error handling. */
class AppError extends Error {
  status = 400;
  expose = true;
  constructor() {
    super('unsupported grant type (app handler)');
  }
}

/**
 * How the app's own error handling answers an error: its fallback grant handler's (an AppError)
 * as that handler would, a 4xx with a status (e.g. its body parser's) as invalid_request, anything
 * else as a 500 server_error. `x-handler` tells which.
 */
function appErrorAnswer(err: unknown): { status: number; headers: Record<string, string>; body: object } {
  const reported = (err as { status?: unknown } | null | undefined)?.status;
  const status = typeof reported === 'number' && reported >= 400 && reported < 500 ? reported : 500;
  const fromApp = err instanceof AppError;
  return {
    status: fromApp ? 400 : status,
    headers: { ...NO_STORE, 'x-handler': fromApp ? 'app' : status === 500 ? 'app-500' : 'app-parser' },
    body: fromApp ? APP_FALLBACK_BODY : { error: status === 500 ? 'server_error' : 'invalid_request', error_description: 'app error handler' },
  };
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function coreAnswer(status: number, headers: Record<string, string>, body: unknown, started: number): Answer {
  const text = JSON.stringify(body);
  return { status, headers: lower(headers), body: JSON.parse(text), text, ms: performance.now() - started };
}

function formBody(params: Params | string): string {
  return typeof params === 'string' ? params : encodeForm(params);
}

function hooks(target: { codes: string[]; events: RejectionEvent[]; warnings: WarningEvent[]; quiet?: boolean }) {
  if (target.quiet) return {};
  return {
    onError: (event: RejectionEvent) => {
      target.codes.push(event.code);
      target.events.push(event);
    },
    onWarning: (event: WarningEvent) => {
      target.warnings.push(event);
    },
  };
}

function coreTarget(config: TargetConfig): Target {
  const state = { codes: [] as string[], events: [] as RejectionEvent[], warnings: [] as WarningEvent[] };
  const grants = config.grant ? createGrantVerifier({ ...config.grant, ...hooks(state) }) : undefined;
  const clients = config.client ? createClientAuthenticator({ ...config.client, ...hooks(state) }) : undefined;
  const fail = (err: unknown, started: number): Answer => {
    const r = toErrorResponse(err);
    return coreAnswer(r.status, r.headers, r.body, started);
  };
  return {
    name: 'core',
    url: undefined,
    ...state,
    lastCode: () => state.codes[state.codes.length - 1],
    async token(params, headers = {}) {
      const started = performance.now();
      const body = parseForm(formBody(params));
      const req = { body, headers: lower(headers) };
      try {
        const client = clients && hasClientAssertion(body) ? await clients.authenticate(req, { required: true }) : undefined;
        if (!grants || !isJwtBearerGrantRequest(body)) {
          return coreAnswer(400, { 'content-type': 'application/json', 'x-handler': 'app', ...NO_STORE }, APP_FALLBACK_BODY, started);
        }
        const grant = await grants.verify(req, client ? { clientId: client.clientId } : undefined);
        return coreAnswer(
          200,
          { 'content-type': 'application/json', ...NO_STORE },
          { access_token: 'test-token', token_type: 'Bearer', grant, client },
          started,
        );
      } catch (err) {
        return fail(err, started);
      }
    },
    async client(params, headers = {}) {
      const started = performance.now();
      const req = { body: parseForm(formBody(params)), headers: lower(headers) };
      try {
        if (!clients) throw new Error('no client configuration');
        const client = await clients.authenticate(req, { required: true });
        return coreAnswer(200, { 'content-type': 'application/json' }, { client }, started);
      } catch (err) {
        return fail(err, started);
      }
    },
    close: async () => undefined,
  };
}

function expressApp(config: TargetConfig, state: Parameters<typeof hooks>[0]): express.Express {
  const { jwtBearerGrant, clientAssertion } = expressJwtBearer;
  const app = express();
  app.disable('x-powered-by');
  if (config.bodyParser) app.use(express.urlencoded({ extended: true }), express.json());
  const extra = config.bodyLimit ? { bodyLimit: config.bodyLimit } : {};
  const token: express.RequestHandler[] = [];
  if (config.client) token.push(clientAssertion({ ...config.client, ...hooks(state), ...extra, required: false }));
  if (config.grant) {
    token.push(
      jwtBearerGrant({
        ...config.grant,
        ...hooks(state),
        ...extra,
        issueToken: (grant, req) => ({ access_token: 'test-token', token_type: 'Bearer', grant, client: req.jwtBearer?.client }),
      }),
    );
  }
  app.post('/token', ...token, () => {
    throw new AppError();
  });
  if (config.client) {
    app.post('/client', clientAssertion({ ...config.client, ...hooks(state), ...extra }), (req, res) => {
      res.json({ client: req.jwtBearer?.client });
    });
  }
  // The app's own error handling: its fallback grant handler's errors and its body parser's.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const answer = appErrorAnswer(err);
    res.status(answer.status).set(answer.headers).json(answer.body);
  });
  return app;
}

type Mw = (ctx: Koa.Context, next: () => Promise<void>) => Promise<void> | void;

function compose(mws: Mw[]): Mw {
  return (ctx, next) => {
    const run = (i: number): Promise<void> => (i === mws.length ? next() : Promise.resolve(mws[i]!(ctx, () => run(i + 1))));
    return run(0);
  };
}

function koaApp(config: TargetConfig, state: Parameters<typeof hooks>[0]): Koa {
  const { jwtBearerGrant, clientAssertion } = koaJwtBearer;
  const app = new Koa();
  app.silent = true;
  const extra = config.bodyLimit ? { bodyLimit: config.bodyLimit } : {};
  // The app's own error handling, outermost, as Koa apps do.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const answer = appErrorAnswer(err);
      ctx.status = answer.status;
      ctx.set(answer.headers);
      ctx.body = answer.body;
    }
  });
  if (config.bodyParser) app.use(bodyParser({ enableTypes: ['form', 'json'] }) as unknown as Koa.Middleware);
  const token: Mw[] = [];
  if (config.client) token.push(clientAssertion({ ...config.client, ...hooks(state), ...extra, required: false }) as unknown as Mw);
  if (config.grant) {
    token.push(
      jwtBearerGrant({
        ...config.grant,
        ...hooks(state),
        ...extra,
        issueToken: (grant, ctx) => ({ access_token: 'test-token', token_type: 'Bearer', grant, client: ctx.state.jwtBearer?.client }),
      }) as unknown as Mw,
    );
  }
  token.push(() => {
    throw new AppError();
  });
  const client: Mw[] = config.client
    ? [
        clientAssertion({ ...config.client, ...hooks(state), ...extra }) as unknown as Mw,
        (ctx) => {
          ctx.body = { client: ctx.state.jwtBearer?.client };
        },
      ]
    : [];
  const tokenRoute = compose(token);
  const clientRoute = compose(client);
  app.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') return tokenRoute(ctx, next);
    if (ctx.method === 'POST' && ctx.path === '/client' && client.length > 0) return clientRoute(ctx, next);
    return next();
  });
  return app;
}

/**
 * No keep-alive for the test client: Node 20's global agent keeps idle sockets, and those whose
 * server is closed under them linger half-open, which would blur the open-handle checks.
 */
const ONE_SHOT = new http.Agent({ keepAlive: false });

function httpTarget(name: 'express' | 'koa', config: TargetConfig, server: Listening, state: Parameters<typeof hooks>[0]): Target {
  const send = async (path: string, params: Params | string, headers: Record<string, string>, contentType?: string): Promise<Answer> => {
    const started = performance.now();
    let req = request(server.url)
      .post(path)
      .agent(ONE_SHOT)
      .set('Content-Type', contentType ?? 'application/x-www-form-urlencoded');
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    const res = await req.send(formBody(params)).ok(() => true);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers as Answer['headers'], body, text: res.text ?? '', ms: performance.now() - started };
  };
  return {
    name,
    url: server.url,
    codes: state.codes,
    events: state.events,
    warnings: state.warnings,
    lastCode: () => state.codes[state.codes.length - 1],
    token: (params, headers = {}, contentType) => send('/token', params, headers, contentType),
    client: (params, headers = {}, contentType) => send('/client', params, headers, contentType),
    close: () => server.close(),
  };
}

/** Starts one target. `config` is used as given: share stores and clocks through it on purpose only. */
export async function startTarget(name: TargetName, config: TargetConfig): Promise<Target> {
  if (name === 'core') return coreTarget(config);
  const state = { codes: [] as string[], events: [] as RejectionEvent[], warnings: [] as WarningEvent[] };
  const app = name === 'express' ? expressApp(config, state) : koaApp(config, state);
  const server = await listen(name === 'express' ? (app as express.Express) : (app as Koa).callback());
  return httpTarget(name, config, server, state);
}

/**
 * Builds the app an HTTP target runs (for suites that drive it with their own client). With
 * `quiet`, rejections are not recorded (so a long run does not grow the test's own memory).
 */
export function buildApp(name: 'express' | 'koa', config: TargetConfig, quiet = false) {
  const state = { codes: [] as string[], events: [] as RejectionEvent[], warnings: [] as WarningEvent[], quiet };
  const app = name === 'express' ? expressApp(config, state) : koaApp(config, state);
  return { state, handler: name === 'express' ? (app as express.Express) : (app as Koa).callback() };
}
