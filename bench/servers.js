'use strict';
// The HTTP servers under load, in child processes of run.js (the load generator runs in the
// parent), one app per process so that no app's objects shape the JIT feedback of another's:
//
//   express        Express, served with serverOptions(app) from express-jwt-bearer (as its README advises)
//   express-plain  the same Express app behind Node's default http.createServer(app)
//   koa            Koa
//
// Each app has the same routes:
//
//   POST /noop        answers {} without reading the body: the framework's ceiling
//   POST /raw/client  hand-written: reads the form, verifies the client assertion with the
//                     hand-written pipeline (lib/common.js), then the app's client_credentials handler
//   POST /client      clientAssertion() + the same client_credentials handler
//   POST /client-loop the same with offload: 'never' (every signature checked on the event loop)
//   POST /raw/grant   hand-written jwt-bearer grant, then the same issueToken
//   POST /grant       jwtBearerGrant({ issueToken })
//
// On {cmd: 'reset'} the routes' handlers are rebuilt with fresh replay stores (MemoryReplayStore
// for the middleware, a Map for the hand-written routes), so a measurement can replay the
// parent's pool of pre-minted assertions from its start: every request still carries a jti its
// server has never seen. The Express app itself is built once: a server made with
// serverOptions(app) builds its requests on that app's prototypes.

const crypto = require('node:crypto');
const http = require('node:http');
const c = require('./lib/common');

const config = JSON.parse(process.env.BENCH_SERVER_CONFIG); // { issuer, publicJwk, maxLifetime, app, storeMax?, offload? }
const ISSUER = config.issuer;
const MAX_LIFETIME = config.maxLifetime;
const key = {
  alg: config.publicJwk.alg,
  kid: config.publicJwk.kid,
  publicJwk: config.publicJwk,
  publicKey: crypto.createPublicKey({ key: config.publicJwk, format: 'jwk' }),
};

const express = c.requireFrom('express-jwt-bearer', 'express');
const Koa = c.requireFrom('koa-jwt-bearer', 'koa');
const compose = c.requireFrom('koa', 'koa-compose');
const expressJwtBearer = require('express-jwt-bearer');
const koaJwtBearer = require('koa-jwt-bearer');
const { MemoryReplayStore } = require('jwt-bearer-core');

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
const FORM = 'application/x-www-form-urlencoded';
const BODY_LIMIT = 100 * 1024;

// The app's token issuance, shared by every route: an opaque token, remembered (bounded).
const issued = new Map();
function issue(subject) {
  const token = crypto.randomBytes(32).toString('base64url');
  if (issued.size >= 100_000) issued.clear();
  issued.set(token, { subject, exp: Date.now() + 3600_000 });
  return { access_token: token, token_type: 'Bearer', expires_in: 3600 };
}

