import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  assertForm,
  hasClientAssertion,
  isJwtBearerGrantRequest,
  OAuthError,
  parseForm,
  readRequestForm,
  splitClientOptions,
  splitGrantOptions,
  TOKEN_RESPONSE_HEADERS,
  type RejectionEvent,
  type RequestForm,
} from '../src';
import { CLIENT_ASSERTION_TYPE, GRANT_TYPE, ISSUER } from './helpers';

interface Setup {
  parsed: unknown;
  limit: number;
  markParsed?: boolean;
  /** Read the whole stream first, as a text/raw body parser would. */
  consume?: 'text' | 'discard';
  onError?: (event: RejectionEvent) => void;
  settle: (result: { form?: RequestForm; error?: unknown }) => void;
}

const pending: Setup[] = [];
let server: http.Server;
let port: number;

beforeAll(async () => {
  // The handler settles every outcome itself (try/catch/finally): its promise never rejects.
  server = http.createServer(
    (req, res) =>
      void (async () => {
        const setup = pending.shift()!;
        if (setup.markParsed) (req as { _body?: boolean })._body = true;
        let parsed = setup.parsed;
        if (setup.consume) {
          const chunks: Buffer[] = [];
          for await (const chunk of req) chunks.push(chunk as Buffer);
          parsed = setup.consume === 'text' ? Buffer.concat(chunks).toString() : undefined;
        }
        // A bounded wait: a readRequestForm that never settles must fail the test, not hang it.
        let timer: NodeJS.Timeout | undefined;
        const hung = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('readRequestForm did not settle')), 2000);
        });
        try {
          setup.settle({ form: await Promise.race([readRequestForm(req, parsed, setup.limit, 'grant', setup.onError), hung]) });
        } catch (error) {
          setup.settle({ error });
        } finally {
          clearTimeout(timer);
        }
        if (!res.destroyed) res.end('done');
      })(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Send {
  method?: string;
  headers?: Record<string, string>;
  chunks?: Array<string | Buffer>;
  parsed?: unknown;
  limit?: number;
  markParsed?: boolean;
  consume?: 'text' | 'discard';
  onError?: (event: RejectionEvent) => void;
  /** Destroy the connection after the chunks instead of ending the request. */
  abort?: boolean;
}

/** Sends a real request and resolves what readRequestForm made of it on the server. */
function send(options: Send): Promise<{ form?: RequestForm; error?: unknown }> {
  return new Promise((resolve, reject) => {
    pending.push({
      parsed: options.parsed,
      limit: options.limit ?? 1024,
      markParsed: options.markParsed,
      consume: options.consume,
      onError: options.onError,
      settle: resolve,
    });
    const req = http.request({ host: '127.0.0.1', port, path: '/token', method: options.method ?? 'POST', headers: options.headers, agent: false }, (res) =>
      res.resume(),
    );
    req.on('error', (err) => {
      if (!options.abort) reject(err);
    });
    for (const chunk of options.chunks ?? []) req.write(chunk);
    if (options.abort) setTimeout(() => req.destroy(), 50);
    else req.end();
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('readRequestForm()', () => {
  it('RFC 6749 §3.2: reads and parses an application/x-www-form-urlencoded body itself', async () => {
    const body = `grant_type=${encodeURIComponent(GRANT_TYPE)}&assertion=a.b.c&scope=read+write`;
    const { form } = await send({ headers: { ...FORM, 'content-length': String(body.length) }, chunks: [body] });
    expect(form).toEqual({ body: { grant_type: GRANT_TYPE, assertion: 'a.b.c', scope: 'read write' }, parsedHere: true, isForm: true });
  });

  it('accepts a charset parameter and any case of the media type', async () => {
    const { form } = await send({ headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8', 'content-length': '3' }, chunks: ['a=1'] });
    expect(form?.body).toEqual({ a: '1' });
  });

  it('decodes a latin1 body when the charset says so', async () => {
    const bytes = Buffer.from([0x61, 0x3d, 0xe9]); // "a=é" in ISO-8859-1
    const latin1 = await send({ headers: { 'content-type': `${FORM['content-type']}; charset="ISO-8859-1"`, 'content-length': '3' }, chunks: [bytes] });
    expect(latin1.form?.body).toEqual({ a: 'é' });
    const utf8 = await send({ headers: { ...FORM, 'content-length': '3' }, chunks: [bytes] });
    expect(utf8.form?.body).toEqual({ a: '\ufffd' });
  });

  it('RFC 6749 §3.2: keeps a repeated parameter as an array (which the core then refuses)', async () => {
    const body = 'assertion=a&assertion=b&assertion=c';
    const { form } = await send({ headers: { ...FORM, 'content-length': String(body.length) }, chunks: [body] });
    expect(form?.body.assertion).toEqual(['a', 'b', 'c']);
  });

  it('reads a request without a body as an empty form', async () => {
    const { form } = await send({ method: 'POST', headers: { 'content-length': '0' } });
    expect(form).toEqual({ body: {}, parsedHere: true, isForm: true });
  });

  it('uses what a body parser already produced', async () => {
    const parsed = { grant_type: GRANT_TYPE, assertion: 'x' };
    const body = 'ignored=1';
    const { form } = await send({ headers: { ...FORM, 'content-length': String(body.length) }, chunks: [body], parsed });
    expect(form).toEqual({ body: parsed, parsedHere: false, isForm: true });
  });

  it('uses an empty parsed body when the parser marked the request as read (req._body)', async () => {
    const parsed = {};
    const { form } = await send({ headers: { 'content-type': 'application/json', 'content-length': '2' }, chunks: ['{}'], parsed, markParsed: true });
    expect(form?.body).toBe(parsed);
    expect(form?.parsedHere).toBe(false);
    expect(form?.isForm).toBe(false);
  });

  it('refuses an unparsed body of another content type with invalid_request ERR_CONTENT_TYPE_UNSUPPORTED', async () => {
    const body = JSON.stringify({ grant_type: GRANT_TYPE });
    const { error } = await send({ headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, chunks: [body] });
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ code: 'ERR_CONTENT_TYPE_UNSUPPORTED', error: 'invalid_request', status: 400 });
    const untyped = await send({ headers: { 'content-length': '3' }, chunks: ['a=1'] });
    expect(untyped.error).toMatchObject({ code: 'ERR_CONTENT_TYPE_UNSUPPORTED' });
  });

  it('refuses a body whose declared length exceeds the limit, before reading it', async () => {
    const { error } = await send({ headers: { ...FORM, 'content-length': '5000' }, chunks: ['a'.repeat(5000)], limit: 1024 });
    expect(error).toMatchObject({ code: 'ERR_BODY_TOO_LARGE', error: 'invalid_request', status: 400 });
  });

  it('refuses a chunked body that grows past the limit', async () => {
    const { error } = await send({ headers: { ...FORM, 'transfer-encoding': 'chunked' }, chunks: ['a='.padEnd(800, 'x'), 'y'.repeat(800)], limit: 1024 });
    expect(error).toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
  });

  it.each(['text', 'discard'] as const)(
    'answers ERR_BODY_MALFORMED (and does not hang) when another parser already read the stream into %s',
    async (consume) => {
      const { error } = await send({ headers: { ...FORM, 'content-length': '3' }, chunks: ['a=1'], consume });
      expect(error).toMatchObject({ code: 'ERR_BODY_MALFORMED', error: 'invalid_request', status: 400 });
    },
  );

  it('reports its rejections to onError (so the hook hears of every rejection); a throwing hook changes nothing', async () => {
    const events: RejectionEvent[] = [];
    const { error } = await send({ headers: { ...FORM, 'content-length': '5000' }, chunks: ['a'.repeat(5000)], onError: (e) => events.push(e) });
    expect(error).toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
    expect(events).toEqual([expect.objectContaining({ code: 'ERR_BODY_TOO_LARGE', error: 'invalid_request', status: 400, use: 'grant' })]);
    const ok = await send({ headers: { ...FORM, 'content-length': '3' }, chunks: ['a=1'], onError: (e) => events.push(e) });
    expect(ok.form?.body).toEqual({ a: '1' });
    expect(events).toHaveLength(1);
    const throwing = await send({
      headers: { 'content-type': 'text/plain', 'content-length': '3' },
      chunks: ['a=1'],
      onError: () => {
        throw new Error('hook broke');
      },
    });
    expect(throwing.error).toMatchObject({ code: 'ERR_CONTENT_TYPE_UNSUPPORTED' });
  });

  it('refuses a body the client aborts with ERR_BODY_MALFORMED', async () => {
    const { error } = await send({ headers: { ...FORM, 'content-length': '1000' }, chunks: ['a=1'], abort: true });
    expect(error).toMatchObject({ code: 'ERR_BODY_MALFORMED', error: 'invalid_request' });
  });
});

describe('assertForm()', () => {
  it('refuses parameters that were not sent as a form, once the request is ours', () => {
    expect(() => assertForm({ isForm: true }, 'client')).not.toThrow();
    expect(() => assertForm({ isForm: false }, 'client')).toThrow(expect.objectContaining({ code: 'ERR_CONTENT_TYPE_UNSUPPORTED', status: 400 }));
  });

  it('reports its rejection to onError; a hook that throws changes nothing', () => {
    const events: RejectionEvent[] = [];
    expect(() => assertForm({ isForm: false }, 'client', (e) => events.push(e))).toThrow(expect.objectContaining({ code: 'ERR_CONTENT_TYPE_UNSUPPORTED' }));
    expect(events).toEqual([
      expect.objectContaining({ code: 'ERR_CONTENT_TYPE_UNSUPPORTED', error: 'invalid_request', status: 400, use: 'client', detail: expect.any(String) }),
    ]);
    const throwing = () => {
      throw new Error('hook broke');
    };
    expect(() => assertForm({ isForm: false }, 'client', throwing)).toThrow(expect.objectContaining({ code: 'ERR_CONTENT_TYPE_UNSUPPORTED' }));
    assertForm({ isForm: true }, 'client', (e) => events.push(e));
    expect(events).toHaveLength(1);
  });
});

describe('parseForm(), isJwtBearerGrantRequest(), hasClientAssertion()', () => {
  it('parses a form into a prototype-free object; a repeated name becomes an array', () => {
    const body = parseForm('a=1&b=2&a=3&__proto__=x&c=%20+');
    expect(body.a).toEqual(['1', '3']);
    expect(body.b).toBe('2');
    expect(body.c).toBe('  ');
    expect(Object.getPrototypeOf(body)).toBeNull();
    expect(Object.prototype.hasOwnProperty.call(body, '__proto__')).toBe(true);
  });

  it('recognises the jwt-bearer grant, also when grant_type is repeated', () => {
    expect(isJwtBearerGrantRequest({ grant_type: GRANT_TYPE })).toBe(true);
    expect(isJwtBearerGrantRequest({ grant_type: [GRANT_TYPE, GRANT_TYPE] })).toBe(true);
    expect(isJwtBearerGrantRequest({ grant_type: 'client_credentials' })).toBe(false);
    expect(isJwtBearerGrantRequest({})).toBe(false);
  });

  it('recognises a client assertion by either parameter, non-empty', () => {
    expect(hasClientAssertion({ client_assertion: 'x' })).toBe(true);
    expect(hasClientAssertion({ client_assertion_type: CLIENT_ASSERTION_TYPE })).toBe(true);
    expect(hasClientAssertion({ client_assertion: '', client_assertion_type: null })).toBe(false);
    expect(hasClientAssertion({ client_id: 'x' })).toBe(false);
  });
});

describe('splitGrantOptions() and splitClientOptions()', () => {
  const issuers = [{ issuer: 'x', secret: 'y'.repeat(32) }];

  it('splits the middleware options off the core options, with defaults', () => {
    const issueToken = () => ({ access_token: 't', token_type: 'Bearer' });
    const grant = splitGrantOptions({ issuer: ISSUER, issuers, issueToken, passErrors: true, bodyLimit: 2048 });
    expect(grant.core).toEqual({ issuer: ISSUER, issuers });
    expect(grant.extra).toEqual({ issueToken, passErrors: true, bodyLimit: 2048 });
    expect(Object.isFrozen(grant.extra)).toBe(true);
    const defaults = splitGrantOptions({ issuer: ISSUER, issuers });
    expect(defaults.extra).toEqual({ issueToken: undefined, passErrors: false, bodyLimit: 102400 });
    const client = splitClientOptions({ issuer: ISSUER, clients: [{ clientId: 'c', clientSecret: 'y'.repeat(32) }] });
    expect(client.extra).toEqual({ required: true, passErrors: false, bodyLimit: 102400 });
    expect(splitClientOptions({ issuer: ISSUER, clients: [], required: false }).extra.required).toBe(false);
  });

  it('throws a TypeError naming each bad middleware option', () => {
    expect(() => splitGrantOptions(null as never)).toThrow(/options must be an object/);
    expect(() => splitGrantOptions({ issuer: ISSUER, issuers, passErrors: 'yes' } as never)).toThrow(/"passErrors"/);
    expect(() => splitGrantOptions({ issuer: ISSUER, issuers, bodyLimit: 0 })).toThrow(/"bodyLimit"/);
    expect(() => splitGrantOptions({ issuer: ISSUER, issuers, bodyLimit: 1.5 })).toThrow(/"bodyLimit"/);
    expect(() => splitGrantOptions({ issuer: ISSUER, issuers, issueToken: 'x' } as never)).toThrow(/"issueToken"/);
    expect(() => splitClientOptions({ issuer: ISSUER, clients: [], required: 'no' } as never)).toThrow(/"required"/);
  });

  it('TOKEN_RESPONSE_HEADERS are RFC 6749 §5.1 Cache-Control: no-store and Pragma: no-cache, frozen', () => {
    expect(TOKEN_RESPONSE_HEADERS).toEqual({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    expect(Object.isFrozen(TOKEN_RESPONSE_HEADERS)).toBe(true);
  });
});
