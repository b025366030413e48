import { U64_LIMIT } from '@vdpa-kit/virtio-spec';

/**
 * Errno-style codes used by the ring and memory layer. They match the kernel's negative return values
 * (vringh, vhost_iotlb) so that traces from different implementations compare.
 */
export type VringErrno =
  | 'EINVAL'
  | 'EPERM'
  | 'EFAULT'
  | 'ELOOP'
  | 'EPROTO'
  | 'ENOMEM'
  | 'ERANGE'
  | 'EEXIST'
  | 'ENOENT'
  | 'ENOSPC'
  | 'ENOBUFS'
  | 'EBUSY'
  | 'ECANCELED'
  | 'EIO';

/**
 * The one error class of `@vdpa-kit/vring`. `code` is stable and machine-readable; `message` is
 * lower-case and names the offending value.
 *
 * @example
 * throw new VringError('EINVAL', `queue size ${num} is not a power of two`);
 */
export class VringError extends Error {
  override readonly name = 'VringError';

  /**
   * @param code errno-style code
   * @param message lower-case description naming the offending value
   * @param options optional `cause`
   */
  constructor(
    readonly code: VringErrno,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Largest address or size the datapath handles as a number (ring areas, guest-physical addresses,
 * translation lengths). IOTLB ranges are u64 (`bigint`, see {@link checkU64}); a descriptor address
 * above this is translated from its u32 halves.
 */
export const IOVA_MAX = Number.MAX_SAFE_INTEGER;

/** 2^64 - 1, the kernel's `ULONG_MAX`: the largest u64 (package-internal, shared by the IOTLB code). */
export const U64_MAX = U64_LIMIT - 1n;

/** Throws `ERANGE` unless `value` is a non-negative safe integer. */
export function checkAddress(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new VringError('ERANGE', `${what} ${String(value)} is not an address in [0, 2^53)`);
  }
}

/**
 * Throws `ERANGE` unless `value` is a bigint in `[0, 2^64 - 1]`: the check of a u64 on the control
 * path (IOTLB ranges, `vhost_iotlb_add_range_ctx()`'s `start`, `last`, `addr`).
 * @example
 * checkU64(0xffff_ffff_ffff_ffffn, 'iotlb last'); // passes
 */
export function checkU64(value: bigint, what: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new VringError('ERANGE', `${what} ${String(value)} is not a u64`);
  }
}
