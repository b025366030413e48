import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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

// Guest memory of 64 KiB at physical 0: descriptor table, avail ring and used ring, then a zone of
// garbage that buffer and indirect-table mappings point into. Ring areas sit at IOVA == physical
// address; buffers use IOVAs from 0x10000, mapped by random entries with random permissions.
const MEM_SIZE = 0x10000;
const DESC = 0x0000;
const AVAIL = 0x1000;
const USED = 0x2000;
const ZONE = 0x4000;
const IOVA_BASE = 0x10000;
const IOVA_SPAN = 0x20000;
const CANARY = 0xa5;
const NUMS = [1, 2, 4, 8, 16, 32] as const;
const PERMS = [VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW] as const;

/**
 * A descriptor as generated: its address either points into one of the scenario's mappings (`map`
 * picks the mapping, `off` the offset inside it) or is raw (`lo`, `hi`); `next` is taken modulo the
 * queue size plus two unless `wild`.
 */
interface GenDesc {
  map: number;
  off: number;
  raw: boolean;
  lo: number;
  hi: number;
  len: number;
  flags: number;
  next: number;
  wild: boolean;
}

const u16 = fc.integer({ min: 0, max: 0xffff });
/** true in `tenths` out of ten draws. */
const chance = (tenths: number): fc.Arbitrary<boolean> =>
  fc.oneof(
    { weight: tenths, arbitrary: fc.constant(true) },
    { weight: 10 - tenths, arbitrary: fc.constant(false) },
  );
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const R = 0;
const W = VIRTQ_DESC_F_WRITE;
const N = VIRTQ_DESC_F_NEXT;
const I = VIRTQ_DESC_F_INDIRECT;

const descArb: fc.Arbitrary<GenDesc> = fc.record({
  map: fc.nat(),
  off: fc.nat({ max: 0x4000 }),
  raw: chance(3),
  lo: fc.oneof(fc.integer({ min: 0, max: MEM_SIZE + 0x100 }), u32),
  hi: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(0x1f_ffff, 0x20_0000) },
    { weight: 1, arbitrary: u32 },
  ),
  len: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 0x200 }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 0x20 }).map((n) => n * 16) },
    { weight: 1, arbitrary: fc.constantFrom(0, 0x8000_0000, 0xffff_ffff) },
    { weight: 1, arbitrary: u32 },
  ),
  flags: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(R, N, W, W | N) },
    { weight: 2, arbitrary: fc.constantFrom(I, I | N, I | W) },
    { weight: 1, arbitrary: u16 },
  ),
  next: u16,
  wild: chance(2),
});

const mappingArb = fc.record({
  iova: fc.integer({ min: IOVA_BASE, max: IOVA_BASE + IOVA_SPAN }),
  size: fc.integer({ min: 1, max: 0x4000 }),
  pa: fc.integer({ min: 0, max: MEM_SIZE + 0x1000 }),
  perm: fc.constantFrom(...PERMS),
});

/** Either generated descriptors, repeated, or raw random bytes. */
const contentArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(descArb, { minLength: 1, maxLength: 48 }).map((descs) => ({ descs, raw: undefined })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 512 }).map((raw) => ({ descs: undefined, raw })),
  },
);

