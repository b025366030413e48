/**
 * The in-run ceilings of the ring benchmark: a minimal hand-written loop over the same split-ring
 * layout (driver and loopback device in one thread, TX and RX rings, typed-array views made once,
 * whole-batch processing, payload copied TX -> RX, no translation, no validation), and a plain
 * `copyWithin` of the payload size. The product's numbers are reported as ratios to these, measured
 * in the same process, because absolute numbers swing with machine load. Both call `copyWithin` as
 * vring does, through the method held in a module constant (vring's `byte-copy.ts`), so that vring's
 * ratio does not gain from a call the hand-written loop can make too (docs/performance.md, "Copy
 * calls").
 */

import { type BenchLoop, runOnce } from './bench-loop.js';
import { PayloadCheck, fillPayloads } from './payload.js';

const DESC = 16;
/** Bytes per buffer of the loop's fixed pools. */
const BUF_BYTES = 2048;
/**
 * `copyWithin` held in a module constant (not exported: see vring's `byte-copy.ts`), so the loops call
 * the builtin without a property-load IC per packet.
 */
const COPY_WITHIN = Uint8Array.prototype.copyWithin;

/** Offsets of one ring's three areas in the loop's buffer. */
export interface RawRing {
  descOff: number;
  availOff: number;
  usedOff: number;
}

/** Lays out a split ring of `num` entries at `base` (desc 16-aligned, avail, used 4-aligned). */
export function layout(base: number, num: number): RawRing {
  const descOff = base;
  const availOff = descOff + DESC * num;
  const usedOff = (availOff + 6 + 2 * num + 3) & ~3;
  return { descOff, availOff, usedOff };
}

/**
 * The reference loop, set up once and run in slices. The hot loop works on locals only (taken from
 * the fields when a run starts), as a hand-written loop would, rather than closure variables
 * (docs/performance.md, "Loops as classes").
 */
class ReferenceLoop implements BenchLoop {
  private readonly u8: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  private readonly tx: RawRing;
  private readonly rx: RawRing;
  private readonly rxBufs: number;
  /**
   * The ring indices between runs: txAvail, rxAvail, txLastAvail, rxLastAvail, txUsed, rxUsed,
   * txLastUsed, rxLastUsed.
   */
  private readonly state = new Uint32Array(8);
  private readonly payloads: PayloadCheck;

  constructor(
    private readonly size: number,
    private readonly num: number,
    private readonly batch: number,
  ) {
    this.payloads = new PayloadCheck('reference', num, size);
    const mem = new ArrayBuffer(1 << 22);
    const u8 = new Uint8Array(mem);
    const u16 = new Uint16Array(mem);
    const u32 = new Uint32Array(mem);
    const tx = layout(0, num);
    const rx = layout(0x8000, num);
    const txBufs = 0x10000;
    const rxBufs = txBufs + num * BUF_BYTES;
    // Descriptor i of each ring permanently points at buffer i (a driver with a fixed buffer pool).
    for (let i = 0; i < num; i++) {
      const t = (tx.descOff + i * DESC) >> 2;
      u32[t] = txBufs + i * BUF_BYTES;
      u32[t + 1] = 0;
      u32[t + 2] = size;
      u16[(tx.descOff + i * DESC + 12) >> 1] = 0;
      const r = (rx.descOff + i * DESC) >> 2;
      u32[r] = rxBufs + i * BUF_BYTES;
      u32[r + 1] = 0;
      u32[r + 2] = BUF_BYTES;
      u16[(rx.descOff + i * DESC + 12) >> 1] = 2;
    }
    fillPayloads(u8, txBufs, BUF_BYTES, num, size);
    this.u8 = u8;
    this.u16 = u16;
    this.u32 = u32;
    this.tx = tx;
    this.rx = rx;
    this.rxBufs = rxBufs;
  }

