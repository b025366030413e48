import Table from 'cli-table3';
import type { TraceBenchReport } from './trace-bench.js';

const DIGITS = 3;
const PER_KILO = 1000;

function k(value: number): string {
  return (value / PER_KILO).toFixed(1);
}

function verdict(ratio: number, goal: number): string {
  return `${ratio.toFixed(DIGITS)} (goal ${goal}: ${ratio >= goal ? 'met' : 'not met'})`;
}

/**
 * The human-readable report of `bench trace`: one row per run (thousands per second) and the medians,
 * then the two ratios against their goals (`cli-table3`).
 *
 * @returns text ending with a newline
 */
export function formatTraceBenchReport(r: TraceBenchReport): string {
  const t = new Table({
    head: ['run', 'record kops/s', 'write ceiling', 'replay kev/s', 'read ceiling'],
    style: { head: [], border: [] },
  });
  r.runs.forEach((run, i) => {
    t.push([
      String(i + 1),
      k(run.recordOpsPerSec),
      k(run.recordCeiling),
      k(run.replayEventsPerSec),
      k(run.replayCeiling),
    ]);
  });
  t.push(['median', k(r.recordOpsPerSec), k(r.recordCeiling), k(r.replayEventsPerSec), k(r.replayCeiling)]);
  return [
    `trace bench: ${r.ops} config ops recorded per run, ${r.events} events replayed (verify) per run`,
    t.toString(),
    `record ratio ${verdict(r.recordRatio, r.goals.record)}`,
    `replay ratio ${verdict(r.replayRatio, r.goals.replay)}`,
    '',
  ].join('\n');
}
