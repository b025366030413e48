/**
 * A data point of the ring benchmark, not a goal: the reference loop of `reference-loop.ts` with the
 * per-packet work a validating implementation cannot skip, and none of vring's structure. It tells the
 * cost of the checks apart from the cost of the library (separate driver and device objects, a free
 * list, segment lists, IOTLB objects).
 *
 * Added to the reference loop, per packet and queue:
 * - driver: writes the whole descriptor when it posts a buffer (address, length, flags and next),
 *   records the token, the in-flight mark and the writable bytes of the head;
 * - device: checks the head, reads flags, length and both address words, refuses chained, indirect,
 *   wrong-direction, empty and high buffers, translates the IOVA through one window (an IOTLB entry
 *   with an offset, as the benchmark's) with the range check, then copies;
 * - driver: reads every used element and checks the id (in range, in flight) and the length (within
 *   the writable bytes), and takes the token back.
 * Left out, as in the reference loop: a free list (descriptor i always holds ring slot i's buffer, so
 * chains are used in order), tokens other than numbers, errors other than a throw.
 */

import type { BenchLoop } from './bench-loop.js';
import { PayloadCheck, fillPayloads } from './payload.js';
import { type RawRing, layout } from './reference-loop.js';

const DESC = 16;
/** `copyWithin` held in a module constant, as in `reference-loop.ts`. */
const COPY_WITHIN = Uint8Array.prototype.copyWithin;
const IOVA_OFFSET = 0x1000_0000;
const MEM_BYTES = 1 << 22;
const BUF_BYTES = 2048;

function bad(what: string): Error {
  return new Error(`validated loop: ${what}`);
}

/**
 * The validated loop, set up once and run in slices; like the reference loop's, its hot loop works on
 * locals taken from the fields when a run starts.
 */
class ValidatedLoop implements BenchLoop {
  private readonly u8: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  private readonly tx: RawRing;
  private readonly rx: RawRing;
  private readonly txBufs = 0x10000;
  private readonly rxBufs: number;
  private readonly txTokens: number[];
  private readonly rxTokens: number[];
  private readonly txInFlight: Uint8Array;
  private readonly rxInFlight: Uint8Array;
  private readonly rxWritable: Uint32Array;
  /** The ring indices between runs, in the order of the reference loop's. */
  private readonly state = new Uint32Array(8);
  private readonly payloads: PayloadCheck;

  constructor(
    private readonly size: number,
    private readonly num: number,
    private readonly batch: number,
  ) {
    this.payloads = new PayloadCheck('validated', num, size);
    const mem = new ArrayBuffer(MEM_BYTES);
    this.u8 = new Uint8Array(mem);
    this.u16 = new Uint16Array(mem);
    this.u32 = new Uint32Array(mem);
    this.tx = layout(0, num);
    this.rx = layout(0x8000, num);
    this.rxBufs = this.txBufs + num * BUF_BYTES;
    this.txTokens = new Array<number>(num).fill(0);
    this.rxTokens = new Array<number>(num).fill(0);
    this.txInFlight = new Uint8Array(num);
    this.rxInFlight = new Uint8Array(num);
    this.rxWritable = new Uint32Array(num);
    fillPayloads(this.u8, this.txBufs, BUF_BYTES, num, size);
  }

