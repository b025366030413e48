import { type Trace, type TraceDiff, diffTraces, formatDiff } from '@vdpa-kit/trace';

/** The JSON of `trace diff --json`. */
export interface TraceDiffResult extends TraceDiff {
  readonly a: string;
  readonly b: string;
}

/**
 * `trace diff A B`: aligns the driver-issued ops of two traces (`diffTraces`).
 *
 * @param a file name of the first trace, as given
 * @param b file name of the second trace
 * @example
 * const d = diffTraceFiles('a.jsonl', readTraceFile('a.jsonl'), 'b.jsonl', readTraceFile('b.jsonl'));
 */
export function diffTraceFiles(a: string, ta: Trace, b: string, tb: Trace): TraceDiffResult {
  return { a, b, ...diffTraces(ta, tb) };
}

/**
 * The text of `trace diff`: `--- A` / `+++ B` then the unified-diff-like lines of `formatDiff`, or
 * one line saying the traces are equivalent.
 *
 * @returns lines without newlines
 */
export function formatDiffResult(d: TraceDiffResult): string[] {
  if (d.equal) return [`traces ${d.a} and ${d.b} are equivalent (${d.entries.length} driver ops)`];
  const lines = formatDiff(d);
  // formatDiff names the sides `a` and `b`: name the files instead.
  const body = lines[0] === '--- a' && lines[1] === '+++ b' ? lines.slice(2) : lines;
  return [`--- ${d.a}`, `+++ ${d.b}`, ...body];
}
