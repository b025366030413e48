import type { Work } from '@vdpa-kit/core-bus';
import {
  VIRTIO_NET_HDR_V1_SIZE,
  VRINGH_LOOPBACK_BUDGET,
  VRINGH_LOOPBACK_EMPTY,
  VringhBatch,
  VringhLoopback,
  type VringhLoopbackFilter,
} from '@vdpa-kit/vring';
import { ETH_ALEN } from './constants.js';
import type { VdpasimNetFilter } from './vdpasim-net-filter.js';
import type { VdpasimNetStats } from './vdpasim-net-stats.js';
import type { VdpasimVirtqueue } from './vdpasim-vq.js';

/** What the loopback work of a queue pair needs from its `vdpasim_net` device. */
export interface VdpasimNetDatapath {
  /** Running with DRIVER_OK. */
  datapathEnabled(): boolean;
  /** Whether queue pair `pair` is among the active pairs (`VQ_PAIRS_SET`). */
  pairActive(pair: number): boolean;
  /** Negotiated virtio-net header length: 12 with VERSION_1, else 10. */
  readonly hdrLen: number;
  /** The receive filter. */
  readonly filter: VdpasimNetFilter;
  /** The device's counters. */
  readonly stats: VdpasimNetStats;
  /** Packets per pass before the work requeues itself. */
  readonly workBudget: number;
  /** Reports bad guest input on `vq` (stops it, sets NEEDS_RESET, calls the config callback). */
  guestError(vq: VdpasimVirtqueue, err: unknown): void;
  /** Calls the used-buffer callback of `vq`. */
  callVqCb(vq: VdpasimVirtqueue): void;
}

/** Module-local copy of `ETH_ALEN`: an imported binding is re-read and checked on every use. */
const DEST_LEN = ETH_ALEN;

/** Chains the per-chain path's batches hold (it takes one TX chain at a time). */
const LOOPBACK_BATCH = 64;

/**
 * The loopback datapath of one queue pair (the body of `vdpasim_net_work`, reference §3.2, with one
 * work per pair): every frame the driver transmits on the pair's TX queue is received on the same
 * pair's RX queue if the receive filter accepts it.
 *
 * Frames in simple chains (one descriptor each, the usual case) take vring's one-pass fast path
 * (`VringhLoopback`), which copies TX into RX and completes both without any list in between. It
 * stops before any chain it does not handle, and the per-chain path takes that one TX chain
 * (`getdescBatch`) with the rules of the kernel's work function: filter on its destination address
 * (copied with the header into a fixed scratch buffer when split over descriptors; refused → `rx
 * drops`, TX completed with 0); take an RX chain (none → `rx overruns`, TX completed with 0, the pass
 * stops until the next kick); an RX chain too small for the frame → `rx errors`, both completed with
 * 0; otherwise copy header and frame TX → RX without a bounce buffer, complete TX with 0 and RX with
 * the bytes written. The used rings and counters end up as with one chain at a time, in ring order
 * (except for guest buffers that overlap the rings' index fields, which the fast path reads and
 * publishes once per pass: see `VringhLoopback`). Nothing is allocated per frame.
 *
 * A pass handles at most `workBudget` frames and returns true (requeue) when it stopped on the budget.
 * Notifications are decided once per pass and queue with `needNotify`, then the callbacks run, last.
 * Bad guest input (a `VringError`) counts in the failing queue's errors and stops that queue until
 * reset; chains of the other queue taken and not handled are given back; the pass never throws.
 */
export class VdpasimNetLoopback implements Work {
  private readonly scratch = new Uint8Array(VIRTIO_NET_HDR_V1_SIZE + ETH_ALEN);
  private readonly txBatch = new VringhBatch({ capacity: LOOPBACK_BATCH, writable: false });
  private readonly rxBatch = new VringhBatch({ capacity: LOOPBACK_BATCH, readable: false });
  /** Used length of each RX chain of `rxBatch`. */
  private readonly rxLens = new Uint32Array(LOOPBACK_BATCH);
  /** Used length of every TX chain: 0. */
  private readonly txLens = new Uint32Array(LOOPBACK_BATCH);
  private readonly loopback = new VringhLoopback();
  /** The receive filter as the fast path asks it: the whole TX buffer, virtio-net header first. */
  private readonly accept: VringhLoopbackFilter = (bytes, off, len) => {
    const hdrLen = this.dp.hdrLen;
    return len >= hdrLen + DEST_LEN && this.dp.filter.acceptsDest(bytes, off + hdrLen);
  };

