import { VringError } from '@vdpa-kit/vring';
import type { Work } from '@vdpa-kit/core-bus';
import { MVNET_RX_VQ, MVNET_TX_VQ, MVNET_WORK_BUDGET, U16_MASK } from './constants.js';
import type { MvnetVq } from './mvnet-vq.js';

/**
 * New datapath counters under vdpasim_net's vendor-stat names. Errors: bad chains on that ring;
 * overruns: frames dropped for want of an RX buffer; rx drops: frames longer than the RX buffer;
 * tx drops: always 0 (no MAC filter). They survive device resets.
 */
export function mvnetStats() {
  return {
    rx: { 'rx packets': 0, 'rx bytes': 0, 'rx errors': 0, 'rx overruns': 0, 'rx drops': 0 },
    tx: { 'tx packets': 0, 'tx bytes': 0, 'tx errors': 0, 'tx drops': 0 },
  };
}

/** The counters of one mvnet device. */
export type MvnetStats = ReturnType<typeof mvnetStats>;

/** What the loopback needs from its device: is it live, and where guest errors go. */
export interface MvnetDatapathHost {
  /** DRIVER_OK is set and DEVICE_NEEDS_RESET is not. */
  running(): boolean;
  /** Ring `queue` broke the protocol: the device stops until reset. */
  guestError(err: VringError, queue: number): void;
}

/**
 * The loopback work (the sample's work function), queued on the WORK_QUEUE by kicks. Each TX chain
 * takes one RX chain and its bytes, virtio-net header included, are copied across; TX completes with
 * length 0, RX with the bytes written. At most `MVNET_WORK_BUDGET` frames per pass, then it requeues;
 * one `needNotify` decision per ring per pass. Nothing is allocated per frame.
 */
export class MvnetLoopback implements Work {
  /** Ring being touched, so a `VringError` is charged to the right queue. */
  private queue = MVNET_TX_VQ;
  private rxUsed = 0;
  private txUsed = 0;

  constructor(
    private readonly rx: MvnetVq,
    private readonly tx: MvnetVq,
    private readonly stats: MvnetStats,
    private readonly host: MvnetDatapathHost,
  ) {}

  /** One pass. @returns true when the budget ran out (more frames may wait) */
  run(): boolean {
    if (!this.host.running() || !this.rx.ready || !this.tx.ready) return false;
    let frames = 0;
    let rxIrq = false;
    let txIrq = false;
    this.rxUsed = this.txUsed = 0;
    try {
      while (frames < MVNET_WORK_BUDGET && this.forward()) frames++;
      rxIrq = this.rxUsed > 0 && this.rx.vring.needNotify();
      txIrq = this.txUsed > 0 && this.tx.vring.needNotify();
    } catch (err) {
      if (!(err instanceof VringError)) throw err;
      this.host.guestError(err, this.queue);
      return false;
    }
    // Callbacks last: the driver may kick, reset or tear down from inside them.
    if (rxIrq) this.rx.cb?.();
    if (txIrq) this.tx.cb?.();
    return frames === MVNET_WORK_BUDGET;
  }

  /** Moves one frame. @returns false when the pass must stop: no TX frame, or no RX buffer */
  private forward(): boolean {
    const { rx, tx, stats } = this;
    this.queue = MVNET_TX_VQ;
    const txHead = tx.vring.getdesc(tx.iov, null);
    if (txHead < 0) return false;
    const len = tx.iov.totalLength;
    stats.tx['tx packets']++;
    stats.tx['tx bytes'] += len;
    this.queue = MVNET_RX_VQ;
    const rxHead = rx.vring.getdesc(null, rx.iov);
    if (rxHead >= 0 && len <= rx.iov.totalLength) {
      const written = tx.iov.copyTo(rx.iov);
      rx.vring.complete(rxHead, written);
      this.rxUsed++;
      stats.rx['rx packets']++;
      stats.rx['rx bytes'] += written;
    } else if (rxHead >= 0) {
      // vringh_abandon: the too-small RX chain stays available for the next frame.
      rx.vring.lastAvailIdx = (rx.vring.lastAvailIdx - 1) & U16_MASK;
      stats.rx['rx drops']++;
    } else {
      stats.rx['rx overruns']++;
    }
    this.queue = MVNET_TX_VQ;
    tx.vring.complete(txHead, 0);
    this.txUsed++;
    return rxHead >= 0;
  }
}
