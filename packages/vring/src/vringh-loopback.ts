import {
  U16_MASK,
  U32_MAX,
  VHOST_ACCESS_RO,
  VHOST_ACCESS_WO,
  VIRTQ_AVAIL_IDX_OFF,
  VIRTQ_AVAIL_RING_OFF,
  VIRTQ_DESC_ADDR_OFF,
  VIRTQ_DESC_FLAGS_OFF,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_SIZE,
  VIRTQ_USED_ELEM_ID_OFF,
  VIRTQ_USED_ELEM_LEN_OFF,
  VIRTQ_USED_ELEM_SIZE,
  VIRTQ_USED_RING_OFF,
} from '@vdpa-kit/virtio-spec';
import { VringError } from './errors.js';
import { IotlbWindow } from './iotlb-window.js';
import type { Vringh } from './vringh.js';
import { copyBytes } from './byte-copy.js';

/** Ring indices wrap modulo 2^16 (§2.7): a module-local copy of `U16_MASK`. */
const IDX_MASK = U16_MASK;

/** {@link VringhLoopback.run} stopped because the TX ring had no more chains. */
export const VRINGH_LOOPBACK_EMPTY = 0;
/** {@link VringhLoopback.run} stopped after `max` TX chains. */
export const VRINGH_LOOPBACK_BUDGET = 1;
/**
 * {@link VringhLoopback.run} stopped before a TX chain it does not handle: take that one with
 * `getdesc`, which also reports any error in it or in its RX partner.
 */
export const VRINGH_LOOPBACK_SLOW = 2;

/** Why {@link VringhLoopback.run} stopped. */
export type VringhLoopbackStop =
  typeof VRINGH_LOOPBACK_EMPTY | typeof VRINGH_LOOPBACK_BUDGET | typeof VRINGH_LOOPBACK_SLOW;

/**
 * Decides whether a frame is looped back: `bytes[off, off + len)` is the whole TX buffer (a
 * virtio-net device's header first). Must not keep the view or write to it.
 */
export type VringhLoopbackFilter = (bytes: Uint8Array, off: number, len: number) => boolean;

// The ring fields as indices into the ring state's word arrays (VringhRingState: u16 words of the
// available ring, u32 words of the descriptor table and the used ring), from the spec's offsets.
const AVAIL_IDX_W = VIRTQ_AVAIL_IDX_OFF / 2;
const AVAIL_RING_W = VIRTQ_AVAIL_RING_OFF / 2;
const DESC_WORDS = VIRTQ_DESC_SIZE / 4;
const DESC_ADDR_LO_W = VIRTQ_DESC_ADDR_OFF / 4;
const DESC_ADDR_HI_W = VIRTQ_DESC_ADDR_OFF / 4 + 1;
const DESC_LEN_W = VIRTQ_DESC_LEN_OFF / 4;
const DESC_FLAGS_W = VIRTQ_DESC_FLAGS_OFF / 4;
const USED_ID_W = (VIRTQ_USED_RING_OFF + VIRTQ_USED_ELEM_ID_OFF) / 4;
const USED_LEN_W = (VIRTQ_USED_RING_OFF + VIRTQ_USED_ELEM_LEN_OFF) / 4;
const USED_ELEM_W = VIRTQ_USED_ELEM_SIZE / 4;
/** Flags a simple chain has none of (a readable one; a writable one has only WRITE). */
const F_NOT_SIMPLE = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT;
const F_WRITE = VIRTQ_DESC_F_WRITE;
const MAP_RO = VHOST_ACCESS_RO;
const MAP_WO = VHOST_ACCESS_WO;
/** Default frame bound of {@link VringhLoopback.run}: none (a descriptor length is a u32). */
const ANY_LEN = U32_MAX;
/**
 * Passes of a new {@link VringhLoopback} that start with empty windows, before it keeps them from pass
 * to pass, so that the window-miss path has run before `run` is optimised (docs/performance.md).
 */
export const VRINGH_LOOPBACK_COLD_PASSES = 16;

