import { describe, expect, it } from 'vitest';
import { GuestMemory } from './guest-memory.js';
import { VHOST_ACCESS_RW } from '@vdpa-kit/virtio-spec';
import { Iotlb } from './iotlb.js';
import { Vringh } from './vringh.js';
import { VRINGH_LOOPBACK_EMPTY, VRINGH_LOOPBACK_SLOW, VringhLoopback } from './vringh-loopback.js';

// `Vringh.ringStateForBatch` keeps its translated views from one batch to the next while the IOTLB
// and memory stay as they were. These tests change what the ring areas translate to between two
// batches and read `avail->idx` through the state: each copy of the rings holds its own index.
const MEM_SIZE = 0x10000;
const RINGS = { desc: 0x0000, avail: 0x1000, used: 0x2000 };
const IOVA = 0x100000;
const RING_BYTES = 0x4000;
const NUM = 8;

/** Memory whose ring copies at physical 0 and 0x8000 publish avail indices `a` and `b`. */
function memoryWith(a: number, b: number): GuestMemory {
  const mem = GuestMemory.create({ size: MEM_SIZE });
  const view = new DataView(mem.regionOf(0, MEM_SIZE).bytes.buffer);
  view.setUint16(RINGS.avail + 2, a, true);
  view.setUint16(0x8000 + RINGS.avail + 2, b, true);
  return mem;
}

/** An IOTLB mapping the rings' IOVAs to physical `pa` (one add: generation 1). */
function tlbTo(pa: number): Iotlb {
  const tlb = new Iotlb();
  tlb.addRange(BigInt(IOVA), BigInt(IOVA + RING_BYTES - 1), BigInt(pa), VHOST_ACCESS_RW);
  return tlb;
}

function ring(mem: GuestMemory, tlb: Iotlb): Vringh {
  const vrh = new Vringh();
  initRing(vrh, mem, tlb);
  return vrh;
}

/** (Re)initialises `vrh` on the rings' IOVAs over `mem` and `tlb`. */
function initRing(vrh: Vringh, mem: GuestMemory, tlb: Iotlb): void {
  vrh.init({
    num: NUM,
    descAddr: IOVA + RINGS.desc,
    availAddr: IOVA + RINGS.avail,
    usedAddr: IOVA + RINGS.used,
    eventIdx: true,
    mem,
    iotlb: tlb,
  });
}

/** `avail->idx` as the batch state reads it, or undefined when the state is refused. */
function availIdx(vrh: Vringh): number | undefined {
  return vrh.ringStateForBatch()?.avail.getUint16(2, true);
}

describe('Vringh.ringStateForBatch across batches', () => {
  it('reads the rings where a changed IOTLB entry now points', () => {
    const mem = memoryWith(1, 2);
    const tlb = tlbTo(0);
    const vrh = ring(mem, tlb);
    expect(availIdx(vrh)).toBe(1);
    tlb.delRange(BigInt(IOVA), BigInt(IOVA + RING_BYTES - 1));
    tlb.addRange(BigInt(IOVA), BigInt(IOVA + RING_BYTES - 1), 0x8000n, VHOST_ACCESS_RW);
    expect(availIdx(vrh)).toBe(2);
  });

  it('reads the rings through an IOTLB given by setIotlb, even one at the same generation', () => {
    const mem = memoryWith(1, 2);
    const first = tlbTo(0);
    const second = tlbTo(0x8000);
    expect(second.generation).toBe(first.generation);
    const vrh = ring(mem, first);
    expect(availIdx(vrh)).toBe(1);
    vrh.setIotlb(second);
    expect(availIdx(vrh)).toBe(2);
    expect(vrh.ringStateForBatch()?.iotlb).toBe(second);
  });

  it('reads the rings in the memory given by a new init, even memory at the same generation', () => {
    const first = memoryWith(1, 2);
    const second = memoryWith(3, 4);
    expect(second.generation).toBe(first.generation);
    const tlb = tlbTo(0);
    const vrh = ring(first, tlb);
    expect(availIdx(vrh)).toBe(1);
    initRing(vrh, second, tlb);
    expect(availIdx(vrh)).toBe(3);
    expect(vrh.ringStateForBatch()?.mem).toBe(second);
  });

  it('reads the rings in the region that replaced the old one', () => {
    const mem = memoryWith(1, 2);
    const vrh = ring(mem, tlbTo(0));
    expect(availIdx(vrh)).toBe(1);
    const next = new ArrayBuffer(MEM_SIZE);
    new DataView(next).setUint16(RINGS.avail + 2, 7, true);
    mem.removeRegion(0);
    mem.addRegion(0, next);
    expect(availIdx(vrh)).toBe(7);
  });

  it('refuses the state while an area does not translate, and gives it again once it does', () => {
    const mem = memoryWith(1, 2);
    const tlb = tlbTo(0);
    const vrh = ring(mem, tlb);
    expect(availIdx(vrh)).toBe(1);
    tlb.delRange(BigInt(IOVA), BigInt(IOVA + RING_BYTES - 1));
    expect(availIdx(vrh)).toBeUndefined();
    // Nothing changed since the refusal: still refused, not the views of before.
    expect(availIdx(vrh)).toBeUndefined();
    tlb.addRange(BigInt(IOVA), BigInt(IOVA + RING_BYTES - 1), 0x8000n, VHOST_ACCESS_RW);
    expect(availIdx(vrh)).toBe(2);
  });

  it('gives the indices as they are now on every call', () => {
    const mem = memoryWith(1, 2);
    const vrh = ring(mem, tlbTo(0));
    const st = vrh.ringStateForBatch();
    expect([st?.lastAvail, st?.usedIdx, st?.num]).toEqual([0, 0, NUM]);
    vrh.commitRingState(1, 1);
    const again = vrh.ringStateForBatch();
    expect(again).toBe(st);
    expect([again?.lastAvail, again?.usedIdx, again?.num]).toEqual([1, 1, NUM]);
  });
});

