import type { Config } from 'jest';

// jwks-rsa 4 loads jose 6, and the interop suites load openid-client 6 and oauth4webapi 3: all
// ESM-only. Jest on Node 20 cannot require ES modules, so ts-jest (with allowJs) transpiles
// those packages (and oidc-provider 9, also ESM-only) to CommonJS along with our TypeScript.
const ESM_PACKAGES = ['jose', 'openid-client', 'oauth4webapi', 'oidc-provider'];

const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.jest.json' }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  // Tests run against the sources, so `npm test` does not depend on a previous build's output.
  moduleNameMapper: {
    '^jwt-bearer-core$': '<rootDir>/../jwt-bearer-core/src/index.ts',
    '^jwt-bearer-redis$': '<rootDir>/../jwt-bearer-redis/src/index.ts',
    '^express-jwt-bearer$': '<rootDir>/../express-jwt-bearer/src/index.ts',
    '^koa-jwt-bearer$': '<rootDir>/../koa-jwt-bearer/src/index.ts',
    '^jwt-bearer-cli$': '<rootDir>/../jwt-bearer-cli/src/cli.ts',
    '^jwt-bearer-oauth2-server$': '<rootDir>/../jwt-bearer-oauth2-server/src/index.ts',
  },
} satisfies Config;

const pkg = (name: string): Config => ({
  ...shared,
  displayName: name,
  rootDir: `packages/${name}`,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
});

const config: Config = {
  projects: [
    pkg('jwt-bearer-core'),
    pkg('express-jwt-bearer'),
    pkg('koa-jwt-bearer'),
    pkg('jwt-bearer-redis'),
    pkg('jwt-bearer-cli'),
    pkg('jwt-bearer-oauth2-server'),
    {
      ...shared,
      displayName: 'cross-package',
      // The repository root, not test/: coverage is collected from files under the project's root
      // directory, so with test/ as root these suites counted for no package's coverage.
      rootDir: '.',
      roots: ['<rootDir>/test'],
      transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
      moduleNameMapper: Object.fromEntries(Object.entries(shared.moduleNameMapper).map(([k, v]) => [k, v.replace('<rootDir>/..', '<rootDir>/packages')])),
      testMatch: ['<rootDir>/test/**/*.test.ts'],
    },
  ],
  // Coverage by default (the README's test command); JEST_COVERAGE=0 skips it, as CI does on all
  // but one Node.js line.
  collectCoverage: process.env.JEST_COVERAGE !== '0',
  collectCoverageFrom: ['<rootDir>/packages/*/src/**/*.ts'],
  coverageReporters: ['text-summary', 'text'],
  coverageThreshold: {
    global: {},
    './packages/jwt-bearer-core/src/': { lines: 95 },
  },
};

export default config;
