/**
 * koa-jwt-bearer as the shared adapter tests (test/support) see it, the Koa versions it is tested
 * on, and the shared keys, assertions and 127.0.0.1 server helpers.
 */
import { join } from 'node:path';
import Koa from 'koa';
import { clientAssertion, jwtBearerGrant, type JwtBearerContext, type JwtBearerState } from 'koa-jwt-bearer';
import type { AdapterUnderTest } from '../../../test/support/adapter-harness';

export * from '../../../test/support/adapter-harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const Koa2 = require('koa2') as typeof Koa;

/** Koa 3 and Koa 2 (installed as the npm alias `koa2`). */
export const KOAS = [
  ['Koa 3', Koa],
  ['Koa 2', Koa2],
] as const;

/** The state of the test apps: Koa's default, with what the middleware attaches. */
export type State = Koa.DefaultState & JwtBearerState;

export const adapter: AdapterUnderTest<Koa.Middleware<State>, JwtBearerContext> = {
  name: 'koa-jwt-bearer',
  dir: join(__dirname, '..'),
  jwtBearerGrant,
  clientAssertion,
  middleware: { arity: 2, shape: '(ctx, next)' },
  principalsAt: 'ctx.state.jwtBearer',
  bodyAt: 'ctx.request.body',
};
