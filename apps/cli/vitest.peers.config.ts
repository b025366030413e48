import { defineConfig } from 'vitest/config';

// The real-peer tests (test/peers/*.peer.spec.ts, docs/peers.md): DPDK testpmd and a QEMU guest
// against DPDK's own vhost back-end (the anchor) and against `vdpa-kit serve`. One file at a time,
// one test at a time: each run pins its two peers to the machine's two CPUs.
export default defineConfig({
  test: {
    include: ['test/peers/**/*.peer.spec.ts'],
    pool: 'forks',
    fileParallelism: false,
    setupFiles: ['./test/setup.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 900_000,
  },
});