/**
 * The fast path of a loopback device (`vdpa_sim_net.c: vdpasim_net_work()`): moves frames from the TX ring's chains
 * into the RX ring's chains in one pass, with no list between the two rings. Each TX chain is copied
 * into the next RX chain, TX is completed with 0 and RX with the frame's length; a frame the filter
 * refuses completes TX with 0 and takes no RX chain. Both rings publish their used index once.
 *
 * It handles only the usual case, where it cannot fail: a chain of one direct, non-empty descriptor
 * below 4 GiB, no longer than `maxLen`, inside an IOTLB window with the permission it needs, and an RX
 * buffer that holds the frame. At anything else — a head out of range, any other chain, an RX ring
 * with nothing available (an overrun), an RX buffer too small, an avail index more than the queue
 * size ahead (which `getdesc` takes chain by chain, unchecked, as the kernel does), a ring area not
 * translated whole into one contiguous view (which the per-chain calls access field by field) — it
 * stops before that TX chain, consuming nothing of it, and says so
 * ({@link VRINGH_LOOPBACK_SLOW}); the caller then takes one chain with `getdesc`, which applies
 * every rule and reports errors against the right queue, and calls `run` again. So the
 * used rings and the counters end up as one chain at a time would leave them, with one exception a
 * batch cannot avoid: a pass reads each `avail->idx` once and publishes each `used->idx` once, so
 * when a guest buffer overlaps those fields, a frame copied from it holds `used->idx` as it was before
 * the pass, and chains made available by a frame written over `avail->idx` wait for the next pass
 * (`vringh.c: vringh_complete_multi_user()` publishes a batch's used index once too).
 *
 * The counters of the last run are fields: TX chains taken and their bytes, RX chains used and the
 * bytes written, frames the filter dropped. Nothing is allocated per frame.
 *
 * @example
 * const lb = new VringhLoopback();
 * for (;;) {
 *   const stop = lb.run(tx, rx, budget, accept);
 *   budget -= lb.txChains;
 *   if (stop !== VRINGH_LOOPBACK_SLOW) break;
 *   handleOneChain(); // getdesc on TX (and RX), with the rules of the device
 * }
 */
export class VringhLoopback {
  /** TX chains taken by the last run (looped and dropped). */
  txChains = 0;
  /** Bytes of those TX chains. */
  txBytes = 0;
  /** RX chains used by the last run. */
  rxChains = 0;
  /** Bytes written into them. */
  rxBytes = 0;
  /** Frames of the last run the filter refused. */
  dropped = 0;
  private readonly txWindow = new IotlbWindow();
  private readonly rxWindow = new IotlbWindow();
  /** Passes that started with empty windows, up to {@link VRINGH_LOOPBACK_COLD_PASSES}. */
  private coldPasses = 0;

