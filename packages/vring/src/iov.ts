import { U32_MAX } from '@vdpa-kit/virtio-spec';
import { copyBytes, copyWithinBytes } from './byte-copy.js';
import { VringError } from './errors.js';

/** Largest value a `Uint32Array` slot holds, the bound of a segment offset or length (`U32_MAX`, local). */
const SLOT_MAX = U32_MAX;

/** Segment capacity of a new `Iov`, and of the first growth of a zero-capacity one. */
const IOV_DEFAULT_CAPACITY = 16;

/**
 * Copies of at most this many bytes between different buffers use a byte loop: cheaper than the
 * `subarray` view that `Uint8Array.prototype.set` needs, and allocation-free (virtio headers are 10-16 B).
 */
const SMALL_COPY_MAX = 16;

/** One whole-buffer byte view per backing buffer, created on first use and shared by every `Iov`. */
const wholeViews = new WeakMap<ArrayBufferLike, Uint8Array>();

function wholeViewOf(buffer: ArrayBufferLike): Uint8Array {
  let whole = wholeViews.get(buffer);
  if (whole === undefined) {
    whole = new Uint8Array(buffer);
    wholeViews.set(buffer, whole);
  }
  return whole;
}

/**
 * A reusable list of memory segments (the kernel's `vringh_kiov`): each segment is a range of a region's
 * byte view. Filled by translation, consumed by `pull`/`push`. Grows on demand and never shrinks, so a
 * steady-state datapath allocates nothing.
 *
 * @example
 * const iov = new Iov();
 * tlb.translate(addr, len, VHOST_ACCESS_RO, mem, iov);
 * const n = iov.pull(header);
 */
export class Iov {
  /** Number of segments. */
  count = 0;
  /** Index of the first segment not fully consumed. */
  index = 0;
  /** Bytes already consumed of segment `index`. */
  consumed = 0;
  /** Sum of the segment lengths, consumed or not. */
  totalLength = 0;
  /** Byte view of each segment's region. */
  bufs: Uint8Array[];
  /** Offset of each segment inside `bufs[i]`. */
  offs: Uint32Array;
  /** Length of each segment. */
  lens: Uint32Array;
  /**
   * Bytes of a chain's buffers that `Vringh.getdesc` translates into this list (default: all). A
   * device that moves at most N bytes of a chain (vdpasim: PAGE_SIZE per frame) sets N, so the cost of
   * `getdesc` is bounded by what the device will touch, as the kernel's, which records addresses and
   * translates only what `vringh_iov_pull_iotlb()` / `_push_iotlb()` copy. Kept by {@link reset}.
   */
  limit = Number.MAX_SAFE_INTEGER;

  // The last pair of views copied between and what `pairWith` learnt about them. `.buffer` and
  // `.byteOffset` are runtime calls as costly as a `subarray`, so they are asked once per new pair.
  private pairDst: Uint8Array | undefined;
  private pairSrc: Uint8Array | undefined;
  /** Whole-buffer view when the pair shares a buffer, otherwise undefined. */
  private pairWhole: Uint8Array | undefined;
  private pairDstBase = 0;
  private pairSrcBase = 0;

  /** @param capacity initial segment capacity */
  constructor(capacity = IOV_DEFAULT_CAPACITY) {
    this.bufs = new Array<Uint8Array>(capacity);
    this.offs = new Uint32Array(capacity);
    this.lens = new Uint32Array(capacity);
  }

  /** Empties the list, keeping its storage. */
  reset(): void {
    this.count = 0;
    this.index = 0;
    this.consumed = 0;
    this.totalLength = 0;
  }

  /**
   * Appends a segment; merges it with the previous one when contiguous in the same buffer.
   * @param buf the region's byte view
   * @param off offset of the segment in `buf`
   * @param len length of the segment (0 is allowed)
   * @throws VringError `EFAULT` if `[off, off + len)` is not inside `buf`.
   */
  add(buf: Uint8Array, off: number, len: number): void {
    if (off >>> 0 !== off || len >>> 0 !== len || off + len > buf.length) {
      throw new VringError('EFAULT', `iov segment ${off}+${len} is outside its ${buf.length}-byte buffer`);
    }
    const n = this.count;
    if (
      n > 0 &&
      this.bufs[n - 1] === buf &&
      this.offs[n - 1] + this.lens[n - 1] === off &&
      this.lens[n - 1] + len <= SLOT_MAX
    ) {
      this.lens[n - 1] += len;
      this.totalLength += len;
      return;
    }
    if (n === this.offs.length) this.grow();
    this.bufs[n] = buf;
    this.offs[n] = off;
    this.lens[n] = len;
    this.count = n + 1;
    this.totalLength += len;
  }

  /**
   * Where the next `len` unconsumed bytes are when they lie in one segment, for reading them in place
   * (a header, an address) without copying: the offset in `bufs[index]`, or -1 when fewer than `len`
   * bytes remain in the current segment. Consumes nothing.
   *
   * @example
   * const at = iov.contiguous(6);
   * if (at >= 0) inspect(iov.bufs[iov.index], at);
   */
  contiguous(len: number): number {
    const i = this.index;
    if (i >= this.count || !(this.lens[i] - this.consumed >= len)) return -1;
    return this.offs[i] + this.consumed;
  }

  /** Bytes not yet consumed. */
  remaining(): number {
    let left = -this.consumed;
    for (let i = this.index; i < this.count; i++) left += this.lens[i];
    return this.index < this.count ? left : 0;
  }

