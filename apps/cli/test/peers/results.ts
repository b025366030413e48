import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PEERS_REPO_ROOT } from './peer-env.js';
import { type TestpmdResult } from './testpmd.js';

/**
 * Records one measured peer run: a `PEER-RESULT {json}` line on stdout and a line in
 * reports/peers.jsonl (the figures docs/peers.md quotes: pps of each run, guest counters, times).
 * @param name the run, e.g. `anchor testpmd io loop queues=1`
 * @param figures what was measured
 */
export function recordPeerResult(name: string, figures: Readonly<Record<string, unknown>>): void {
  const line = JSON.stringify({ name, at: new Date().toISOString(), ...figures });
  console.log(`PEER-RESULT ${line}`);
  const dir = join(PEERS_REPO_ROOT, 'reports');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'peers.jsonl'), `${line}\n`);
}

/** The figures worth keeping from one side of a run. */
export function figures(r: TestpmdResult): Record<string, number> {
  return {
    rxPackets: r.rxPackets,
    txPackets: r.txPackets,
    txDropped: r.txDropped,
    seconds: Number(r.seconds.toFixed(2)),
    medianRxPps: r.medianRxPps,
    bestRxPps: r.bestRxPps,
    bestTxPps: r.bestTxPps,
  };
}
