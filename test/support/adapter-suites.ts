/**
 * The tests express-jwt-bearer and koa-jwt-bearer share, parameterised by the adapter (and, for
 * the HTTP ones, by an app of one framework version). Each package's test files call them next to
 * their framework-specific tests, so they run in that package's Jest project.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import {
  ERROR_CODES,
  OAuthError,
  type ClientMiddlewareOptions,
  type ErrorCode,
  type GrantMiddlewareOptions,
  type GrantPrincipal,
  type RejectionEvent,
} from 'jwt-bearer-core';
import {
  AS,
  BASIC,
  CLIENT,
  SVC,
  clientAssertionJwt,
  clientForm,
  clientOptions,
  encode,
  expectNoStoreJson,
  grantAssertion,
  grantForm,
  grantOptions,
  rawPost,
  settle,
  svcKeys,
  trackUnhandledRejections,
  type AdapterUnderTest,
  type AttachApp,
  type ErrorsApp,
  type UnhandledCase,
} from './adapter-harness';

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

/** `describe` blocks checking the options of `jwtBearerGrant()` and `clientAssertion()`. */
export function describeAdapterOptions<M extends { name: string; length: number }, R>(adapter: AdapterUnderTest<M, R>): void {
  /** Calls a factory with options the types would refuse, as a JavaScript caller could. */
  const grantWith = (options: unknown) => () => adapter.jwtBearerGrant(options as GrantMiddlewareOptions<R>);
  const clientWith = (options: unknown) => () => adapter.clientAssertion(options as ClientMiddlewareOptions);
  const { arity, shape } = adapter.middleware;

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
      ['authenticatedClient not a function', { ...grantOptions(), authenticatedClient: 'basic' }, /option "authenticatedClient" must be a function/],
      ['profiles with an unknown profile', { issuer: AS, issuers: [{ ...grantOptions().issuers[0], profiles: ['saml'] }] }, /option "issuers\[0\]\.profiles"/],
      ['profiles empty', { issuer: AS, issuers: [{ ...grantOptions().issuers[0], profiles: [] }] }, /option "issuers\[0\]\.profiles"/],
      ['resources not URIs', { ...grantOptions(), resources: ['mcp'] }, /option "resources"/],
      ['resources with a fragment', { ...grantOptions(), resources: ['https://mcp.example.com/#x'] }, /option "resources"/],
      ['requireResource not a boolean', { ...grantOptions(), requireResource: 'yes' }, /option "requireResource"/],
      ['dpop without tokenEndpoint', { ...grantOptions(), dpop: {} }, /option "dpop\.tokenEndpoint"/],
      [
        'dpop.tokenEndpoint over plain http to a remote host',
        { ...grantOptions(), dpop: { tokenEndpoint: 'http://as.example.com/token' } },
        /option "dpop\.tokenEndpoint"/,
      ],
      [
        'dpop.algorithms with a MAC',
        { ...grantOptions(), dpop: { tokenEndpoint: 'https://as.example.com/token', algorithms: ['HS256'] } },
        /option "dpop\.algorithms"/,
      ],
      ['dpop.maxAge zero', { ...grantOptions(), dpop: { tokenEndpoint: 'https://as.example.com/token', maxAge: 0 } }, /option "dpop\.maxAge"/],
      ['an unknown dpop member', { ...grantOptions(), dpop: { tokenEndpoint: 'https://as.example.com/token', nonce: true } }, /unknown option "nonce" in dpop/],
    ])('%s: TypeError naming it', (_label, options, message) => {
      expect(typeErrorOf(grantWith(options)).message).toMatch(message);
    });

    test('a misspelt middleware option names jwtBearerGrant() and lists every option it takes', () => {
      const message = typeErrorOf(grantWith({ ...grantOptions(), issueTokens: () => undefined })).message;
      expect(message).toMatch(/^jwt-bearer: unknown option "issueTokens" in jwtBearerGrant\(\) \(known: /);
      expect(message).not.toContain('createGrantVerifier');
      const known = /\(known: (.*)\)$/.exec(message)![1]!.split(', ');
      expect(known).toEqual(expect.arrayContaining(['issuer', 'issuers', 'jwksOptions', 'issueToken', 'passErrors', 'bodyLimit']));
      expect(known).not.toContain('required');
    });

    test('a misspelt member of a nested option keeps its own place', () => {
      expect(typeErrorOf(grantWith({ ...grantOptions(), jwksOptions: { timeot: 100 } })).message).toMatch(
        /^jwt-bearer: unknown option "timeot" in jwksOptions \(known: /,
      );
    });

    test(`valid options give a named ${shape} middleware, and the caller's object is left as it was`, () => {
      const issueToken = () => ({ access_token: 'a', token_type: 'Bearer' });
      const options = { ...grantOptions(), issueToken, passErrors: true, bodyLimit: 4096 };
      const snapshot = { ...options, issuers: options.issuers.map((i) => ({ ...i })) };
      const middleware = adapter.jwtBearerGrant(options);
      expect(middleware.name).toBe('jwtBearerGrantMiddleware');
      expect(middleware.length).toBe(arity);
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

    test('a misspelt middleware option names clientAssertion() and lists every option it takes', () => {
      const message = typeErrorOf(clientWith({ ...clientOptions(), requried: false })).message;
      expect(message).toMatch(/^jwt-bearer: unknown option "requried" in clientAssertion\(\) \(known: /);
      const known = /\(known: (.*)\)$/.exec(message)![1]!.split(', ');
      expect(known).toEqual(expect.arrayContaining(['issuer', 'clients', 'required', 'passErrors', 'bodyLimit']));
      expect(known).not.toContain('issueToken');
    });

    test(`valid options give a named ${shape} middleware`, () => {
      const middleware = adapter.clientAssertion({ ...clientOptions(), required: false, passErrors: false, bodyLimit: 1 });
      expect(middleware.name).toBe('clientAssertionMiddleware');
      expect(middleware.length).toBe(arity);
    });
  });

  describe('metadata (RFC 8414 §2)', () => {
    test('each middleware exposes the fields its options imply, read-only', () => {
      const grant = adapter.jwtBearerGrant({
        ...grantOptions(),
        issuers: [...grantOptions().issuers, { issuer: 'https://idp.example', publicKey: svcKeys.publicKey, profiles: ['id-jag'] }],
      }) as M & { metadata: Record<string, unknown> };
      const client = adapter.clientAssertion(clientOptions()) as M & { metadata: Record<string, unknown> };
      expect(grant.metadata).toEqual({
        grant_types_supported: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
        authorization_grant_profiles_supported: ['urn:ietf:params:oauth:grant-profile:id-jag'],
      });
      expect(client.metadata.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt']);
      expect(() => {
        (grant as { metadata: unknown }).metadata = {};
      }).toThrow(TypeError);
      expect(() => {
        (client.metadata.token_endpoint_auth_methods_supported as string[]).push('none');
      }).toThrow(TypeError);
    });
  });
}

/**
 * Tests of the package README, which is part of the contract: its quick start runs as pasted
 * (against the built package, as a user would after `npm install`), and it documents every option
 * and every error code.
 */
export function testAdapterReadme(adapter: Pick<AdapterUnderTest<unknown, unknown>, 'name' | 'dir'>): void {
  const root = join(__dirname, '..', '..');
  const readme = readFileSync(join(adapter.dir, 'README.md'), 'utf8');

  const OPTIONS = [
    'issueToken',
    'required',
    'passErrors',
    'bodyLimit',
    'issuer',
    'audiences',
    'issuers',
    'clients',
    'audienceMode',
    'algorithms',
    'clockTolerance',
    'maxLifetime',
    'requireJti',
    'replayStore',
    'maxAssertionLength',
    'onError',
    'onWarning',
    'onSuccess',
    'jwksOptions',
    'jwksOptions.timeout',
    'jwksOptions.cacheMaxAge',
    'jwksOptions.cooldown',
    'jwksOptions.staleIfError',
    'jwksOptions.maxResponseBytes',
    'jwksOptions.maxKeys',
    'jwksOptions.maxKeySets',
    'jwksOptions.requestHeaders',
    'jwksOptions.requestAgent',
    'now',
    'offload',
    'authenticatedClient',
    'resources',
    'requireResource',
    'dpop',
    'dpop.tokenEndpoint',
    'dpop.algorithms',
    'dpop.maxAge',
  ];

  test('starts with one line of purpose and the install command', () => {
    const [title, , purpose] = readme.split('\n');
    expect(title).toBe(`# ${adapter.name}`);
    expect(purpose).toMatch(/middleware/);
    expect(readme).toContain(`npm install ${adapter.name}`);
  });

  test('the quick start runs as pasted: a grant, a client authentication and a refused replay', () => {
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const out = execFileSync(process.execPath, ['-e', code!], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(out).toMatch(/^200 \{\n {2}access_token: 'token-for-alice',\n {2}token_type: 'Bearer',\n {2}expires_in: 300,\n {2}scope: 'read'\n\}$/m);
    expect(out).toContain("200 { active: false, authenticated_client: 'my-client' }");
    expect(out).toMatch(/^401 \{\n {2}error: 'invalid_client',\n {2}error_description: 'The assertion has already been used.'\n\}$/m);
  });

  test('the ID-JAG section runs as pasted: no client authentication is 401, the exchange gives scope and resource, metadata names the profile', () => {
    const section = readme.slice(readme.indexOf('## ID-JAG / enterprise-managed authorization'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    const out = execFileSync(process.execPath, ['-e', code!], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(out).toMatch(/^401 \{\n {2}error: 'invalid_client',\n {2}error_description: 'This grant requires client authentication.'\n\}$/m);
    expect(out).toMatch(
      /^200 \{\n {2}access_token: 'token-for-alice',\n {2}token_type: 'Bearer',\n {2}expires_in: 300,\n {2}scope: 'tools.read',\n {2}resource: 'https:\/\/mcp.example.com\/mcp'\n\}$/m,
    );
    expect(out).toContain("[ 'urn:ietf:params:oauth:grant-profile:id-jag' ]");
  });

  test.each(OPTIONS)('documents option %s in a table row', (option) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${option.replace('.', '\\.')}\``, 'm'));
  });

  test.each(Object.keys(ERROR_CODES) as ErrorCode[])('documents error code %s with its errors and status', (code) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row).toBeDefined();
    const grant = new OAuthError(code, { use: 'grant' });
    const client = new OAuthError(code, { use: 'client' });
    const cells = row!.split('|').map((c) => c.trim());
    const status = grant.status === client.status ? String(grant.status) : `${grant.status} / ${client.status}`;
    expect(cells.slice(1, 6)).toEqual([`\`${code}\``, `\`${grant.error}\``, `\`${client.error}\``, status, ERROR_CODES[code].description]);
  });

  test('has the security notes the design asks for', () => {
    const security = readme.slice(readme.indexOf('## Security notes'));
    for (const topic of ['Audience', 'Replay across processes', 'jwt-bearer-redis', 'Clock tolerance', 'Algorithms', 'Key sizes']) {
      expect(security).toContain(topic);
    }
  });
}

/**
 * Error-path tests on one framework version: no promise rejection is left unhandled, chunked
 * bodies are held to bodyLimit, onError hears of the adapter's own rejections, and a failing
 * issueToken says nothing of its failure.
 */
export function testAdapterErrors<M, R>(adapter: AdapterUnderTest<M, R>, app: ErrorsApp<M>): void {
  const { jwtBearerGrant, clientAssertion } = adapter;

  test('no path leaves a promise rejection unhandled, and every request is answered', async () => {
    const tracker = trackUnhandledRejections();
    try {
      const throwingHook = () => {
        throw new Error('hook failed');
      };
      const cases: UnhandledCase<M>[] = [
        { middleware: [jwtBearerGrant(grantOptions())], send: grantForm({}, 'x.y.z'), status: 400 },
        { middleware: [jwtBearerGrant({ ...grantOptions(), onError: throwingHook })], send: grantForm({}, grantAssertion({ audience: 'nope' })), status: 400 },
        {
          middleware: [
            jwtBearerGrant({
              ...grantOptions(),
              issueToken: () => {
                throw new Error('sync failure');
              },
            }),
          ],
          send: grantForm(),
          status: 500,
        },
        { middleware: [jwtBearerGrant({ ...grantOptions(), issueToken: () => Promise.reject(new Error('async failure')) })], send: grantForm(), status: 500 },
        {
          middleware: [jwtBearerGrant({ ...grantOptions(), issueToken: () => Promise.reject(new OAuthError('ERR_SCOPE_INVALID')) })],
          send: grantForm(),
          status: 400,
        },
        {
          middleware: [jwtBearerGrant({ ...grantOptions(), replayStore: { claim: () => Promise.reject(new Error('down')) } })],
          send: grantForm(),
          status: 503,
        },
        { middleware: [jwtBearerGrant({ ...grantOptions(), issuers: () => Promise.reject(new Error('db down')) })], send: grantForm(), status: 503 },
        { middleware: [clientAssertion(clientOptions())], send: { token: 't' }, headers: BASIC, status: 401 },
        {
          middleware: [
            clientAssertion({
              ...clientOptions(),
              clients: () => {
                throw new Error('db down');
              },
            }),
          ],
          send: clientForm(),
          status: 503,
        },
        { middleware: [clientAssertion({ ...clientOptions(), passErrors: true })], send: clientForm({}, 'garbage'), status: 401 },
        {
          middleware: [
            jwtBearerGrant({
              ...grantOptions(),
              passErrors: true,
              issueToken: () => {
                throw new Error('x');
              },
            }),
          ],
          send: grantForm(),
          status: 500,
        },
        ...(app.extraUnhandledCases?.() ?? []),
      ];
      for (const c of cases) {
        const server = await app.start(c.middleware);
        const res = await request(server)
          .post('/token')
          .set(c.headers ?? {})
          .type('form')
          .send(encode(c.send))
          .timeout(5000);
        expect({ send: c.send, status: res.status }).toEqual({ send: c.send, status: c.status });
      }
      await settle();
      expect(tracker.reasons).toEqual([]);
    } finally {
      tracker.stop();
    }
  });

  test('a chunked body over bodyLimit (no Content-Length) is refused with invalid_request', async () => {
    const server = await app.start([jwtBearerGrant({ ...grantOptions(), bodyLimit: 1024 })]);
    const chunk = `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&pad=${'x'.repeat(600)}`;
    const res = await rawPost(server, [chunk, `&more=${'y'.repeat(600)}`, `&more2=${'z'.repeat(600)}`]);
    expect(res!.status).toBe(400);
    expect(JSON.parse(res!.body)).toEqual({ error: 'invalid_request', error_description: 'The request body is too large.' });
  });

  test('a chunked body under bodyLimit is read and verified', async () => {
    const server = await app.start([jwtBearerGrant({ ...grantOptions(), bodyLimit: 4096 })]);
    const body = encode(grantForm());
    const res = await rawPost(server, [body.slice(0, 100), body.slice(100)]);
    expect(res!.status).toBe(200);
    expect(JSON.parse(res!.body)).toEqual({ ok: true });
  });

  test('onError hears of the rejections the adapter makes before the core: content type, size, aborted body', async () => {
    const events: RejectionEvent[] = [];
    const onError = (e: RejectionEvent) => events.push(e);
    const summary = () => events.map((e) => [e.use, e.code, e.error, e.status, typeof e.detail]);

    let server = await app.start([clientAssertion({ ...clientOptions(), onError })]);
    await request(server).post('/token').set('content-type', 'application/json').send(JSON.stringify(clientForm())).expect(400);
    expect(summary()).toEqual([['client', 'ERR_CONTENT_TYPE_UNSUPPORTED', 'invalid_request', 400, 'string']]);

    events.length = 0;
    server = await app.start([jwtBearerGrant({ ...grantOptions(), onError })], [app.jsonParser()]);
    await request(server).post('/token').set('content-type', 'application/json').send(JSON.stringify(grantForm())).expect(400);
    expect(summary()).toEqual([['grant', 'ERR_CONTENT_TYPE_UNSUPPORTED', 'invalid_request', 400, 'string']]);

    events.length = 0;
    server = await app.start([jwtBearerGrant({ ...grantOptions(), onError, bodyLimit: 64 })]);
    await request(server).post('/token').type('form').send(encode(grantForm())).expect(400);
    expect(summary()).toEqual([['grant', 'ERR_BODY_TOO_LARGE', 'invalid_request', 400, 'string']]);

    events.length = 0;
    server = await app.start([jwtBearerGrant({ ...grantOptions(), onError })]);
    await rawPost(server, ['grant_type=x&pad=', 'x'.repeat(10)], { abort: true });
    for (let i = 0; i < 100 && events.length === 0; i++) await settle();
    expect(summary()).toEqual([['grant', 'ERR_BODY_MALFORMED', 'invalid_request', 400, 'string']]);
  });

  test('an issuer secret is never echoed: a failing issueToken answers 500 server_error and says nothing of the failure', async () => {
    const server = await app.start([
      jwtBearerGrant({
        ...grantOptions(),
        issueToken: () => {
          throw new Error(`cannot sign with ${svcKeys.privateKey.export({ type: 'pkcs8', format: 'pem' })}`);
        },
      }),
    ]);
    const res = await request(server).post('/token').type('form').send(encode(grantForm()));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error', error_description: 'The server could not process the request.' });
    expect(res.text).not.toMatch(/PRIVATE KEY|cannot sign|\n\s+at /);
  });
}

/**
 * Tests on one framework version of what the middleware attaches for later handlers (the verified
 * principals), what it leaves them (the parsed form), what `issueToken` is given, and that a
 * client assertion is accepted once only.
 */
export function testAdapterAttach<M, R>(adapter: AdapterUnderTest<M, R>, app: AttachApp<M, R>): void {
  const { jwtBearerGrant, clientAssertion, principalsAt, bodyAt } = adapter;

  test(`${principalsAt}.grant holds the verified grant principal; no client principal`, async () => {
    const { seen, server } = await app.start([jwtBearerGrant(grantOptions())]);
    const jti = `jti-attach-${app.name}`;
    const assertion = grantAssertion({ jwtId: jti, claims: { tenant: 't-9' } });
    const res = await request(server)
      .post('/token')
      .type('form')
      .send(encode(grantForm({ scope: 'read write' }, assertion)));
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    const grant = seen[0]!.jwtBearer!.grant!;
    expect(grant).toEqual({
      issuer: SVC,
      subject: 'alice',
      scope: ['read', 'write'],
      audience: AS,
      claims: expect.objectContaining({ iss: SVC, sub: 'alice', aud: AS, jti, tenant: 't-9', exp: expect.any(Number), iat: expect.any(Number) }),
      header: expect.objectContaining({ alg: 'RS256', typ: 'JWT', kid: 'svc-1' }),
      profile: 'rfc7523',
      resource: [],
    });
    expect(grant.clientId).toBeUndefined();
    expect(seen[0]!.jwtBearer!.client).toBeUndefined();
  });

  test(`${principalsAt}.client holds the verified client principal`, async () => {
    const { seen, server } = await app.start([clientAssertion(clientOptions())]);
    const res = await request(server)
      .post('/token')
      .type('form')
      .send(encode(clientForm({ token: 'abc' })));
    expect(res.status).toBe(200);
    expect(seen[0]!.jwtBearer!.client).toEqual({
      clientId: CLIENT,
      method: 'private_key_jwt',
      claims: expect.objectContaining({ iss: CLIENT, sub: CLIENT, aud: AS, jti: expect.any(String) }),
      header: expect.objectContaining({ alg: 'ES256' }),
    });
    expect(seen[0]!.jwtBearer!.grant).toBeUndefined();
  });

  test('client authentication and grant in one request: both principals, the grant carrying clientId', async () => {
    const { seen, server } = await app.start([clientAssertion({ ...clientOptions(), required: false }), jwtBearerGrant(grantOptions())]);
    const res = await request(server)
      .post('/token')
      .type('form')
      .send(encode({ ...grantForm(), ...clientForm() }));
    expect(res.status).toBe(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe(CLIENT);
    expect(seen[0]!.jwtBearer!.grant!.clientId).toBe(CLIENT);
    expect(seen[0]!.jwtBearer!.grant!.subject).toBe('alice');
  });

  test(`a request for another grant type gets no ${principalsAt}, and its parsed body stays on ${bodyAt}`, async () => {
    const { seen, server } = await app.start([clientAssertion({ ...clientOptions(), required: false }), jwtBearerGrant(grantOptions())]);
    const form = { grant_type: 'authorization_code', code: 'c-1', redirect_uri: 'https://client.example/cb' };
    const res = await request(server).post('/token').type('form').send(encode(form));
    expect(res.status).toBe(200);
    expect(seen[0]!.jwtBearer).toBeUndefined();
    expect(seen[0]!.body).toEqual(form);
  });

  test(`the body the middleware parsed itself stays on ${bodyAt} for later handlers, also after a verified grant`, async () => {
    const { seen, server } = await app.start([jwtBearerGrant(grantOptions())]);
    const form = grantForm({ scope: 'read', resource: 'https://api.example' });
    await request(server).post('/token').type('form').send(encode(form)).expect(200);
    expect(seen[0]!.body).toEqual(form);
  });

  test(`${app.formParser.label} mounted after the middleware neither fails nor replaces the body`, async () => {
    const { seen, server } = await app.start([jwtBearerGrant(grantOptions()), app.formParser.create()]);
    const form = { grant_type: 'password', username: 'u', password: 'p' };
    await request(server).post('/token').type('form').send(encode(form)).expect(200);
    expect(seen[0]!.body).toEqual(form);
  });

  test(`with ${app.formParser.label} mounted first the middleware uses its result`, async () => {
    const { seen, server } = await app.start([clientAssertion(clientOptions())], [app.formParser.create()]);
    await request(server)
      .post('/token')
      .type('form')
      .send(encode(clientForm({ token: 't' })))
      .expect(200);
    expect(seen[0]!.jwtBearer!.client!.clientId).toBe(CLIENT);
    expect(seen[0]!.body).toEqual(expect.objectContaining({ token: 't' }));
  });

  test(`issueToken gets the principal and ${app.issueTokenArgument.label}, and its answer is the token response`, async () => {
    const calls: { principal: GrantPrincipal; arg: R }[] = [];
    const issueToken = (principal: GrantPrincipal, arg: R) => {
      calls.push({ principal, arg });
      return { access_token: `at-${principal.subject}`, token_type: 'Bearer', expires_in: 60, path: app.issueTokenArgument.path(arg) };
    };
    const { seen, server } = await app.start([jwtBearerGrant({ ...grantOptions(), issueToken })]);
    const res = await request(server)
      .post('/token')
      .type('form')
      .send(encode(grantForm({ scope: 'read' })));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: 'at-alice', token_type: 'Bearer', expires_in: 60, path: '/token' });
    expectNoStoreJson(res);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.principal.scope).toEqual(['read']);
    app.issueTokenArgument.expectPrepared(calls[0]!.arg, calls[0]!.principal);
    // issueToken answered: the next handler was not called.
    expect(seen).toHaveLength(0);
  });

  test('a client assertion minted for one request is accepted once only, even across middleware instances sharing the default store', async () => {
    const assertion = clientAssertionJwt();
    const first = await app.start([clientAssertion(clientOptions())]);
    await request(first.server)
      .post('/token')
      .type('form')
      .send(encode(clientForm({}, assertion)))
      .expect(200);
    expect(first.seen).toHaveLength(1);
    const second = await app.start([clientAssertion(clientOptions())]);
    const res = await request(second.server)
      .post('/token')
      .type('form')
      .send(encode(clientForm({}, assertion)));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(second.seen).toHaveLength(0);
  });
}
