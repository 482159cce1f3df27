import { defineConfig } from 'vitest/config';

// Integration tests spawn real git and the built CLI: give them room on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Minimal environment, own HOME and TMPDIR per test file, all removed afterwards.
    setupFiles: ['test/setup/env.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
