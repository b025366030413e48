import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_ACCESS_WO,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '@vdpa-kit/virtio-spec';
import { VringError } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';
import { Iov } from './iov.js';
import { Vringh } from './vringh.js';
import {
  VRINGH_LOOPBACK_BUDGET,
  VRINGH_LOOPBACK_COLD_PASSES,
  VRINGH_LOOPBACK_EMPTY,
  VRINGH_LOOPBACK_SLOW,
  VringhLoopback,
  type VringhLoopbackFilter,
} from './vringh-loopback.js';

// Two rings in 64 KiB of guest memory, laid out by hand (virtio 1.2 §2.7). Ring areas sit at
// IOVA == physical address; buffers live in a zone from 0x4000 and are reached through mappings
// that the scenario draws (offsets, permissions, holes).
const MEM_SIZE = 0x10000;
const TX = { desc: 0x0000, avail: 0x0800, used: 0x0c00 };
const RX = { desc: 0x1000, avail: 0x1800, used: 0x1c00 };
const ZONE = 0x4000;
const IOVA_BASE = 0x100000;
const R = 0;
const W = VIRTQ_DESC_F_WRITE;
const N = VIRTQ_DESC_F_NEXT;
const I = VIRTQ_DESC_F_INDIRECT;

interface Desc {
  readonly iova: number;
  readonly len: number;
  readonly flags: number;
  readonly next: number;
  readonly hi: number;
}

interface Mapping {
  readonly iova: number;
  readonly size: number;
  readonly pa: number;
  readonly perm: number;
}

interface Scenario {
  readonly num: number;
  readonly tx: readonly Desc[];
  readonly rx: readonly Desc[];
  readonly txHeads: readonly number[];
  readonly rxHeads: readonly number[];
  readonly mappings: readonly Mapping[];
  /** Added to the published avail index (a jump past the queue size when large). */
  readonly txJump: number;
  readonly rxJump: number;
  readonly payload: Uint8Array;
  readonly filterByte: number;
  readonly budgets: readonly number[];
}

/** TX buffers are drawn in the first half of the buffer IOVAs, RX buffers in the second. */
const HALF = 0x1800;

const descArb = (write: boolean): fc.Arbitrary<Desc> =>
  fc.record({
    iova: fc.oneof(
      {
        weight: 12,
        arbitrary: fc.integer({ min: 0, max: HALF - 0x200 }).map((o) => IOVA_BASE + (write ? HALF : 0) + o),
      },
      { weight: 3, arbitrary: fc.integer({ min: IOVA_BASE, max: IOVA_BASE + 2 * HALF }) },
      // Just below a mapping's end, so that a buffer runs past it.
      {
        weight: 2,
        arbitrary: fc.integer({ min: 1, max: 0x80 }).map((o) => IOVA_BASE + (write ? 2 : 1) * HALF - o),
      },
      // The rings' own identity mapping, below the buffers': another window, with another offset.
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1e00 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
    ),
    len: fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 1, max: 0x200 }) },
      { weight: 1, arbitrary: fc.constantFrom(0, 0x1000, 0xffff_ffff) },
    ),
    flags: fc.oneof(
      { weight: 12, arbitrary: fc.constant(write ? W : R) },
      { weight: 1, arbitrary: fc.constantFrom(R, W, N, W | N, I, R | N) },
    ),
    next: fc.integer({ min: 0, max: 9 }),
    hi: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
  });

