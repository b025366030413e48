import type { VendorStat } from '@vdpa-kit/core-bus';

/** Vendor statistic names of a receive queue, in reporting order (vdpa_sim_net.c). */
export const VDPASIM_NET_RX_STAT_NAMES = [
  'rx packets',
  'rx bytes',
  'rx errors',
  'rx overruns',
  'rx drops',
] as const;
/** Vendor statistic names of a transmit queue, in reporting order (vdpa_sim_net.c). */
export const VDPASIM_NET_TX_STAT_NAMES = ['tx packets', 'tx bytes', 'tx errors', 'tx drops'] as const;
/** Vendor statistic names of the control queue, in reporting order (vdpa_sim_net.c). */
export const VDPASIM_NET_CVQ_STAT_NAMES = ['cvq requests', 'cvq successes', 'cvq errors'] as const;

/**
 * Counters of a `vdpasim_net` device (the kernel's `rx_stats`, `tx_stats`, `cq_stats`), one set per
 * queue pair plus one for the control queue. Typed arrays indexed by pair so the datapath increments
 * them without allocating; values are numbers (exact up to 2^53) and become `bigint` only when
 * reported. They survive device resets, as in the kernel.
 *
 * Meaning, as in the kernel: `rx drops` counts frames the receive filter refused, `rx overruns` frames
 * lost because the receive queue had no buffer, `rx errors` receive-side failures (a buffer too small
 * for the frame, bad guest input on the receive queue), `tx errors` bad guest input on the transmit
 * queue; `tx drops` is reported but never counted (every loss is accounted on the receive side).
 * Bytes include the virtio-net header.
 *
 * @example
 * const stats = new VdpasimNetStats(1);
 * stats.rxPackets[0]++;
 * stats.rxStats(0); // [{ name: 'rx packets', value: 1n }, …]
 */
export class VdpasimNetStats {
  /** Frames delivered to receive queue of pair i. */
  readonly rxPackets: Float64Array;
  /** Bytes delivered to receive queue of pair i. */
  readonly rxBytes: Float64Array;
  /** Receive-side errors of pair i. */
  readonly rxErrors: Float64Array;
  /** Frames lost for lack of a receive buffer on pair i. */
  readonly rxOverruns: Float64Array;
  /** Frames the receive filter of pair i refused. */
  readonly rxDrops: Float64Array;
  /** Chains taken from transmit queue of pair i. */
  readonly txPackets: Float64Array;
  /** Bytes taken from transmit queue of pair i. */
  readonly txBytes: Float64Array;
  /** Transmit-side errors of pair i. */
  readonly txErrors: Float64Array;
  /** Transmit drops of pair i (reported, never counted: see the class comment). */
  readonly txDrops: Float64Array;
  /** Control requests taken. */
  cvqRequests = 0;
  /** Control requests answered OK. */
  cvqSuccesses = 0;
  /** Control requests answered ERR, malformed, or lost to bad guest input. */
  cvqErrors = 0;

  /** @param pairs number of queue pairs */
  constructor(pairs: number) {
    this.rxPackets = new Float64Array(pairs);
    this.rxBytes = new Float64Array(pairs);
    this.rxErrors = new Float64Array(pairs);
    this.rxOverruns = new Float64Array(pairs);
    this.rxDrops = new Float64Array(pairs);
    this.txPackets = new Float64Array(pairs);
    this.txBytes = new Float64Array(pairs);
    this.txErrors = new Float64Array(pairs);
    this.txDrops = new Float64Array(pairs);
  }

  /** Vendor statistics of the receive queue of pair `pair`. */
  rxStats(pair: number): VendorStat[] {
    const values = [
      this.rxPackets[pair],
      this.rxBytes[pair],
      this.rxErrors[pair],
      this.rxOverruns[pair],
      this.rxDrops[pair],
    ];
    return VDPASIM_NET_RX_STAT_NAMES.map((name, i) => ({ name, value: BigInt(values[i]) }));
  }

  /** Vendor statistics of the transmit queue of pair `pair`. */
  txStats(pair: number): VendorStat[] {
    const values = [this.txPackets[pair], this.txBytes[pair], this.txErrors[pair], this.txDrops[pair]];
    return VDPASIM_NET_TX_STAT_NAMES.map((name, i) => ({ name, value: BigInt(values[i]) }));
  }

  /** Vendor statistics of the control queue. */
  cvqStats(): VendorStat[] {
    const values = [this.cvqRequests, this.cvqSuccesses, this.cvqErrors];
    return VDPASIM_NET_CVQ_STAT_NAMES.map((name, i) => ({ name, value: BigInt(values[i]) }));
  }
}
