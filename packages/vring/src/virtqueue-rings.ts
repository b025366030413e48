import {
  U32_MAX,
  VIRTQ_AVAIL_ALIGN,
  VIRTQ_AVAIL_ELEM_SIZE,
  VIRTQ_AVAIL_FLAGS_OFF,
  VIRTQ_AVAIL_IDX_OFF,
  VIRTQ_AVAIL_RING_OFF,
  VIRTQ_DESC_ADDR_OFF,
  VIRTQ_DESC_ALIGN,
  VIRTQ_DESC_FLAGS_OFF,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_NEXT_OFF,
  VIRTQ_DESC_SIZE,
  VIRTQ_USED_ALIGN,
  VIRTQ_USED_ELEM_ID_OFF,
  VIRTQ_USED_ELEM_LEN_OFF,
  VIRTQ_USED_ELEM_SIZE,
  VIRTQ_USED_FLAGS_OFF,
  VIRTQ_USED_IDX_OFF,
  VIRTQ_USED_RING_OFF,
  vringAvailEventOffset,
  vringAvailSize,
  vringDescSize,
  vringUsedEventOffset,
  vringUsedSize,
} from '@vdpa-kit/virtio-spec';
import type { DmaAllocator } from './dma-allocator.js';
import { type GuestMemory, writeU64 } from './guest-memory.js';
import { legacyLayout, validateLayout, vringSize, type SplitRingLayout } from './split-ring-layout.js';

/** Addresses up to this need no high word (module-local copy of `U32_MAX`). */
const ADDR_LO_MAX = U32_MAX;

/** Offset of the high 32-bit word inside a little-endian u64. */
const U64_HI_OFF = 4;
/** Bits in a byte: turns field offsets into shift counts. */
const BITS_PER_BYTE = 8;

// Module-local copies of the layout constants the accessors use. An imported binding is a live module
// cell that optimised code loads and checks on every use; a local `const` folds to an immediate.
const DESC_SIZE = VIRTQ_DESC_SIZE;
const DESC_ADDR_LO = VIRTQ_DESC_ADDR_OFF;
const DESC_ADDR_HI = VIRTQ_DESC_ADDR_OFF + U64_HI_OFF;
const DESC_LEN = VIRTQ_DESC_LEN_OFF;
const DESC_FLAGS = VIRTQ_DESC_FLAGS_OFF;
/** `next` follows `flags` (§2.7.5): in the le32 at `DESC_FLAGS` it sits this many bits up. */
const DESC_NEXT_SHIFT = (VIRTQ_DESC_NEXT_OFF - VIRTQ_DESC_FLAGS_OFF) * BITS_PER_BYTE;
const AVAIL_ELEM = VIRTQ_AVAIL_ELEM_SIZE;
const USED_ELEM = VIRTQ_USED_ELEM_SIZE;
const USED_ID = VIRTQ_USED_ELEM_ID_OFF;
const USED_LEN = VIRTQ_USED_ELEM_LEN_OFF;

/**
 * The driver-side memory of one split virtqueue (the kernel's `struct vring` plus the indirect table
 * pool): allocates the areas from a {@link DmaAllocator}, resolves the memory region of each area once
 * and reads and writes ring fields through that region's DataView, little-endian, at precomputed
 * offsets. It holds no queue state: {@link Virtqueue} does.
 *
 * @example
 * const rings = VirtqueueRings.alloc(mem, dma, 256, 4096, 0);
 * rings.writeDesc(0, bufAddr, 64, 0, 0);
 * rings.setAvailRing(0, 0);
 * rings.setAvailIdx(1);
 */
export class VirtqueueRings {
  /** Where the three areas are. */
  readonly layout: SplitRingLayout;
  /** The ring addresses as the device sees them (DMA addresses). */
  readonly deviceLayout: SplitRingLayout;
  /** Descriptors per indirect table; 0 when there is no pool. */
  readonly maxIndirect: number;

  private readonly mem: GuestMemory;
  private readonly dma: DmaAllocator;
  private readonly allocs: readonly number[];
  private freed = false;

