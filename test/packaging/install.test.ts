import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server';

/*
 * What a user gets from the registry: every published package is packed from a clean build (its
 * `prepack` script is the only thing that builds it), the tarballs are installed into a fresh app
 * outside the repository, and there the packages load through `require`, `import` and TypeScript's
 * `nodenext` resolution, and each package README's quick start runs as pasted.
 *
 * The packages are the root workspaces that are not private, so a new package is covered without
 * touching this file.
 */

// Each step starts Node or npm; on a loaded machine that takes seconds.
jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

interface Workspace {
  dir: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a package.json, read as the test needs it
  manifest: Record<string, any>;
}

const rootManifest = readJson(join(ROOT, 'package.json'));
const PUBLISHED: Workspace[] = (rootManifest.workspaces as string[])
  .map((dir) => ({ dir, manifest: readJson(join(ROOT, dir, 'package.json')) }))
  .filter(({ manifest }) => manifest.private !== true)
  .map(({ dir, manifest }) => ({ dir, name: manifest.name as string, manifest }));

/** What each quick start prints when it works (a package without an entry must only exit 0). */
const QUICK_START_PRINTS: Record<string, string[]> = {
  'jwt-bearer-core': ['my-client private_key_jwt', "alice [ 'read' ]", 'invalid_grant'],
  'express-jwt-bearer': ["access_token: 'token-for-alice'", "authenticated_client: 'my-client'", "error: 'invalid_client'"],
  'koa-jwt-bearer': ["access_token: 'token-for-alice'", "authenticated_client: 'my-client'", "error: 'invalid_client'"],
  'jwt-bearer-redis': ['200 token-for-alice', '400 invalid_grant'],
  'jwt-bearer-oauth2-server': ['200 Bearer for alice issued to my-client', '400 invalid_client'],
};

/** Installed version of a development dependency of the repository, so the app installs it from npm's cache. */
function repoVersion(name: string): string {
  return readJson(join(ROOT, 'node_modules', name, 'package.json')).version;
}

/** Packages the quick starts and the type check need besides ours, at the repository's versions. */
const APP_DEPENDENCIES = [
  'express',
  'koa',
  'ioredis',
  'redis',
  '@node-oauth/oauth2-server',
  '@node-oauth/express-oauth-server',
  '@types/node',
  '@types/express',
  '@types/koa',
];

let work: string;
let app: string;
let redis: RedisServer;
const tarballs = new Map<string, string>();

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function nodeIn(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return stdout;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jwt-bearer-packaging-'));

  // A clean copy of what the packages are built from (no dist/, no build info), sharing the
  // repository's installed dependencies, so that each `npm pack` must build through `prepack`.
  const source = join(work, 'source');
  mkdirSync(source);
  cpSync(join(ROOT, 'tsconfig.base.json'), join(source, 'tsconfig.base.json'));
  writeFileSync(join(source, 'package.json'), JSON.stringify({ ...rootManifest, workspaces: PUBLISHED.map((p) => p.dir) }));
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  for (const { dir } of PUBLISHED) {
    mkdirSync(join(source, dir), { recursive: true });
    for (const entry of readdirSync(join(ROOT, dir))) {
      if (entry === 'dist' || entry === 'test' || entry.endsWith('.tsbuildinfo')) continue;
      if (entry === 'node_modules') symlinkSync(join(ROOT, dir, entry), join(source, dir, entry), 'dir');
      else cpSync(join(ROOT, dir, entry), join(source, dir, entry), { recursive: true });
    }
  }
  const packed = join(work, 'tarballs');
  mkdirSync(packed);
  for (const { dir, name } of PUBLISHED) {
    const out = await npm(['pack', '--json', '--pack-destination', packed], join(source, dir));
    const [{ filename }] = JSON.parse(out.slice(out.indexOf('[')));
    tarballs.set(name, join(packed, filename));
  }

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, version: '1.0.0' }));
  // Our tarballs, and everything else from npm's cache when it has it (the registry otherwise).
  await npm(['install', '--prefer-offline', ...tarballs.values(), ...APP_DEPENDENCIES.map((d) => `${d}@${repoVersion(d)}`)], app);
  redis = await startRedisServer();
}, 300_000);

