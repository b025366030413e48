import { VringError, checkAddress } from './errors.js';

/** Largest length of one buffer: a descriptor's `le32 len` (§2.7.5). */
const BUFFER_LEN_MAX = 0xffff_ffff;
/** Segments a list holds before it first grows. */
const BUFFER_LIST_DEFAULT_CAPACITY = 8;

/**
 * A reusable list of `(addr, len)` buffers: one direction (device-readable or device-writable) of a
 * descriptor chain handed to {@link Virtqueue.add} (the kernel's scatterlist). Storage is typed arrays
 * that grow on demand and never shrink, so a driver that keeps its lists and calls {@link clear} between
 * requests allocates nothing in steady state.
 *
 * @example
 * const out = new BufferList();
 * const inb = new BufferList();
 * out.clear().push(hdrAddr, 16).push(dataAddr, 512);
 * inb.clear().push(statusAddr, 1);
 * vq.add(out, inb, request);
 */
export class BufferList {
  private addrs_: Float64Array;
  private lens_: Uint32Array;
  private count_ = 0;

  /**
   * @param capacity number of buffers before the list first grows (default 8)
   * @throws VringError `EINVAL` for a capacity that is not a positive integer.
   */
  constructor(capacity = BUFFER_LIST_DEFAULT_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new VringError('EINVAL', `buffer list capacity ${capacity} is not a positive integer`);
    }
    this.addrs_ = new Float64Array(capacity);
    this.lens_ = new Uint32Array(capacity);
  }

  /** Number of buffers in the list. */
  get count(): number {
    return this.count_;
  }

  /** Empties the list, keeping its storage. Returns the list for chaining. */
  clear(): this {
    this.count_ = 0;
    return this;
  }

  /**
   * Appends a buffer. Returns the list for chaining.
   * @param addr guest-physical address or IOVA of the buffer
   * @param len its length in bytes, 0..2^32 - 1
   * @throws VringError `ERANGE` for an address that is not a safe non-negative integer, `EINVAL` for a
   * length that does not fit a descriptor.
   */
  push(addr: number, len: number): this {
    checkAddress(addr, 'buffer address');
    if (!Number.isInteger(len) || len < 0 || len > BUFFER_LEN_MAX) {
      throw new VringError('EINVAL', `buffer length ${len} does not fit a descriptor`);
    }
    const n = this.count_;
    if (n === this.addrs_.length) this.grow();
    this.addrs_[n] = addr;
    this.lens_[n] = len;
    this.count_ = n + 1;
    return this;
  }

  /** Address of buffer `i` (`0 <= i < count`; not checked). */
  addr(i: number): number {
    return this.addrs_[i];
  }

  /** Length of buffer `i` (`0 <= i < count`; not checked). */
  len(i: number): number {
    return this.lens_[i];
  }

  /** Sum of the lengths of the buffers. */
  totalLength(): number {
    let total = 0;
    for (let i = 0; i < this.count_; i++) total += this.lens_[i];
    return total;
  }

  private grow(): void {
    const addrs = new Float64Array(this.addrs_.length * 2);
    const lens = new Uint32Array(this.lens_.length * 2);
    addrs.set(this.addrs_);
    lens.set(this.lens_);
    this.addrs_ = addrs;
    this.lens_ = lens;
  }
}
