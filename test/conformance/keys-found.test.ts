/**
 * Runs the keys-found table (keys-found-cases.ts: discovery, client ID metadata documents,
 * federation, SPIFFE) on express-jwt-bearer (Express 5 and 4) and koa-jwt-bearer (Koa 3 and 2),
 * each case on a fresh app, against documents and key sets served over real TLS on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { ERROR_CODES } from 'jwt-bearer-core';
import { buildApp, FRAMEWORKS } from './apps';
import { KEYS_CASES, type Expectation, type KeysCase } from './keys-found-cases';
import { createKeysFixtures, type KeysFixtures } from './keys-found-fixtures';
import { faultLinesOnly } from '../support/fault-log';

// Some cases answer 5xx without an onError hook: the core's line on console.error is expected.
faultLinesOnly();

let f: KeysFixtures;

beforeAll(async () => {
  f = await createKeysFixtures();
});

afterAll(async () => {
  await f?.close();
});

function listen(app: ReturnType<typeof buildApp>): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(app);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const fill = (value: string) => value.replace('<origin>', f.tls.origin).replace('<client>', f.clientOrigin).replace('<http>', f.httpOrigin);

async function send(server: Server, form: Record<string, string>): Promise<request.Response> {
  return request(server).post('/token').type('form').send(new URLSearchParams(form).toString());
}

function check(res: request.Response, want: Expectation): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status: want.status, error: want.error });
  if (want.code) {
    // RFC 6749 §5.2: the code's fixed description, nothing private.
    expect(res.body).toEqual({ error: want.error, error_description: ERROR_CODES[want.code].description });
    expect(res.headers['cache-control']).toBe('no-store');
    if (want.status === 503) expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  }
  if (want.client) expect(res.body.client).toEqual({ ...want.client, clientId: fill(want.client.clientId) });
  if (want.grant) expect(res.body.grant).toMatchObject({ issuer: fill(want.grant.issuer), subject: want.grant.subject });
}

test('the table has at least 40 cases, each citing its RFC, draft or design section, with unique names', () => {
  expect(KEYS_CASES.length).toBeGreaterThanOrEqual(40);
  for (const c of KEYS_CASES) expect(c.name).toMatch(/^(RFC \d{4}|draft-ietf-oauth-[a-z-]+-\d\d|OpenID Connect [A-Za-z .0-9]+§|SPIFFE [A-Za-z- ]+§|DESIGN §)/);
  expect(new Set(KEYS_CASES.map((c) => c.name)).size).toBe(KEYS_CASES.length);
});

describe.each(FRAMEWORKS.map((fw) => [fw] as const))('%s', (framework) => {
  test.each(KEYS_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c: KeysCase) => {
    const server = await listen(buildApp(framework, c.stack(f)));
    try {
      const form = c.form(f);
      if (c.before) check(await send(server, form), c.before);
      check(await send(server, form), c.expect);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
