import { defineConfig } from 'vitest/config';

// Forks, not threads: the leak tests count /proc/self/fd, which threads running other files would share.
export default defineConfig({
  test: { include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'], pool: 'forks' },
});
