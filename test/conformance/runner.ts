/**
 * Runs a conformance table with supertest against express-jwt-bearer on Express 5 and 4 and
 * koa-jwt-bearer on Koa 3 and 2, checks each answer against the table, then checks that the
 * frameworks gave the same answer to every case. Each table file (conformance.test.ts,
 * id-jag.test.ts) calls {@link describeTable} with its own cases.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import request from 'supertest';
import { ERROR_CODES } from 'jwt-bearer-core';
import { adapterOf, buildApp, FRAMEWORKS, versionOf, type Framework } from './apps';
import type { ConformanceCase, HeaderExpectations, Outcome, RequestSpec } from './cases';
import { createFixtures, type Fixtures } from './fixtures';

/** The headers the table speaks about; everything else is the framework's business. */
const HEADERS = ['content-type', 'cache-control', 'pragma', 'www-authenticate', 'retry-after', 'x-answered-by'] as const;

/** One answer, reduced to what must be the same on every framework. */
interface Observed {
  status: number;
  kind: Outcome['kind'];
  headers: Partial<Record<(typeof HEADERS)[number], string>>;
  /** The parsed JSON body (error, token or the app's summary); `null` for a framework's own error page. */
  json: unknown;
  text: string;
}

function listen(listener: RequestListener): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(listener);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function formBody(form: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  }
  return params.toString();
}

async function send(server: Server, spec: RequestSpec): Promise<Observed> {
  let req = request(server).post('/token');
  for (const [name, value] of Object.entries(spec.headers ?? {})) req = req.set(name, value);
  const contentType = spec.contentType ?? (spec.form ? 'application/x-www-form-urlencoded' : undefined);
  if (contentType !== undefined) req = req.set('Content-Type', contentType);
  const body = spec.form ? formBody(spec.form) : spec.body;
  // superagent would re-serialise a Buffer by its content type; send its bytes as they are.
  if (Buffer.isBuffer(body)) req = req.serialize((data: unknown) => data as string);
  const res = await (body === undefined ? req : req.send(body));
  const headers: Observed['headers'] = {};
  for (const name of HEADERS) {
    const value = res.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  let json: unknown = null;
  if (/^application\/json\b/.test(headers['content-type'] ?? '')) {
    try {
      json = JSON.parse(res.text);
    } catch {
      json = { unparsable: res.text };
    }
  }
  const kind: Outcome['kind'] =
    headers['x-answered-by'] === 'app'
      ? 'app'
      : typeof (json as { error?: unknown } | null)?.error === 'string'
        ? 'error'
        : typeof (json as { access_token?: unknown } | null)?.access_token === 'string'
          ? 'token'
          : 'framework';
  return { status: res.status, kind, headers, json, text: res.text };
}

function expectHeaders(observed: Observed, expected: HeaderExpectations): void {
  for (const [name, want] of Object.entries(expected)) {
    const got = observed.headers[name as (typeof HEADERS)[number]];
    if (want === null) expect({ header: name, value: got }).toEqual({ header: name, value: undefined });
    else if (want instanceof RegExp) expect({ header: name, value: got }).toEqual({ header: name, value: expect.stringMatching(want) });
    else expect({ header: name, value: got }).toEqual({ header: name, value: want });
  }
}

function expectOutcome(observed: Observed, outcome: Outcome): void {
  expect({ status: observed.status, kind: observed.kind }).toEqual({ status: outcome.status, kind: outcome.kind });
  expectHeaders(observed, outcome.headers);
  switch (outcome.kind) {
    case 'error':
      // RFC 6749 §5.2: exactly `error` and the code's fixed `error_description`, nothing private.
      expect(observed.json).toEqual({ error: outcome.error, error_description: ERROR_CODES[outcome.code].description });
      for (const secret of outcome.mustNotContain ?? []) expect(observed.text).not.toContain(secret);
      break;
    case 'token':
      expect(observed.json).toEqual(outcome.token);
      break;
    case 'app': {
      const seen = observed.json as Record<string, unknown>;
      for (const [key, value] of Object.entries(outcome.seen)) expect({ [key]: seen[key] }).toEqual({ [key]: value });
      break;
    }
    case 'framework':
      // Not an OAuth JSON error: the framework's own error handling answered.
      expect(observed.json).toBeNull();
      break;
  }
}

/** Runs one case on one framework: a fresh app and server, the earlier sends, then the request under test. */
async function runCase(fixtures: Fixtures, framework: Framework, c: ConformanceCase): Promise<{ before: Observed[]; answer: Observed }> {
  const server = await listen(buildApp(framework, c.stack(fixtures)));
  try {
    const spec = c.request(fixtures);
    const before: Observed[] = [];
    for (const step of c.before ?? []) {
      const observed = await send(server, step.send === 'same' ? spec : c.request(fixtures));
      before.push(observed);
      expectOutcome(observed, step.expect);
    }
    return { before, answer: await send(server, spec) };
  } finally {
    await close(server);
  }
}

/** What two frameworks must agree on: everything but a framework error page's own body and type. */
function comparable(o: Observed): unknown {
  return o.kind === 'framework'
    ? { status: o.status, kind: o.kind, headers: { ...o.headers, 'content-type': '(framework)' } }
    : { status: o.status, kind: o.kind, headers: o.headers, json: o.json };
}

type Run = { before: Observed[]; answer: Observed };

/** A table's runs: each case runs once per framework; the agreement tests reuse the runs (or make them, under `-t`). */
export interface Table {
  fixtures(): Fixtures;
  resultOf(framework: Framework, c: ConformanceCase): Promise<Run>;
}

/**
 * Declares the tests of one table: every case on every framework, then the agreement of the
 * frameworks. Fixtures are minted once for the file.
 */
export function describeTable(cases: readonly ConformanceCase[]): Table {
  let fixtures: Fixtures;
  const runs = new Map<string, Promise<Run>>();

  beforeAll(async () => {
    fixtures = await createFixtures();
  });

  afterAll(async () => {
    await fixtures?.close();
  });

  function resultOf(framework: Framework, c: ConformanceCase): Promise<Run> {
    const key = `${framework}\u0000${c.name}`;
    let run = runs.get(key);
    if (!run) {
      run = runCase(fixtures, framework, c);
      runs.set(key, run);
    }
    return run;
  }

  describe.each(FRAMEWORKS.map((fw) => [fw, adapterOf(fw), versionOf(fw)] as const))('%s (%s on %s)', (framework) => {
    test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      expectOutcome((await resultOf(framework, c)).answer, c.expect);
    });
  });

  describe('Express and Koa give the same answer to every case', () => {
    test.each([
      ['express5', 'koa3'],
      ['express4', 'koa2'],
      ['express5', 'express4'],
      ['koa3', 'koa2'],
    ] as const)('%s and %s agree', async (a, b) => {
      const mismatches: string[] = [];
      for (const c of cases) {
        const [ra, rb] = await Promise.all([resultOf(a, c).catch((err: Error) => err), resultOf(b, c).catch((err: Error) => err)]);
        if (ra instanceof Error || rb instanceof Error) {
          mismatches.push(`${c.name}: ${ra instanceof Error ? `${a} failed: ${ra.message}` : `${b} failed: ${(rb as Error).message}`}`);
          continue;
        }
        const left = JSON.stringify([...ra.before, ra.answer].map(comparable));
        const right = JSON.stringify([...rb.before, rb.answer].map(comparable));
        if (left !== right) mismatches.push(`${c.name}:\n  ${a}: ${left}\n  ${b}: ${right}`);
      }
      expect(mismatches).toEqual([]);
    });
  });

  return { fixtures: () => fixtures, resultOf };
}
