import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    // The real-peer tests need DPDK and QEMU: their own config and script (`test:peers`, docs/peers.md).
    exclude: [...configDefaults.exclude, 'test/peers/**/*.peer.spec.ts'],
    pool: 'threads',
    // inversify decorators need the reflect-metadata polyfill, loaded once per worker.
    setupFiles: ['./test/setup.ts'],
    // The end-to-end tests run the built binary: compile it first.
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
  },
});
