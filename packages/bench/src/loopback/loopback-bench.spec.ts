import { describe, expect, it } from 'vitest';
import { BenchError } from '../errors.js';
import type { ReferenceCeilings } from './ceilings.js';
import { benchLoopback, loopbackOnce } from './loopback-bench.js';

describe('benchLoopback', () => {
  const fixed: ReferenceCeilings = { referenceLoop: () => 10e6, copyCeiling: () => 20e6 };

  it('reports the stack against the ceilings of the same runs', () => {
    const report = benchLoopback({ size: 64, packets: 2000, runs: 3 }, fixed);
    expect(report.runs).toHaveLength(3);
    expect(report.referenceMpps).toBe(10);
    expect(report.copyMops).toBe(20);
    expect(report.mpps).toBeGreaterThan(0);
    expect(report.ratio).toBeCloseTo(report.mpps / 10, 9);
    expect(report.goal).toBe(0.35);
    expect(benchLoopback({ size: 1500, packets: 500, runs: 1 }, fixed).goal).toBe(0.5);
  });

  it('moves every packet through the stack', () => {
    expect(loopbackOnce(1500, 1000)).toBeGreaterThan(0);
  });

  it('refuses bad parameters', () => {
    expect(() => benchLoopback({ size: 64, packets: 0, runs: 1 }, fixed)).toThrow(BenchError);
    expect(() => benchLoopback({ size: 64, packets: 10, runs: 0 }, fixed)).toThrow('--runs 0');
    expect(() => benchLoopback({ size: 10, packets: 10, runs: 1 }, fixed)).toThrow('frame size 10');
  });

  it('runs every size the stack carries and refuses a larger one with a BenchError naming it', () => {
    expect(loopbackOnce(1514, 100)).toBeGreaterThan(0);
    // vdpasim_net's default MTU carries 1514-byte frames, and the reference loop's buffers are 2048
    // bytes: above that it wrote past them.
    for (const size of [1515, 2048, 2049, 9018]) {
      let caught: unknown;
      try {
        benchLoopback({ size, packets: 10, runs: 1 });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(BenchError);
      expect((caught as BenchError).message).toBe(`frame size ${size} is not an integer in 60..1514`);
    }
  });
});