/** A lean form reader, what a hand-written route would use: content type, size limit, URLSearchParams. */
function readForm(req) {
  return new Promise((resolve, reject) => {
    const type = req.headers['content-type'];
    if (typeof type !== 'string' || !type.toLowerCase().startsWith(FORM)) {
      req.resume();
      reject(new Error('content type'));
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** The hand-written handlers, framework-free: form → { status, body }. */
function handWrittenHandlers() {
  const verifyClient = c.handWritten(key, { audience: ISSUER, maxLifetime: MAX_LIFETIME });
  const verifyGrant = c.handWritten(key, { audience: ISSUER, maxLifetime: MAX_LIFETIME });
  return {
    client(form) {
      if (form.get('client_assertion_type') !== c.CLIENT_ASSERTION_TYPE) return { status: 401, body: { error: 'invalid_client' } };
      let payload;
      try {
        payload = verifyClient(form.get('client_assertion') ?? '');
      } catch {
        return { status: 401, body: { error: 'invalid_client' } };
      }
      if (form.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type' } };
      return { status: 200, body: issue(payload.sub) };
    },
    grant(form) {
      if (form.get('grant_type') !== c.GRANT_TYPE) return { status: 400, body: { error: 'unsupported_grant_type' } };
      let payload;
      try {
        payload = verifyGrant(form.get('assertion') ?? '');
      } catch {
        return { status: 400, body: { error: 'invalid_grant' } };
      }
      return { status: 200, body: issue(payload.sub) };
    },
  };
}

function coreOptions(offload = config.offload) {
  // The library's default size (100000) unless a measurement could need more.
  const options = { issuer: ISSUER, maxLifetime: MAX_LIFETIME, replayStore: new MemoryReplayStore({ max: config.storeMax ?? 100_000 }) };
  if (offload) options.offload = offload;
  return options;
}
const clients = [{ clientId: c.CLIENT_ID, jwks: { keys: [key.publicJwk] } }];
const issuers = [{ issuer: c.CLIENT_ID, jwks: { keys: [key.publicJwk] } }];

/** Express: the answer of every route. */
function answerExpress(res, out) {
  res.status(out.status).set(NO_STORE).json(out.body);
}

/** The route handlers that hold state (replay stores), rebuilt on every reset. */
function expressHandlers() {
  const { clientAssertion, jwtBearerGrant } = expressJwtBearer;
  const raw = handWrittenHandlers();
  const handWritten = (handle) => (req, res) => {
    readForm(req).then(
      (form) => answerExpress(res, handle(form)),
      () => answerExpress(res, { status: 400, body: { error: 'invalid_request' } }),
    );
  };
  return {
    rawClient: handWritten(raw.client),
    rawGrant: handWritten(raw.grant),
    client: clientAssertion({ ...coreOptions(), clients }),
    clientLoop: clientAssertion({ ...coreOptions('never'), clients }),
    grant: jwtBearerGrant({ ...coreOptions(), issuers, issueToken: (principal) => issue(principal.subject) }),
  };
}

/** Express with its default settings; `reset()` swaps in fresh handlers behind the same routes. */
function buildExpress() {
  let current = expressHandlers();
  const app = express();
  // The app's own client_credentials handler, after the middleware authenticated the client.
  const clientCredentials = (req, res) => {
    if (req.body.grant_type !== 'client_credentials') return answerExpress(res, { status: 400, body: { error: 'unsupported_grant_type' } });
    answerExpress(res, { status: 200, body: issue(req.jwtBearer.client.clientId) });
  };
  app.post('/noop', (req, res) => {
    res.json({});
  });
  app.post('/raw/client', (req, res) => current.rawClient(req, res));
  app.post('/raw/grant', (req, res) => current.rawGrant(req, res));
  app.post('/client', (req, res, next) => current.client(req, res, next), clientCredentials);
  app.post('/client-loop', (req, res, next) => current.clientLoop(req, res, next), clientCredentials);
  app.post('/grant', (req, res, next) => current.grant(req, res, next));
  return {
    app,
    listener: app,
    reset() {
      current = expressHandlers();
    },
  };
}

function buildKoa() {
  const { clientAssertion, jwtBearerGrant } = koaJwtBearer;
  const raw = handWrittenHandlers();
  const app = new Koa();
  const answer = (ctx, out) => {
    ctx.status = out.status;
    ctx.set(NO_STORE);
    ctx.body = out.body;
  };
  const clientCredentials = async (ctx) => {
    if (ctx.request.body.grant_type !== 'client_credentials') return answer(ctx, { status: 400, body: { error: 'unsupported_grant_type' } });
    answer(ctx, { status: 200, body: issue(ctx.state.jwtBearer.client.clientId) });
  };
  const routes = new Map([
    [
      '/noop',
      async (ctx) => {
        ctx.body = {};
      },
    ],
    [
      '/raw/client',
      async (ctx) => {
        let form;
        try {
          form = await readForm(ctx.req);
        } catch {
          return answer(ctx, { status: 400, body: { error: 'invalid_request' } });
        }
        answer(ctx, raw.client(form));
      },
    ],
    [
      '/raw/grant',
      async (ctx) => {
        let form;
        try {
          form = await readForm(ctx.req);
        } catch {
          return answer(ctx, { status: 400, body: { error: 'invalid_request' } });
        }
        answer(ctx, raw.grant(form));
      },
    ],
    ['/client', compose([clientAssertion({ ...coreOptions(), clients }), clientCredentials])],
    ['/client-loop', compose([clientAssertion({ ...coreOptions('never'), clients }), clientCredentials])],
    ['/grant', jwtBearerGrant({ ...coreOptions(), issuers, issueToken: (principal) => issue(principal.subject) })],
  ]);
  app.use((ctx, next) => {
    const route = ctx.method === 'POST' ? routes.get(ctx.path) : undefined;
    return route ? route(ctx, next) : next();
  });
  return app.callback();
}

/** Koa: a new app (with fresh replay stores) on every reset, behind the same listener. */
function buildKoaServer() {
  let current = buildKoa();
  return {
    listener: (req, res) => current(req, res),
    reset() {
      current = buildKoa();
    },
  };
}

/** The app this process serves and the server it is served by (see the top of this file). */
function build(kind) {
  if (kind === 'koa') return { ...buildKoaServer(), server: http.createServer() };
  if (kind !== 'express' && kind !== 'express-plain') throw new Error(`unknown app ${kind}`);
  const built = buildExpress();
  return { ...built, server: http.createServer(kind === 'express' ? expressJwtBearer.serverOptions(built.app) : {}) };
}

async function main() {
  const { server, listener, reset } = build(config.app);
  server.on('request', listener);
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('message', (msg) => {
    if (msg?.cmd === 'reset') {
      reset();
      issued.clear();
      if (typeof global.gc === 'function') global.gc();
      process.send({ type: 'reset', id: msg.id });
    } else if (msg?.cmd === 'cpu') {
      process.send({ type: 'cpu', id: msg.id, usage: process.cpuUsage() });
    } else if (msg?.cmd === 'exit') {
      server.closeAllConnections?.();
      // process.exit() still writes a --cpu-prof profile.
      setImmediate(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port: server.address().port });
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

// For bench/tools/route-cpu.js, which drives the same apps in its own process.
module.exports = { build };
