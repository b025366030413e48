import type { OpName } from '@vdpa-kit/core-bus';

/**
 * Ops whose results depend on what the driver put into the rings. Guest memory is not part of a
 * trace, so when a trace is replayed these results can legitimately differ from the recorded ones:
 * `verifyTrace` compares them only with `{ strict: true }`.
 *
 * `getVendorVqStats` and `getVqState` always depend on ring activity; `getConfig` and `getStatus`
 * only once a kick was replayed since the last reset (a device may set `DEVICE_NEEDS_RESET` or
 * update its config after processing buffers), see {@link DATAPATH_DEPENDENT_AFTER_KICK_OPS}.
 */
export const DATAPATH_DEPENDENT_OPS: readonly OpName[] = Object.freeze([
  'getVendorVqStats',
  'getVqState',
  'getConfig',
  'getStatus',
]);

/** The part of {@link DATAPATH_DEPENDENT_OPS} that depends on the datapath only after a kick. */
export const DATAPATH_DEPENDENT_AFTER_KICK_OPS: readonly OpName[] = Object.freeze(['getConfig', 'getStatus']);

/** Ops that notify the device of new buffers: they start datapath activity. */
const KICK_OPS: readonly OpName[] = Object.freeze(['kickVq', 'kickVqWithData']);

/** Ops that reset the device: they end datapath activity. */
const RESET_OPS: readonly OpName[] = Object.freeze(['reset', 'compatReset']);

/**
 * True when the result of `op` depends on ring contents, given whether a kick happened since the last
 * reset.
 *
 * @param op the op
 * @param kickedSinceReset a `kickVq` (or coalesced kicks) was replayed since the last reset
 * @example
 * isDatapathDependent('getStatus', false); // false
 * isDatapathDependent('getStatus', true); // true
 * isDatapathDependent('getVqState', false); // true
 */
export function isDatapathDependent(op: OpName, kickedSinceReset: boolean): boolean {
  if (!DATAPATH_DEPENDENT_OPS.includes(op)) return false;
  return kickedSinceReset || !DATAPATH_DEPENDENT_AFTER_KICK_OPS.includes(op);
}

/**
 * Follows one device's op sequence and tells which results depend on the datapath (see
 * {@link DATAPATH_DEPENDENT_OPS}): a kick marks the device as having datapath activity, a reset clears
 * the mark.
 *
 * @example
 * const dep = new DatapathDependence();
 * dep.dependent('getStatus'); // false
 * dep.note('kickVq');
 * dep.dependent('getStatus'); // true
 * dep.note('reset');
 * dep.dependent('getStatus'); // false
 */
export class DatapathDependence {
  private kicked = false;

  /** True once a kick was noted since the last reset. */
  get kickedSinceReset(): boolean {
    return this.kicked;
  }

  /** True when the result of `op`, called now, depends on ring contents. */
  dependent(op: OpName): boolean {
    return isDatapathDependent(op, this.kicked);
  }

  /** Notes that `op` was called (kicks set the mark, resets clear it). */
  note(op: OpName): void {
    if (KICK_OPS.includes(op)) this.kicked = true;
    else if (RESET_OPS.includes(op)) this.kicked = false;
  }

  /** Notes coalesced kicks (a `dp` record with at least one kick). */
  noteKicks(): void {
    this.kicked = true;
  }
}
