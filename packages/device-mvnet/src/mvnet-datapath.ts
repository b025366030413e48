import { U16_MASK } from '@vdpa-kit/virtio-spec';
import { type GuestMemory, type Iotlb, Iov, VringError, Vringh } from '@vdpa-kit/vring';
import type { VdpaCallback, Work } from '@vdpa-kit/core-bus';
import { MVNET_RX_VQ, MVNET_TX_VQ, MVNET_WORK_BUDGET } from './constants.js';

/** One virtqueue (`vdpasim_virtqueue`): what the vq ops programmed, the ring's device side and its iov. */
export class MvnetVq {
  readonly vring = new Vringh();
  readonly iov = new Iov();
  ready = false;
  num = 0;
  descArea = 0;
  driverArea = 0;
  deviceArea = 0;
  cb: VdpaCallback | null = null;
  /** `vdpasim_queue_ready`: sets the ring up, from the avail index set_vq_state stored. @throws VringError */
  start(mem: GuestMemory, iotlb: Iotlb): void {
    const last = this.vring.lastAvailIdx;
    const { num, descArea: descAddr, driverArea: availAddr, deviceArea: usedAddr } = this;
    this.vring.init({ num, descAddr, availAddr, usedAddr, eventIdx: false, mem, iotlb });
    this.vring.lastAvailIdx = this.vring.lastUsedIdx = last;
  }
  /** Back to the state after creation: not ready, nothing programmed, indices 0. */
  reset(): void {
    Object.assign(this, { ready: false, num: 0, descArea: 0, driverArea: 0, deviceArea: 0, cb: null });
    this.vring.lastAvailIdx = this.vring.lastUsedIdx = 0;
  }
}

/** New datapath counters, with vdpasim_net's vendor-stat names; they survive device resets. */
export function mvnetStats() {
  return {
    rx: { 'rx packets': 0, 'rx bytes': 0, 'rx errors': 0, 'rx overruns': 0, 'rx drops': 0 },
    tx: { 'tx packets': 0, 'tx bytes': 0, 'tx errors': 0, 'tx drops': 0 },
  };
}

/** The counters of one mvnet device. */
export type MvnetStats = ReturnType<typeof mvnetStats>;

/** What the loopback needs from its device. */
export interface MvnetDatapathHost {
  /** DRIVER_OK is set and DEVICE_NEEDS_RESET is not. */
  running(): boolean;
  /** Ring `queue` broke the protocol: the device stops until reset. */
  guestError(err: VringError, queue: number): void;
}

/**
 * The loopback (the sample's work function), run by the WORK_QUEUE after kicks: copies each TX frame,
 * virtio-net header included, into one RX buffer; one `needNotify` decision per ring per pass.
 */
export class MvnetLoopback implements Work {
  private queue = MVNET_TX_VQ; // the ring being touched, which a `VringError` is charged to
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
    if (rxHead < 0) stats.rx['rx overruns']++;
    else if (len > rx.iov.totalLength) {
      // vringh_abandon: the too-small RX chain stays available for the next frame.
      rx.vring.lastAvailIdx = (rx.vring.lastAvailIdx - 1) & U16_MASK;
      stats.rx['rx drops']++;
    } else {
      const written = tx.iov.copyTo(rx.iov);
      rx.vring.complete(rxHead, written);
      this.rxUsed++;
      stats.rx['rx packets']++;
      stats.rx['rx bytes'] += written;
    }
    this.queue = MVNET_TX_VQ;
    tx.vring.complete(txHead, 0);
    this.txUsed++;
    return rxHead >= 0;
  }
}