  /**
   * Copies up to `len` bytes (default and upper bound: `dst.length - dstOff`) out of the unconsumed
   * segments into `dst` and consumes them (`vringh_iov_pull`). @returns bytes copied
   * @throws VringError `EINVAL` if `dstOff` is not an offset in `dst`.
   */
  pull(dst: Uint8Array, dstOff = 0, len = dst.length - dstOff): number {
    const room = dst.length - dstOff;
    if (!(dstOff >= 0 && room >= 0))
      throw new VringError('EINVAL', `pull offset ${dstOff} is outside the ${dst.length}-byte buffer`);
    // Written so that a NaN `len` copies nothing, as before.
    const want = len >= room ? room : len;
    let done = 0;
    while (done < want && this.index < this.count) {
      const i = this.index;
      const avail = this.lens[i] - this.consumed;
      const n = avail < want - done ? avail : want - done;
      this.copy(dst, dstOff + done, this.bufs[i], this.offs[i] + this.consumed, n);
      done += n;
      this.advanceWithin(i, n, avail);
    }
    return done;
  }

  /**
   * Copies up to `len` bytes (default and upper bound: `src.length - srcOff`) of `src` from `srcOff`
   * into the unconsumed segments and consumes them (`vringh_iov_push`). @returns bytes copied
   * @throws VringError `EINVAL` if `srcOff` is not an offset in `src`.
   */
  push(src: Uint8Array, srcOff = 0, len = src.length - srcOff): number {
    const room = src.length - srcOff;
    if (!(srcOff >= 0 && room >= 0))
      throw new VringError('EINVAL', `push offset ${srcOff} is outside the ${src.length}-byte buffer`);
    // Written so that a NaN `len` copies nothing, as before.
    const want = len >= room ? room : len;
    let done = 0;
    while (done < want && this.index < this.count) {
      const i = this.index;
      const avail = this.lens[i] - this.consumed;
      const n = avail < want - done ? avail : want - done;
      this.copy(this.bufs[i], this.offs[i] + this.consumed, src, srcOff + done, n);
      done += n;
      this.advanceWithin(i, n, avail);
    }
    return done;
  }

  /**
   * Copies up to `len` bytes from this list's unconsumed segments into `dst`'s, consuming both: the
   * zero-bounce loopback copy. Overlapping source and destination ranges copy as `memmove` does.
   * @returns bytes copied
   */
  copyTo(dst: Iov, len = Number.MAX_SAFE_INTEGER): number {
    let done = 0;
    while (done < len && this.index < this.count && dst.index < dst.count) {
      const i = this.index;
      const j = dst.index;
      const a = this.lens[i] - this.consumed;
      const b = dst.lens[j] - dst.consumed;
      let n = a < b ? a : b;
      if (n > len - done) n = len - done;
      this.copy(dst.bufs[j], dst.offs[j] + dst.consumed, this.bufs[i], this.offs[i] + this.consumed, n);
      done += n;
      this.advanceWithin(i, n, a);
      dst.advanceWithin(j, n, b);
    }
    return done;
  }

  /** Consumes up to `len` bytes without copying (`vringh_kiov_advance`). @returns bytes skipped */
  advance(len: number): number {
    let done = 0;
    while (done < len && this.index < this.count) {
      const avail = this.lens[this.index] - this.consumed;
      const n = avail < len - done ? avail : len - done;
      done += n;
      this.advanceWithin(this.index, n, avail);
    }
    return done;
  }

  private advanceWithin(i: number, n: number, avail: number): void {
    if (n === avail) {
      this.index = i + 1;
      this.consumed = 0;
    } else {
      this.consumed += n;
    }
  }

  /**
   * `dst[d, d + n) = src[s, s + n)` with `memmove` semantics and, within one buffer or for small
   * copies, without allocating. Ranges that do not fit their views take the `set(subarray)` path,
   * which clamps or throws exactly as before rather than touching bytes outside the views.
   */
  private copy(dst: Uint8Array, d: number, src: Uint8Array, s: number, n: number): void {
    if (dst === src) {
      copyWithinBytes(dst, d, s, n);
      return;
    }
    if (dst !== this.pairDst || src !== this.pairSrc) this.pairWith(dst, src);
    const inside = s + n <= src.length && d + n <= dst.length;
    const whole = this.pairWhole;
    if (whole !== undefined && inside) {
      const from = this.pairSrcBase + s;
      copyWithinBytes(whole, this.pairDstBase + d, from, n);
    } else if (whole === undefined && inside && n <= SMALL_COPY_MAX) {
      // Different buffers cannot overlap, so a forward loop is exact.
      for (let k = 0; k < n; k++) dst[d + k] = src[s + k];
    } else {
      copyBytes(dst, d, src, s, n);
    }
  }

  private pairWith(dst: Uint8Array, src: Uint8Array): void {
    this.pairDst = dst;
    this.pairSrc = src;
    const buffer = dst.buffer;
    if (buffer === src.buffer) {
      this.pairWhole = wholeViewOf(buffer);
      this.pairDstBase = dst.byteOffset;
      this.pairSrcBase = src.byteOffset;
    } else {
      this.pairWhole = undefined;
    }
  }

  private grow(): void {
    const cap = this.offs.length * 2 || IOV_DEFAULT_CAPACITY;
    const offs = new Uint32Array(cap);
    offs.set(this.offs);
    const lens = new Uint32Array(cap);
    lens.set(this.lens);
    this.offs = offs;
    this.lens = lens;
    this.bufs.length = cap;
  }
}
