import type { OpName } from './config-ops.js';
import type { VdpaError, VdpaErrno } from './errors.js';
import type { CbName, OpOrigin } from './events.js';

/** One config op on its way to a device, as interceptors see it. */
export interface OpCall {
  /** `seq` of the op's `call` event. */
  readonly seq: number;
  /** Device name. */
  readonly dev: string;
  readonly op: OpName;
  /** The arguments as passed (not encoded): the `getConfig` buffer is the caller's buffer. */
  readonly args: readonly unknown[];
  /** Who issued the call when it was not the bound driver (see `OpOrigin`). */
  readonly origin: OpOrigin | undefined;
}

/**
 * What `before` may decide instead of letting the call through: fail it with an errno (the device is
 * not called) or answer it with a result (the device is not called; for `getConfig` the result is a
 * `Uint8Array` copied into the caller's buffer).
 */
export type InterceptDecision =
  { readonly error: VdpaErrno; readonly message?: string } | { readonly result: unknown };

/** How an op ended, as `after` sees it. */
export type OpOutcome =
  { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: VdpaError };

/** A device invoking a driver callback, as interceptors see it (observe only). */
export interface CbCall {
  /** `seq` of the `cb` event. */
  readonly seq: number;
  readonly dev: string;
  readonly op: CbName;
  /** `[idx]` for `vqCb`, `[]` for `configCb`. */
  readonly args: readonly unknown[];
}

/**
 * A synchronous hook on every config op crossing the bus: what recording, replay and fault injection
 * build on. Interceptors are layers in registration order (the first added is the outermost):
 * `before` runs outermost first until one returns a decision; the device is called only if none did;
 * then `after` runs for every layer whose `before` ran, innermost first, with the outcome.
 *
 * - `before` returning `undefined` passes the call on. Throwing from `before` fails the op with
 *   `VdpaError.from(thrown)`.
 * - `transform` may replace the outcome once the device (or an inner decision) produced it: it runs
 *   for every layer whose `before` ran, innermost first, just before that layer's `after`, so outer
 *   layers (a recorder) see the replaced outcome. Returning `undefined` keeps the outcome; returning an
 *   outcome replaces it (an ok outcome of `getConfig` carries a `Uint8Array` that is copied into the
 *   caller's buffer); throwing replaces it with the error `VdpaError.from(thrown)`.
 * - `after` observes; a throw from it is logged and ignored.
 * - `callback` observes device callbacks (vq and config) before they reach the driver.
 *
 * @example
 * const remove = bus.addInterceptor({
 *   before: (call) => (call.op === 'setDriverFeatures' ? { error: 'EINVAL' } : undefined),
 * });
 * remove();
 */
export interface Interceptor {
  /** Optional name, for logs. */
  readonly name?: string;
  before?(call: OpCall): InterceptDecision | undefined | void;
  transform?(call: OpCall, outcome: OpOutcome): OpOutcome | undefined | void;
  after?(call: OpCall, outcome: OpOutcome): void;
  callback?(call: CbCall): void;
}

/**
 * The ordered interceptor list of a bus. Copy-on-write, so that adding or removing an interceptor
 * while a call is in flight does not disturb that call's layers.
 */
export class InterceptorChain {
  private list: readonly Interceptor[] = [];

  /** The current layers, outermost first (a stable snapshot). */
  get current(): readonly Interceptor[] {
    return this.list;
  }

  /** Number of layers. */
  get size(): number {
    return this.list.length;
  }

  /**
   * Appends `interceptor` as the innermost layer.
   * @returns a function removing it (idempotent)
   */
  add(interceptor: Interceptor): () => void {
    this.list = [...this.list, interceptor];
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const at = this.list.indexOf(interceptor);
      if (at >= 0) this.list = this.list.filter((_, i) => i !== at);
    };
  }
}
