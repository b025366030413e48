import { VdpaError } from '@vdpa-kit/core-bus';
import { VDPASIM_DEFAULT_MAX_IOTLB_ENTRIES, VDPASIM_DEFAULT_WORK_BUDGET } from './constants.js';

/** Options of `vdpasimModule`: tuning shared by every simulated device. */
export interface VdpasimOptions {
  /**
   * Packets (or control requests) a work pass processes per queue before it requeues itself
   * (default 64; the kernel uses 5).
   */
  readonly workBudget?: number;
  /** IOTLB entries per address space, 0 = unlimited (default 2048, the kernel's `max_iotlb_entries`). */
  readonly maxIotlbEntries?: number;
}

/** {@link VdpasimOptions} with defaults applied (bound under `VDPASIM_OPTIONS`). */
export interface ResolvedVdpasimOptions {
  readonly workBudget: number;
  readonly maxIotlbEntries: number;
}

/**
 * Applies defaults and checks the options.
 * @throws VdpaError `EINVAL` for a work budget that is not a positive integer or an IOTLB limit that
 * is not a non-negative integer
 * @example
 * resolveVdpasimOptions({ workBudget: 16 }); // { workBudget: 16, maxIotlbEntries: 2048 }
 */
export function resolveVdpasimOptions(options: VdpasimOptions = {}): ResolvedVdpasimOptions {
  const workBudget = options.workBudget ?? VDPASIM_DEFAULT_WORK_BUDGET;
  if (!Number.isSafeInteger(workBudget) || workBudget < 1) {
    throw new VdpaError('EINVAL', `work budget ${String(workBudget)} is not a positive integer`);
  }
  const maxIotlbEntries = options.maxIotlbEntries ?? VDPASIM_DEFAULT_MAX_IOTLB_ENTRIES;
  if (!Number.isSafeInteger(maxIotlbEntries) || maxIotlbEntries < 0) {
    throw new VdpaError(
      'EINVAL',
      `iotlb entry limit ${String(maxIotlbEntries)} is not a non-negative integer`,
    );
  }
  return Object.freeze({ workBudget, maxIotlbEntries });
}
