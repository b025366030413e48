import { describe, expect, it } from 'vitest';
import { BenchError } from '../errors.js';
import { benchTrace } from './trace-bench.js';
import { formatTraceBenchReport } from './trace-bench-report.js';

describe('benchTrace', () => {
  it('records and replays on a fresh vdpasim_net, against the ceilings of the same runs', () => {
    const r = benchTrace({ ops: 500, runs: 2 });
    expect(r.ops).toBe(500);
    expect(r.runs).toHaveLength(2);
    // Every op is a call and a return record, plus the device's bring-up and teardown.
    expect(r.events).toBeGreaterThan(2 * 500);
    expect(r.recordRatio).toBeCloseTo(r.recordOpsPerSec / r.recordCeiling, 9);
    expect(r.replayRatio).toBeCloseTo(r.replayEventsPerSec / r.replayCeiling, 9);
    expect(r.goals).toEqual({ record: 0.25, replay: 0.5 });
    expect(formatTraceBenchReport(r)).toMatch(/^trace bench: 500 config ops recorded per run/);
  });

  it('refuses bad parameters', () => {
    expect(() => benchTrace({ ops: 0, runs: 1 })).toThrow(BenchError);
    expect(() => benchTrace({ ops: 10, runs: 0 })).toThrow('--runs 0 is not a positive integer');
  });
});
