'use strict';
/*
 * Runs the CLI from its TypeScript sources (and jwt-bearer-core's, when they sit beside it in the
 * repository), transpiled on the fly by ts-node. For a checkout that was not built yet, and for
 * the CLI's tests, which must run the current sources rather than a possibly stale build.
 */
const { existsSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');

let tsNode;
try {
  tsNode = require('ts-node');
} catch {
  process.stderr.write('jwt-bearer: the CLI is not built. Run `npm run build` at the repository root (or `npx tsc -b packages/jwt-bearer-cli`).\n');
  process.exit(2);
}
tsNode.register({ transpileOnly: true, project: join(__dirname, '..', 'tsconfig.json') });

const coreSource = join(__dirname, '..', '..', 'jwt-bearer-core', 'src', 'index.ts');
if (existsSync(coreSource)) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === 'jwt-bearer-core' ? coreSource : resolve.call(this, request, ...rest);
  };
}
require('../src/cli.ts').main();
