import type { Work } from '@vdpa-kit/core-bus';
import { ETH_ALEN, VIRTIO_NET_HDR_V1_SIZE } from '@vdpa-kit/virtio-spec';
import {
  VRINGH_LOOPBACK_BUDGET,
  VRINGH_LOOPBACK_EMPTY,
  VringhLoopback,
  type VringhLoopbackFilter,
} from '@vdpa-kit/vring';
import { VDPASIM_NET_BUFFER_SIZE } from './constants.js';
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
/** Module-local copy of {@link VDPASIM_NET_BUFFER_SIZE}: the most bytes of a frame a pass moves. */
const FRAME_MAX = VDPASIM_NET_BUFFER_SIZE;

/**
 * The loopback datapath of one queue pair (the body of `vdpasim_net_work`, vdpa_sim_net.c, with one
 * work per pair): every frame the driver transmits on the pair's TX queue is received on the same
 * pair's RX queue if the receive filter accepts it.
 *
 * The kernel's rules, per TX chain: count it in `tx packets`; move at most
 * {@link VDPASIM_NET_BUFFER_SIZE} bytes of it, header included (its PAGE_SIZE bounce buffer), and count
 * those in `tx bytes`; filter on the destination address (refused → `rx drops`, TX completed with 0);
 * take an RX chain (none, or a bad one → `rx overruns`, TX completed with 0, the pass stops until the
 * next kick); write what fits of the moved bytes into it (`vringh_iov_push_iotlb()`), count the frame
 * in `rx packets` and the bytes in `rx bytes`, complete TX with 0 and RX with the bytes written. An RX
 * chain that takes no byte → `rx errors` and the pass stops; the kernel then completes neither chain,
 * here both are completed with 0 (docs/kernel-differences.md).
 *
 * Frames in simple chains (one descriptor of at most {@link VDPASIM_NET_BUFFER_SIZE} bytes, an RX buffer
 * that holds it: the usual case) take vring's one-pass fast path (`VringhLoopback`), which copies TX
 * into RX and completes both with no list in between. It stops before any chain it does not handle,
 * and the per-chain path takes that one TX chain with `getdesc`: the destination address is read in
 * place when the first segment holds the header and the address, else copied with the header into a
 * fixed scratch buffer; the frame is copied TX → RX with `Iov.copyTo` (no bounce buffer). The used
 * rings and counters end up as with one chain at a time, in ring order (except for guest buffers that
 * overlap the rings' index fields, which the fast path reads and publishes once per pass: see
 * `VringhLoopback`). Nothing is allocated per frame.
 *
 * A pass handles at most `workBudget` frames and returns true (requeue) when it stopped on the budget.
 * Notifications are decided once per pass and queue with `needNotify`, then the callbacks run, last.
 * Bad guest input (a `VringError`) counts in the failing queue's counters (`tx errors`, `rx overruns`
 * for the RX chain, `rx errors` for the copy) and stops that queue until reset; a TX chain taken before
 * the RX side failed is completed rather than leaked; the pass never throws.
 */
