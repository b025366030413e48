/** Packet counters of one testpmd run, from its final "Forward statistics" block. */
export interface TestpmdStats {
  readonly rxPackets: number;
  readonly rxDropped: number;
  readonly txPackets: number;
  readonly txDropped: number;
  /** Per-stream counters ("Forward Stats for RX Port= 0/Queue= 1 -> …"), printed with several streams. */
  readonly streams: readonly TestpmdStream[];
  /** Every "Throughput (since last show)" sample printed with `--stats-period` (port 0 first). */
  readonly rxPps: readonly number[];
  readonly txPps: readonly number[];
}

/** One forwarding stream's counters: what arrived on an RX queue and went out on a TX queue. */
export interface TestpmdStream {
  readonly rxQueue: number;
  readonly txQueue: number;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly txDropped: number;
}

/** Removes terminal escapes and carriage returns (testpmd clears the screen around periodic stats). */
export function stripTerminal(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r/g, '');
}

function counter(block: string, name: string): number | undefined {
  const value = block.match(new RegExp(`${name}:\\s*(\\d+)`))?.[1];
  return value === undefined ? undefined : Number(value);
}

/**
 * Parses testpmd's output: the final forward statistics (the "Accumulated forward statistics for
 * all ports" block when testpmd printed one, otherwise the sum of the per-port blocks) and the
 * periodic Rx-pps/Tx-pps samples.
 * @returns undefined when the output holds no forward statistics (testpmd did not start forwarding,
 *   or was killed before it printed them)
 */
export function parseTestpmdOutput(output: string): TestpmdStats | undefined {
  const text = stripTerminal(output);
  const accumulated = text.match(/Accumulated forward statistics for all ports\+*\n([\s\S]*?)\+{10,}/);
  const blocks = accumulated
    ? [accumulated[1] ?? '']
    : [...text.matchAll(/Forward statistics for port \d+\s*-+\n([\s\S]*?)-{10,}/g)].map((m) => m[1] ?? '');
  if (blocks.length === 0) return undefined;
  const sum = (name: string): number =>
    blocks.reduce((total, block) => total + (counter(block, name) ?? 0), 0);
  const samples = (name: string): number[] =>
    [...text.matchAll(new RegExp(`${name}:\\s*(\\d+)`, 'g'))].map((m) => Number(m[1]));
  const streams = [
    ...text.matchAll(
      /Forward Stats for RX Port=\s*\d+\/Queue=\s*(\d+) -> TX Port=\s*\d+\/Queue=\s*(\d+)[ -]*\n([^\n]*)/g,
    ),
  ].map((m) => ({
    rxQueue: Number(m[1]),
    txQueue: Number(m[2]),
    rxPackets: counter(m[3] ?? '', 'RX-packets') ?? 0,
    txPackets: counter(m[3] ?? '', 'TX-packets') ?? 0,
    txDropped: counter(m[3] ?? '', 'TX-dropped') ?? 0,
  }));
  return {
    rxPackets: sum('RX-packets'),
    rxDropped: sum('RX-dropped'),
    txPackets: sum('TX-packets'),
    txDropped: sum('TX-dropped'),
    streams,
    rxPps: samples('Rx-pps'),
    txPps: samples('Tx-pps'),
  };
}

/** What the peer-test guest's /init printed (scripts/peers/install.sh writes it). */
export interface GuestReport {
  /** eth0's statistics counters from the `VU-STATS:` line (rx_packets, tx_packets, rx_bytes, …). */
  readonly stats: Readonly<Record<string, number>> | undefined;
  /** The driver bound to eth0 (`virtio_net`), from `VU-INIT: eth0 driver=…`. */
  readonly driver: string | undefined;
  /** eth0's operstate after `ip link set eth0 up`. */
  readonly link: string | undefined;
  /** Guest uptime in seconds when /init finished, from `VU-DONE:`. */
  readonly doneUptime: number | undefined;
  /** Every `VU-ERROR:` line. */
  readonly errors: readonly string[];
}

function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) out[m[1] ?? ''] = m[2] ?? '';
  return out;
}

/**
 * Parses the guest's serial console: the `VU-` lines /init prints.
 * @param output QEMU's stdout (the guest console with `-nographic`)
 */
export function parseGuestConsole(output: string): GuestReport {
  const lines = stripTerminal(output).split('\n');
  const find = (prefix: string): string | undefined => lines.find((l) => l.startsWith(prefix));
  const statsLine = find('VU-STATS:');
  let stats: Record<string, number> | undefined;
  if (statsLine !== undefined) {
    stats = {};
    for (const [key, value] of Object.entries(fields(statsLine))) {
      if (/^\d+$/.test(value)) stats[key] = Number(value);
    }
  }
  const driverLine = find('VU-INIT: eth0 ');
  const linkLine = find('VU-INIT: link ');
  const doneLine = find('VU-DONE:');
  const uptime = doneLine === undefined ? undefined : Number(fields(doneLine)['uptime']);
  return {
    stats,
    driver: driverLine === undefined ? undefined : fields(driverLine)['driver'],
    link: linkLine?.match(/^VU-INIT: link (\S+)/)?.[1],
    doneUptime: uptime === undefined || Number.isNaN(uptime) ? undefined : uptime,
    errors: lines.filter((l) => l.startsWith('VU-ERROR:')),
  };
}
