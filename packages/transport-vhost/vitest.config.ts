import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    pool: 'forks',
    // A hang guard on a loaded 2-core CI machine, not a speed check.
    testTimeout: 30_000,
    // inversify decorators in tests need the reflect-metadata polyfill, loaded once per worker.
    setupFiles: ['./test/setup.ts'],
  },
});
