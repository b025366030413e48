import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    pool: 'threads',
    // Property tests run for seconds; on a loaded 2-core CI machine 5 s is too short. A hang guard, not a speed check.
    testTimeout: 30_000,
  },
});
