/**
 * Where the three areas of a split virtqueue live and how big they are (virtio 1.2 §2.7, the kernel's
 * `include/uapi/linux/virtio_ring.h`). Shared by the driver side ({@link Virtqueue}) and the device side
 * (vringh): field offsets are named here once.
 */
import { VringError, checkAddress } from './errors.js';
import {
  VIRTQ_AVAIL_ALIGN,
  VIRTQ_DESC_ALIGN,
  VIRTQ_DESC_SIZE,
  VIRTQ_MAX_SIZE,
  VIRTQ_USED_ALIGN,
  VIRTQ_USED_ELEM_SIZE,
} from './constants.js';

// §2.7.5 descriptor `{le64 addr, le32 len, le16 flags, le16 next}`
/** Offset of `le64 addr` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_ADDR_OFF = 0;
/** Offset of `le32 len` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_LEN_OFF = 8;
/** Offset of `le16 flags` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_FLAGS_OFF = 12;
/** Offset of `le16 next` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_NEXT_OFF = 14;

// §2.7.6 available ring `{le16 flags, le16 idx, le16 ring[Q], le16 used_event}`
/** Offset of `le16 flags` in the available ring (§2.7.6). */
export const VIRTQ_AVAIL_FLAGS_OFF = 0;
/** Offset of `le16 idx` in the available ring (§2.7.6). */
export const VIRTQ_AVAIL_IDX_OFF = 2;
/** Offset of `le16 ring[0]` in the available ring (§2.7.6). */
export const VIRTQ_AVAIL_RING_OFF = 4;
/** Size of one available ring entry, a `le16` descriptor index (§2.7.6). */
export const VIRTQ_AVAIL_ELEM_SIZE = 2;

// §2.7.8 used ring `{le16 flags, le16 idx, {le32 id, le32 len}[Q], le16 avail_event}`
/** Offset of `le16 flags` in the used ring (§2.7.8). */
export const VIRTQ_USED_FLAGS_OFF = 0;
/** Offset of `le16 idx` in the used ring (§2.7.8). */
export const VIRTQ_USED_IDX_OFF = 2;
/** Offset of `used_elem ring[0]` in the used ring (§2.7.8). */
export const VIRTQ_USED_RING_OFF = 4;
/** Offset of `le32 id` inside a used element (§2.7.8). */
export const VIRTQ_USED_ELEM_ID_OFF = 0;
/** Offset of `le32 len` inside a used element (§2.7.8). */
export const VIRTQ_USED_ELEM_LEN_OFF = 4;

/** Size of the trailing `le16 used_event` / `le16 avail_event` field (§2.7.6, §2.7.8). */
const VIRTQ_EVENT_FIELD_SIZE = 2;
/** Largest queue alignment accepted: the transports' `get_vq_align` is a u32 and the check is 32-bit. */
const VRING_ALIGN_MAX = 2 ** 30;

/**
 * The guest-physical (or IOVA) addresses of the three areas of one split virtqueue and its size: what a
 * transport passes to `setVqNum` / `setVqAddress`.
 */
export interface SplitRingLayout {
  /** Queue size Q: a power of two in 1..32768. */
  readonly num: number;
  /** Descriptor table address (16-byte aligned). */
  readonly descAddr: number;
  /** Available ring address (2-byte aligned). */
  readonly availAddr: number;
  /** Used ring address (4-byte aligned). */
  readonly usedAddr: number;
}

/** Bytes of the descriptor table of a queue of `num` entries: 16·num (§2.7). */
export function vringDescSize(num: number): number {
  return VIRTQ_DESC_SIZE * num;
}

/** Bytes of the available ring of a queue of `num` entries, `used_event` included: 6 + 2·num (§2.7). */
export function vringAvailSize(num: number): number {
  return VIRTQ_AVAIL_RING_OFF + VIRTQ_AVAIL_ELEM_SIZE * num + VIRTQ_EVENT_FIELD_SIZE;
}

/** Bytes of the used ring of a queue of `num` entries, `avail_event` included: 6 + 8·num (§2.7). */
export function vringUsedSize(num: number): number {
  return VIRTQ_USED_RING_OFF + VIRTQ_USED_ELEM_SIZE * num + VIRTQ_EVENT_FIELD_SIZE;
}

/** Offset of `avail.ring[slot]` from the start of the available ring. */
export function vringAvailRingOffset(slot: number): number {
  return VIRTQ_AVAIL_RING_OFF + VIRTQ_AVAIL_ELEM_SIZE * slot;
}