  run(packets: number): number {
    const { u8, u16, u32, tx, rx, num, batch, size, state } = this;
    const mask = num - 1;
    let txAvail = state[0];
    let rxAvail = state[1];
    let txLastAvail = state[2];
    let rxLastAvail = state[3];
    let txUsed = state[4];
    let rxUsed = state[5];
    let txLastUsed = state[6];
    let rxLastUsed = state[7];
    let received = 0;
    let sent = 0;
    let check = 0;
    const t0 = process.hrtime.bigint();
    while (received < packets) {
      // Driver: post RX buffers and TX packets for a batch.
      while (((rxAvail - rxLastUsed) & 0xffff) < num) {
        u16[(rx.availOff + 4 + 2 * (rxAvail & mask)) >> 1] = rxAvail & mask;
        rxAvail = (rxAvail + 1) & 0xffff;
      }
      u16[(rx.availOff + 2) >> 1] = rxAvail;
      let n = 0;
      while (n < batch && sent < packets && ((txAvail - txLastUsed) & 0xffff) < num) {
        u16[(tx.availOff + 4 + 2 * (txAvail & mask)) >> 1] = txAvail & mask;
        txAvail = (txAvail + 1) & 0xffff;
        sent++;
        n++;
      }
      u16[(tx.availOff + 2) >> 1] = txAvail;
      // Device: drain TX into RX.
      const txIdx = u16[(tx.availOff + 2) >> 1];
      const rxIdx = u16[(rx.availOff + 2) >> 1];
      while (txLastAvail !== txIdx && rxLastAvail !== rxIdx) {
        const th = u16[(tx.availOff + 4 + 2 * (txLastAvail & mask)) >> 1];
        const rh = u16[(rx.availOff + 4 + 2 * (rxLastAvail & mask)) >> 1];
        const tAddr = u32[(tx.descOff + th * DESC) >> 2];
        const tLen = u32[(tx.descOff + th * DESC + 8) >> 2];
        const rAddr = u32[(rx.descOff + rh * DESC) >> 2];
        // Through the method held in a constant, as vring copies (byte-copy.ts): `u8.copyWithin`
        // would run a property-load IC per packet, which a ceiling should not pay.
        COPY_WITHIN.call(u8, rAddr, tAddr, tAddr + tLen);
        u32[(tx.usedOff + 4 + 8 * (txUsed & mask)) >> 2] = th;
        u32[(tx.usedOff + 8 + 8 * (txUsed & mask)) >> 2] = 0;
        u32[(rx.usedOff + 4 + 8 * (rxUsed & mask)) >> 2] = rh;
        u32[(rx.usedOff + 8 + 8 * (rxUsed & mask)) >> 2] = tLen;
        txUsed = (txUsed + 1) & 0xffff;
        rxUsed = (rxUsed + 1) & 0xffff;
        txLastAvail = (txLastAvail + 1) & 0xffff;
        rxLastAvail = (rxLastAvail + 1) & 0xffff;
      }
      u16[(tx.usedOff + 2) >> 1] = txUsed;
      u16[(rx.usedOff + 2) >> 1] = rxUsed;
      // Driver: reap used TX and RX.
      const tu = u16[(tx.usedOff + 2) >> 1];
      while (txLastUsed !== tu) txLastUsed = (txLastUsed + 1) & 0xffff;
      const ru = u16[(rx.usedOff + 2) >> 1];
      while (rxLastUsed !== ru) {
        const len = u32[(rx.usedOff + 8 + 8 * (rxLastUsed & mask)) >> 2];
        check += len;
        received++;
        rxLastUsed = (rxLastUsed + 1) & 0xffff;
      }
    }
    const ns = Number(process.hrtime.bigint() - t0);
    state[0] = txAvail;
    state[1] = rxAvail;
    state[2] = txLastAvail;
    state[3] = rxLastAvail;
    state[4] = txUsed;
    state[5] = rxUsed;
    state[6] = txLastUsed;
    state[7] = rxLastUsed;
    if (check !== packets * size) throw new Error(`reference loop lost data: ${check} != ${packets * size}`);
    this.payloads.moved(packets);
    return ns;
  }

  verify(): void {
    this.payloads.checkAndPoison(this.u8, this.rxBufs, BUF_BYTES);
  }
}

/**
 * Sets up the reference loop for packets of `size` bytes with rings of `num` entries and batches of
 * `batch`. Each `run` keeps the ring indices in locals, as a hand-written loop would, and stores them
 * for the next run.
 */
export function createReferenceLoop(size: number, num = 256, batch = 64): BenchLoop {
  return new ReferenceLoop(size, num, batch);
}

/**
 * Runs a fresh reference loop once for `packets` packets of `size` bytes (rings of `num`, batches of
 * `batch`). @returns packets per second
 */
export function referenceLoop(size: number, packets: number, num = 256, batch = 64): number {
  return runOnce(createReferenceLoop(size, num, batch), packets);
}

/** Bytes the copy ceiling copies from (its first half) and into (its second half). */
const COPY_BYTES = 1 << 20;
/** Source slots of the copy ceiling, 2 KiB apart as the loops' buffers. */
const COPY_SLOTS = COPY_BYTES / 2 / BUF_BYTES;

/** The copy ceiling, a class for the reason the reference loop is one. */
class CopyCeiling implements BenchLoop {
  private readonly u8 = new Uint8Array(COPY_BYTES);
  /** The slot the next copy starts from. */
  private next = 0;

  constructor(private readonly size: number) {}

  run(copies: number): number {
    const { u8, size } = this;
    const half = COPY_BYTES / 2;
    const end = this.next + copies;
    const t0 = process.hrtime.bigint();
    for (let i = this.next; i < end; i++) {
      const s = (i % COPY_SLOTS) * BUF_BYTES;
      COPY_WITHIN.call(u8, half + s, s, s + size);
    }
    const ns = Number(process.hrtime.bigint() - t0);
    this.next = end % COPY_SLOTS;
    return ns;
  }

  verify(): void {
    // Copies of zeroes: nothing to check.
  }
}

/** Sets up the copy ceiling: `copyWithin` of `size` bytes inside one plain ArrayBuffer. */
export function createCopyCeiling(size: number): BenchLoop {
  return new CopyCeiling(size);
}

/** `copyWithin` of `size` bytes inside one plain ArrayBuffer, `copies` times. @returns copies per second */
export function copyCeiling(size: number, copies: number): number {
  return runOnce(createCopyCeiling(size), copies);
}
