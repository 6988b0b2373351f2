// ESLint (flat config): typescript-eslint's recommended rules on every TypeScript and JavaScript
// file, plus the few typed rules that catch real bugs in this codebase (a promise nobody awaits
// loses its error; an async function handed to a callback that ignores its promise does too).
// Typed rules use the project service, which costs one TypeScript program for the whole tree:
// `npm run lint` stays well under a minute.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.wrangler/',
      'worker-configuration.d.ts',
      'wasm-runner/dist/',
      'wasm-runner/build/',
      'wasm-runner/third_party/',
      'bench/results/',
      'dashboard/dist/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `_name` marks an argument or binding kept for its position or its documentation.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // The Worker's modules meet the Durable Objects through src/protocol (the RPC and wire types),
    // src/core (pure helpers) and the stubs of src/api/stubs.ts, never through the classes' files:
    // otherwise an object's internals leak into the API's types (issue 14). src/index.ts exports
    // the classes for the runtime and src/env.ts names them for the bindings' types.
    files: ['src/**'],
    ignores: ['src/index.ts', 'src/env.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)durable-objects(/|$)',
              message:
                'src/ imports nothing from durable-objects/: the type belongs in src/protocol, ' +
                'the pure helper in src/core, the stub in src/api/stubs.ts',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests and benchmarks read JSON answers whose shape is what the assertion checks; `any` there
    // saves a cast per field and hides nothing the assertion would not catch.
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // Node's globals everywhere but in the browser code of the dashboard and the API reference
  // (dashboard/src, checked with DOM types and no Node ones by dashboard/tsconfig.json).
  { ignores: ['dashboard/src/**'], languageOptions: { globals: { ...globals.node } } },
  { files: ['dashboard/src/**'], languageOptions: { globals: { ...globals.browser } } },
  {
    // An Emscripten JS library: emcc evaluates it with these in scope.
    files: ['wasm-runner/src/*.js'],
    languageOptions: { globals: { mergeInto: 'readonly', LibraryManager: 'readonly' } },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
);
