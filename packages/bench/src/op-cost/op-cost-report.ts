import Table from 'cli-table3';
import type { OpCostBenchReport } from './op-cost-bench.js';

/**
 * The human-readable report of `bench op-cost`: ns per `kickVq` on each path and the two ratios.
 * @returns text ending with a newline
 */
export function formatOpCostReport(r: OpCostBenchReport): string {
  const t = new Table({ head: ['kickVq', 'ns per op'], style: { head: [], border: [] } });
  t.push(
    ['on the device object', String(r.directNsPerOp)],
    ['through a handle, no subscriber', String(r.handleNsPerOp)],
    ['one events$ subscriber', String(r.subscribedNsPerOp)],
    ['subscriber and an interceptor', String(r.interceptedNsPerOp)],
    ['ceiling: one Subject.next', String(r.subjectNextNs)],
  );
  return `${t.toString()}\noverhead ratio ${r.overheadRatio} (handle / direct), ratio to ceiling ${r.ratioToCeiling} (subscribed / 2 Subject.next)\n`;
}