/** Offset of `used_event` (the driver's interrupt threshold) from the start of the available ring: 4 + 2·num. */
export function vringUsedEventOffset(num: number): number {
  return vringAvailRingOffset(num);
}

/** Offset of `used.ring[slot]` from the start of the used ring. */
export function vringUsedRingOffset(slot: number): number {
  return VIRTQ_USED_RING_OFF + VIRTQ_USED_ELEM_SIZE * slot;
}

/** Offset of `avail_event` (the device's kick threshold) from the start of the used ring: 4 + 8·num. */
export function vringAvailEventOffset(num: number): number {
  return vringUsedRingOffset(num);
}

/**
 * Checks that `align` is a positive power of two.
 * @throws VringError `EINVAL` naming the value.
 */
function checkAlign(align: number): void {
  if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0 || align > VRING_ALIGN_MAX) {
    throw new VringError('EINVAL', `queue alignment ${align} is not a power of two`);
  }
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/**
 * Checks a queue size: an integer power of two in 1..{@link VIRTQ_MAX_SIZE} (§2.7).
 * @throws VringError `EINVAL`, e.g. `queue size 300 is not a power of two`.
 */
export function checkQueueSize(num: number): void {
  if (!Number.isInteger(num) || num < 1 || num > VIRTQ_MAX_SIZE) {
    throw new VringError('EINVAL', `queue size ${num} is not in 1..${VIRTQ_MAX_SIZE}`);
  }
  if ((num & (num - 1)) !== 0) throw new VringError('EINVAL', `queue size ${num} is not a power of two`);
}

/**
 * Bytes of the legacy contiguous layout (§2.7.2): descriptor table, available ring, padding to `align`,
 * used ring — `ALIGN(16·num + 2·(3 + num), align) + 2·3 + 8·num`, the kernel's `vring_size`.
 *
 * @param num queue size (a power of two in 1..32768)
 * @param align queue alignment, a power of two (legacy PCI uses 4096)
 * @throws VringError `EINVAL` for a bad size or alignment.
 * @example
 * vringSize(256, 4096); // 10246
 */
export function vringSize(num: number, align: number): number {
  checkQueueSize(num);
  checkAlign(align);
  return alignUp(vringDescSize(num) + vringAvailSize(num), align) + vringUsedSize(num);
}

/**
 * The legacy contiguous layout at `base` (the kernel's `vring_init`): desc at `base`, avail right after
 * it, used at the next multiple of `align`. `base` should itself be aligned to `align`.
 *
 * @param base address of the area of {@link vringSize} bytes
 * @param num queue size
 * @param align queue alignment, a power of two
 * @throws VringError `EINVAL` for a bad size, alignment or a resulting misaligned area,
 * `ERANGE` for an address beyond 2^53.
 * @example
 * const layout = legacyLayout(0x10000, 256, 4096); // used at 0x12000
 */
export function legacyLayout(base: number, num: number, align: number): SplitRingLayout {
  checkQueueSize(num);
  checkAlign(align);
  checkAddress(base, 'ring base');
  const availAddr = base + vringDescSize(num);
  const usedAddr = alignUp(availAddr + vringAvailSize(num), align);
  const layout: SplitRingLayout = { num, descAddr: base, availAddr, usedAddr };
  validateLayout(layout);
  return layout;
}

/**
 * Checks a layout: the queue size is a power of two in 1..32768, every address is a safe integer and
 * each area has its spec alignment (desc 16, avail 2, used 4; §2.7 table 2.3). Overlap is not checked.
 *
 * @throws VringError `EINVAL` naming the offending value (e.g. `queue size 300 is not a power of two`,
 * `descriptor table address 0x1008 is not 16-byte aligned`), `ERANGE` for an address beyond 2^53.
 */
export function validateLayout(layout: SplitRingLayout): void {
  checkQueueSize(layout.num);
  checkArea(layout.descAddr, vringDescSize(layout.num), VIRTQ_DESC_ALIGN, 'descriptor table');
  checkArea(layout.availAddr, vringAvailSize(layout.num), VIRTQ_AVAIL_ALIGN, 'available ring');
  checkArea(layout.usedAddr, vringUsedSize(layout.num), VIRTQ_USED_ALIGN, 'used ring');
}

function checkArea(addr: number, size: number, align: number, what: string): void {
  checkAddress(addr, `${what} address`);
  checkAddress(addr + size - 1, `${what} end`);
  if (addr % align !== 0) {
    throw new VringError('EINVAL', `${what} address 0x${addr.toString(16)} is not ${align}-byte aligned`);
  }
}