export class VdpasimNetLoopback implements Work {
  private readonly scratch = new Uint8Array(VIRTIO_NET_HDR_V1_SIZE + ETH_ALEN);
  private readonly loopback = new VringhLoopback();
  /** The receive filter as the fast path asks it: the whole TX buffer, virtio-net header first. */
  private readonly accept: VringhLoopbackFilter = (bytes, off, len) => {
    const hdrLen = this.dp.hdrLen;
    return len >= hdrLen + DEST_LEN && this.dp.filter.acceptsDest(bytes, off + hdrLen);
  };

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
    const { dp, rx, tx, pair, scratch, loopback } = this;
    if (!dp.datapathEnabled() || !dp.pairActive(pair)) return false;
    if (!tx.ready || !rx.ready || tx.broken || rx.broken) return false;
    const stats = dp.stats;
    const filter = dp.filter;
    const hdrLen = dp.hdrLen;
    const txv = tx.vring;
    const rxv = rx.vring;
    const riov = tx.riov;
    const wiov = rx.wiov;
    let budget = dp.workBudget;
    let txDone = 0;
    let rxDone = 0;
    let txHead = -1;
    let at = tx;
    let more = false;
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
    // Set while the RX chain is taken: a failure there counts as an overrun (vdpasim_net_work()).
    let takingRx = false;
    try {
      for (;;) {
        if (budget === 0) {
          more = true;
          break;
        }
        // The one-pass fast path first; it stops before any chain it does not handle.
        at = tx;
        const fast = loopback.run(txv, rxv, budget, this.accept, FRAME_MAX);
        txPackets += loopback.txChains;
        txBytes += loopback.txBytes;
        rxPackets += loopback.rxChains;
        rxBytes += loopback.rxBytes;
        rxDrops += loopback.dropped;
        txDone += loopback.txChains;
        rxDone += loopback.rxChains;
        budget -= loopback.txChains;
        if (fast === VRINGH_LOOPBACK_EMPTY) break;
        if (fast === VRINGH_LOOPBACK_BUDGET) continue;
        // The per-chain path, for the one TX chain the fast path stopped before.
        txHead = txv.getdesc(riov, null);
        if (txHead < 0) break;
        budget--;
        // vdpasim_net_work() pulls at most PAGE_SIZE into its bounce buffer: the rest is not moved.
        const total = riov.totalLength;
        const len = total < FRAME_MAX ? total : FRAME_MAX;
        txPackets++;
        txBytes += len;
        // The destination address is read where it lies when one segment holds it with the header;
        // otherwise header and address are copied out (two pieces of at most 16 bytes, which vring's
        // Iov copies without allocating) and written back in front of the rest of the frame.
        const dest = riov.contiguous(hdrLen + DEST_LEN);
        let n = 0;
        let accepted: boolean;
        if (dest >= 0) {
          accepted = filter.acceptsDest(riov.bufs[riov.index], dest + hdrLen);
        } else {
          n = riov.pull(scratch, 0, hdrLen);
          if (n === hdrLen) n += riov.pull(scratch, hdrLen, DEST_LEN);
          accepted = filter.accepts(scratch, n, hdrLen);
        }
        if (!accepted) {
          rxDrops++;
          txv.complete(txHead, 0);
          txHead = -1;
          txDone++;
          continue;
        }
        at = rx;
        takingRx = true;
        const rxHead = rxv.getdesc(null, wiov);
        takingRx = false;
        if (rxHead < 0) {
          rxOverruns++;
          at = tx;
          txv.complete(txHead, 0);
          txHead = -1;
          txDone++;
          break;
        }
        // vringh_iov_push_iotlb() writes what fits: a small RX buffer gets the start of the frame.
        let written = n > 0 ? wiov.push(scratch, 0, n) : 0;
        written += riov.copyTo(wiov, len - n);
        rxv.complete(rxHead, written);
        rxDone++;
        at = tx;
        txv.complete(txHead, 0);
        txHead = -1;
        txDone++;
        if (written === 0) {
          // vdpasim_net_work(): nothing written is an RX error and ends the pass.
          rxErrors++;
          break;
        }
        rxPackets++;
        rxBytes += written;
      }
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
      this.fail(at, failure, takingRx);
      // A TX chain taken before the RX side failed is given back rather than leaked.
      if (txHead >= 0 && at !== tx) {
        try {
          txv.complete(txHead, 0);
          txDone++;
        } catch (err2) {
          this.fail(tx, err2);
        }
      }
    }
    const notifyTx = txDone > 0 && this.needNotify(tx);
    const notifyRx = rxDone > 0 && this.needNotify(rx);
    if (notifyTx) dp.callVqCb(tx);
    if (notifyRx) dp.callVqCb(rx);
    return more;
  }

  private needNotify(vq: VdpasimVirtqueue): boolean {
    try {
      return vq.vring.needNotify();
    } catch (err) {
      this.fail(vq, err);
      return false;
    }
  }

  /**
   * Counts bad guest input on `vq` and reports it; `overrun`: it came from taking the RX chain, which
   * `vdpasim_net_work()` counts in `rx overruns` as it counts an empty RX ring.
   */
  private fail(vq: VdpasimVirtqueue, err: unknown, overrun = false): void {
    if (vq.broken) return;
    const stats = this.dp.stats;
    if (vq === this.tx) stats.txErrors[this.pair]++;
    else if (overrun) stats.rxOverruns[this.pair]++;
    else stats.rxErrors[this.pair]++;
    this.dp.guestError(vq, err);
  }
}
