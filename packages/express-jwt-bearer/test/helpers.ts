/**
 * express-jwt-bearer as the shared adapter tests (test/support) see it, the Express versions it is
 * tested on, and the shared keys, assertions and 127.0.0.1 server helpers.
 */
import { join } from 'node:path';
import express, { type Request, type RequestHandler } from 'express';
import { clientAssertion, jwtBearerGrant } from 'express-jwt-bearer';
import type { AdapterUnderTest } from '../../../test/support/adapter-harness';

export * from '../../../test/support/adapter-harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const express4 = require('express4') as typeof express;

/** Express 5 and Express 4 (installed as the npm alias `express4`). */
export const EXPRESSES = [
  ['Express 5', express],
  ['Express 4', express4],
] as const;

export const adapter: AdapterUnderTest<RequestHandler, Request> = {
  name: 'express-jwt-bearer',
  dir: join(__dirname, '..'),
  jwtBearerGrant,
  clientAssertion,
  // Express treats a four-argument function as error middleware.
  middleware: { arity: 3, shape: 'three-argument' },
  principalsAt: 'req.jwtBearer',
  bodyAt: 'req.body',
};
