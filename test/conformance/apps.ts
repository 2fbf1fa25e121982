/**
 * Builds one app per framework from a case's framework-neutral {@link StackSpec}: Express 5 and 4
 * with express-jwt-bearer, Koa 3 and 2 with koa-jwt-bearer. Every app answers on `POST /token`;
 * its own final handler reports what it saw, so a case can check what reached the app.
 */
import { bodyParser } from '@koa/bodyparser';
import express, { type RequestHandler } from 'express';
import * as expressJwtBearer from 'express-jwt-bearer';
import type { JwtBearerResult } from 'jwt-bearer-core';
import Koa from 'koa';
import * as koaJwtBearer from 'koa-jwt-bearer';
import type { RequestListener } from 'node:http';
import type { Seen, StackSpec } from './cases';

// The older majors are installed under npm aliases; their runtime API is the one typed here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as typeof express;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Koa2 = require('koa2') as typeof Koa;

export type Framework = 'express5' | 'express4' | 'koa3' | 'koa2';
export const FRAMEWORKS: readonly Framework[] = ['express5', 'express4', 'koa3', 'koa2'];

/** Which adapter package a framework runs. */
export function adapterOf(framework: Framework): 'express-jwt-bearer' | 'koa-jwt-bearer' {
  return framework.startsWith('express') ? 'express-jwt-bearer' : 'koa-jwt-bearer';
}

/** The installed version of a framework, e.g. for a test title. */
export function versionOf(framework: Framework): string {
  const name = { express5: 'express', express4: 'express4', koa3: 'koa', koa2: 'koa2' }[framework];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`${name}/package.json`) as { version: string }).version;
}

const JWS = /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** What the app's own handler saw, with assertion values masked so runs on two frameworks compare equal. */
export function summarize(body: unknown, result: JwtBearerResult | undefined): Required<Seen> {
  let seenBody: Record<string, unknown> | null = null;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body)) {
    seenBody = {};
    for (const [name, value] of Object.entries(body)) seenBody[name] = typeof value === 'string' && JWS.test(value) ? '<jwt>' : value;
  }
  const grant = result?.grant;
  const client = result?.client;
  return {
    body: seenBody,
    grant: grant ? { issuer: grant.issuer, subject: grant.subject, scope: grant.scope, clientId: grant.clientId ?? null, alg: grant.header.alg } : null,
    client: client ? { clientId: client.clientId, method: client.method, alg: client.header.alg } : null,
  };
}

/** The error the `throw` app handler throws: exposed, with a status, as both frameworks expect. */
function appError(): Error {
  return Object.assign(new Error('I am a teapot'), { status: 418, expose: true });
}

function expressApp(lib: typeof express, stack: StackSpec): RequestListener {
  const app = lib();
  if (stack.parser === 'form' || stack.parser === 'form+json') app.use(lib.urlencoded({ extended: false }));
  if (stack.parser === 'form+json') app.use(lib.json());
  const route: RequestHandler[] = [];
  if (stack.client) route.push(expressJwtBearer.clientAssertion(stack.client));
  if (stack.grant) route.push(expressJwtBearer.jwtBearerGrant(stack.grant));
  if (stack.parserAfter) route.push(lib.urlencoded({ extended: false }));
  route.push(
    stack.app === 'throw'
      ? () => {
          throw appError();
        }
      : (req, res) => {
          res.set('X-Answered-By', 'app').json(summarize(req.body, req.jwtBearer));
        },
  );
  app.post('/token', ...route);
  if (stack.errorHandler) app.use(expressJwtBearer.jwtBearerErrorHandler());
  return app;
}

function koaApp(Lib: typeof Koa, stack: StackSpec): RequestListener {
  const app = new Lib<Koa.DefaultState & koaJwtBearer.JwtBearerState>();
  // Errors the app throws on purpose are not to be logged by Koa's default handler.
  app.silent = true;
  if (stack.errorHandler) app.use(koaJwtBearer.jwtBearerErrorHandler());
  if (stack.parser === 'form' || stack.parser === 'form+json') {
    app.use(bodyParser({ enableTypes: stack.parser === 'form' ? ['form'] : ['json', 'form'] }));
  }
  if (stack.client) app.use(koaJwtBearer.clientAssertion(stack.client));
  if (stack.grant) app.use(koaJwtBearer.jwtBearerGrant(stack.grant));
  if (stack.parserAfter) app.use(bodyParser({ enableTypes: ['form'] }));
  app.use(async (ctx) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return;
    if (stack.app === 'throw') throw appError();
    ctx.set('X-Answered-By', 'app');
    ctx.body = summarize(ctx.request.body, ctx.state.jwtBearer);
  });
  // Koa's callback() returns a promise that never rejects: Koa answers every error itself.
  const callback = app.callback();
  return (req, res) => void callback(req, res);
}

/** The request listener of `stack` on `framework`. */
export function buildApp(framework: Framework, stack: StackSpec): RequestListener {
  switch (framework) {
    case 'express5':
      return expressApp(express, stack);
    case 'express4':
      return expressApp(express4, stack);
    case 'koa3':
      return koaApp(Koa, stack);
    case 'koa2':
      return koaApp(Koa2, stack);
  }
}
