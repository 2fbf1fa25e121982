/**
 * The core README's sections on keys the server finds itself (discovery, client ID metadata
 * documents, federation, SPIFFE): each quick start runs as pasted against the built package and
 * prints what its comment promises; each new option has its row.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'packages/jwt-bearer-core/README.md'), 'utf8');

function quickStart(heading: string): string {
  const start = readme.indexOf(`\n### ${heading}\n`);
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n### ', start + 5);
  const code = /```js\n([\s\S]*?)```/.exec(readme.slice(start, end < 0 ? undefined : end))?.[1];
  expect(code).toBeDefined();
  return code!;
}

test.each([
  ['Discovery', 'discovered alice'],
  ['Client ID metadata documents', 'private_key_jwt Example agent'],
  ['Federated client authentication', 'deployer federated_jwt repo:acme@123/deploy@456:environment:production'],
  ['SPIFFE JWT-SVIDs', 'billing-worker spiffe_jwt'],
])('the %s quick start runs as pasted', (heading, printed) => {
  const code = quickStart(heading);
  // The printed line is also the comment the reader sees.
  expect(code).toContain(`// ${printed}`);
  const out = execFileSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  expect(out.trim()).toBe(printed);
});

test.each([
  'clientIdMetadataDocuments',
  'federation',
  'spiffe',
  ...['allow', 'maxBytes', 'timeout', 'maxAge', 'maxDocuments', 'allowPrivateNetwork', 'lookup', 'requestAgent'].map((o) => `clientIdMetadataDocuments.${o}`),
])('documents option %s', (option) => {
  expect(readme).toMatch(new RegExp(`^\\| \`${option.replace('.', '\\.')}\``, 'm'));
});

test('each section says what it trusts', () => {
  for (const heading of ['Discovery', 'Client ID metadata documents', 'Federated client authentication', 'SPIFFE JWT-SVIDs']) {
    const start = readme.indexOf(`\n### ${heading}\n`);
    const end = readme.indexOf('\n## ', start + 5);
    const next = readme.indexOf('\n### ', start + 5);
    expect(readme.slice(start, Math.min(end, next < 0 ? end : next))).toContain('**What it trusts**');
  }
});
