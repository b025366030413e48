/**
 * A reusable list of memory segments (the kernel's `vringh_kiov`): each segment is a range of a region's
 * byte view. Filled by translation, consumed by `pull`/`push`. Grows on demand and never shrinks, so a
 * steady-state datapath allocates nothing.
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

  /** @param capacity initial segment capacity */
  constructor(capacity = 16) {
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

  /** Appends a segment; merges it with the previous one when contiguous in the same buffer. */
  add(buf: Uint8Array, off: number, len: number): void {
    const n = this.count;
    if (n > 0 && this.bufs[n - 1] === buf && this.offs[n - 1] + this.lens[n - 1] === off) {
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

  /** Bytes not yet consumed. */
  remaining(): number {
    let left = -this.consumed;
    for (let i = this.index; i < this.count; i++) left += this.lens[i];
    return this.index < this.count ? left : 0;
  }

  /**
   * Copies up to `len` bytes (default: `dst.length - dstOff`) out of the unconsumed segments into `dst`
   * and consumes them (`vringh_iov_pull`). @returns bytes copied
   */
  pull(dst: Uint8Array, dstOff = 0, len = dst.length - dstOff): number {
    let done = 0;
    while (done < len && this.index < this.count) {
      const i = this.index;
      const avail = this.lens[i] - this.consumed;
      const n = avail < len - done ? avail : len - done;
      const start = this.offs[i] + this.consumed;
      dst.set(this.bufs[i].subarray(start, start + n), dstOff + done);
      done += n;
      this.advanceWithin(i, n, avail);
    }
    return done;
  }

  /**
   * Copies up to `len` bytes of `src` from `srcOff` into the unconsumed segments and consumes them
   * (`vringh_iov_push`). @returns bytes copied
   */
  push(src: Uint8Array, srcOff = 0, len = src.length - srcOff): number {
    let done = 0;
    while (done < len && this.index < this.count) {
      const i = this.index;
      const avail = this.lens[i] - this.consumed;
      const n = avail < len - done ? avail : len - done;
      this.bufs[i].set(src.subarray(srcOff + done, srcOff + done + n), this.offs[i] + this.consumed);
      done += n;
      this.advanceWithin(i, n, avail);
    }
    return done;
  }

  /**
   * Copies up to `len` bytes from this list's unconsumed segments into `dst`'s, consuming both: the
   * zero-bounce loopback copy. Uses `copyWithin` when both sides share a buffer. @returns bytes copied
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
      const sb = this.bufs[i];
      const db = dst.bufs[j];
      const s = this.offs[i] + this.consumed;
      const d = dst.offs[j] + dst.consumed;
      if (sb.buffer === db.buffer && sb.byteOffset === db.byteOffset) db.copyWithin(d, s, s + n);
      else db.set(sb.subarray(s, s + n), d);
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

  private grow(): void {
    const cap = this.offs.length * 2 || 16;
    const offs = new Uint32Array(cap);
    offs.set(this.offs);
    const lens = new Uint32Array(cap);
    lens.set(this.lens);
    this.offs = offs;
    this.lens = lens;
    this.bufs.length = cap;
  }
}
