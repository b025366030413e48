import Table from 'cli-table3';
import type { RingBenchReport } from './ring-bench.js';

const DIGITS = 3;

/**
 * The human-readable report of `bench ring`: one row per size (medians), with the goal of each.
 * @returns text ending with a newline
 */
export function formatRingReport(reports: readonly RingBenchReport[]): string {
  const t = new Table({
    head: ['size', 'vring Mpps', 'reference Mpps', 'ratio', 'per-run range', 'validated', 'copy M/s', 'goal'],
    style: { head: [], border: [] },
  });
  for (const r of reports) {
    t.push([
      `${r.size} B`,
      r.mpps.toFixed(DIGITS),
      r.referenceMpps.toFixed(DIGITS),
      r.ratio.toFixed(DIGITS),
      `${r.ratioRange[0].toFixed(DIGITS)}..${r.ratioRange[1].toFixed(DIGITS)}`,
      r.validatedRatio.toFixed(DIGITS),
      r.copyMops.toFixed(DIGITS),
      `${r.goal} ${r.meetsGoal ? 'met' : 'not met'}`,
    ]);
  }
  const first = reports[0];
  const runs = first === undefined ? '' : `, medians of ${first.runs} runs of ${first.packets} packets`;
  return `ring benchmark${runs}\n${t.toString()}\n`;
}
