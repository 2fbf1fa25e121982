/*
 * Suites that run the packages in a child process load them from dist/, as an application does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's root directory. */
export const ROOT = join(__dirname, '..', '..');

/** Fails early, with the remedy, when the packages were not built. */
export function requireBuiltPackages(names: readonly string[] = ['jwt-bearer-core', 'jwt-bearer-redis', 'express-jwt-bearer', 'koa-jwt-bearer']): void {
  for (const name of names) {
    if (!existsSync(join(ROOT, 'packages', name, 'dist', 'index.js'))) {
      throw new Error(`packages/${name}/dist is missing: run \`npx tsc -b\` first (npm test does)`);
    }
  }
}
