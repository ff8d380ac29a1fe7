import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Native addon and WASM heap are per process; forks keep suites isolated.
    pool: 'forks',
    // Memory tests collect garbage on demand (test/backend.test.ts).
    execArgv: ['--expose-gc'],
    reporters: ['default'],
  },
});
