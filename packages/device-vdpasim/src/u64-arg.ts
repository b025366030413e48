import { VdpaError } from '@vdpa-kit/core-bus';
import { U64_LIMIT } from '@vdpa-kit/virtio-spec';

/**
 * Refuses a value the kernel's `u64` argument could not hold.
 * @throws VdpaError `ERANGE` unless `value` is a bigint in `[0, 2^64 - 1]`
 */
export function checkU64Arg(value: bigint, what: string): void {
  if (typeof value !== 'bigint')
    throw new VdpaError('ERANGE', `${what} ${String(value)} is a ${typeof value}, not a u64 bigint`);
  if (value < 0n || value >= U64_LIMIT)
    throw new VdpaError('ERANGE', `${what} ${String(value)} is not a u64`);
}
