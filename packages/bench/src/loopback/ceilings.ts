import { copyCeiling, referenceLoop } from '../ring/reference-loop.js';

/** The in-run ceilings the loopback benchmark compares with, injectable for tests. */
export interface ReferenceCeilings {
  /** The minimal hand-written driver + loopback loop: packets per second. */
  referenceLoop(size: number, packets: number): number;
  /** `copyWithin` of `size` bytes: copies per second. */
  copyCeiling(size: number, copies: number): number;
}

/** The ring benchmark's `referenceLoop` and `copyCeiling`, measured in this process. */
export const REFERENCE_CEILINGS: ReferenceCeilings = Object.freeze({ referenceLoop, copyCeiling });
