import type { VhostUserServerStatus } from '@vdpa-kit/transport-vhost';

/** Packet counters of a served device (the device's vendor statistics, summed per direction). */
export interface ServePackets {
  readonly rx: bigint;
  readonly tx: bigint;
}

/** One status record of a served device: what `--json` prints as a line. */
export interface ServeStatusRecord {
  readonly event: 'status';
  readonly device: string;
  readonly socket: string;
  readonly mode: 'listen' | 'client';
  readonly state: VhostUserServerStatus['state'];
  readonly connections: number;
  /** Acked virtio features, hex, or null while no front-end is connected. */
  readonly features: string | null;
  readonly protocolFeatures: string;
  readonly runningRings: readonly number[];
  readonly rxPackets: string;
  readonly txPackets: string;
  readonly lastClose: string | null;
}

/**
 * The JSON record of a server's status (bigints as hex or decimal strings).
 * @param status the server's status
 * @param packets the device's packet counters
 */
export function serveStatusRecord(status: VhostUserServerStatus, packets: ServePackets): ServeStatusRecord {
  return {
    event: 'status',
    device: status.device,
    socket: status.socket,
    mode: status.mode,
    state: status.state,
    connections: status.connections,
    features: status.features === null ? null : `0x${status.features.toString(16)}`,
    protocolFeatures: `0x${status.protocolFeatures.toString(16)}`,
    runningRings: status.runningRings,
    rxPackets: packets.rx.toString(),
    txPackets: packets.tx.toString(),
    lastClose: status.lastClose,
  };
}

/**
 * The one-line human form, e.g.
 * `vdpa0 /tmp/vdpa0.sock: connected, features 0x140000000, rings 0,1 running, rx 5 tx 5 packets`.
 */
export function formatServeStatus(record: ServeStatusRecord): string {
  const parts: string[] = [record.state];
  if (record.features !== null) parts.push(`features ${record.features}`);
  if (record.state === 'connected') {
    parts.push(
      record.runningRings.length === 0 ? 'no ring running' : `rings ${record.runningRings.join(',')} running`,
    );
  }
  parts.push(`rx ${record.rxPackets} tx ${record.txPackets} packets`);
  if (record.state !== 'connected' && record.lastClose !== null) parts.push(`last: ${record.lastClose}`);
  return `${record.device} ${record.socket}: ${parts.join(', ')}`;
}
