import { jwtBearerErrorHandler } from 'koa-jwt-bearer';
import { describeAdapterOptions } from '../../../test/support/adapter-suites';
import { adapter } from './helpers';

describeAdapterOptions(adapter);

describe('jwtBearerErrorHandler()', () => {
  test('is a named (ctx, next) middleware, mounted before the routes it guards', () => {
    const handler = jwtBearerErrorHandler();
    expect(handler.length).toBe(2);
    expect(handler.name).toBe('jwtBearerErrorMiddleware');
  });
});
