import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    pool: 'threads',
    // The loops run for seconds on a loaded 2-core CI machine. A hang guard, not a speed check.
    testTimeout: 60_000,
    // inversify decorators need the reflect-metadata polyfill, loaded once per worker.
    setupFiles: ['./test/setup.ts'],
  },
});
