import { CliError } from '../errors.js';

/** The in-run ceilings of the vring benchmark (`@vdpa-kit/vring`). */
export interface VringCeilings {
  /** The minimal hand-written driver + loopback loop: packets per second. */
  referenceLoop(size: number, packets: number): number;
  /** `copyWithin` of `size` bytes: copies per second. */
  copyCeiling(size: number, copies: number): number;
}

/**
 * Loads `referenceLoop` and `copyCeiling` from `@vdpa-kit/vring` (looked up at run time so that the
 * CLI builds against a vring that does not export them yet).
 *
 * @throws CliError naming the missing export
 */
export async function loadVringCeilings(): Promise<VringCeilings> {
  const vring = (await import('@vdpa-kit/vring')) as Record<string, unknown>;
  const { referenceLoop, copyCeiling } = vring;
  if (typeof referenceLoop !== 'function' || typeof copyCeiling !== 'function') {
    const missing = [
      typeof referenceLoop === 'function' ? '' : 'referenceLoop',
      typeof copyCeiling === 'function' ? '' : 'copyCeiling',
    ]
      .filter((s) => s.length > 0)
      .join(' and ');
    throw new CliError(`@vdpa-kit/vring does not export ${missing}: the in-run ceilings are unavailable`);
  }
  return {
    referenceLoop: referenceLoop as VringCeilings['referenceLoop'],
    copyCeiling: copyCeiling as VringCeilings['copyCeiling'],
  };
}
