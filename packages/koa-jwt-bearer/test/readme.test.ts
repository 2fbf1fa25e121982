/**
 * The README is part of the contract: its quick start runs as pasted (against the built package,
 * as a user would after `npm install`), and it documents every option and every error code.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, OAuthError, type ErrorCode } from 'jwt-bearer-core';

const root = join(__dirname, '..', '..', '..');
const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

const OPTIONS = [
  'issueToken', 'required', 'passErrors', 'bodyLimit',
  'issuer', 'audiences', 'issuers', 'clients', 'audienceMode', 'algorithms', 'clockTolerance', 'maxLifetime', 'requireJti',
  'replayStore', 'maxAssertionLength', 'onError', 'onWarning', 'jwksOptions', 'jwksOptions.timeout', 'jwksOptions.cacheMaxAge',
  'jwksOptions.cooldown', 'jwksOptions.staleIfError', 'jwksOptions.maxResponseBytes', 'jwksOptions.maxKeys',
  'jwksOptions.maxKeySets', 'jwksOptions.requestHeaders', 'jwksOptions.requestAgent', 'now',
];

test('starts with one line of purpose and the install command', () => {
  const [title, , purpose] = readme.split('\n');
  expect(title).toBe('# koa-jwt-bearer');
  expect(purpose).toMatch(/middleware/);
  expect(readme).toContain('npm install koa-jwt-bearer');
});

test('the quick start runs as pasted: a grant, a client authentication and a refused replay', () => {
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const out = execFileSync(process.execPath, ['-e', code!], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  expect(out).toMatch(/^200 \{\n  access_token: 'token-for-alice',\n  token_type: 'Bearer',\n  expires_in: 300,\n  scope: 'read'\n\}$/m);
  expect(out).toContain("200 { active: false, authenticated_client: 'my-client' }");
  expect(out).toMatch(/^401 \{\n  error: 'invalid_client',\n  error_description: 'The assertion has already been used.'\n\}$/m);
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
