import { clientAssertion, jwtBearerErrorHandler, jwtBearerGrant, type ClientAssertionOptions, type JwtBearerGrantOptions } from 'express-jwt-bearer';
import { AS, clientOptions, grantOptions } from './helpers';

/** Calls a factory with options the types would refuse, as a JavaScript caller could. */
const grantWith = (options: unknown) => () => jwtBearerGrant(options as JwtBearerGrantOptions);
const clientWith = (options: unknown) => () => clientAssertion(options as ClientAssertionOptions);

/** The TypeError a factory throws, so its message can be matched against the option's name. */
function typeErrorOf(factory: () => unknown): TypeError {
  try {
    factory();
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return err as TypeError;
  }
  throw new Error('the factory did not throw');
}

describe('jwtBearerGrant() options', () => {
  test.each([
    ['options missing', undefined, /options must be an object/],
    ['options not an object', 'https://as.example.com', /options must be an object/],
    ['issuer missing', { issuers: grantOptions().issuers }, /option "issuer"/],
    ['issuers missing', { issuer: AS }, /option "issuers"/],
    ['issuers empty', { issuer: AS, issuers: [] }, /option "issuers"/],
    ['issueToken not a function', { ...grantOptions(), issueToken: 'token' }, /option "issueToken" must be a function/],
    ['issueToken an object', { ...grantOptions(), issueToken: { access_token: 'x' } }, /option "issueToken"/],
    ['passErrors not a boolean', { ...grantOptions(), passErrors: 'yes' }, /option "passErrors" must be a boolean/],
    ['bodyLimit zero', { ...grantOptions(), bodyLimit: 0 }, /option "bodyLimit"/],
    ['bodyLimit negative', { ...grantOptions(), bodyLimit: -1 }, /option "bodyLimit"/],
    ['bodyLimit fractional', { ...grantOptions(), bodyLimit: 1.5 }, /option "bodyLimit"/],
    ['bodyLimit a body-parser style string', { ...grantOptions(), bodyLimit: '100kb' }, /option "bodyLimit"/],
    ['bodyLimit NaN', { ...grantOptions(), bodyLimit: Number.NaN }, /option "bodyLimit"/],
    ['required (a clientAssertion option)', { ...grantOptions(), required: false }, /unknown option "required"/],
    ['a misspelt core option', { ...grantOptions(), audience: AS }, /unknown option "audience"/],
    ['algorithms with none', { ...grantOptions(), algorithms: ['none'] }, /option "algorithms"/],
    ['clockTolerance negative', { ...grantOptions(), clockTolerance: -5 }, /option "clockTolerance"/],
    ['an unknown jwksOptions member', { ...grantOptions(), jwksOptions: { timeot: 100 } }, /unknown option "timeot"/],
    ['an issuer with two key sources', { issuer: AS, issuers: [{ issuer: 'x', publicKey: 'a', secret: 'b' }] }, /option "issuers\[0\]"/],
  ])('%s: TypeError naming it', (_label, options, message) => {
    expect(typeErrorOf(grantWith(options)).message).toMatch(message);
  });

  test('valid options give a named three-argument middleware, and the caller\'s object is left as it was', () => {
    const issueToken = () => ({ access_token: 'a', token_type: 'Bearer' });
    const options = { ...grantOptions(), issueToken, passErrors: true, bodyLimit: 4096 };
    const snapshot = { ...options, issuers: options.issuers.map((i) => ({ ...i })) };
    const middleware = jwtBearerGrant(options);
    expect(middleware.name).toBe('jwtBearerGrantMiddleware');
    // Express treats a four-argument function as error middleware.
    expect(middleware.length).toBe(3);
    expect(options).toEqual(snapshot);
  });
});

describe('clientAssertion() options', () => {
  test.each([
    ['options missing', undefined, /options must be an object/],
    ['clients missing', { issuer: AS }, /option "clients"/],
    ['issuer empty', { ...clientOptions(), issuer: '' }, /option "issuer"/],
    ['required not a boolean', { ...clientOptions(), required: 'false' }, /option "required" must be a boolean/],
    ['required a number', { ...clientOptions(), required: 0 }, /option "required"/],
    ['passErrors not a boolean', { ...clientOptions(), passErrors: 1 }, /option "passErrors"/],
    ['bodyLimit Infinity', { ...clientOptions(), bodyLimit: Number.POSITIVE_INFINITY }, /option "bodyLimit"/],
    ['issueToken (a jwtBearerGrant option)', { ...clientOptions(), issueToken: () => undefined }, /unknown option "issueToken"/],
    ['audienceMode unknown', { ...clientOptions(), audienceMode: 'loose' }, /option "audienceMode"/],
    ['a client with no key', { issuer: AS, clients: [{ clientId: 'c' }] }, /option "clients\[0\]"/],
    ['maxLifetime zero', { ...clientOptions(), maxLifetime: 0 }, /option "maxLifetime"/],
    ['replayStore without claim()', { ...clientOptions(), replayStore: {} }, /option "replayStore"/],
    ['onError not a function', { ...clientOptions(), onError: 'console' }, /option "onError"/],
  ])('%s: TypeError naming it', (_label, options, message) => {
    expect(typeErrorOf(clientWith(options)).message).toMatch(message);
  });

  test('valid options give a named three-argument middleware', () => {
    const middleware = clientAssertion({ ...clientOptions(), required: false, passErrors: false, bodyLimit: 1 });
    expect(middleware.name).toBe('clientAssertionMiddleware');
    expect(middleware.length).toBe(3);
  });
});

describe('jwtBearerErrorHandler()', () => {
  test('is four-argument error middleware, so Express calls it with errors', () => {
    const handler = jwtBearerErrorHandler();
    expect(handler.length).toBe(4);
    expect(handler.name).toBe('jwtBearerErrorMiddleware');
  });
});