const scenarioArb = fc.record({
  num: fc.constantFrom(...NUMS),
  eventIdx: fc.boolean(),
  table: contentArb,
  zone: contentArb,
  // Taken modulo num + 2 (so mostly legal) unless wild.
  availIdxAhead: u16,
  availRing: fc.array(u16, { minLength: 32, maxLength: 32 }),
  wildAvail: chance(2),
  availFlags: u16,
  usedEvent: u16,
  lastAvail: u16,
  ringPerms: fc.oneof(
    { weight: 8, arbitrary: fc.constant([VHOST_ACCESS_RO, VHOST_ACCESS_RO, VHOST_ACCESS_WO] as const) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...PERMS), fc.constantFrom(...PERMS), fc.constantFrom(...PERMS)),
    },
  ),
  mappings: fc.array(mappingArb, { maxLength: 12 }),
  nullRiov: chance(2),
  nullWiov: chance(2),
  payload: fc.uint8Array({ minLength: 1, maxLength: 257 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function writeContent(
  view: DataView,
  start: number,
  end: number,
  content: Scenario['table'],
  s: Scenario,
): void {
  if (content.raw !== undefined) {
    for (let off = start, k = 0; off < end; off++, k++)
      view.setUint8(off, content.raw[k % content.raw.length]);
    return;
  }
  for (let off = start, k = 0; off + 16 <= end; off += 16, k++) {
    const d = content.descs[k % content.descs.length];
    let lo = d.lo;
    let hi = d.hi;
    if (!d.raw && s.mappings.length > 0) {
      const m = s.mappings[d.map % s.mappings.length];
      lo = m.iova + (d.off % m.size);
      hi = 0;
    }
    view.setUint32(off, lo, true);
    view.setUint32(off + 4, hi, true);
    view.setUint32(off + 8, d.len, true);
    view.setUint16(off + 12, d.flags, true);
    view.setUint16(off + 14, d.wild ? d.next : d.next % (s.num + 2), true);
  }
}

interface Built {
  mem: GuestMemory;
  bytes: Uint8Array;
  vrh: Vringh;
  /** Union of the permissions the IOTLB grants on each physical byte. */
  granted: Uint8Array;
}

function build(s: Scenario): Built {
  const mem = GuestMemory.create({ size: MEM_SIZE });
  const region = mem.regions()[0];
  const view = region.view;
  region.bytes.fill(CANARY);
  writeContent(view, DESC, DESC + 16 * s.num, s.table, s);
  writeContent(view, ZONE, MEM_SIZE, s.zone, s);
  view.setUint16(AVAIL, s.availFlags, true);
  const ahead = s.wildAvail ? s.availIdxAhead : s.availIdxAhead % (s.num + 2);
  view.setUint16(AVAIL + 2, (s.lastAvail + ahead) & 0xffff, true);
  for (let i = 0; i < s.num; i++) {
    view.setUint16(AVAIL + 4 + 2 * i, s.wildAvail ? s.availRing[i] : s.availRing[i] % (s.num + 1), true);
  }
  view.setUint16(AVAIL + 4 + 2 * s.num, s.usedEvent, true);

  const tlb = new Iotlb();
  const granted = new Uint8Array(MEM_SIZE);
  const grant = (iova: number, size: number, pa: number, perm: number): void => {
    tlb.addRange(BigInt(iova), BigInt(iova + size - 1), BigInt(pa), perm);
    for (let p = pa; p < pa + size && p < MEM_SIZE; p++) granted[p] |= perm;
  };
  grant(DESC, 0x1000, DESC, s.ringPerms[0]);
  grant(AVAIL, 0x1000, AVAIL, s.ringPerms[1]);
  grant(USED, 0x1000, USED, s.ringPerms[2]);
  for (const m of s.mappings) grant(m.iova, m.size, m.pa, m.perm);

  const vrh = new Vringh();
  vrh.init({
    num: s.num,
    descAddr: DESC,
    availAddr: AVAIL,
    usedAddr: USED,
    eventIdx: s.eventIdx,
    mem,
    iotlb: tlb,
  });
  vrh.lastAvailIdx = s.lastAvail;
  vrh.lastUsedIdx = s.lastAvail;
  return { mem, bytes: region.bytes, vrh, granted };
}

/** Index of the first byte of `iov` outside memory granted with `perm`, or -1. */
function firstUngranted(iov: Iov | null, b: Built, perm: number): number {
  if (iov === null) return -1;
  for (let s = 0; s < iov.count; s++) {
    if (iov.bufs[s] !== b.bytes) return iov.offs[s];
    const end = iov.offs[s] + iov.lens[s];
    if (end > MEM_SIZE) return end;
    for (let p = iov.offs[s]; p < end; p++) if ((b.granted[p] & perm) === 0) return p;
  }
  return -1;
}

function expectVringError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof VringError))
      throw new Error(`expected a VringError, got ${String(err)}`, { cause: err });
  }
}

/** Fills the unconsumed part of `iov` with repetitions of `payload`. @returns bytes written */
function pushAll(vrh: Vringh, iov: Iov | null, payload: Uint8Array): number {
  if (iov === null) return 0;
  let total = 0;
  for (let n = vrh.push(iov, payload); n > 0; n = vrh.push(iov, payload)) total += n;
  return total;
}

/**
 * Drives the device side over the scenario: up to num + 3 getdesc calls, each followed by checking the
 * lists, filling the writable one with the payload, draining the readable one and completing the
 * head; then the notification calls. Every failure must be a VringError.
 */
function exercise(b: Built, s: Scenario): void {
  const riov = s.nullRiov ? null : new Iov(1);
  const wiov = s.nullWiov ? null : new Iov(1);
  const sink = new Uint8Array(0x1000);
  for (let call = 0; call < s.num + 3; call++) {
    const lastAvail = b.vrh.lastAvailIdx;
    let head = -2;
    try {
      head = b.vrh.getdesc(riov, wiov);
    } catch (err) {
      expect(err).toBeInstanceOf(VringError);
    }
    expect(head === -2 || head === -1 || (Number.isInteger(head) && head >= 0 && head < s.num)).toBe(true);
    expect(firstUngranted(riov, b, VHOST_ACCESS_RO)).toBe(-1);
    expect(firstUngranted(wiov, b, VHOST_ACCESS_WO)).toBe(-1);
    // Even the partial lists an error leaves behind are safe to fill and drain.
    const written = pushAll(b.vrh, wiov, s.payload);
    if (riov !== null) while (b.vrh.pull(riov, sink) > 0);
    if (head >= 0) expectVringError(() => b.vrh.complete(head, written));
    // Empty, or an error that consumed nothing (ring not translatable, index jump): it would repeat.
    if (head === -1 || b.vrh.lastAvailIdx === lastAvail) break;
  }
  expectVringError(() => b.vrh.needNotify());
  expectVringError(() => b.vrh.notifyEnable());
  expectVringError(() => b.vrh.notifyDisable());
}