  /**
   * Moves up to `max` TX chains (see the class comment).
   * @param tx the ring frames are taken from (its buffers read through its IOTLB)
   * @param rx the ring frames are put in (its buffers written through its IOTLB); not `tx`
   * @param max most TX chains to take, an integer ≥ 0
   * @param filter frames it refuses are dropped (default: every frame is looped back)
   * @param maxLen longest TX chain it takes, in bytes: it stops before a longer one, for a device that
   * moves only part of such a frame (`vdpasim_net_work()` pulls at most PAGE_SIZE) to take it with
   * `getdesc` (default: no bound)
   * @returns why it stopped
   * @throws VringError `EINVAL` for a bad `max` or `maxLen` or the same ring twice; whatever `filter`
   * throws (the frames before that one stay moved).
   */
  run(
    tx: Vringh,
    rx: Vringh,
    max: number,
    filter?: VringhLoopbackFilter,
    maxLen: number = ANY_LEN,
  ): VringhLoopbackStop {
    this.txChains = this.txBytes = this.rxChains = this.rxBytes = this.dropped = 0;
    if (!(Number.isSafeInteger(max) && max >= 0)) {
      throw new VringError('EINVAL', `loopback budget ${max} is not a non-negative integer`);
    }
    if (!(Number.isSafeInteger(maxLen) && maxLen >= 0)) {
      throw new VringError('EINVAL', `loopback frame bound ${maxLen} is not a non-negative integer`);
    }
    if (tx === rx) throw new VringError('EINVAL', 'loopback from a ring into itself');
    const t = tx.ringStateForBatch();
    if (t === undefined) return declinedStop(tx);
    const tAvail = t.availWords;
    const tDesc = t.descWords;
    const tUsed = t.usedWords;
    const tNum = t.num;
    const tMask = tNum - 1;
    const tLast = t.lastAvail;
    const tUsedIdx = t.usedIdx;
    const tPending = (tAvail[AVAIL_IDX_W] - tLast) & IDX_MASK;
    if (tPending === 0) return VRINGH_LOOPBACK_EMPTY;
    if (tPending > tNum) return VRINGH_LOOPBACK_SLOW;
    const r = rx.ringStateForBatch();
    if (r === undefined) return VRINGH_LOOPBACK_SLOW;
    const rAvail = r.availWords;
    const rDesc = r.descWords;
    const rUsed = r.usedWords;
    const rNum = r.num;
    const rMask = rNum - 1;
    const rLast = r.lastAvail;
    const rUsedIdx = r.usedIdx;
    let rPending = (rAvail[AVAIL_IDX_W] - rLast) & IDX_MASK;
    // More than num ahead is left to the per-chain path, chain by chain, when a frame needs an RX chain.
    if (rPending > rNum) rPending = 0;
    const tWin = this.txWindow;
    const rWin = this.rxWindow;
    // The windows are kept from pass to pass while neither ring's IOTLB nor memory changed
    // (`revalidate`), so that a pass in the usual case looks nothing up. The first passes start empty
    // all the same: with kept windows the miss path would otherwise first run after `run` was
    // optimised without feedback for it, and deoptimise it (docs/performance.md, "Kept IOTLB windows").
    if (this.coldPasses < VRINGH_LOOPBACK_COLD_PASSES) {
      this.coldPasses++;
      tWin.clear();
      rWin.clear();
    }
    tWin.revalidate(t.iotlb, t.mem);
    rWin.revalidate(r.iotlb, r.mem);
    // The windows' bounds, offsets and views in locals, valid for the access each ring needs (TX reads,
    // RX writes): the loop checks buffers against the bounds only. Each window is only ever covered for
    // its ring's access, and `cover` leaves no entry without that permission in it (a kept window
    // included), so a window that holds anything grants that access.
    let tStart = tWin.start;
    let tEnd = tWin.last;
    let tDelta = tWin.delta;
    let tBytes = tWin.bytes;
    let rStart = rWin.start;
    let rEnd = rWin.last;
    let rDelta = rWin.delta;
    let rBytes = rWin.bytes;
    // The pass ends at the budget or when the TX ring runs out, whichever comes first.
    const end = max < tPending ? max : tPending;
    let taken = 0;
    let used = 0;
    let txBytes = 0;
    let rxBytes = 0;
    let stop: VringhLoopbackStop = VRINGH_LOOPBACK_SLOW;
    try {
      for (;;) {
        if (taken === end) {
          stop = end === max ? VRINGH_LOOPBACK_BUDGET : VRINGH_LOOPBACK_EMPTY;
          break;
        }
        // TX: the next chain, if it is simple and inside the window.
        const th = tAvail[AVAIL_RING_W + ((tLast + taken) & tMask)];
        if (th >= tNum) break;
        const to = th * DESC_WORDS;
        const tLen = tDesc[to + DESC_LEN_W];
        // The flags are the low half of their word; the mask has no bit of `next`.
        if (
          (tDesc[to + DESC_FLAGS_W] & (F_NOT_SIMPLE | F_WRITE)) !== 0 ||
          tLen === 0 ||
          tLen > maxLen ||
          tDesc[to + DESC_ADDR_HI_W] !== 0
        )
          break;
        const ta = tDesc[to + DESC_ADDR_LO_W];
        if (!(ta >= tStart && ta <= tEnd - tLen + 1)) {
          if (!tWin.cover(t.iotlb, t.mem, ta, tLen, MAP_RO)) break;
          tStart = tWin.start;
          tEnd = tWin.last;
          tDelta = tWin.delta;
          tBytes = tWin.bytes;
        }
        const tOff = ta + tDelta;
        if (filter === undefined || filter(tBytes, tOff, tLen)) {
          // RX: the next chain, if it is simple, inside its window and large enough.
          if (used === rPending) break;
          const rh = rAvail[AVAIL_RING_W + ((rLast + used) & rMask)];
          if (rh >= rNum) break;
          const ro = rh * DESC_WORDS;
          const rLen = rDesc[ro + DESC_LEN_W];
          if (
            (rDesc[ro + DESC_FLAGS_W] & (F_NOT_SIMPLE | F_WRITE)) !== F_WRITE ||
            rLen < tLen ||
            rDesc[ro + DESC_ADDR_HI_W] !== 0
          )
            break;
          const ra = rDesc[ro + DESC_ADDR_LO_W];
          if (!(ra >= rStart && ra <= rEnd - rLen + 1)) {
            if (!rWin.cover(r.iotlb, r.mem, ra, rLen, MAP_WO)) break;
            rStart = rWin.start;
            rEnd = rWin.last;
            rDelta = rWin.delta;
            rBytes = rWin.bytes;
          }
          copyBytes(rBytes, ra + rDelta, tBytes, tOff, tLen);
          const ru = ((rUsedIdx + used) & rMask) * USED_ELEM_W;
          rUsed[ru + USED_ID_W] = rh;
          rUsed[ru + USED_LEN_W] = tLen;
          used++;
          rxBytes += tLen;
        } else {
          this.dropped++;
        }
        const tu = ((tUsedIdx + taken) & tMask) * USED_ELEM_W;
        tUsed[tu + USED_ID_W] = th;
        tUsed[tu + USED_LEN_W] = 0;
        taken++;
        txBytes += tLen;
      }
    } finally {
      // Whatever stopped the pass (a filter that threw included), what was moved is published.
      this.txChains = taken;
      this.txBytes = txBytes;
      this.rxChains = used;
      this.rxBytes = rxBytes;
      tx.commitRingState(taken, taken);
      rx.commitRingState(used, used);
    }
    return stop;
  }
}

/**
 * Why a pass stops when the TX ring gives no batch state (an area that is not direct — not translated
 * whole into one contiguous view — or not aligned, a big-endian host): EMPTY when it has no chain, so a
 * caller looping on SLOW ends; SLOW otherwise, and when its available ring does not translate, for the
 * per-chain calls to take the chain or report the error.
 */
function declinedStop(tx: Vringh): VringhLoopbackStop {
  try {
    return tx.hasWork() ? VRINGH_LOOPBACK_SLOW : VRINGH_LOOPBACK_EMPTY;
  } catch (err) {
    if (err instanceof VringError) return VRINGH_LOOPBACK_SLOW;
    throw err;
  }
}
