import Table from 'cli-table3';
import type { RunReport } from './run-command.js';

const MPPS_DIGITS = 3;
const GBPS_DIGITS = 2;
const MS_DIGITS = 1;

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

/**
 * The human-readable report of `run`: a summary, a per-queue table of the driver's counters and
 * the device's vendor counters (tables drawn by `cli-table3`).
 *
 * @returns text ending with a newline
 */
export function formatRunReport(r: RunReport): string {
  const lines = [
    `device ${r.dev} on ${r.mgmtdev}: mac ${r.mac} mtu ${r.mtu} link ${r.linkUp ? 'up' : 'down'} queue pairs ${r.queuePairs}/${r.maxQueuePairs} features ${r.features}`,
    `frames ${r.size} B, burst ${r.burst}, rate ${r.rate === 0 ? 'unlimited' : `${r.rate} pps`}, work queue ${r.workQueue}`,
    `tx ${r.tx.packets} packets ${r.tx.bytes} bytes; rx ${r.rx.packets} packets ${r.rx.bytes} bytes (${r.rx.intact} intact)`,
    `lost ${r.lost} corrupt ${r.corrupt} out-of-order ${r.outOfOrder} drops ${r.drops} errors ${r.errors} backpressure ${r.backpressure}${r.stalled ? ' (stalled)' : ''}`,
    `${r.mpps.toFixed(MPPS_DIGITS)} Mpps ${r.gbps.toFixed(GBPS_DIGITS)} Gbit/s in ${r.durationMs.toFixed(MS_DIGITS)} ms`,
  ];
  const queues = table(['vq', 'kind', 'packets', 'bytes', 'errors', 'drops', 'kicks', 'interrupts']);
  for (const q of r.queues) {
    queues.push([q.queue, q.kind, q.packets, q.bytes, q.errors, q.drops, q.kicks, q.interrupts].map(String));
  }
  const names = [...new Set(Object.values(r.vendorStats).flatMap((s) => Object.keys(s)))];
  const vendor = table(['vq', 'vendor counter', 'value']);
  for (const [q, stats] of Object.entries(r.vendorStats)) {
    for (const name of names) if (name in stats) vendor.push([q, name, String(stats[name])]);
  }
  const parts = [...lines, 'driver queues:', queues.toString()];
  if (names.length > 0) parts.push('device vendor counters:', vendor.toString());
  parts.push(r.ok ? 'result: ok (every frame arrived intact)' : 'result: FAILED (frames lost or corrupt)');
  return `${parts.join('\n')}\n`;
}
