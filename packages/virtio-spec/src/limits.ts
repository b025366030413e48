/**
 * Limits of the fixed-width little-endian fields the virtio specification and the Linux uAPI use
 * (`u16`, `le32`, `le64`; virtio 1.2 §1.4 Structure Specifications), named once for every package that
 * validates a value before it goes into such a field.
 */

/** Largest `u16` / `le16` value (MTU, queue pairs, ring indices). */
export const U16_MAX = 0xffff;

/** Largest `u32` / `le32` value (vq counts, buffer lengths, netlink `u32` attributes). */
export const U32_MAX = 0xffffffff;

/** One past the largest `u64` / `le64` value: a 64-bit feature mask is below it. */
export const U64_LIMIT = 1n << 64n;
