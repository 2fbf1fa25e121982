import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// What a user installs is the built package: one CommonJS implementation with type declarations,
// loadable through both `require` and `import` without a second copy of any class.
const root = join(__dirname, '..', '..');
const PACKAGES = ['jwt-bearer-core', 'express-jwt-bearer', 'koa-jwt-bearer', 'jwt-bearer-redis', 'jwt-bearer-cli', 'jwt-bearer-oauth2-server'];

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
}

describe.each(PACKAGES)('%s', (name) => {
  const dir = join(root, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

  it('points main, types and exports at built files that exist', () => {
    expect(existsSync(join(dir, manifest.main))).toBe(true);
    expect(existsSync(join(dir, manifest.types))).toBe(true);
    expect(manifest.exports['.'].types).toBe(`./${manifest.types}`);
    expect(manifest.exports['.'].default).toBe(`./${manifest.main}`);
  });

  it('has a README', () => {
    expect(readFileSync(join(dir, 'README.md'), 'utf8').length).toBeGreaterThan(500);
  });

  it('loads through import with the same exports as require', () => {
    const script = `
      import * as esm from '${name}';
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('${name}');
      const names = Object.keys(cjs).filter((k) => k !== 'default' && k !== '__esModule').sort();
      const missing = names.filter((k) => esm[k] !== cjs[k]);
      console.log(JSON.stringify({ count: names.length, missing }));
    `;
    const out = JSON.parse(node(['--input-type=module', '-e', script]));
    expect(out.count).toBeGreaterThan(0);
    expect(out.missing).toEqual([]);
  });
});

it('an OAuthError thrown by an adapter is the core class, whichever way it was loaded', () => {
  const script = `
    import { OAuthError as fromImport } from 'jwt-bearer-core';
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const fromRequire = require('jwt-bearer-core').OAuthError;
    const viaExpress = require('express-jwt-bearer').OAuthError;
    const viaKoa = require('koa-jwt-bearer').OAuthError;
    console.log(JSON.stringify([fromImport === fromRequire, viaExpress === fromRequire, viaKoa === fromRequire]));
  `;
  expect(JSON.parse(node(['--input-type=module', '-e', script]))).toEqual([true, true, true]);
});

it('jwt-bearer-cli: the bin `jwt-bearer` is shipped, linked by npm into node_modules/.bin, and runs', () => {
  const dir = join(root, 'packages', 'jwt-bearer-cli');
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  expect(manifest.bin).toEqual({ 'jwt-bearer': 'bin/jwt-bearer.js' });
  expect(manifest.files).toContain('bin');
  expect(readFileSync(join(dir, manifest.bin['jwt-bearer']), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  // npm ci links workspace bins; the bin itself needs no build step to exist.
  const linked = join(root, 'node_modules', '.bin', 'jwt-bearer');
  expect(existsSync(linked)).toBe(true);
  expect(node([linked, '--help'])).toContain('Usage: jwt-bearer <command>');
});
