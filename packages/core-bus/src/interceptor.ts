import type { OpName } from './config-ops.js';
import type { OpOrigin } from './events.js';

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
 * The rest of the chain: the interceptors inside this one, then the device. Returns the op's result
 * or throws its error. `args`, when given, replace the call's arguments for the layers inside. Valid
 * only while the interceptor it was given to runs: called after that, it throws `EINVAL`.
 */
export type OpNext = (args?: readonly unknown[]) => unknown;

/**
 * Middleware around every config op crossing the bus: what recording, replay and fault injection
 * build on. Interceptors nest in registration order (the first added is the outermost); the device
 * is the innermost step. An interceptor may
 * - observe: `return next()`, looking at the call and the result (or the error `next` threw);
 * - fail the op: throw (`VdpaError.from(thrown)` becomes the op's error); the device is not called
 *   unless `next` ran;
 * - substitute a result: return without calling `next` (for `getConfig`, write the bytes into the
 *   caller's buffer, `call.args[1]`);
 * - transform: change what `next()` returned, or pass other arguments with `next(args)`.
 *
 * The op's `call` event is emitted before the outermost interceptor runs and its `return` or `error`
 * event after it returned, so a recorder on `bus.events$` sees what the driver saw.
 *
 * @example
 * const remove = bus.addInterceptor((call, next) => {
 *   if (call.op === 'setDriverFeatures') throw new VdpaError('EINVAL', 'refused by the test');
 *   return next();
 * });
 * remove();
 */
export type Interceptor = (call: OpCall, next: OpNext) => unknown;

/**
 * The ordered interceptor list of a bus (internal). Copy-on-write, so that adding or removing an
 * interceptor while a call is in flight does not disturb that call's layers.
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
