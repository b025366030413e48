import { rmSync } from 'node:fs';
import { PeerProcess } from './peer-process.js';
import { parseTestpmdOutput, type TestpmdStats } from './parse.js';

/** One dpdk-testpmd run (DPDK 22.11 options; docs/peers.md has the command lines). */
export interface TestpmdOptions {
  /** A short label: names the EAL `--file-prefix`, so that several testpmd can run at once. */
  readonly name: string;
  /** The CPU both lcores (main and the one forwarding core) are pinned to: `--lcores '0@C,1@C'`. */
  readonly cpu: number;
  /** The one virtual device, e.g. `net_virtio_user0,path=/tmp/x.sock,queues=2` or `net_vhost0,iface=…`. */
  readonly vdev: string;
  /** `--forward-mode` (io, macswap, txonly, rxonly, …). */
  readonly forwardMode: string;
  /** `--tx-first`: send one burst per stream at start (what keeps an `io` loop going). */
  readonly txFirst?: boolean;
  /** RX and TX queues of the port (`--rxq`/`--txq`); match the vdev's `queues=`. Default 1. */
  readonly queues?: number;
  /** EAL `-m` (MiB, no hugepages). Default 512. */
  readonly memoryMb?: number;
  /** `--total-num-mbufs`: the default pool does not fit `-m 512` without hugepages. Default 32768. */
  readonly mbufs?: number;
  /** `--burst`. Default 32. */
  readonly burst?: number;
  /** `--txpkts` (frame length for txonly). Default 64. */
  readonly frameBytes?: number;
  /** Ring sizes `--rxd`/`--txd`. Default 1024. */
  readonly ringSize?: number;
  /** More testpmd application options (after `--`), e.g. `--eth-peer=0,ff:ff:ff:ff:ff:ff`. */
  readonly extraArgs?: readonly string[];
  /** Hard bound on the process (coreutils timeout). Default 120 s. */
  readonly boundSeconds?: number;
}

/** What one testpmd run counted. */
export interface TestpmdResult extends TestpmdStats {
  /** Seconds from "packet forwarding" starting to the stop. */
  readonly seconds: number;
  /** The median of the non-zero Rx-pps samples (steady state). */
  readonly medianRxPps: number;
  /** The best `--stats-period 1` sample of Rx-pps (the reference's "best window"). */
  readonly bestRxPps: number;
  readonly bestTxPps: number;
  readonly exitCode: number | null;
}

let runs = 0;

/**
 * A running dpdk-testpmd: started in auto-start mode with periodic statistics; {@link stop} sends
 * SIGTERM, on which testpmd prints its final forward statistics and exits.
 */
export class Testpmd {
  /** The underlying process (output, waitFor). */
  readonly process: PeerProcess;
  private readonly filePrefix: string;
  private forwardingSince: number | undefined;

  /**
   * Starts testpmd.
   * @param binary path of dpdk-testpmd (the install manifest's `testpmd`)
   * @param options the run
   */
  constructor(
    binary: string,
    readonly options: TestpmdOptions,
  ) {
    this.filePrefix = `vdpakit-${process.pid}-${++runs}-${options.name}`;
    const queues = options.queues ?? 1;
    const ring = options.ringSize ?? 1024;
    const args = [
      `--lcores=0@${options.cpu},1@${options.cpu}`,
      '--no-huge',
      '-m',
      String(options.memoryMb ?? 512),
      '--no-pci',
      `--file-prefix=${this.filePrefix}`,
      '--vdev',
      options.vdev,
      '--',
      `--forward-mode=${options.forwardMode}`,
      ...(options.txFirst === true ? ['--tx-first'] : []),
      `--rxq=${queues}`,
      `--txq=${queues}`,
      '--nb-cores=1',
      '--auto-start',
      '--stats-period=1',
      `--rxd=${ring}`,
      `--txd=${ring}`,
      `--total-num-mbufs=${options.mbufs ?? 32768}`,
      `--burst=${options.burst ?? 32}`,
      `--txpkts=${options.frameBytes ?? 64}`,
      ...(options.extraArgs ?? []),
    ];
    // testpmd's stdout is block-buffered on a pipe: line-buffer it, so that "packet forwarding" and
    // each statistics sample arrive when printed.
    this.process = new PeerProcess(
      'stdbuf',
      ['-oL', '-eL', binary, ...args],
      options.boundSeconds ?? 120,
      {},
      `testpmd ${options.name}`,
    );
  }

  /**
   * Resolves once testpmd forwards (it printed "<mode> packet forwarding - ports=…").
   * @throws Error when testpmd exits first or nothing happens within `timeoutMs`
   */
  async forwarding(timeoutMs = 30_000): Promise<void> {
    await this.process.waitFor(/packet forwarding - ports=/, timeoutMs, 'packet forwarding');
    this.forwardingSince ??= Date.now();
  }

  /**
   * Stops testpmd (SIGTERM) and parses its final statistics.
   * @throws Error with the output's tail when it printed no forward statistics
   */
  async stop(): Promise<TestpmdResult> {
    const stoppedAt = Date.now();
    const exit = await this.process.stop('SIGTERM');
    rmSync(`/var/run/dpdk/${this.filePrefix}`, { recursive: true, force: true });
    const stats = parseTestpmdOutput(this.process.output);
    if (stats === undefined) {
      throw new Error(`testpmd ${this.options.name} printed no forward statistics:\n${this.process.tail()}`);
    }
    const seconds = this.forwardingSince === undefined ? 0 : (stoppedAt - this.forwardingSince) / 1000;
    return {
      ...stats,
      seconds,
      medianRxPps: median(stats.rxPps.filter((pps) => pps > 0)),
      bestRxPps: Math.max(0, ...stats.rxPps),
      bestTxPps: Math.max(0, ...stats.txPps),
      exitCode: exit.code,
    };
  }
}

/**
 * The bound on `TX - RX` of a stopped `io` loop: the packets that may still be in flight, both rings
 * of every queue.
 * @param queues queue pairs
 * @param ringSize `--rxd`/`--txd`
 */
export function inFlightBound(queues: number, ringSize = 1024): number {
  return 2 * ringSize * queues;
}

/** The median of `values` (0 when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : Math.round(((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
