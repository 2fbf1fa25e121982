#!/usr/bin/env node
// Run before `npm test`: the jwt-bearer-redis suites start their own redis-server on 127.0.0.1.
// When it is missing on a Debian or Ubuntu machine and we are root, install Debian's package
// (redis-server, plus redis-sentinel and redis-tools for the Sentinel suites); otherwise say
// what to install, instead of letting the suites fail with `spawn redis-server ENOENT`.
'use strict';
const { spawnSync } = require('node:child_process');

const found = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

if (found('redis-server')) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && found('apt-get')) {
  console.log("redis-server is missing: installing Debian's redis-server (the Redis suites start their own on 127.0.0.1)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  if (run(['update', '-qq']) && run(['install', '-y', '-qq', '--no-install-recommends', 'redis-server', 'redis-sentinel', 'redis-tools'])) {
    process.exit(0);
  }
  console.error('apt-get could not install redis-server.');
  process.exit(1);
}

console.error(
  [
    'npm test needs redis-server on PATH: the jwt-bearer-redis suites start their own on 127.0.0.1.',
    'Install it, then run npm test again:',
    '  Debian/Ubuntu: sudo apt-get install redis-server redis-sentinel redis-tools',
    '  macOS:         brew install redis',
  ].join('\n'),
);
process.exit(1);
