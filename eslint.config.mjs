// Lint: typescript-eslint's type-checked recommended rules over every TypeScript tree the
// typecheck covers, through the same tsconfig files (lint and tsc see the same program).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = {
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  process: 'readonly',
  __dirname: 'readonly',
  console: 'readonly',
  URL: 'readonly',
  setTimeout: 'readonly',
  Buffer: 'readonly',
  URLSearchParams: 'readonly',
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.credman/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json', './client/tsconfig.json', './samples/durable-github/tsconfig.json', './console/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Named here because they are the point of the type-checked lint (both are in the base set).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `async` without `await` is deliberate: implementations of Promise-returning interfaces
      // (stores, fakes, handlers) turn a synchronous throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // `_`-prefixed parameters and caught errors are the codebase's "deliberately unused".
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `let x: T | undefined` read by a closure before its one assignment is late binding, not a missed const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // durable-functions' OrchestrationRuntimeStatus is a string enum, compared with the wire strings
      // ('Running', …) that the Durable HTTP API and our local stand-in speak.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read HTTP/JSON bodies as `any` on purpose and assert them field by field with expect().
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { project: false, projectService: false },
      globals: nodeGlobals,
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    // CommonJS files (jest config, globalSetup) have no other way to import.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
