/**
 * Runs every case of the conformance table (cases.ts) against express-jwt-bearer (Express 5 and 4)
 * and koa-jwt-bearer (Koa 3 and 2) through runner.ts, and checks that the frameworks agree.
 */
import { FRAMEWORKS } from './apps';
import { CASES } from './cases';
import { describeTable } from './runner';
import { faultLinesOnly } from '../support/fault-log';

// Some cases answer 5xx without an onError hook: the core's line on console.error is expected.
faultLinesOnly();

test('the table has at least 60 cases, each citing an RFC section, with unique names', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(60);
  for (const c of CASES) expect(c.name).toMatch(/^RFC \d{4,5}\b.*§|^RFC 10070/);
  expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
});

const table = describeTable(CASES);

test('the jwksUri cases really fetched from the key-set server on 127.0.0.1, on every framework', async () => {
  await Promise.all(FRAMEWORKS.flatMap((fw) => CASES.map((c) => table.resultOf(fw, c).catch(() => undefined))));
  const fixtures = table.fixtures();
  for (const path of ['/jwks', '/jwks-500', '/jwks-html']) {
    expect({ path, hits: fixtures.jwksHits[path] ?? 0 }).toEqual({ path, hits: expect.any(Number) });
    expect(fixtures.jwksHits[path]).toBeGreaterThanOrEqual(FRAMEWORKS.length);
  }
});
