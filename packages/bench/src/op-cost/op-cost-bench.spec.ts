import { describe, expect, it } from 'vitest';
import { BenchError } from '../errors.js';
import { benchOpCost } from './op-cost-bench.js';
import { formatOpCostReport } from './op-cost-report.js';

describe('benchOpCost', () => {
  it('times every path and derives the two ratios from the medians', () => {
    const r = benchOpCost({ runs: 3, fastIterations: 2000, eventIterations: 500 });
    for (const v of Object.values(r)) expect(v).toBeGreaterThan(0);
    // Rounded to hundredths, from unrounded figures: within one rounding step of the printed ones.
    expect(r.overheadRatio).toBeCloseTo(r.handleNsPerOp / r.directNsPerOp, 0);
    expect(r.ratioToCeiling).toBeCloseTo(r.subscribedNsPerOp / (2 * r.subjectNextNs), 0);
    expect(formatOpCostReport(r)).toMatch(/ratio to ceiling [\d.]+ \(subscribed \/ 2 Subject\.next\)\n$/);
  });

  it('refuses a bad count', () => {
    expect(() => benchOpCost({ runs: 0 })).toThrow(BenchError);
    expect(() => benchOpCost({ eventIterations: 1.5 })).toThrow(
      'eventIterations 1.5 is not a positive integer',
    );
  });
});
