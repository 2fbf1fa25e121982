/*
 * A request that is not for the middleware passes through untouched — including the errors the
 * app's own later handlers raise for it, which belong to the app's error handling and must not
 * be answered (as a 500 server_error) by the middleware. Regression: the Koa adapter caught them.
 */
import { APP_FALLBACK_BODY, HTTP_TARGETS, startTarget, type Target } from '../support/hostile/targets';
import { world } from '../support/hostile/world';

const w = world();

describe.each(HTTP_TARGETS)('%s', (name) => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(name, w.config());
  });
  afterAll(() => t.close());

  test.each([
    ['password grant', { grant_type: 'password', username: 'alice', password: 'x' }],
    ['client_credentials grant', { grant_type: 'client_credentials' }],
    ['no grant_type', { foo: 'bar' }],
    ['empty body', {}],
  ])('an error the app raises for a %s reaches the app’s error handler', async (_label, params) => {
    const before = t.codes.length;
    const answer = await t.token(params);
    expect(answer.status).toBe(400);
    expect(answer.headers['x-handler']).toBe('app');
    expect(answer.body).toEqual(APP_FALLBACK_BODY);
    expect(t.codes.length).toBe(before);
  });
});
