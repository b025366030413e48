import { copyCeiling, referenceLoop } from '@vdpa-kit/vring';

/** The in-run ceilings of the vring benchmark (`@vdpa-kit/vring`), injectable for tests. */
export interface VringCeilings {
  /** The minimal hand-written driver + loopback loop: packets per second. */
  referenceLoop(size: number, packets: number): number;
  /** `copyWithin` of `size` bytes: copies per second. */
  copyCeiling(size: number, copies: number): number;
}

/** vring's `referenceLoop` and `copyCeiling`, measured in this process. */
export const VRING_CEILINGS: VringCeilings = Object.freeze({ referenceLoop, copyCeiling });