  // The views and offsets below are public (read-only) for the batched loops of `Virtqueue`, which load
  // them into locals once per batch instead of going through an accessor per field.
  /** View of the memory region holding the descriptor table. */
  readonly descView: DataView;
  /** Offset of descriptor 0 in {@link descView}; descriptor `i` is at `descOff + i * VIRTQ_DESC_SIZE`. */
  readonly descOff: number;
  /** View of the memory region holding the available ring. */
  readonly availView: DataView;
  private readonly availOff: number;
  /** Offset of `avail.flags` in {@link availView}. */
  private readonly availFlagsOff: number;
  /** Offset of `avail.idx` in {@link availView}. */
  readonly availIdxOff: number;
  /** Offset of `avail.ring[0]` in {@link availView}; entry `slot` is `VIRTQ_AVAIL_ELEM_SIZE` bytes per slot on. */
  readonly availRingOff: number;
  private readonly usedEventOff: number;
  /** View of the memory region holding the used ring. */
  readonly usedView: DataView;
  private readonly usedOff: number;
  /** Offset of `used.flags` in {@link usedView}. */
  private readonly usedFlagsOff: number;
  /** Offset of `used.idx` in {@link usedView}. */
  readonly usedIdxOff: number;
  /** Offset of `used.ring[0]` in {@link usedView}; element `slot` is `VIRTQ_USED_ELEM_SIZE` bytes per slot on. */
  readonly usedRingOff: number;
  private readonly availEventOff: number;
  private readonly indView: DataView;
  private readonly indOff: number;
  private readonly indAddr: number;
  private readonly indDma: number;
  private readonly indStride: number;

  /**
   * Allocates the rings of a queue of `num` entries and, if `maxIndirect > 0`, one indirect table of
   * `maxIndirect` descriptors per descriptor slot. The areas are not zeroed: call {@link zero}.
   *
   * @param mem the memory `dma` allocates from
   * @param dma the driver's DMA allocator
   * @param num queue size, a power of two in 1..32768
   * @param align legacy contiguous layout with the used ring at this alignment, or `undefined` for
   * three separate minimally aligned areas
   * @param maxIndirect descriptors per indirect table, 0 for none
   * @throws VringError `EINVAL` for a bad size or alignment, `ENOMEM` when the allocator is full,
   * `EFAULT` if an area is not inside one region of `mem`. Nothing stays allocated on failure.
   */
  static alloc(
    mem: GuestMemory,
    dma: DmaAllocator,
    num: number,
    align: number | undefined,
    maxIndirect: number,
  ): VirtqueueRings {
    const allocs: number[] = [];
    try {
      let layout: SplitRingLayout;
      if (align !== undefined) {
        const base = dma.alloc(vringSize(num, align), Math.max(align, VIRTQ_DESC_ALIGN));
        allocs.push(base);
        layout = legacyLayout(base, num, align);
      } else {
        const descAddr = dma.alloc(vringDescSize(num), VIRTQ_DESC_ALIGN);
        allocs.push(descAddr);
        const availAddr = dma.alloc(vringAvailSize(num), VIRTQ_AVAIL_ALIGN);
        allocs.push(availAddr);
        const usedAddr = dma.alloc(vringUsedSize(num), VIRTQ_USED_ALIGN);
        allocs.push(usedAddr);
        layout = { num, descAddr, availAddr, usedAddr };
        validateLayout(layout);
      }
      let indAddr = 0;
      if (maxIndirect > 0) {
        indAddr = dma.alloc(num * maxIndirect * VIRTQ_DESC_SIZE, VIRTQ_DESC_ALIGN);
        allocs.push(indAddr);
      }
      return new VirtqueueRings(mem, dma, layout, maxIndirect, indAddr, allocs);
    } catch (err) {
      for (const addr of allocs) dma.free(addr);
      throw err;
    }
  }

  private constructor(
    mem: GuestMemory,
    dma: DmaAllocator,
    layout: SplitRingLayout,
    maxIndirect: number,
    indAddr: number,
    allocs: readonly number[],
  ) {
    const num = layout.num;
    this.layout = layout;
    this.deviceLayout = {
      num,
      descAddr: dma.dmaAddress(layout.descAddr),
      availAddr: dma.dmaAddress(layout.availAddr),
      usedAddr: dma.dmaAddress(layout.usedAddr),
    };
    this.maxIndirect = maxIndirect;
    this.mem = mem;
    this.dma = dma;
    this.allocs = allocs;
    const desc = mem.regionOf(layout.descAddr, vringDescSize(num));
    this.descView = desc.view;
    this.descOff = layout.descAddr - desc.gpa;
    const avail = mem.regionOf(layout.availAddr, vringAvailSize(num));
    this.availView = avail.view;
    this.availOff = layout.availAddr - avail.gpa;
    this.availFlagsOff = this.availOff + VIRTQ_AVAIL_FLAGS_OFF;
    this.availIdxOff = this.availOff + VIRTQ_AVAIL_IDX_OFF;
    this.availRingOff = this.availOff + VIRTQ_AVAIL_RING_OFF;
    this.usedEventOff = this.availOff + vringUsedEventOffset(num);
    const used = mem.regionOf(layout.usedAddr, vringUsedSize(num));
    this.usedView = used.view;
    this.usedOff = layout.usedAddr - used.gpa;
    this.usedFlagsOff = this.usedOff + VIRTQ_USED_FLAGS_OFF;
    this.usedIdxOff = this.usedOff + VIRTQ_USED_IDX_OFF;
    this.usedRingOff = this.usedOff + VIRTQ_USED_RING_OFF;
    this.availEventOff = this.usedOff + vringAvailEventOffset(num);
    this.indAddr = indAddr;
    this.indDma = dma.dmaAddress(indAddr);
    this.indStride = maxIndirect * VIRTQ_DESC_SIZE;
    if (maxIndirect > 0) {
      const ind = mem.regionOf(indAddr, num * this.indStride);
      this.indView = ind.view;
      this.indOff = indAddr - ind.gpa;
    } else {
      this.indView = this.descView;
      this.indOff = 0;
    }
  }

