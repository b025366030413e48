/**
 * Split and packed virtqueue layout: uapi `linux/virtio_ring.h`, virtio 1.2 §2.7 (Split Virtqueues) and
 * §2.8 (Packed Virtqueues). Field offsets and element sizes are named here once for the driver side
 * (`virtio_ring`) and the device side (`vringh`); the pure size and offset functions of the header
 * (`vring_size`'s parts, `vring_used_event`, `vring_avail_event`, `vring_need_event`) are here too.
 */
/** Indirect descriptors (§2.7.5.3). */
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
/** `used_event` / `avail_event` notification suppression (§2.7.10). */
export const VIRTIO_RING_F_EVENT_IDX = 29;

// §2.7.5 The Virtqueue Descriptor Table: `{le64 addr, le32 len, le16 flags, le16 next}`
/** Buffer continues via the `next` field (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
/** Buffer is device write-only (§2.7.5). */
export const VIRTQ_DESC_F_WRITE = 2;
/** Buffer contains a table of descriptors (§2.7.5.3). */
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Size of one split descriptor `{le64 addr, le32 len, le16 flags, le16 next}` (§2.7.5). */
export const VIRTQ_DESC_SIZE = 16;
/** Offset of `le64 addr` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_ADDR_OFF = 0;
/** Offset of `le32 len` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_LEN_OFF = 8;
/** Offset of `le16 flags` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_FLAGS_OFF = 12;
/** Offset of `le16 next` in a descriptor (§2.7.5). */
export const VIRTQ_DESC_NEXT_OFF = 14;

// §2.7.6 The Virtqueue Available Ring: `{le16 flags, le16 idx, le16 ring[Q], le16 used_event}`
/** Driver asks the device not to interrupt (§2.7.6). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Offset of `le16 flags` in the available ring (§2.7.6). */
export const VIRTQ_AVAIL_FLAGS_OFF = 0;
/** Offset of `le16 idx` in the available ring (§2.7.6). */
export const VIRTQ_AVAIL_IDX_OFF = 2;
/** Offset of `le16 ring[0]` in the available ring (§2.7.6). */
export const VIRTQ_AVAIL_RING_OFF = 4;
/** Size of one available ring entry, a `le16` descriptor index (§2.7.6). */
export const VIRTQ_AVAIL_ELEM_SIZE = 2;

// §2.7.8 The Virtqueue Used Ring: `{le16 flags, le16 idx, {le32 id, le32 len}[Q], le16 avail_event}`
/** Device asks the driver not to notify (§2.7.8). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** Offset of `le16 flags` in the used ring (§2.7.8). */
export const VIRTQ_USED_FLAGS_OFF = 0;
/** Offset of `le16 idx` in the used ring (§2.7.8). */
export const VIRTQ_USED_IDX_OFF = 2;
/** Offset of `used_elem ring[0]` in the used ring (§2.7.8). */
export const VIRTQ_USED_RING_OFF = 4;
/** Size of one used element `{le32 id, le32 len}` (§2.7.8). */
export const VIRTQ_USED_ELEM_SIZE = 8;
/** Offset of `le32 id` inside a used element (§2.7.8). */
export const VIRTQ_USED_ELEM_ID_OFF = 0;
/** Offset of `le32 len` inside a used element (§2.7.8). */
export const VIRTQ_USED_ELEM_LEN_OFF = 4;

/** Mask of a free-running 16-bit ring index: `idx` fields and the event indices wrap modulo 2^16 (§2.7). */
export const U16_MASK = 0xffff;
/** Size of the trailing `le16 used_event` / `le16 avail_event` field (§2.7.6, §2.7.8). */
export const VIRTQ_EVENT_FIELD_SIZE = 2;
/** Largest split queue size (§2.7). */
export const VIRTQ_MAX_SIZE = 32768;
/** Descriptor table alignment (§2.7, table 2.3). */
export const VIRTQ_DESC_ALIGN = 16;
/** Available ring alignment (§2.7). */
export const VIRTQ_AVAIL_ALIGN = 2;
/** Used ring alignment (§2.7). */
export const VIRTQ_USED_ALIGN = 4;
/** Legacy interface queue alignment (§2.7.2; `VIRTIO_PCI_VRING_ALIGN`). */
export const VIRTIO_LEGACY_QUEUE_ALIGN = 4096;

// §2.8 Packed Virtqueues
/** Packed descriptor AVAIL flag bit (§2.8.1). */
export const VIRTQ_DESC_F_AVAIL = 1 << 7;
/** Packed descriptor USED flag bit (§2.8.1). */
export const VIRTQ_DESC_F_USED = 1 << 15;
/** Packed event suppression: enable (§2.8.10). */
export const RING_EVENT_FLAGS_ENABLE = 0;
/** Packed event suppression: disable (§2.8.10). */
export const RING_EVENT_FLAGS_DISABLE = 1;
/** Packed event suppression: by descriptor (§2.8.10). */
export const RING_EVENT_FLAGS_DESC = 2;

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

/** Offset of `avail.ring[slot]` from the start of the available ring (§2.7.6). */
export function vringAvailRingOffset(slot: number): number {
  return VIRTQ_AVAIL_RING_OFF + VIRTQ_AVAIL_ELEM_SIZE * slot;
}

/**
 * Offset of `used_event` (the driver's interrupt threshold) from the start of the available ring:
 * 4 + 2·num (`vring_used_event`, §2.7.10).
 */
export function vringUsedEventOffset(num: number): number {
  return vringAvailRingOffset(num);
}

/** Offset of `used.ring[slot]` from the start of the used ring (§2.7.8). */
export function vringUsedRingOffset(slot: number): number {
  return VIRTQ_USED_RING_OFF + VIRTQ_USED_ELEM_SIZE * slot;
}

/**
 * Offset of `avail_event` (the device's kick threshold) from the start of the used ring: 4 + 8·num
 * (`vring_avail_event`, §2.7.10).
 */
export function vringAvailEventOffset(num: number): number {
  return vringUsedRingOffset(num);
}

/**
 * The kernel's `vring_need_event`: should the side that moved an index from `old` to `newIdx` notify the
 * other side, which asked to be notified once the index passes `eventIdx`? True iff `eventIdx` is in
 * `[old, newIdx)` modulo 2^16 (§2.7.10): `(u16)(newIdx - eventIdx - 1) < (u16)(newIdx - old)`.
 *
 * @param eventIdx the other side's threshold (`avail_event` for kicks, `used_event` for interrupts)
 * @param newIdx the index after publishing
 * @param old the index at the previous notification decision
 * @example
 * vringNeedEvent(5, 6, 5); // true: index 5 was just published
 * vringNeedEvent(0, 1, 65535); // true across the wrap
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, old: number): boolean {
  return ((newIdx - eventIdx - 1) & U16_MASK) < ((newIdx - old) & U16_MASK);
}
