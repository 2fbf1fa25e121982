/**
 * examples/src/workload-federation.ts in process: a Kubernetes-style issuer discovered over HTTP,
 * an Express authorization server trusting it through `federation`, and a workload that gets a
 * client_credentials token with its projected service-account token.
 */
import { main } from '../../examples/src/workload-federation';

test('the workload gets a token as client billing, authenticated by federated_jwt', async () => {
  const lines: string[] = [];
  const result = await main((line) => lines.push(line));
  expect(result.status).toBe(200);
  expect(result.body).toMatchObject({ token_type: 'Bearer', client_id: 'billing', method: 'federated_jwt', workload: 'system:serviceaccount:prod:billing' });
  expect(lines.at(-1)).toMatch(/→ 200 /);
});