  /** Zeroes the descriptor table, available ring and used ring (not the indirect pool). */
  zero(): void {
    const { num, descAddr, availAddr, usedAddr } = this.layout;
    this.mem.fill(descAddr, vringDescSize(num));
    this.mem.fill(availAddr, vringAvailSize(num));
    this.mem.fill(usedAddr, vringUsedSize(num));
  }

  /** Returns every area to the DMA allocator. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const addr of this.allocs) this.dma.free(addr);
  }

  /** Writes descriptor `i` of the ring's table. */
  writeDesc(i: number, addr: number, len: number, flags: number, next: number): void {
    writeDesc(this.descView, this.descOff + i * DESC_SIZE, addr, len, flags, next);
  }

  /** Sets the `len` of descriptor `i` alone. */
  setDescLen(i: number, len: number): void {
    this.descView.setUint32(this.descOff + i * DESC_SIZE + DESC_LEN, len, true);
  }

  /** Writes entry `i` of the indirect table that belongs to descriptor slot `head`. */
  writeIndirectDesc(head: number, i: number, addr: number, len: number, flags: number, next: number): void {
    writeDesc(this.indView, this.indOff + head * this.indStride + i * DESC_SIZE, addr, len, flags, next);
  }

  /** Points ring descriptor `head` at its indirect table holding `count` entries (`VIRTQ_DESC_F_INDIRECT`). */
  writeIndirectHead(head: number, count: number): void {
    // The table's address goes to the device: it is a DMA address, not the CPU (guest-physical) one.
    const table = this.indDma + head * this.indStride;
    this.writeDesc(head, table, count * DESC_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
  }

  /** Writes `avail.ring[slot] = head`. */
  setAvailRing(slot: number, head: number): void {
    this.availView.setUint16(this.availRingOff + slot * AVAIL_ELEM, head, true);
  }

  /** Writes `avail.idx`. */
  setAvailIdx(idx: number): void {
    this.availView.setUint16(this.availIdxOff, idx, true);
  }

  /** Writes `avail.flags`. */
  setAvailFlags(flags: number): void {
    this.availView.setUint16(this.availFlagsOff, flags, true);
  }

  /** Writes `used_event` (at the end of the available ring). */
  setUsedEvent(idx: number): void {
    this.availView.setUint16(this.usedEventOff, idx, true);
  }

  /** Reads `used.idx`. */
  usedIdx(): number {
    return this.usedView.getUint16(this.usedIdxOff, true);
  }

  /** Writes `used.idx` (only to start a fresh ring at a non-zero index). */
  setUsedIdx(idx: number): void {
    this.usedView.setUint16(this.usedIdxOff, idx, true);
  }

  /** Reads `used.flags`. */
  usedFlags(): number {
    return this.usedView.getUint16(this.usedFlagsOff, true);
  }

  /** Reads `avail_event` (at the end of the used ring). */
  availEvent(): number {
    return this.usedView.getUint16(this.availEventOff, true);
  }

  /** Writes `avail_event` (only to start a fresh ring at a non-zero index). */
  setAvailEvent(idx: number): void {
    this.usedView.setUint16(this.availEventOff, idx, true);
  }

  /** Reads `used.ring[slot].id`. */
  usedId(slot: number): number {
    return this.usedView.getUint32(this.usedRingOff + slot * USED_ELEM + USED_ID, true);
  }

  /** Reads `used.ring[slot].len`. */
  usedLen(slot: number): number {
    return this.usedView.getUint32(this.usedRingOff + slot * USED_ELEM + USED_LEN, true);
  }
}

/** Writes one split descriptor at `off` of `view` (§2.7.5). */
export function writeDesc(
  view: DataView,
  off: number,
  addr: number,
  len: number,
  flags: number,
  next: number,
): void {
  // Most addresses fit 32 bits: skip the division that splits a larger one.
  if (addr <= ADDR_LO_MAX) {
    view.setUint32(off + DESC_ADDR_LO, addr, true);
    view.setUint32(off + DESC_ADDR_HI, 0, true);
  } else {
    writeU64(view, off + DESC_ADDR_LO, addr);
  }
  view.setUint32(off + DESC_LEN, len, true);
  // `flags` and `next` are adjacent le16 fields: one le32 store writes both.
  view.setUint32(off + DESC_FLAGS, flags | (next << DESC_NEXT_SHIFT), true);
}