  run(packets: number): number {
    const { u8, u16, u32, tx, rx, txBufs, rxBufs, num, batch, size, state } = this;
    const { txTokens, rxTokens, txInFlight, rxInFlight, rxWritable } = this;
    const bufBytes = BUF_BYTES;
    const mask = num - 1;
    // The translation window: IOVAs [winStart, winLast] map to memory offset iova - IOVA_OFFSET.
    const winStart = IOVA_OFFSET;
    const winLast = IOVA_OFFSET + MEM_BYTES - 1;
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
      // Driver: post RX buffers and TX packets for a batch, writing each descriptor.
      while (((rxAvail - rxLastUsed) & 0xffff) < num) {
        const h = rxAvail & mask;
        const d = (rx.descOff + h * DESC) >> 2;
        u32[d] = IOVA_OFFSET + rxBufs + h * bufBytes;
        u32[d + 1] = 0;
        u32[d + 2] = bufBytes;
        u32[d + 3] = 2; // flags WRITE, next 0
        rxTokens[h] = h;
        rxInFlight[h] = 1;
        rxWritable[h] = bufBytes;
        u16[(rx.availOff + 4 + 2 * h) >> 1] = h;
        rxAvail = (rxAvail + 1) & 0xffff;
      }
      u16[(rx.availOff + 2) >> 1] = rxAvail;
      let n = 0;
      while (n < batch && sent < packets && ((txAvail - txLastUsed) & 0xffff) < num) {
        const h = txAvail & mask;
        const d = (tx.descOff + h * DESC) >> 2;
        u32[d] = IOVA_OFFSET + txBufs + h * bufBytes;
        u32[d + 1] = 0;
        u32[d + 2] = size;
        u32[d + 3] = 0;
        txTokens[h] = sent;
        txInFlight[h] = 1;
        u16[(tx.availOff + 4 + 2 * h) >> 1] = h;
        txAvail = (txAvail + 1) & 0xffff;
        sent++;
        n++;
      }
      u16[(tx.availOff + 2) >> 1] = txAvail;
      // Device: drain TX into RX with the checks.
      const txIdx = u16[(tx.availOff + 2) >> 1];
      const rxIdx = u16[(rx.availOff + 2) >> 1];
      if (((txIdx - txLastAvail) & 0xffff) > num || ((rxIdx - rxLastAvail) & 0xffff) > num)
        throw bad('index jump');
      while (txLastAvail !== txIdx && rxLastAvail !== rxIdx) {
        const th = u16[(tx.availOff + 4 + 2 * (txLastAvail & mask)) >> 1];
        const rh = u16[(rx.availOff + 4 + 2 * (rxLastAvail & mask)) >> 1];
        if (th >= num || rh >= num) throw bad('head');
        const t = (tx.descOff + th * DESC) >> 2;
        const r = (rx.descOff + rh * DESC) >> 2;
        const tFlags = u16[(tx.descOff + th * DESC + 12) >> 1];
        const rFlags = u16[(rx.descOff + rh * DESC + 12) >> 1];
        const tLen = u32[t + 2];
        const rLen = u32[r + 2];
        if (tFlags !== 0 || rFlags !== 2 || u32[t + 1] !== 0 || u32[r + 1] !== 0 || tLen === 0 || rLen === 0)
          throw bad('descriptor');
        const tIova = u32[t];
        const rIova = u32[r];
        if (!(
          tIova >= winStart &&
          tIova <= winLast - tLen + 1 &&
          rIova >= winStart &&
          rIova <= winLast - rLen + 1
        ))
          throw bad('translation');
        const tAddr = tIova - IOVA_OFFSET;
        const rAddr = rIova - IOVA_OFFSET;
        const len = tLen < rLen ? tLen : rLen;
        COPY_WITHIN.call(u8, rAddr, tAddr, tAddr + len);
        u32[(tx.usedOff + 4 + 8 * (txUsed & mask)) >> 2] = th;
        u32[(tx.usedOff + 8 + 8 * (txUsed & mask)) >> 2] = 0;
        u32[(rx.usedOff + 4 + 8 * (rxUsed & mask)) >> 2] = rh;
        u32[(rx.usedOff + 8 + 8 * (rxUsed & mask)) >> 2] = len;
        txUsed = (txUsed + 1) & 0xffff;
        rxUsed = (rxUsed + 1) & 0xffff;
        txLastAvail = (txLastAvail + 1) & 0xffff;
        rxLastAvail = (rxLastAvail + 1) & 0xffff;
      }
      u16[(tx.usedOff + 2) >> 1] = txUsed;
      u16[(rx.usedOff + 2) >> 1] = rxUsed;
      // Driver: reap every used element with the checks, taking the tokens back.
      const tu = u16[(tx.usedOff + 2) >> 1];
      if (((tu - txLastUsed) & 0xffff) > ((txAvail - txLastUsed) & 0xffff)) throw bad('tx used idx');
      while (txLastUsed !== tu) {
        const e = (tx.usedOff + 4 + 8 * (txLastUsed & mask)) >> 2;
        const id = u32[e];
        if (id >= num || txInFlight[id] === 0 || u32[e + 1] !== 0) throw bad('tx used element');
        check += txTokens[id] & 0;
        txInFlight[id] = 0;
        txLastUsed = (txLastUsed + 1) & 0xffff;
      }
      const ru = u16[(rx.usedOff + 2) >> 1];
      if (((ru - rxLastUsed) & 0xffff) > ((rxAvail - rxLastUsed) & 0xffff)) throw bad('rx used idx');
      while (rxLastUsed !== ru) {
        const e = (rx.usedOff + 4 + 8 * (rxLastUsed & mask)) >> 2;
        const id = u32[e];
        const len = u32[e + 1];
        if (id >= num || rxInFlight[id] === 0 || len > rxWritable[id]) throw bad('rx used element');
        check += len + (rxTokens[id] & 0);
        rxInFlight[id] = 0;
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
    if (check !== packets * size) throw bad(`lost data: ${check} != ${packets * size}`);
    this.payloads.moved(packets);
    return ns;
  }

  verify(): void {
    this.payloads.checkAndPoison(this.u8, this.rxBufs, BUF_BYTES);
  }
}

/**
 * Sets up the validated loop for packets of `size` bytes; each `run` keeps the ring indices in locals
 * and stores them for the next, as the reference loop does. Its `run` throws if a check fails (it
 * cannot, with this driver) or data is lost.
 */
export function createValidatedLoop(size: number, num = 256, batch = 64): BenchLoop {
  return new ValidatedLoop(size, num, batch);
}
