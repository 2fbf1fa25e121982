#!/usr/bin/env node
'use strict';
/*
 * The `jwt-bearer` command. Runs the compiled CLI (dist/). In a checkout of the repository where
 * nothing is built yet (right after `npm ci`), it runs the TypeScript sources through ts-node, a
 * development dependency of the repository; an installed package always has dist/.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const dist = join(__dirname, '..', 'dist', 'cli.js');
if (existsSync(dist) && process.env.JWT_BEARER_CLI_FROM_SOURCE !== '1') {
  require(dist).main();
} else {
  require('./from-source.js');
}
