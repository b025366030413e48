import { copyBytes, copyWithinBytes } from './byte-copy.js';
import { VringError } from './errors.js';
import type { Iov } from './iov.js';

/** Chains a batch holds before it first grows. */
const VRINGH_BATCH_DEFAULT_CAPACITY = 64;

/** Options of {@link VringhBatch}. */
export interface VringhBatchOptions {
  /** Chains held before the storage first grows (default 64). It grows on demand and never shrinks. */
  readonly capacity?: number;
  /**
   * The queue carries device-readable buffers (a TX queue, a control queue). A readable descriptor
   * on a queue without them is `EPROTO`, as a `null` riov is for `Vringh.getdesc`. Default true.
   */
  readonly readable?: boolean;
  /** The queue carries device-writable buffers (an RX queue, a control queue). Default true. */
  readonly writable?: boolean;
}

/**
 * The chains one `Vringh.getdescBatch` call took, with their buffers translated into flat segment
 * lists: the batched form of the riov/wiov pair `getdesc` fills. Chain `k` has head `heads[k]`; its
 * segments are `[start(k), readEnds[k])` (device-readable) then `[readEnds[k], ends[k])`
 * (device-writable), where `start(k)` is `ends[k - 1]` (0 for the first chain). Segment `s` is
 * `segLens[s]` bytes at `segOffs[s]` of the guest-memory view `segBufs[s]`.
 *
 * Storage is typed arrays created once and grown on demand, so a steady-state datapath allocates
 * nothing. The fields are public for hot loops to read; only `Vringh.getdescBatch` writes them.
 *
 * @example
 * const tx = new VringhBatch({ writable: false });
 * const rx = new VringhBatch({ readable: false });
 * const n = txVrh.getdescBatch(tx, 64);
 * const m = rxVrh.getdescBatch(rx, n);
 * for (let k = 0; k < m; k++) lens[k] = tx.copyChain(k, rx, k);
 * rxVrh.completeMany(rx.heads, lens, m);
 */
export class VringhBatch {
  /** Whether readable descriptors are accepted (see {@link VringhBatchOptions.readable}). */
  readonly readable: boolean;
  /** Whether writable descriptors are accepted (see {@link VringhBatchOptions.writable}). */
  readonly writable: boolean;
  /** Chains in the batch. */
  count = 0;
  /** Segments in the batch (all chains). */
  segments = 0;
  /** Head descriptor id of each chain: what `complete`/`completeMany` take. */
  heads: Uint16Array;
  /** End of each chain's readable segments (= start of its writable ones). */
  readEnds: Uint32Array;
  /** End of each chain's segments. */
  ends: Uint32Array;
  /** Guest-memory byte view of each segment. */
  segBufs: Uint8Array[];
  /** Offset of each segment in its view. */
  segOffs: Uint32Array;
  /** Length of each segment (never 0). */
  segLens: Uint32Array;

