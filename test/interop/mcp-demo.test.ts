/**
 * The ID-JAG part of `npm run demo` (examples/src/mcp-demo.ts), in process: discovery, the plain
 * exchange, a call to the MCP endpoint, a DPoP-bound exchange and a refused replay.
 */
import { main } from '../../examples/src/mcp-demo';

jest.setTimeout(30_000);

test('npm run demo: the ID-JAG exchanges get the expected answers', async () => {
  const lines: string[] = [];
  const steps = await main((line) => lines.push(line));
  expect(
    steps.map((s) => [s.status, (s.body as { error?: string; token_type?: string }).error ?? (s.body as { token_type?: string }).token_type ?? null]),
  ).toEqual([
    [200, null], // protected-resource metadata
    [200, null], // authorization-server metadata
    [200, 'Bearer'], // ID-JAG with client_secret_basic
    [200, null], // MCP call
    [200, 'DPoP'], // ID-JAG bound by cnf.jkt, with a proof
    [400, 'invalid_grant'], // the first ID-JAG again
  ]);
  expect((steps[1]!.body as { authorization_grant_profiles_supported?: string[] }).authorization_grant_profiles_supported).toEqual([
    'urn:ietf:params:oauth:grant-profile:id-jag',
  ]);
  expect(lines.join('\n')).toContain('single use');
});
