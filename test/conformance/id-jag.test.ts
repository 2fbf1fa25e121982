/**
 * Runs the ID-JAG / DPoP conformance table (id-jag-cases.ts) against express-jwt-bearer
 * (Express 5 and 4) and koa-jwt-bearer (Koa 3 and 2) through runner.ts, and checks that the
 * frameworks agree.
 */
import { ID_JAG_CASES } from './id-jag-cases';
import { describeTable } from './runner';

test('the ID-JAG table has at least 40 cases, each citing the draft or an RFC section, with unique names', () => {
  expect(ID_JAG_CASES.length).toBeGreaterThanOrEqual(40);
  for (const c of ID_JAG_CASES) expect(c.name).toMatch(/^(draft-ietf-oauth-identity-assertion-authz-grant-\d\d|RFC \d{4}) §\d/);
  expect(new Set(ID_JAG_CASES.map((c) => c.name)).size).toBe(ID_JAG_CASES.length);
});

describeTable(ID_JAG_CASES);