  // Progress of the pass, kept in fields so that the error path knows what to give back.
  /** TX chains of the current batch, and how many of them are handled (completed with 0). */
  private txTaken = 0;
  private txHandled = 0;
  /** RX chains of the current RX batch, and how many of them hold a frame (or an error, length 0). */
  private rxTaken = 0;
  private rxFilled = 0;
  /** Completions written this pass, per queue (for the notification decision). */
  private txDone = 0;
  private rxDone = 0;

  /**
   * @param pair queue pair index
   * @param rx the pair's receive queue (vq 2·pair)
   * @param tx the pair's transmit queue (vq 2·pair + 1)
   * @param dp the device
   */
  constructor(
    readonly pair: number,
    private readonly rx: VdpasimVirtqueue,
    private readonly tx: VdpasimVirtqueue,
    private readonly dp: VdpasimNetDatapath,
  ) {}

  /** One pass. @returns true when the budget ran out (more may be pending) */
  run(): boolean {
    const { dp, rx, tx, pair, scratch, txBatch, rxBatch, rxLens, loopback } = this;
    if (!dp.datapathEnabled() || !dp.pairActive(pair)) return false;
    if (!tx.ready || !rx.ready || tx.broken || rx.broken) return false;
    const stats = dp.stats;
    const filter = dp.filter;
    const hdrLen = dp.hdrLen;
    const txv = tx.vring;
    const rxv = rx.vring;
    let budget = dp.workBudget;
    let at = tx;
    let more = false;
    this.txTaken = this.txHandled = this.rxTaken = this.rxFilled = this.txDone = this.rxDone = 0;
    // Per-pass tallies, added to the shared counters once at the end.
    let txPackets = 0;
    let txBytes = 0;
    let rxPackets = 0;
    let rxBytes = 0;
    let rxDrops = 0;
    let rxErrors = 0;
    let rxOverruns = 0;
    let failed = false;
    let failure: unknown;
    try {
      let stop = false;
      while (!stop) {
        if (budget === 0) {
          more = true;
          break;
        }
        // The one-pass fast path first; it stops before any chain it does not handle, which the
        // per-chain path below then takes (one TX chain), with every rule and error.
        at = tx;
        const fast = loopback.run(txv, rxv, budget, this.accept);
        txPackets += loopback.txChains;
        txBytes += loopback.txBytes;
        rxPackets += loopback.rxChains;
        rxBytes += loopback.rxBytes;
        rxDrops += loopback.dropped;
        this.txDone += loopback.txChains;
        this.rxDone += loopback.rxChains;
        budget -= loopback.txChains;
        if (fast === VRINGH_LOOPBACK_EMPTY) break;
        if (fast === VRINGH_LOOPBACK_BUDGET) continue;
        const taken = txv.getdescBatch(txBatch, 1);
        if (taken === 0) break;
        this.txTaken = taken;
        this.txHandled = 0;
        budget -= taken;
        for (let k = 0; k < taken; k++) {
          const first = txBatch.start(k);
          const total = txBatch.readLength(k);
          txPackets++;
          txBytes += total;
          // The destination address is read where it lies when the first segment holds it with the
          // header; otherwise header and address are copied out (two pieces of at most 16 bytes) and
          // written back in front of the rest of the frame.
          let split = false;
          let accepted: boolean;
          if (first < txBatch.readEnds[k] && txBatch.segLens[first] >= hdrLen + DEST_LEN) {
            accepted = filter.acceptsDest(txBatch.segBufs[first], txBatch.segOffs[first] + hdrLen);
          } else {
            split = true;
            txBatch.loadIov(k, tx.riov, null);
            let n = tx.riov.pull(scratch, 0, hdrLen);
            if (n === hdrLen) n += tx.riov.pull(scratch, hdrLen, DEST_LEN);
            accepted = filter.accepts(scratch, n, hdrLen);
          }
          if (!accepted) {
            rxDrops++;
            this.txHandled++;
            continue;
          }
          if (this.rxFilled === this.rxTaken) {
            // The RX batch is used up: complete it, then take as many as the rest of the TX batch
            // could need.
            at = rx;
            this.flushRx();
            this.rxTaken = rxv.getdescBatch(rxBatch, taken - k);
            at = tx;
            if (this.rxTaken === 0) {
              rxOverruns++;
              this.txHandled++;
              stop = true;
              break;
            }
          }
          const j = this.rxFilled;
          let written = 0;
          if (rxBatch.writeLength(j) < total) {
            rxErrors++;
          } else {
            if (split) {
              rxBatch.loadIov(j, null, rx.wiov);
              written = rx.wiov.push(scratch, 0, hdrLen) + rx.wiov.push(scratch, hdrLen, DEST_LEN);
              written += tx.riov.copyTo(rx.wiov);
            } else {
              written = txBatch.copyChain(k, rxBatch, j);
            }
            rxPackets++;
            rxBytes += written;
          }
          rxLens[j] = written;
          this.rxFilled = j + 1;
          this.txHandled++;
        }
        at = tx;
        this.flushTx();
        // Complete the RX chain before the fast path writes used elements after it.
        at = rx;
        this.flushRx();
      }
      at = rx;
      this.flushRx();
    } catch (err) {
      failed = true;
      failure = err;
    }
    // The tallies reach the counters before anything (an error report, a callback) can read them.
    stats.txPackets[pair] += txPackets;
    stats.txBytes[pair] += txBytes;
    stats.rxPackets[pair] += rxPackets;
    stats.rxBytes[pair] += rxBytes;
    stats.rxDrops[pair] += rxDrops;
    stats.rxErrors[pair] += rxErrors;
    stats.rxOverruns[pair] += rxOverruns;
    if (failed) {
      more = false;
      this.fail(at, failure);
      this.cleanUp(at);
    }
    const notifyTx = this.txDone > 0 && this.needNotify(tx);
    const notifyRx = this.rxDone > 0 && this.needNotify(rx);
    if (notifyTx) dp.callVqCb(tx);
    if (notifyRx) dp.callVqCb(rx);
    return more;
  }

