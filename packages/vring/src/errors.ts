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

/** Largest address or size the framework handles: the role the kernel's `ULONG_MAX` plays. */
export const IOVA_MAX = Number.MAX_SAFE_INTEGER;

/** Throws `ERANGE` unless `value` is a non-negative safe integer. */
export function checkAddress(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new VringError('ERANGE', `${what} ${String(value)} is not an address in [0, 2^53)`);
  }
}
