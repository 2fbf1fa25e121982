import { jwtBearerErrorHandler } from 'express-jwt-bearer';
import { describeAdapterOptions } from '../../../test/support/adapter-suites';
import { adapter } from './helpers';

describeAdapterOptions(adapter);

describe('jwtBearerErrorHandler()', () => {
  test('is four-argument error middleware, so Express calls it with errors', () => {
    const handler = jwtBearerErrorHandler();
    expect(handler.length).toBe(4);
    expect(handler.name).toBe('jwtBearerErrorMiddleware');
  });
});