/** The buffer mappings: mostly whole and right, sometimes with the wrong permissions, or random. */
const mappingsArb: fc.Arbitrary<readonly Mapping[]> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constant([{ iova: IOVA_BASE, size: 2 * HALF, pa: ZONE, perm: VHOST_ACCESS_RW }]),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW),
        fc.constantFrom(VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW),
      )
      .map(([txPerm, rxPerm]) => [
        { iova: IOVA_BASE, size: HALF, pa: ZONE, perm: txPerm },
        { iova: IOVA_BASE + HALF, size: HALF, pa: ZONE + 0x3000, perm: rxPerm },
      ]),
  },
  {
    weight: 2,
    arbitrary: fc.array(
      fc.record({
        iova: fc.integer({ min: IOVA_BASE, max: IOVA_BASE + 2 * HALF }),
        size: fc.integer({ min: 1, max: 2 * HALF }),
        pa: fc.integer({ min: ZONE, max: MEM_SIZE + 0x100 }),
        perm: fc.constantFrom(VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 0, max: 2 }).chain((k) => {
  const num = [2, 4, 8][k];
  return fc.record({
    num: fc.constant(num),
    tx: fc.array(descArb(false), { minLength: num, maxLength: num }),
    rx: fc.array(descArb(true), { minLength: num, maxLength: num }),
    // Heads mostly in range; the count published is the list's length.
    txHeads: fc.array(
      fc.oneof({ weight: 20, arbitrary: fc.nat(num - 1) }, { weight: 1, arbitrary: fc.nat(40) }),
      {
        maxLength: num,
      },
    ),
    rxHeads: fc.array(
      fc.oneof({ weight: 20, arbitrary: fc.nat(num - 1) }, { weight: 1, arbitrary: fc.nat(40) }),
      {
        maxLength: num,
      },
    ),
    mappings: mappingsArb,
    txJump: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
    rxJump: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
    payload: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    filterByte: fc.integer({ min: 0, max: 255 }),
    budgets: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 4, maxLength: 4 }),
  });
});

interface Side {
  mem: GuestMemory;
  tlb: Iotlb;
  bytes: Uint8Array;
  tx: Vringh;
  rx: Vringh;
}

function build(s: Scenario): Side {
  const mem = GuestMemory.create({ size: MEM_SIZE });
  const bytes = mem.regions()[0].bytes;
  const view = mem.regions()[0].view;
  // Bytes that differ from address to address, so a copy from the wrong place shows.
  for (let p = ZONE; p < MEM_SIZE; p++)
    bytes[p] = (p * 7 + (p >> 8) + s.payload[p % s.payload.length]) & 0xff;
  const write = (ring: typeof TX, descs: readonly Desc[], heads: readonly number[], jump: number): void => {
    descs.forEach((d, i) => {
      const off = ring.desc + 16 * i;
      view.setUint32(off, d.iova, true);
      view.setUint32(off + 4, d.hi, true);
      view.setUint32(off + 8, d.len, true);
      view.setUint16(off + 12, d.flags, true);
      view.setUint16(off + 14, d.next, true);
    });
    heads.forEach((h, i) => view.setUint16(ring.avail + 4 + 2 * i, h, true));
    view.setUint16(ring.avail + 2, (heads.length + jump) & 0xffff, true);
  };
  write(TX, s.tx, s.txHeads, s.txJump);
  write(RX, s.rx, s.rxHeads, s.rxJump);
  const tlb = new Iotlb();
  tlb.addRange(0n, 0x1fffn, 0n, VHOST_ACCESS_RW);
  for (const m of s.mappings) tlb.addRange(BigInt(m.iova), BigInt(m.iova + m.size - 1), BigInt(m.pa), m.perm);
  const ring = (r: typeof TX): Vringh => {
    const v = new Vringh();
    v.init({
      num: s.num,
      descAddr: r.desc,
      availAddr: r.avail,
      usedAddr: r.used,
      eventIdx: false,
      mem,
      iotlb: tlb,
    });
    return v;
  };
  return { mem, tlb, bytes, tx: ring(TX), rx: ring(RX) };
}

interface Tally {
  txChains: number;
  txBytes: number;
  rxChains: number;
  rxBytes: number;
  dropped: number;
  overruns: number;
  rxErrors: number;
  txError: string;
  rxError: string;
}

function tally(): Tally {
  return {
    txChains: 0,
    txBytes: 0,
    rxChains: 0,
    rxBytes: 0,
    dropped: 0,
    overruns: 0,
    rxErrors: 0,
    txError: '',
    rxError: '',
  };
}

function message(err: unknown): string {
  if (!(err instanceof VringError)) throw err;
  return `${err.code}: ${err.message}`;
}

/**
 * One TX chain the slow way, with the rules of a loopback device (vdpasim_net): filter, then an RX
 * chain (none: overrun, stop), too small: RX error with both completed with 0. @returns false to stop
 */
function oneChain(side: Side, t: Tally, filter: VringhLoopbackFilter): boolean {
  const riov = new Iov();
  const wiov = new Iov();
  let th: number;
  try {
    th = side.tx.getdesc(riov, null);
  } catch (err) {
    t.txError = message(err);
    return false;
  }
  if (th < 0) return false;
  t.txChains++;
  t.txBytes += riov.totalLength;
  const frame = new Uint8Array(riov.totalLength);
  riov.pull(frame);
  if (!filter(frame, 0, frame.length)) {
    t.dropped++;
    side.tx.complete(th, 0);
    return true;
  }
  let rh: number;
  try {
    rh = side.rx.getdesc(null, wiov);
  } catch (err) {
    t.rxError = message(err);
    side.tx.complete(th, 0);
    return false;
  }
  if (rh < 0) {
    t.overruns++;
    side.tx.complete(th, 0);
    return false;
  }
  let written = 0;
  if (wiov.totalLength < frame.length) t.rxErrors++;
  else {
    written = wiov.push(frame);
    t.rxChains++;
    t.rxBytes += written;
  }
  side.rx.complete(rh, written);
  side.tx.complete(th, 0);
  return true;
}

/**
 * Whether a buffer of the scenario overlaps the rings' index and flag fields (`avail` flags and idx,
 * `used` flags and idx, in the identity-mapped ring area): the one case where a pass, which reads
 * `avail->idx` and publishes `used->idx` once, differs from one chain at a time (documented).
 */
function touchesRingIndices(s: Scenario): boolean {
  const fields = [TX.avail, TX.used, RX.avail, RX.used];
  return [...s.tx, ...s.rx].some(
    (d) => d.hi === 0 && fields.some((f) => d.iova < f + 4 && d.iova + d.len > f),
  );
}

function simple(num = 8): Side & { view: DataView } {
  const s = build({
    num,
    tx: Array.from({ length: num }, (_, i) => ({
      iova: IOVA_BASE + 0x100 * i,
      len: 60,
      flags: R,
      next: 0,
      hi: 0,
    })),
    rx: Array.from({ length: num }, (_, i) => ({
      iova: IOVA_BASE + 0x1000 + 0x100 * i,
      len: 0x100,
      flags: W,
      next: 0,
      hi: 0,
    })),
    txHeads: [0, 1, 2],
    rxHeads: [0, 1, 2, 3],
    mappings: [{ iova: IOVA_BASE, size: 0x3000, pa: ZONE, perm: VHOST_ACCESS_RW }],
    txJump: 0,
    rxJump: 0,
    payload: new Uint8Array([7, 8, 9]),
    filterByte: 0,
    budgets: [8],
  });
  return { ...s, view: s.mem.regions()[0].view };
}

/**
 * `simple()` with a loopback past its cold passes (so it keeps its windows): the first pass
 * moves TX heads 0..2, then each pass moves one more frame. `publishNext` makes the next TX chain
 * available and one more RX chain, and returns the head both rings use for that frame.
 */
function warmed(): ReturnType<typeof simple> & { lb: VringhLoopback; publishNext: () => number } {
  const s = simple();
  const lb = new VringhLoopback();
  let next = 3;
  const publishNext = (): number => {
    const k = next++;
    s.view.setUint16(TX.avail + 4 + 2 * (k & 7), k & 7, true);
    s.view.setUint16(TX.avail + 2, k + 1, true);
    s.view.setUint16(RX.avail + 4 + 2 * ((k + 1) & 7), (k + 1) & 7, true);
    s.view.setUint16(RX.avail + 2, k + 2, true);
    return k & 7;
  };
  expect(lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
  expect(lb.txChains).toBe(3);
  for (let pass = 0; pass < VRINGH_LOOPBACK_COLD_PASSES; pass++) {
    publishNext();
    expect(lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
    expect([lb.txChains, lb.rxChains]).toEqual([1, 1]);
  }
  return { ...s, lb, publishNext };
}

describe('VringhLoopback (property)', () => {
  it('leaves memory, rings and counters as one chain at a time does', () => {
    fc.assert(
      fc.property(scenarioArb, fc.boolean(), (s, warm) => {
        fc.pre(!touchesRingIndices(s));
        const filter: VringhLoopbackFilter = (b, off, len) => len > 0 && b[off] !== s.filterByte;
        // Reference: every chain the slow way.
        const slow = build(s);
        const want = tally();
        // At most `cap` TX chains on both sides: an avail idx far ahead (unchecked, as vringh does
        // not check it) makes up to 65535 chains available.
        const cap = 2 * s.num + 2;
        for (let i = 0; i < cap && oneChain(slow, want, filter); i++);
        // Under test: the fast path, the slow way only where it stops, with random budgets.
        const fast = build(s);
        const got = tally();
        // A warm loopback is past its cold passes and keeps its windows from pass to pass (they come
        // from another ring pair first, so its first pass here looks them up again).
        const lb = warm ? warmed().lb : new VringhLoopback();
        for (let round = 0; round < 4 * s.num + 8; round++) {
          // The drawn budgets first (0 included), then a large one, so that every ring drains.
          const left = cap - got.txChains;
          if (left === 0) break;
          const budget = Math.min(round < s.budgets.length ? s.budgets[round] : 64, left);
          const stop = lb.run(fast.tx, fast.rx, budget, filter);
          got.txChains += lb.txChains;
          got.txBytes += lb.txBytes;
          got.rxChains += lb.rxChains;
          got.rxBytes += lb.rxBytes;
          got.dropped += lb.dropped;
          if (stop === VRINGH_LOOPBACK_EMPTY) break;
          if (stop === VRINGH_LOOPBACK_SLOW && (got.txChains === cap || !oneChain(fast, got, filter))) break;
        }
        expect(got).toEqual(want);
        expect(fast.tx.lastAvailIdx).toBe(slow.tx.lastAvailIdx);
        expect(fast.rx.lastAvailIdx).toBe(slow.rx.lastAvailIdx);
        // needNotify ends the batch on both: the used indices and every byte of memory agree.
        fast.tx.needNotify();
        slow.tx.needNotify();
        fast.rx.needNotify();
        slow.rx.needNotify();
        expect(fast.tx.lastUsedIdx).toBe(slow.tx.lastUsedIdx);
        expect(fast.rx.lastUsedIdx).toBe(slow.rx.lastUsedIdx);
        expect(Buffer.from(fast.bytes).equals(Buffer.from(slow.bytes))).toBe(true);
      }),
      { numRuns: 600 },
    );
  });
});

describe('VringhLoopback', () => {
  it('loops every frame and reports an empty ring', () => {
    const s = simple();
    const lb = new VringhLoopback();
    expect(lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
    expect([lb.txChains, lb.rxChains, lb.txBytes, lb.rxBytes, lb.dropped]).toEqual([3, 3, 180, 180, 0]);
    expect(Array.from(s.bytes.subarray(ZONE + 0x1000, ZONE + 0x1000 + 60))).toEqual(
      Array.from(s.bytes.subarray(ZONE, ZONE + 60)),
    );
    // Used rings: three elements each, idx published.
    expect(s.view.getUint16(TX.used + 2, true)).toBe(3);
    expect(s.view.getUint16(RX.used + 2, true)).toBe(3);
    expect(s.view.getUint32(RX.used + 4 + 8 * 2 + 4, true)).toBe(60);
    expect(lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
    expect(lb.txChains).toBe(0);
  });

  it('switches windows between buffers of different mappings, below and above', () => {
    const s = build({
      num: 4,
      tx: [
        { iova: IOVA_BASE + 0x10, len: 32, flags: R, next: 0, hi: 0 },
        { iova: 0x1e00, len: 32, flags: R, next: 0, hi: 0 },
        { iova: IOVA_BASE + 0x20, len: 32, flags: R, next: 0, hi: 0 },
        { iova: 0, len: 1, flags: R, next: 0, hi: 0 },
      ],
      rx: [0, 1, 2, 3].map((i) => ({
        iova: IOVA_BASE + HALF + 0x100 * i,
        len: 64,
        flags: W,
        next: 0,
        hi: 0,
      })),
      txHeads: [0, 1, 2],
      rxHeads: [0, 1, 2],
      mappings: [{ iova: IOVA_BASE, size: 2 * HALF, pa: ZONE, perm: VHOST_ACCESS_RW }],
      txJump: 0,
      rxJump: 0,
      payload: new Uint8Array([1, 2, 3, 4, 5]),
      filterByte: 0,
      budgets: [8],
    });
    // Guest memory at 0x1e00 (the rings' identity mapping) holds bytes of its own.
    for (let i = 0; i < 32; i++) s.bytes[0x1e00 + i] = 0xa0 + i;
    const expected = [ZONE + 0x10, 0x1e00, ZONE + 0x20].map((pa) =>
      Array.from(s.bytes.subarray(pa, pa + 32)),
    );
    const lb = new VringhLoopback();
    expect(lb.run(s.tx, s.rx, 8)).toBe(VRINGH_LOOPBACK_EMPTY);
    expect(lb.rxChains).toBe(3);
    for (let k = 0; k < 3; k++) {
      const at = ZONE + HALF + 0x100 * k;
      expect(Array.from(s.bytes.subarray(at, at + 32))).toEqual(expected[k]);
    }
  });

  // The window a first buffer loaded must not pass a second one that leaves it (either end), on
  // either ring: the pass stops before that chain, having moved only the first.
  const leaving: readonly (readonly [string, number, number])[] = [
    ['a TX buffer past the end of its window', IOVA_BASE + HALF - 0x10, IOVA_BASE + HALF + 0x100],
    ['a TX buffer below the start of its window', IOVA_BASE - 0x10, IOVA_BASE + HALF + 0x100],
    ['an RX buffer past the end of its window', IOVA_BASE + 0x40, IOVA_BASE + 2 * HALF - 0x10],
    ['an RX buffer below the start of its window', IOVA_BASE + 0x40, IOVA_BASE + HALF - 0x10],
    // The frame (32 bytes) would fit before the window's end; the descriptor (64 bytes) does not.
    ['an RX buffer whose descriptor runs past its window', IOVA_BASE + 0x40, IOVA_BASE + 2 * HALF - 0x30],
  ];
  for (const [what, txIova, rxIova] of leaving) {
    it(`stops before ${what} after a buffer inside it`, () => {
      const s = build({
        num: 4,
        tx: [
          { iova: IOVA_BASE, len: 32, flags: R, next: 0, hi: 0 },
          { iova: txIova, len: 32, flags: R, next: 0, hi: 0 },
          { iova: IOVA_BASE + 0x80, len: 32, flags: R, next: 0, hi: 0 },
          { iova: IOVA_BASE + 0xc0, len: 32, flags: R, next: 0, hi: 0 },
        ],
        rx: [
          { iova: IOVA_BASE + HALF, len: 64, flags: W, next: 0, hi: 0 },
          { iova: rxIova, len: 64, flags: W, next: 0, hi: 0 },
          { iova: IOVA_BASE + HALF + 0x200, len: 64, flags: W, next: 0, hi: 0 },
          { iova: IOVA_BASE + HALF + 0x300, len: 64, flags: W, next: 0, hi: 0 },
        ],
        txHeads: [0, 1],
        rxHeads: [0, 1],
        // TX buffers readable only, RX buffers writable only, in two windows with different offsets.
        mappings: [
          { iova: IOVA_BASE, size: HALF, pa: ZONE, perm: VHOST_ACCESS_RO },
          { iova: IOVA_BASE + HALF, size: HALF, pa: ZONE + 0x3000, perm: VHOST_ACCESS_WO },
        ],
        txJump: 0,
        rxJump: 0,
        payload: new Uint8Array([1, 2, 3]),
        filterByte: 0,
        budgets: [8],
      });
      const before = s.bytes.slice();
      const lb = new VringhLoopback();
      expect(lb.run(s.tx, s.rx, 8)).toBe(VRINGH_LOOPBACK_SLOW);
      expect([lb.txChains, lb.rxChains]).toEqual([1, 1]);
      // Only the first RX buffer and the rings' used areas were written.
      const changed: number[] = [];
      for (let i = 0; i < s.bytes.length; i++) if (s.bytes[i] !== before[i]) changed.push(i);
      const firstRx = ZONE + 0x3000;
      expect(
        changed.every(
          (i) =>
            (i >= firstRx && i < firstRx + 32) ||
            (i >= TX.used && i < TX.used + 0x100) ||
            (i >= RX.used && i < RX.used + 0x100),
        ),
      ).toBe(true);
      expect(Array.from(s.bytes.subarray(firstRx, firstRx + 32))).toEqual(
        Array.from(s.bytes.subarray(ZONE, ZONE + 32)),
      );
    });
  }

  describe('after the mapping changed between passes', () => {
    it('looks its windows up in its cold passes only, then keeps them', () => {
      const s = simple();
      const lb = new VringhLoopback();
      // The ring areas are checked (looked up) once, on first use: before counting the windows'.
      s.tx.ringStateForBatch();
      s.rx.ringStateForBatch();
      const lookups = vi.spyOn(s.tlb, 'entryAt');
      expect(lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
      // One window per ring (every buffer lies in the one mapping).
      expect(lookups).toHaveBeenCalledTimes(2);
      const w = warmed();
      const warmLookups = vi.spyOn(w.tlb, 'entryAt');
      const h = w.publishNext();
      expect(w.lb.run(w.tx, w.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
      expect(warmLookups).not.toHaveBeenCalled();
      expect(Array.from(w.bytes.subarray(ZONE + 0x1000 + 0x100 * h, ZONE + 0x1000 + 0x100 * h + 60))).toEqual(
        Array.from(w.bytes.subarray(ZONE + 0x100 * h, ZONE + 0x100 * h + 60)),
      );
    });

    it('copies the next pass through the mapping that replaced its entry', () => {
      const s = warmed();
      // The same IOVAs now map to physical 0x8000.
      s.tlb.delRange(BigInt(IOVA_BASE), BigInt(IOVA_BASE + 0x2fff));
      s.tlb.addRange(BigInt(IOVA_BASE), BigInt(IOVA_BASE + 0x2fff), 0x8000n, VHOST_ACCESS_RW);
      const h = s.publishNext();
      const before = s.bytes.slice();
      expect(s.lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
      expect([s.lb.txChains, s.lb.rxChains]).toEqual([1, 1]);
      expect(Array.from(s.bytes.subarray(0x9000 + 0x100 * h, 0x9000 + 0x100 * h + 60))).toEqual(
        Array.from(s.bytes.subarray(0x8000 + 0x100 * h, 0x8000 + 0x100 * h + 60)),
      );
      // Nothing was written where the old mapping pointed.
      expect(Array.from(s.bytes.subarray(ZONE, ZONE + 0x3000))).toEqual(
        Array.from(before.subarray(ZONE, ZONE + 0x3000)),
      );
    });

    it('does not pass a buffer whose mapping was removed', () => {
      const s = warmed();
      s.tlb.delRange(BigInt(IOVA_BASE), BigInt(IOVA_BASE + 0x2fff));
      s.publishNext();
      const before = s.bytes.slice();
      expect(s.lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_SLOW);
      expect([s.lb.txChains, s.lb.rxChains]).toEqual([0, 0]);
      expect(Array.from(s.bytes)).toEqual(Array.from(before));
    });

    it('does not write through a region replaced in memory', () => {
      const s = warmed();
      // The region is replaced by a copy over a new buffer: the old buffer must not be written.
      const old = s.bytes.slice();
      const fresh = new Uint8Array(MEM_SIZE);
      fresh.set(old);
      s.mem.removeRegion(0);
      s.mem.addRegion(0, fresh.buffer);
      const h = s.publishNext();
      // publishNext wrote through the old view: write the same indices into the new buffer.
      fresh.set(s.bytes.subarray(TX.avail, TX.avail + 0x100), TX.avail);
      fresh.set(s.bytes.subarray(RX.avail, RX.avail + 0x100), RX.avail);
      // A frame only the new buffer holds, and RX buffers that an earlier pass did not fill already.
      const txOff = ZONE + 0x100 * h;
      const rxOff = ZONE + 0x1000 + 0x100 * h;
      const frame = Array.from({ length: 60 }, (_, i) => (i * 13 + 5) & 0xff);
      fresh.set(frame, txOff);
      fresh.fill(0xee, rxOff, rxOff + 0x100);
      s.bytes.fill(0xee, rxOff, rxOff + 0x100);
      const before = s.bytes.slice();
      expect(s.lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_EMPTY);
      expect([s.lb.txChains, s.lb.rxChains]).toEqual([1, 1]);
      expect(Array.from(fresh.subarray(rxOff, rxOff + 60))).toEqual(frame);
      // Nothing was written into the buffer the region was over before.
      expect(Array.from(s.bytes)).toEqual(Array.from(before));
    });

    describe('does not pass a buffer through a kept window without the permission its ring needs', () => {
      // A mapping the device may only write (for TX) or only read (for RX), away from the buffers.
      const ODD_IOVA = IOVA_BASE + 0x8000;
      const ODD_PA = 0x9000;

      it.each([
        ['a TX buffer in a write-only mapping', TX, VHOST_ACCESS_WO],
        ['an RX buffer in a read-only mapping', RX, VHOST_ACCESS_RO],
      ])('%s, pass after pass', (_what, ring, perm) => {
        const s = warmed();
        s.tlb.addRange(BigInt(ODD_IOVA), BigInt(ODD_IOVA + 0xfff), BigInt(ODD_PA), perm);
        const h = s.publishNext();
        s.view.setUint32(ring.desc + 16 * h, ODD_IOVA, true);
        const before = s.bytes.slice();
        // The first pass loads the window from that mapping and refuses the buffer; the next ones
        // keep the window (nothing changed) and must refuse it again.
        for (let pass = 0; pass < 3; pass++) {
          expect(s.lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_SLOW);
          expect([s.lb.txChains, s.lb.rxChains]).toEqual([0, 0]);
        }
        expect(Array.from(s.bytes)).toEqual(Array.from(before));
      });

      it('after the per-chain path refused it and the ring was set up again', () => {
        const s = warmed();
        s.tlb.addRange(BigInt(ODD_IOVA), BigInt(ODD_IOVA + 0xfff), BigInt(ODD_PA), VHOST_ACCESS_WO);
        let h = s.publishNext();
        s.view.setUint32(TX.desc + 16 * h, ODD_IOVA, true);
        expect(s.lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_SLOW);
        expect(() => s.tx.getdesc(new Iov(), null)).toThrow(VringError);
        // A device reset: the TX ring set up again over the same memory and IOTLB, where it was.
        const last = s.tx.lastAvailIdx;
        s.tx.init({
          num: 8,
          descAddr: TX.desc,
          availAddr: TX.avail,
          usedAddr: TX.used,
          eventIdx: false,
          mem: s.mem,
          iotlb: s.tlb,
        });
        s.tx.lastAvailIdx = last;
        s.tx.lastUsedIdx = last;
        h = s.publishNext();
        s.view.setUint32(TX.desc + 16 * h, ODD_IOVA, true);
        const before = s.bytes.slice();
        expect(s.lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_SLOW);
        expect([s.lb.txChains, s.lb.rxChains]).toEqual([0, 0]);
        expect(Array.from(s.bytes)).toEqual(Array.from(before));
      });
    });

    it('does not pass a buffer of another IOTLB, and takes the permission each ring needs', () => {
      const s = warmed();
      // The TX ring moves to an IOTLB whose buffer entry is write-only: not readable for TX.
      const tlb = new Iotlb();
      tlb.addRange(0n, 0x1fffn, 0n, VHOST_ACCESS_RW);
      tlb.addRange(BigInt(IOVA_BASE), BigInt(IOVA_BASE + 0x2fff), BigInt(ZONE), VHOST_ACCESS_WO);
      s.tx.setIotlb(tlb);
      s.publishNext();
      expect(s.lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_SLOW);
      expect(s.lb.txChains).toBe(0);
    });
  });

  it('says BUDGET, not EMPTY, when the budget ends the pass exactly at the last pending chain', () => {
    const s = simple();
    const lb = new VringhLoopback();
    expect(lb.run(s.tx, s.rx, 3)).toBe(VRINGH_LOOPBACK_BUDGET);
    expect(lb.txChains).toBe(3);
    expect(lb.run(s.tx, s.rx, 3)).toBe(VRINGH_LOOPBACK_EMPTY);
  });

  it('stops on the budget', () => {
    const s = simple();
    const lb = new VringhLoopback();
    expect(lb.run(s.tx, s.rx, 2)).toBe(VRINGH_LOOPBACK_BUDGET);
    expect(lb.txChains).toBe(2);
    expect(s.tx.lastAvailIdx).toBe(2);
    expect(lb.run(s.tx, s.rx, 0)).toBe(VRINGH_LOOPBACK_BUDGET);
  });

  it('stops before a frame with no RX chain, consuming nothing of it', () => {
    const s = simple();
    s.view.setUint16(RX.avail + 2, 1, true);
    const lb = new VringhLoopback();
    expect(lb.run(s.tx, s.rx, 64)).toBe(VRINGH_LOOPBACK_SLOW);
    expect(lb.txChains).toBe(1);
    expect(s.tx.lastAvailIdx).toBe(1);
    expect(s.rx.lastAvailIdx).toBe(1);
  });

  it('drops what the filter refuses without taking an RX chain', () => {
    const s = simple();
    const lb = new VringhLoopback();
    expect(lb.run(s.tx, s.rx, 64, () => false)).toBe(VRINGH_LOOPBACK_EMPTY);
    expect([lb.txChains, lb.dropped, lb.rxChains]).toEqual([3, 3, 0]);
    expect(s.rx.lastAvailIdx).toBe(0);
  });

  it('publishes what it moved when the filter throws', () => {
    const s = simple();
    const lb = new VringhLoopback();
    let calls = 0;
    const filter = (): boolean => {
      if (++calls === 2) throw new Error('filter bug');
      return true;
    };
    expect(() => lb.run(s.tx, s.rx, 64, filter)).toThrow('filter bug');
    expect(lb.txChains).toBe(1);
    expect(s.tx.lastAvailIdx).toBe(1);
    expect(s.view.getUint16(TX.used + 2, true)).toBe(1);
    expect(s.view.getUint16(RX.used + 2, true)).toBe(1);
  });

  it('refuses a bad budget and a ring looped into itself', () => {
    const s = simple();
    const lb = new VringhLoopback();
    for (const max of [-1, 0.5, Number.NaN]) expect(() => lb.run(s.tx, s.rx, max)).toThrow(VringError);
    expect(() => lb.run(s.tx, s.tx, 1)).toThrow(VringError);
  });

  it('stops (slow) on an uninitialised ring', () => {
    const s = simple();
    const lb = new VringhLoopback();
    expect(lb.run(new Vringh(), s.rx, 4)).toBe(VRINGH_LOOPBACK_SLOW);
    expect(lb.run(s.tx, new Vringh(), 4)).toBe(VRINGH_LOOPBACK_SLOW);
    expect(s.tx.lastAvailIdx).toBe(0);
  });
});

describe('VringhLoopback frame bound (maxLen)', () => {
  it('stops (slow) before a TX chain longer than maxLen, consuming nothing of it', () => {
    const s = simple();
    const lb = new VringhLoopback();
    expect(lb.run(s.tx, s.rx, 64, undefined, 59)).toBe(VRINGH_LOOPBACK_SLOW);
    expect([lb.txChains, lb.rxChains]).toEqual([0, 0]);
    expect(s.tx.lastAvailIdx).toBe(0);
    expect(lb.run(s.tx, s.rx, 64, undefined, 60)).toBe(VRINGH_LOOPBACK_EMPTY);
    expect([lb.txChains, lb.rxChains, lb.txBytes]).toEqual([3, 3, 180]);
  });

  it('refuses a bad maxLen', () => {
    const s = simple();
    const lb = new VringhLoopback();
    for (const maxLen of [-1, 0.5, Number.NaN]) {
      expect(() => lb.run(s.tx, s.rx, 4, undefined, maxLen)).toThrow(VringError);
    }
  });
});
