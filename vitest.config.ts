import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Native addon and WASM heap are per process; forks keep suites isolated.
    pool: 'forks',
    reporters: ['default'],
  },
});