  /** Completes the handled TX chains of the batch with 0 and gives the others back. */
  private flushTx(): void {
    const handled = this.txHandled;
    const rest = this.txTaken - handled;
    this.txTaken = this.txHandled = 0;
    const txv = this.tx.vring;
    if (rest > 0) txv.abandon(rest);
    // With nothing handled the used ring is left alone (it may not even be mapped).
    if (handled > 0) txv.completeMany(this.txBatch.heads, this.txLens, handled);
    this.txDone += handled;
  }

  /** Completes the filled RX chains of the RX batch and gives the others back. */
  private flushRx(): void {
    const filled = this.rxFilled;
    const rest = this.rxTaken - filled;
    this.rxTaken = this.rxFilled = 0;
    const rxv = this.rx.vring;
    if (rest > 0) rxv.abandon(rest);
    if (filled > 0) rxv.completeMany(this.rxBatch.heads, this.rxLens, filled);
    this.rxDone += filled;
  }

  /**
   * After queue `failed` failed: what the other queue took is completed (what was handled) or given
   * back. A TX chain taken before the RX side failed is handled (completed with 0) rather than leaked,
   * as one chain at a time would do.
   */
  private cleanUp(failed: VdpasimVirtqueue): void {
    if (failed === this.rx) {
      if (this.txHandled < this.txTaken) this.txHandled++;
      this.settle(this.tx, () => this.flushTx());
    } else {
      this.settle(this.rx, () => this.flushRx());
    }
  }

  private settle(vq: VdpasimVirtqueue, flush: () => void): void {
    if (vq.broken) return;
    try {
      flush();
    } catch (err) {
      this.fail(vq, err);
    }
  }

  private needNotify(vq: VdpasimVirtqueue): boolean {
    try {
      return vq.vring.needNotify();
    } catch (err) {
      this.fail(vq, err);
      return false;
    }
  }

  private fail(vq: VdpasimVirtqueue, err: unknown): void {
    if (vq.broken) return;
    if (vq === this.tx) this.dp.stats.txErrors[this.pair]++;
    else this.dp.stats.rxErrors[this.pair]++;
    this.dp.guestError(vq, err);
  }
}
