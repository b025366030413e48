import Table from 'cli-table3';
import type { LoopbackBenchReport } from './loopback-bench.js';

const DIGITS = 3;

/**
 * The human-readable report of `bench loopback`: one row per run and the medians (`cli-table3`).
 * @returns text ending with a newline
 */
export function formatLoopbackReport(r: LoopbackBenchReport): string {
  const t = new Table({
    head: ['run', 'stack Mpps', 'reference Mpps', 'ratio', 'copy M/s'],
    style: { head: [], border: [] },
  });
  r.runs.forEach((run, i) => {
    t.push([
      String(i + 1),
      run.mpps.toFixed(DIGITS),
      run.referenceMpps.toFixed(DIGITS),
      (run.mpps / run.referenceMpps).toFixed(DIGITS),
      run.copyMops.toFixed(DIGITS),
    ]);
  });
  t.push([
    'median',
    r.mpps.toFixed(DIGITS),
    r.referenceMpps.toFixed(DIGITS),
    r.ratio.toFixed(DIGITS),
    r.copyMops.toFixed(DIGITS),
  ]);
  const goal = r.goal === undefined ? '' : ` (goal ${r.goal}: ${r.ratio >= r.goal ? 'met' : 'not met'})`;
  return `loopback ${r.size} B, ${r.packets} packets per run\n${t.toString()}\nratio ${r.ratio.toFixed(DIGITS)}${goal}, ${r.gbps.toFixed(DIGITS)} Gbit/s\n`;
}