  /**
   * @param options capacity and the buffer kinds the queue carries
   * @throws VringError `EINVAL` for a capacity that is not a positive integer.
   */
  constructor(options: VringhBatchOptions = {}) {
    const capacity = options.capacity ?? VRINGH_BATCH_DEFAULT_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new VringError('EINVAL', `vringh batch capacity ${capacity} is not a positive integer`);
    }
    this.readable = options.readable ?? true;
    this.writable = options.writable ?? true;
    this.heads = new Uint16Array(capacity);
    this.readEnds = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
    this.segBufs = new Array<Uint8Array>(capacity);
    this.segOffs = new Uint32Array(capacity);
    this.segLens = new Uint32Array(capacity);
  }

  /** Chains the batch holds without growing. */
  get capacity(): number {
    return this.heads.length;
  }

  /** Empties the batch, keeping its storage. */
  reset(): void {
    this.count = 0;
    this.segments = 0;
  }

  /** First segment of chain `k`. */
  start(k: number): number {
    return k === 0 ? 0 : this.ends[k - 1];
  }

  /** Device-readable bytes of chain `k`. */
  readLength(k: number): number {
    let n = 0;
    for (let s = this.start(k), e = this.readEnds[k]; s < e; s++) n += this.segLens[s];
    return n;
  }

  /** Device-writable bytes of chain `k`. */
  writeLength(k: number): number {
    let n = 0;
    for (let s = this.readEnds[k], e = this.ends[k]; s < e; s++) n += this.segLens[s];
    return n;
  }

  /**
   * Copies the readable bytes of chain `k` into the writable buffers of chain `j` of `dst` (which
   * may be this batch), up to `max` bytes (default: all that fit): the loopback copy of a device that
   * moves a frame from a TX chain to an RX chain without a bounce buffer. Overlapping ranges copy as
   * `memmove` does.
   *
   * @returns bytes copied: the `len` to complete chain `j` with
   * @throws VringError `EINVAL` when `k` or `j` is not a chain of its batch.
   * @example
   * rxLens[k] = tx.copyChain(k, rx, k);
   */
  copyChain(k: number, dst: VringhBatch, j: number, max = Number.MAX_SAFE_INTEGER): number {
    if (!(k >= 0 && k < this.count && j >= 0 && j < dst.count)) throw badChains(k, this.count, j, dst.count);
    let s = k === 0 ? 0 : this.ends[k - 1];
    const sEnd = this.readEnds[k];
    let d = dst.readEnds[j];
    const dEnd = dst.ends[j];
    // The usual case: one readable and one writable segment in the same memory.
    if (sEnd - s === 1 && dEnd - d === 1 && this.segBufs[s] === dst.segBufs[d]) {
      const sl = this.segLens[s];
      const dl = dst.segLens[d];
      let n = sl < dl ? sl : dl;
      if (n > max) n = max > 0 ? Math.floor(max) : 0;
      const from = this.segOffs[s];
      copyWithinBytes(this.segBufs[s], dst.segOffs[d], from, n);
      return n;
    }
    let done = 0;
    let sUsed = 0;
    let dUsed = 0;
    while (s < sEnd && d < dEnd && done < max) {
      const a = this.segLens[s] - sUsed;
      const b = dst.segLens[d] - dUsed;
      let n = a < b ? a : b;
      if (n > max - done) n = Math.floor(max - done);
      if (n <= 0) break;
      copyBytes(dst.segBufs[d], dst.segOffs[d] + dUsed, this.segBufs[s], this.segOffs[s] + sUsed, n);
      done += n;
      if (n === a) {
        s++;
        sUsed = 0;
      } else sUsed += n;
      if (n === b) {
        d++;
        dUsed = 0;
      } else dUsed += n;
    }
    return done;
  }

  /**
   * Loads chain `k` into Iov lists (reset first), for code that consumes a chain with the cursor
   * operations of {@link Iov} (`pull`, `push`, `advance`, `copyTo`).
   * @param riov receives the readable segments, or `null` to skip them
   * @param wiov receives the writable segments, or `null` to skip them
   * @throws VringError `EINVAL` when `k` is not a chain of the batch.
   */
  loadIov(k: number, riov: Iov | null, wiov: Iov | null): void {
    if (!(k >= 0 && k < this.count)) throw badChains(k, this.count, 0, 1);
    const mid = this.readEnds[k];
    if (riov !== null) {
      riov.reset();
      for (let s = this.start(k); s < mid; s++) riov.add(this.segBufs[s], this.segOffs[s], this.segLens[s]);
    }
    if (wiov !== null) {
      wiov.reset();
      for (let s = mid, e = this.ends[k]; s < e; s++)
        wiov.add(this.segBufs[s], this.segOffs[s], this.segLens[s]);
    }
  }

  /** Makes room for `chains` more chains and `segments` more segments. */
  reserve(chains: number, segments: number): void {
    if (this.count + chains > this.heads.length) this.growChains(this.count + chains);
    if (this.segments + segments > this.segOffs.length) this.growSegments(this.segments + segments);
  }

  private growChains(need: number): void {
    let cap = this.heads.length * 2;
    while (cap < need) cap *= 2;
    this.heads = grown(new Uint16Array(cap), this.heads);
    this.readEnds = grown(new Uint32Array(cap), this.readEnds);
    this.ends = grown(new Uint32Array(cap), this.ends);
  }

  private growSegments(need: number): void {
    let cap = this.segOffs.length * 2;
    while (cap < need) cap *= 2;
    this.segOffs = grown(new Uint32Array(cap), this.segOffs);
    this.segLens = grown(new Uint32Array(cap), this.segLens);
    this.segBufs.length = cap;
  }
}

function grown<A extends Uint16Array | Uint32Array>(to: A, from: A): A {
  to.set(from);
  return to;
}

function badChains(k: number, count: number, j: number, dstCount: number): VringError {
  return new VringError(
    'EINVAL',
    k >= 0 && k < count
      ? `chain ${j} is not in the destination batch of ${dstCount} chains`
      : `chain ${k} is not in the batch of ${count} chains`,
  );
}