describe('Vringh.getdesc on garbage (property)', () => {
  it('returns a head or -1 or throws VringError; segments stay inside what the IOTLB grants', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => exercise(build(s), s)),
      { numRuns: 500 },
    );
  });

  it('never writes outside memory the IOTLB grants as writable (canary)', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = build(s);
        // Memory starts as the canary byte with the rings and the garbage zone written over it; every
        // byte the IOTLB does not grant writable must keep its value.
        const before = b.bytes.slice();
        exercise(b, s);
        let changed = -1;
        for (let p = 0; p < MEM_SIZE && changed < 0; p++) {
          if ((b.granted[p] & VHOST_ACCESS_WO) === 0 && b.bytes[p] !== before[p]) changed = p;
        }
        expect(changed).toBe(-1);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Vringh.getdesc on well-formed chains (property)', () => {
  const chainArb = fc.record({
    readable: fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 5 }),
    writable: fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 5 }),
    indirect: fc.boolean(),
    order: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 11, maxLength: 11 }),
    lastAvail: u16,
  });

  it('gathers exactly the chain the driver wrote, in order', () => {
    fc.assert(
      fc.property(chainArb, (c) => {
        const num = 16;
        const mem = GuestMemory.create({ size: MEM_SIZE });
        const view = mem.regions()[0].view;
        const vrh = new Vringh();
        vrh.init({
          num,
          descAddr: DESC,
          availAddr: AVAIL,
          usedAddr: USED,
          eventIdx: false,
          mem,
          iotlb: Iotlb.identity(),
        });
        vrh.lastAvailIdx = c.lastAvail;
        const lens = [...c.readable, ...c.writable];
        // Descriptor slots in a random order (sorting indices by random keys), in the ring's table or
        // in an indirect table at ZONE.
        const slots = Array.from({ length: num }, (_, i) => i).sort(
          (x, y) => c.order[x % 11] - c.order[y % 11] || x - y,
        );
        const table = c.indirect ? ZONE : DESC;
        // The walk of an indirect table starts at its entry 0.
        if (c.indirect) {
          const z = slots.indexOf(0);
          [slots[0], slots[z]] = [slots[z], slots[0]];
        }
        const expected = new Uint8Array(lens.reduce((a, n) => a + n, 0));
        let filled = 0;
        for (let k = 0; k < lens.length; k++) {
          const addr = 0x8000 + 0x100 * k;
          const off = table + 16 * slots[k];
          const last = k === lens.length - 1;
          view.setUint32(off, addr, true);
          view.setUint32(off + 4, 0, true);
          view.setUint32(off + 8, lens[k], true);
          view.setUint16(
            off + 12,
            (k >= c.readable.length ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT),
            true,
          );
          view.setUint16(off + 14, last ? 0 : slots[k + 1], true);
          for (let j = 0; j < lens[k]; j++) view.setUint8(addr + j, (k * 31 + j) & 0xff);
          expected.set(mem.view(addr, lens[k]), filled);
          filled += lens[k];
        }
        // With no buffers, the head slot stays all zero: one zero-length readable descriptor.
        let head = slots[0];
        if (c.indirect) {
          head = 3;
          view.setUint32(DESC + 16 * head, ZONE, true);
          view.setUint32(DESC + 16 * head + 8, 16 * num, true);
          view.setUint16(DESC + 16 * head + 12, VIRTQ_DESC_F_INDIRECT, true);
        }
        view.setUint16(AVAIL + 4 + 2 * (c.lastAvail % num), head, true);
        view.setUint16(AVAIL + 2, (c.lastAvail + 1) & 0xffff, true);

        const riov = new Iov(1);
        const wiov = new Iov(1);
        expect(vrh.getdesc(riov, wiov)).toBe(head);
        const sumR = c.readable.reduce((a, n) => a + n, 0);
        expect(riov.totalLength).toBe(sumR);
        expect(wiov.totalLength).toBe(filled - sumR);
        const got = new Uint8Array(filled);
        vrh.pull(riov, got);
        if (wiov.count > 0) wiov.pull(got, sumR);
        expect(got).toEqual(expected);
        expect(vrh.getdesc(riov, wiov)).toBe(-1);
      }),
      { numRuns: 300 },
    );
  });
});