describe('Vringh.ringStateForBatch word arrays', () => {
  it('index the same bytes as the views', () => {
    const mem = memoryWith(5, 6);
    const vrh = ring(mem, tlbTo(0));
    const st = vrh.ringStateForBatch();
    expect(st).toBeDefined();
    if (st === undefined) return;
    st.desc.setUint32(3 * 16 + 8, 0x1234, true);
    st.desc.setUint16(3 * 16 + 12, 0x0002, true);
    st.desc.setUint16(3 * 16 + 14, 0x0007, true);
    expect([st.availWords[1], st.descWords[3 * 4 + 2], st.descWords[3 * 4 + 3]]).toEqual([
      5, 0x1234, 0x7_0002,
    ]);
    st.usedWords[1 + 2 * 2] = 9;
    st.usedWords[2 + 2 * 2] = 64;
    expect([st.used.getUint32(4 + 8 * 2, true), st.used.getUint32(8 + 8 * 2, true)]).toEqual([9, 64]);
  });

  it('are refused for a ring area that is not aligned in memory', () => {
    // The IOVAs are aligned; the physical address they map to is odd.
    const mem = memoryWith(1, 2);
    const vrh = ring(mem, tlbTo(0x8001));
    expect(vrh.ringStateForBatch()).toBeUndefined();
    // The same ring at an aligned address is given.
    vrh.setIotlb(tlbTo(0x8000));
    expect(availIdx(vrh)).toBe(2);
  });
});

describe('Vringh.ringStateForBatch alignment and detached memory', () => {
  /** An IOTLB mapping each ring area on its own entry, to physical `desc`, `avail` and `used`. */
  function tlbAreas(desc: number, avail: number, used: number): Iotlb {
    const tlb = new Iotlb();
    tlb.addRange(BigInt(IOVA + RINGS.desc), BigInt(IOVA + RINGS.desc + 0xfff), BigInt(desc), VHOST_ACCESS_RW);
    tlb.addRange(
      BigInt(IOVA + RINGS.avail),
      BigInt(IOVA + RINGS.avail + 0xfff),
      BigInt(avail),
      VHOST_ACCESS_RW,
    );
    tlb.addRange(BigInt(IOVA + RINGS.used), BigInt(IOVA + RINGS.used + 0xfff), BigInt(used), VHOST_ACCESS_RW);
    return tlb;
  }

  it('declines a descriptor table or a used ring at 2 mod 4, and takes an avail ring there', () => {
    const mem = memoryWith(1, 2);
    expect(ring(mem, tlbAreas(0x4002, 0x5000, 0x6000)).ringStateForBatch()).toBeUndefined();
    expect(ring(mem, tlbAreas(0x4000, 0x5000, 0x6002)).ringStateForBatch()).toBeUndefined();
    expect(ring(mem, tlbAreas(0x4000, 0x5002, 0x6000)).ringStateForBatch()).toBeDefined();
    expect(ring(mem, tlbAreas(0x4000, 0x5000, 0x6000)).ringStateForBatch()).toBeDefined();
  });

  it('says EMPTY, not SLOW, for a declined TX ring with no chain, and SLOW when it has one', () => {
    const mem = memoryWith(0, 0);
    const tx = ring(mem, tlbTo(0x8001));
    const rx = ring(mem, tlbTo(0));
    const lb = new VringhLoopback();
    expect(lb.run(tx, rx, 4)).toBe(VRINGH_LOOPBACK_EMPTY);
    new DataView(mem.regionOf(0, MEM_SIZE).bytes.buffer).setUint16(0x8001 + RINGS.avail + 2, 1, true);
    expect(lb.run(tx, rx, 4)).toBe(VRINGH_LOOPBACK_SLOW);
  });

  it('throws, rather than read an empty ring, once the memory buffer was transferred away', () => {
    const buffer = new ArrayBuffer(MEM_SIZE);
    const mem = new GuestMemory();
    mem.addRegion(0, buffer);
    const vrh = ring(mem, tlbTo(0));
    expect(vrh.ringStateForBatch()).toBeDefined();
    structuredClone(buffer, { transfer: [buffer] });
    expect(() => vrh.ringStateForBatch()).toThrow(TypeError);
    expect(() => new VringhLoopback().run(vrh, ring(memoryWith(0, 0), tlbTo(0)), 4)).toThrow(TypeError);
  });
});
