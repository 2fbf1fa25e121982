#!/usr/bin/env node
// Run before `npm test` (and by .ci/run): some suites drive programs that npm does not install.
// The jwt-bearer-redis suites start their own redis-server, replicas and Sentinels on 127.0.0.1;
// the TLS suites make certificates with openssl; interop suites run Debian's Python, Ruby and Go
// client libraries as child processes. When one is missing on a Debian or Ubuntu machine and we
// are root, install Debian's packages; otherwise say what to install, instead of letting the
// suites fail with `spawn redis-server ENOENT` or an ImportError.
'use strict';
const { spawnSync } = require('node:child_process');

/** What the suites need: a shell check, and the Debian packages that satisfy it. */
const NEEDS = [
  { what: 'redis-server', check: 'command -v redis-server', packages: ['redis-server'] },
  { what: 'redis-sentinel', check: 'command -v redis-sentinel', packages: ['redis-sentinel'] },
  { what: 'redis-cli', check: 'command -v redis-cli', packages: ['redis-tools'] },
  { what: 'openssl', check: 'command -v openssl', packages: ['openssl'] },
  { what: "Python's Authlib and requests", check: "/usr/bin/python3 -c 'import authlib, requests'", packages: ['python3-authlib', 'python3-requests'] },
  { what: "Python's MSAL", check: "/usr/bin/python3 -c 'import msal'", packages: ['python3-msal'] },
  { what: "Ruby's rack-oauth2", check: '/usr/bin/ruby -e \'require "rack/oauth2"\'', packages: ['ruby', 'ruby-rack-oauth2'] },
  {
    what: 'Go and golang.org/x/oauth2',
    check: 'test -x /usr/bin/go && test -d /usr/share/gocode/src/golang.org/x/oauth2/jwt',
    packages: ['golang-go', 'golang-golang-x-oauth2-dev'],
  },
];

const ok = (check) => spawnSync('sh', ['-c', `${check} >/dev/null 2>&1`], { stdio: 'ignore' }).status === 0;
const missing = NEEDS.filter((n) => !ok(n.check));
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.flatMap((n) => n.packages))];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && ok('command -v apt-get')) {
  console.log(`Missing for the test suites: ${missing.map((n) => n.what).join(', ')}. Installing Debian's ${packages.join(', ')}.`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  if (run(['update', '-qq']) && run(['install', '-y', '-qq', '--no-install-recommends', ...packages])) {
    const still = NEEDS.filter((n) => !ok(n.check));
    if (still.length === 0) process.exit(0);
    console.error(`Still missing after apt-get: ${still.map((n) => n.what).join(', ')}.`);
    process.exit(1);
  }
  console.error(`apt-get could not install ${packages.join(', ')}.`);
  process.exit(1);
}

console.error(
  [
    `npm test needs ${missing.map((n) => n.what).join(', ')}: some suites run them on 127.0.0.1 or as child processes.`,
    'Install them, then run npm test again:',
    `  Debian/Ubuntu: sudo apt-get install ${packages.join(' ')}`,
  ].join('\n'),
);
process.exit(1);
