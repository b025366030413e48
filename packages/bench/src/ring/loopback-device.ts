/**
 * The device side of the ring benchmark's vring loops: two `Vringh` rings (TX, RX) over the
 * benchmark's memory and IOTLB, drained the way vdpasim_net does it — the {@link VringhLoopback} fast
 * path, and one chain through `getdescBatch` for what it does not handle.
 */
import {
  type GuestMemory,
  type Iotlb,
  type SplitRingLayout,
  VRINGH_LOOPBACK_SLOW,
  Vringh,
  VringhBatch,
  VringhLoopback,
} from '@vdpa-kit/vring';

/** A loopback device on one TX and one RX ring. */
export class BenchLoopbackDevice {
  private readonly tx: Vringh;
  private readonly rx: Vringh;
  private readonly loopback = new VringhLoopback();
  private readonly txBatch: VringhBatch;
  private readonly rxBatch: VringhBatch;
  private readonly txLens: Uint32Array;
  private readonly rxLens: Uint32Array;

  /** Attaches to the rings at the device addresses `txLayout` and `rxLayout` (both of size `num`). */
  constructor(mem: GuestMemory, iotlb: Iotlb, txLayout: SplitRingLayout, rxLayout: SplitRingLayout) {
    const ring = (l: SplitRingLayout): Vringh => {
      const v = new Vringh();
      v.init({
        num: l.num,
        descAddr: l.descAddr,
        availAddr: l.availAddr,
        usedAddr: l.usedAddr,
        eventIdx: true,
        mem,
        iotlb,
      });
      return v;
    };
    this.tx = ring(txLayout);
    this.rx = ring(rxLayout);
    this.txBatch = new VringhBatch({ capacity: 1, writable: false });
    this.rxBatch = new VringhBatch({ capacity: 1, readable: false });
    this.txLens = new Uint32Array(1);
    this.rxLens = new Uint32Array(1);
  }

  /**
   * Loops every available TX chain into an RX chain. @returns TX chains dropped for want of an RX
   * chain (the benchmark's byte count then reports the loss)
   */
  drain(): number {
    let dropped = 0;
    for (;;) {
      const stop = this.loopback.run(this.tx, this.rx, this.tx.num);
      if (stop !== VRINGH_LOOPBACK_SLOW) break;
      const txN = this.tx.getdescBatch(this.txBatch, 1);
      if (txN === 0) break;
      const rxN = this.rx.getdescBatch(this.rxBatch, txN);
      if (rxN > 0) this.rxLens[0] = this.txBatch.copyChain(0, this.rxBatch, 0);
      dropped += txN - rxN;
      this.tx.completeMany(this.txBatch.heads, this.txLens, txN);
      this.rx.completeMany(this.rxBatch.heads, this.rxLens, rxN);
    }
    return dropped;
  }

  /** The TX ring's interrupt decision (`vringh_need_notify`). */
  txNeedNotify(): boolean {
    return this.tx.needNotify();
  }

  /** The RX ring's interrupt decision (`vringh_need_notify`). */
  rxNeedNotify(): boolean {
    return this.rx.needNotify();
  }
}
