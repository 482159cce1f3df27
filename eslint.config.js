// The linter for the whole tree, and the layer rules of the layout (README "Project layout"):
// src/core and src/render are pure (no node:*, no process, no clock, no I/O library, nothing from the
// layers above them), and no module imports itself back through a cycle anywhere.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// What a pure module may not reach: Node's built-ins, libraries that do I/O, and the impure layers.
const IMPURE_IMPORTS = {
  patterns: [
    { group: ['node:*'], message: 'core and render are pure: no node:* modules (do the I/O in src/adapters).' },
    // Types only (render/completion walks the commander program it is given).
    { group: ['execa', 'pino', 'p-queue', 'commander'], message: 'core and render are pure: no I/O or process library.', allowTypeImports: true },
    {
      group: ['**/adapters/**', '**/sweep/**', '**/cli/**', '**/demo/**'],
      message: 'core and render may not import adapters, orchestration (sweep) or the CLI: dependencies point inward.',
    },
  ],
};
// Bare built-in names (`fs`, `child_process`) are caught too, not only the node: spelling.
const BUILTINS = ['fs', 'fs/promises', 'path', 'os', 'child_process', 'http', 'https', 'net', 'crypto', 'url', 'util', 'stream', 'events', 'process', 'timers'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench-out/', 'nix/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', Buffer: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', fetch: 'readonly' } },
    plugins: { 'import-x': importX },
    settings: {
      // The dependency graph is read from the .ts sources (imports say .js, as NodeNext wants).
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.test.json' })],
    },
    rules: {
      // No import cycles anywhere: a cycle is a layer that points the wrong way.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // House style: `_name` marks a deliberately unused binding (destructuring to drop a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tuned for tests: JSON documents read back from the CLI are `any` by nature, and the progress tests
    // match terminal escape sequences.
    files: ['test/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off' },
  },
  {
    // core is the bottom layer: not even render (text) is below it.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/render/**'], message: 'core is the bottom layer: render depends on core, not the other way.' }] }],
    },
  },
  {
    // Every timer goes through src/adapters/timers.ts, which clamps the delay: a delay above 2^31-1 ms
    // would fire after 1 ms (a poll in a tight loop, a timeout at once).
    files: ['src/**/*.ts'],
    ignores: ['src/adapters/timers.ts'],
    rules: {
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'use later() or sleep() from src/adapters/timers.ts (it clamps the delay).' },
        { name: 'setInterval', message: 'use every() from src/adapters/timers.ts (it clamps the period).' }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/render/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: BUILTINS.map((name) => ({ name, message: 'core and render are pure: no Node built-ins.' })), ...IMPURE_IMPORTS }],
      'no-restricted-globals': ['error', { name: 'process', message: 'core and render are pure: take env and argv as arguments.' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'core and render are pure: take the time as an argument.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core and render are pure: take the time as an argument.' },
      ],
    },
  },
  {
    // Adapters and orchestration take env, argv, cwd and the clock from the caller (the context built by src/cli, the one
    // entry that reads them): a default read of process.env here would let a test's or the demo's env leak.
    // Other process members stay allowed: process.pid (lock owner, temp-file names), process.kill (signal a
    // process group), process.once('exit') (kill live git groups), process.stderr (the logger's default sink).
    files: ['src/adapters/**/*.ts', 'src/sweep/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'adapters and orchestration take env from the caller (ctx.env); only src/cli reads process.env.' },
        { object: 'process', property: 'argv', message: 'adapters and orchestration take the command line from the caller; only src/cli reads process.argv.' },
        { object: 'process', property: 'cwd', message: 'adapters and orchestration take cwd from the caller; only src/cli reads process.cwd().' },
      ],
      // The time of day comes from the caller's clock (ctx.now); a wait or grace period that is never recorded
      // uses the monotonic performance.now().
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'adapters and orchestration take the clock from the caller (ctx.now), or performance.now() for a wait.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'adapters and orchestration take the clock from the caller (ctx.now), or performance.now() for a wait.' },
      ],
    },
  },
);
