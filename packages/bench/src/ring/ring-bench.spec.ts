import { describe, expect, it, vi } from 'vitest';
import { BenchError } from '../errors.js';
import type { BenchLoop } from './bench-loop.js';
import { copyCeiling, createReferenceLoop, referenceLoop } from './reference-loop.js';
import { PayloadCheck, checkPayloads, fillPayloads } from './payload.js';
import { createPooledLoop } from './pooled-loop.js';
import { ringBenchMain as main } from './ring-bench.js';
import { createValidatedLoop } from './validated-loop.js';

const LOOPS: Record<string, (size: number) => BenchLoop> = {
  pooled: createPooledLoop,
  reference: createReferenceLoop,
  validated: createValidatedLoop,
};
/** The smallest packet of each loop: the product's device drops a frame without header and address. */
const MIN_SIZE: Record<string, number> = { pooled: 18, reference: 1, validated: 1 };

// The loops check their own data (the used lengths add up to every byte sent, and each RX buffer holds
// the frame of its TX buffer: payload.ts) and throw otherwise; these runs keep them working. Speed is
// the benchmark's business, not the tests'.
describe('ring benchmark loops', () => {
  for (const size of [1, 18, 64, 1500, 2048]) {
    it(`move ${size}-byte packets without losing data, slice after slice`, () => {
      for (const [name, create] of Object.entries(LOOPS)) {
        if (size < MIN_SIZE[name]) continue;
        const loop = create(size);
        // Slices that end mid-batch and mid-ring, then the check of the received frames.
        for (const n of [1, 100, 2999, 300]) {
          expect(loop.run(n)).toBeGreaterThan(0);
          loop.verify();
        }
      }
      expect(referenceLoop(size, 3000)).toBeGreaterThan(0);
      expect(copyCeiling(size, 100)).toBeGreaterThan(0);
    });
  }

  for (const [name, create] of Object.entries(LOOPS)) {
    it(`${name} loop: carries its ring indices across slices past the u16 wrap`, () => {
      const loop = create(64);
      // 70000 packets in uneven slices: every ring index wraps once, across slice boundaries.
      for (let done = 0; done < 70_000; done += 7_001) {
        loop.run(Math.min(7_001, 70_000 - done));
        loop.verify();
      }
    });
  }

  it('pooled loop: refuses a packet vdpasim_net would drop', () => {
    expect(() => createPooledLoop(17)).toThrow(BenchError);
  });

  it('payload check: accepts copied frames, names a byte that differs', () => {
    const u8 = new Uint8Array(4 * 64);
    fillPayloads(u8, 0, 64, 2, 60);
    u8.copyWithin(128, 0, 128);
    expect(() => checkPayloads('t', u8, 128, 64, 2, 60)).not.toThrow();
    u8[128 + 64 + 59] ^= 1;
    expect(() => checkPayloads('t', u8, 128, 64, 2, 60)).toThrow(
      /^t loop corrupted data: RX buffer 1 byte 59 /,
    );
    // Frames from the wrong TX buffers (swapped) are caught too.
    u8.copyWithin(128, 64, 128);
    expect(() => checkPayloads('t', u8, 128, 64, 2, 60)).toThrow(/RX buffer 0 byte 0 /);
  });

  it('payload check: numbers buffers from `first`, wrapping, and catches a frame not written since the poison', () => {
    const u8 = new Uint8Array(8 * 64);
    fillPayloads(u8, 0, 64, 4, 60);
    u8.copyWithin(256, 0, 256);
    const check = new PayloadCheck('t', 4, 60);
    // Packets 0..5 went to RX buffers 0, 1, 2, 3, 0, 1: all four hold their frames.
    check.moved(6);
    expect(() => check.checkAndPoison(u8, 256, 64)).not.toThrow();
    // The next two packets go to RX buffers 2 and 3; only buffer 2 is written again.
    u8.copyWithin(256 + 128, 128, 192);
    check.moved(2);
    expect(() => check.checkAndPoison(u8, 256, 64)).toThrow(/RX buffer 3 byte 0 is 165/);
    // A check of buffers 3, 0 (wrapping) after writing exactly those.
    u8.copyWithin(256 + 192, 192, 256);
    u8.copyWithin(256, 0, 64);
    expect(() => checkPayloads('t', u8, 256, 64, 2, 60, 3, 4)).not.toThrow();
    expect(() => checkPayloads('t', u8, 256, 64, 3, 60, 3, 4)).toThrow(/RX buffer 1 /);
  });

  it('prints one JSON line with the medians, the ratio, its per-run range and the goal', () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(main(['--size', '64', '--runs', '3', '--packets', '3000'])).toBe(0);
      expect(out.mock.calls).toHaveLength(1);
      const line = JSON.parse(String(out.mock.calls[0][0])) as Record<string, unknown>;
      expect(line).toMatchObject({ size: 64, goal: 0.6, runs: 3, packets: 3000 });
      const { mpps, referenceMpps, ratio, ratioRange, meetsGoal } = line;
      expect(typeof mpps === 'number' && typeof referenceMpps === 'number' && mpps > 0).toBe(true);
      expect(ratio).toBeCloseTo((mpps as number) / (referenceMpps as number), 2);
      expect(meetsGoal).toBe((ratio as number) >= 0.6);
      expect(Array.isArray(ratioRange) && ratioRange.length === 2).toBe(true);
      // Every run's ratio >= lo means median(vring) >= lo * median(reference), so the ratio of the
      // medians lies within the per-run range (rounding keeps the order).
      const [lo, hi] = ratioRange as number[];
      expect(lo > 0 && lo <= (ratio as number) && (ratio as number) <= hi).toBe(true);
    } finally {
      out.mockRestore();
    }
  });

  it('refuses bad arguments with exit code 2 and prints usage on --help', () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(main(['--runs', '0'])).toBe(2);
      expect(err.mock.calls[0][0]).toMatch(/^ring-bench: --runs 0 is not a positive integer/);
      expect(main(['--size', 'x'])).toBe(2);
      expect(main(['--size', '4096'])).toBe(2);
      expect(err.mock.calls[2][0]).toMatch(/--size 4096 is larger than the 2048-byte buffers/);
      expect(main(['--size', '17'])).toBe(2);
      expect(err.mock.calls[3][0]).toMatch(/--size 17 is smaller than 18 bytes \(vdpasim_net drops/);
      expect(main(['--help'])).toBe(0);
      expect(out.mock.calls[0][0]).toMatch(/^usage: ring-bench/);
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
  });
});