afterAll(async () => {
  await redis?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(PUBLISHED)('$name tarball', ({ name, manifest }) => {
  const listing = () => {
    const { stdout } = spawnSync('tar', ['-tzf', tarballs.get(name)!], { encoding: 'utf8' });
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
  };

  it('holds the built code, the sources its maps name, the README and the MIT LICENSE, and no build info', () => {
    const files = listing();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', manifest.main, manifest.types]));
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('test/'))).toEqual([]);
    const installed = join(app, 'node_modules', name);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    // Every source map (code and declarations) names files that are in the package.
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const { sources } = readJson(join(installed, map)) as { sources: string[] };
      for (const source of sources) expect(existsSync(join(installed, map, '..', source))).toBe(true);
    }
  });

  it('says where it comes from, and depends on other packages of the project by a caret range', () => {
    expect(manifest.license).toBe('MIT');
    expect(manifest.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/jwt-bearer/jwt-bearer.git',
      directory: expect.stringMatching(/^packages\//),
    });
    expect(manifest.homepage).toMatch(/^https:\/\/github\.com\/jwt-bearer\/jwt-bearer\//);
    expect(manifest.bugs).toEqual({ url: 'https://github.com/jwt-bearer/jwt-bearer/issues' });
    expect(manifest.engines.node).toBe(rootManifest.engines.node);
    for (const [dependency, range] of Object.entries({ ...manifest.dependencies } as Record<string, string>)) {
      const sibling = PUBLISHED.find((p) => p.name === dependency);
      if (sibling) expect(range).toBe(`^${sibling.manifest.version}`);
    }
  });

  it('README links are absolute, so they work on the registry page', () => {
    const readme = readFileSync(join(app, 'node_modules', name, 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    expect(targets.filter((t) => !t.startsWith('https://') && !t.startsWith('#'))).toEqual([]);
  });

  it('loads through require (CommonJS) and import (ESM), one implementation for both', async () => {
    writeFileSync(join(app, `load-${name}.cjs`), `const m = require('${name}'); console.log(Object.keys(m).length);`);
    writeFileSync(
      join(app, `load-${name}.mjs`),
      `import * as esm from '${name}';
       import { createRequire } from 'node:module';
       const cjs = createRequire(import.meta.url)('${name}');
       const names = Object.keys(cjs).filter((k) => k !== 'default' && k !== '__esModule');
       console.log(JSON.stringify({ count: names.length, different: names.filter((k) => esm[k] !== cjs[k]) }));`,
    );
    expect(Number(await nodeIn(app, [`load-${name}.cjs`]))).toBeGreaterThan(0);
    const esm = JSON.parse(await nodeIn(app, [`load-${name}.mjs`]));
    expect(esm.count).toBeGreaterThan(0);
    expect(esm.different).toEqual([]);
  });

  it("runs the README's ES module imports", async () => {
    const readme = readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8');
    const imports = [...readme.matchAll(/```mjs\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n').filter((line) => line.startsWith('import ')));
    if (imports.length === 0) {
      // Only a package without a JavaScript quick start (a command-line tool) may show no imports.
      expect(readme).not.toMatch(/```js\n/);
      return;
    }
    expect(imports.join('\n')).toContain(`from '${name}'`);
    // A named import that the package does not export is a SyntaxError when the module links.
    writeFileSync(join(app, `readme-imports-${name}.mjs`), `${imports.join('\n')}\nconsole.log('linked');\n`);
    expect(await nodeIn(app, [`readme-imports-${name}.mjs`])).toBe('linked\n');
  });

  it("runs the README's quick start as pasted", async () => {
    const readme = readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    if (code === undefined) {
      // A package whose README starts with something other than JavaScript (a command-line tool)
      // is run by its own tests; here it must at least have been installed.
      expect(existsSync(join(app, 'node_modules', name, 'package.json'))).toBe(true);
      return;
    }
    // Only the port changes, so that a busy port 3000 cannot fail the run.
    writeFileSync(join(app, `quick-start-${name}.cjs`), code.replaceAll('3000', String(await freePort())));
    const out = await nodeIn(app, [`quick-start-${name}.cjs`], { REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    for (const expected of QUICK_START_PRINTS[name] ?? []) expect(out).toContain(expected);
  });
});

it('type-checks in a TypeScript nodenext app, as an ES module and as CommonJS', async () => {
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      // skipLibCheck as `tsc --init` sets it: @types/koa's own declarations do not check against the
      // content-disposition that koa 3 installs, which is no concern of ours.
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['*.mts', '*.cts'],
    }),
  );
  const typed = `
    import { createAssertion, createGrantVerifier, OAuthError, type GrantPrincipal } from 'jwt-bearer-core';
    import { jwtBearerGrant } from 'express-jwt-bearer';
    import { clientAssertion } from 'koa-jwt-bearer';
    import { RedisReplayStore } from 'jwt-bearer-redis';
    import express from 'express';
    import Koa from 'koa';
    const verifier = createGrantVerifier({ issuer: 'https://as.example', issuers: [{ issuer: 'svc', secret: 'x'.repeat(32) }] });
    const principal: Promise<GrantPrincipal> = verifier.verify({ body: {}, headers: {} });
    const handler: express.RequestHandler = jwtBearerGrant({ issuer: 'https://as.example', issuers: [{ issuer: 'svc', secret: 'x'.repeat(32) }] });
    const koa = new Koa();
    koa.use(clientAssertion({ issuer: 'https://as.example', clients: [{ clientId: 'c', clientSecret: 'x'.repeat(32) }] }));
    koa.use((ctx) => {
      const clientId: string | undefined = ctx.state.jwtBearer?.client?.clientId;
      ctx.body = { clientId };
    });
    const assertion: string = createAssertion({ issuer: 'c', subject: 'c', audience: 'https://as.example', key: 'x'.repeat(32), algorithm: 'HS256' });
    export { principal, handler, assertion, RedisReplayStore, OAuthError };
  `;
  writeFileSync(join(app, 'app.mts'), typed);
  writeFileSync(join(app, 'app.cts'), typed);
  // A deliberate mistake must be caught, or the check proves nothing.
  writeFileSync(join(app, 'wrong.mts'), `import { jwtBearerGrant } from 'express-jwt-bearer';\njwtBearerGrant({ issuer: 1 });\n`);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const failed = await nodeIn(app, [tsc, '-p', '.']).then(
    () => '',
    (err: { stdout: string }) => err.stdout,
  );
  const errors = failed.split('\n').filter((line) => line.includes('error TS'));
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.filter((line) => !line.startsWith('wrong.mts(2,'))).toEqual([]);
}, 120_000);
