// ESLint (flat config): the recommended JavaScript and TypeScript rules everywhere, and on
// TypeScript the type-aware rules that guard promises. Express 4 does not catch a rejected
// promise of a handler, so a floating or misused promise in middleware is a hung or crashed
// request (no-floating-promises, no-misused-promises). Formatting is Prettier's, not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: ['**/node_modules/', '**/dist/', 'coverage/', 'bench/.exp/', 'bench/.baseline/', 'bench/profiles/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `const crypto = require('node:crypto')` is the explicit form of Node's global, not a clash.
      'no-redeclare': ['error', { builtinGlobals: false }],
      // Express knows an error handler by its four parameters: `_next` must be declared, unused.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The compiler reports a redeclared name in TypeScript; the JavaScript rule mistakes an
      // overloaded function's signatures for redeclarations.
      'no-redeclare': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'packages/*/test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest } },
  },
  {
    files: ['**/*.cjs', 'bench/**/*.js', 'test/**/*.js', 'scripts/**/*.js', 'packages/*/bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
