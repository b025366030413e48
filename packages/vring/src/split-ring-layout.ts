/**
 * Where the three areas of a split virtqueue live (virtio 1.2 §2.7, the kernel's `vring_init`), and the
 * checks of a queue size and a layout that the driver side ({@link Virtqueue}) and the device side
 * (vringh) share. Field offsets and area sizes come from `@vdpa-kit/virtio-spec` (`virtio_ring.h`).
 */
import { VringError, checkAddress } from './errors.js';
import {
  VIRTQ_AVAIL_ALIGN,
  VIRTQ_DESC_ALIGN,
  VIRTQ_MAX_SIZE,
  VIRTQ_USED_ALIGN,
  vringAvailSize,
  vringDescSize,
  vringUsedSize,
} from '@vdpa-kit/virtio-spec';

/** Largest queue alignment accepted: the transports' `get_vq_align` is a u32 and the check is 32-bit. */
const QUEUE_ALIGN_MAX = 2 ** 30;

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

/**
 * Checks that `align` is a positive power of two.
 * @throws VringError `EINVAL` naming the value.
 */
function checkAlign(align: number): void {
  if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0 || align > QUEUE_ALIGN_MAX) {
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
