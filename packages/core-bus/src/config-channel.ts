import type { OpName, VdpaCallback, VdpaConfigOps } from './config-ops.js';
import { VdpaError } from './errors.js';
import { encodeArgs, encodeResult, encodeValue } from './event-codec.js';
import type { EventSink } from './event-sink.js';
import type { CbName, OpOrigin } from './events.js';
import type { InterceptDecision, InterceptorChain, OpCall, OpOutcome } from './interceptor.js';
import type { Logger } from './logger.js';
import { OP_TABLE } from './op-table.js';
import type { VdpaDevice } from './vdpa-device.js';

type Fn0 = (this: VdpaConfigOps) => unknown;
type Fn1 = (this: VdpaConfigOps, a: unknown) => unknown;
type Fn2 = (this: VdpaConfigOps, a: unknown, b: unknown) => unknown;
type Fn3 = (this: VdpaConfigOps, a: unknown, b: unknown, c: unknown) => unknown;
type Fn4 = (this: VdpaConfigOps, a: unknown, b: unknown, c: unknown, d: unknown) => unknown;
type FnN = (this: VdpaConfigOps, ...args: unknown[]) => unknown;

/** Something whose liveness decides whether a wrapped callback is still delivered. */
export interface Liveness {
  readonly alive: boolean;
}

/**
 * The config-ops channel of one device (internal): every op the bus, the core wrappers or a driver's
 * handle issues goes through `call*` / `invoke`, which emits the `call` event, runs the interceptor
 * layers, calls the device and emits `return` or `error`, synchronously. Also holds the bus-side
 * wrapper state (`features_valid`, reference §2.4).
 *
 * Cost rule: when nobody observes `events$` and no interceptor is installed, `call0`..`call4` call
 * the device directly and build no event object, array or closure; only error wrapping remains.
 */
export class ConfigChannel {
  /** `vdpa_device.features_valid`: set by `setDriverFeatures`, cleared by `reset`. */
  featuresValid = false;
  private readonly ops: VdpaConfigOps;
  private readonly table: Readonly<Record<string, unknown>>;

  constructor(
    readonly device: VdpaDevice,
    private readonly sink: EventSink,
    private readonly chain: InterceptorChain,
    private readonly logger: Logger,
  ) {
    this.ops = device.ops;
    this.table = device.ops as unknown as Readonly<Record<string, unknown>>;
  }

  /** True when events must be built (an observer or an interceptor exists). */
  get active(): boolean {
    return this.chain.size > 0 || this.sink.observed;
  }

  /** True when the device implements `op`. */
  has(op: OpName): boolean {
    return typeof this.table[op] === 'function';
  }

  /** Calls a 0-argument op. */
  call0(origin: OpOrigin | undefined, op: OpName): unknown {
    if (this.active) return this.invoke(origin, op, []);
    const fn = this.fn(op) as Fn0;
    try {
      return fn.call(this.ops);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 1-argument op. */
  call1(origin: OpOrigin | undefined, op: OpName, a: unknown): unknown {
    if (this.active) return this.invoke(origin, op, [a]);
    const fn = this.fn(op) as Fn1;
    try {
      return fn.call(this.ops, a);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 2-argument op. */
  call2(origin: OpOrigin | undefined, op: OpName, a: unknown, b: unknown): unknown {
    if (this.active) return this.invoke(origin, op, [a, b]);
    const fn = this.fn(op) as Fn2;
    try {
      return fn.call(this.ops, a, b);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 3-argument op. */
  call3(origin: OpOrigin | undefined, op: OpName, a: unknown, b: unknown, c: unknown): unknown {
    if (this.active) return this.invoke(origin, op, [a, b, c]);
    const fn = this.fn(op) as Fn3;
    try {
      return fn.call(this.ops, a, b, c);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 4-argument op. */
  call4(origin: OpOrigin | undefined, op: OpName, a: unknown, b: unknown, c: unknown, d: unknown): unknown {
    if (this.active) return this.invoke(origin, op, [a, b, c, d]);
    const fn = this.fn(op) as Fn4;
    try {
      return fn.call(this.ops, a, b, c, d);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls an op with any arguments (control path: always builds the argument array). */
  callN(origin: OpOrigin | undefined, op: OpName, args: unknown[]): unknown {
    if (this.active) return this.invoke(origin, op, args);
    const fn = this.fn(op) as FnN;
    try {
      return fn.apply(this.ops, args);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** `vdpa_set_features`: marks features valid, then `setDriverFeatures`. */
  setFeatures(origin: OpOrigin | undefined, features: bigint): void {
    this.featuresValid = true;
    this.call1(origin, 'setDriverFeatures', features);
  }

  /**
   * `vdpa_get_config`: a config read before any feature negotiation first sets features to 0 (a
   * legacy guest), as its own `origin: 'core'` op whose failure is ignored like the kernel does.
   */
  getConfig(origin: OpOrigin | undefined, offset: number, buf: Uint8Array): void {
    if (!this.featuresValid) {
      try {
        this.setFeatures('core', 0n);
      } catch (err) {
        this.logger.debug('implicit setDriverFeatures(0) failed', {
          dev: this.device.name,
          err: VdpaError.from(err).code,
        });
      }
    }
    this.call2(origin, 'getConfig', offset, buf);
  }

  /**
   * `vdpa_reset`: clears features valid, then `compatReset(flags)` when flags are non-zero and the
   * device has it, else `reset()`.
   */
  reset(origin: OpOrigin | undefined, flags: number): void {
    this.featuresValid = false;
    if (flags !== 0 && this.has('compatReset')) this.call1(origin, 'compatReset', flags);
    else this.call0(origin, 'reset');
  }

  /** `compatReset` called directly: a reset too, so it clears features valid. */
  compatReset(origin: OpOrigin | undefined, flags: number): void {
    this.featuresValid = false;
    this.call1(origin, 'compatReset', flags);
  }

  /**
   * Wraps a driver callback so that the device invoking it emits a `cb` event, lets interceptors
   * observe it, and then calls the driver; once `owner` is dead the callback is dropped (with an
   * `ENODEV` cb event when observed).
   */
  wrapCallback(owner: Liveness, op: CbName, idx: number | undefined, cb: VdpaCallback): VdpaCallback {
    const dev = this.device.name;
    return () => {
      if (!owner.alive) {
        if (this.active) {
          const message = `${op} of ${dev} dropped: the driver that registered it is unbound`;
          this.sink.emitCb(dev, op, idx === undefined ? [] : [idx], 'ENODEV', message);
        }
        return;
      }
      if (this.active) {
        const args = idx === undefined ? [] : [idx];
        const seq = this.sink.emitCb(dev, op, args);
        for (const layer of this.chain.current) {
          if (layer.callback === undefined) continue;
          try {
            layer.callback({ seq, dev, op, args });
          } catch (err) {
            this.logger.error('interceptor callback hook threw', {
              dev,
              op,
              err: VdpaError.from(err).message,
            });
          }
        }
      }
      cb();
    };
  }

  /** Full path: events and interceptor layers around the device call. */
  invoke(origin: OpOrigin | undefined, op: OpName, args: unknown[]): unknown {
    const dev = this.device.name;
    const seq = this.sink.emitOp(
      dev,
      op,
      'call',
      origin,
      encodeArgs(op, args),
      undefined,
      undefined,
      undefined,
    );
    const call: OpCall = { seq, dev, op, args, origin };
    const layers = this.chain.current;
    let entered = 0;
    let result: unknown;
    let error: VdpaError | undefined;
    try {
      let decision: InterceptDecision | undefined | void;
      while (decision == null && entered < layers.length) {
        const layer = layers[entered++];
        if (layer.before !== undefined) decision = layer.before(call);
      }
      if (decision == null) result = this.callDevice(op, args);
      else if ('error' in decision)
        error = new VdpaError(decision.error, decision.message ?? `${op} on ${dev} failed by an interceptor`);
      else result = this.substitute(op, args, decision.result);
    } catch (err) {
      error = VdpaError.from(err);
    }
    const outcome: OpOutcome = error === undefined ? { ok: true, result } : { ok: false, error };
    for (let k = entered - 1; k >= 0; k--) {
      const layer = layers[k];
      if (layer.after === undefined) continue;
      try {
        layer.after(call, outcome);
      } catch (err) {
        this.logger.error('interceptor after hook threw', { dev, op, err: VdpaError.from(err).message });
      }
    }
    if (error !== undefined) {
      this.sink.emitOp(dev, op, 'error', origin, undefined, undefined, error.code, error.message);
      throw error;
    }
    this.sink.emitOp(
      dev,
      op,
      'return',
      origin,
      undefined,
      encodeResult(op, result, args),
      undefined,
      undefined,
    );
    return result;
  }

  private fn(op: OpName): unknown {
    const fn = this.table[op];
    if (typeof fn !== 'function') throw this.unsupported(op);
    return fn;
  }

  private unsupported(op: OpName): VdpaError {
    return new VdpaError('EOPNOTSUPP', `op ${op} is not supported by device ${this.device.name}`);
  }

  private callDevice(op: OpName, args: unknown[]): unknown {
    const fn = this.table[op];
    if (typeof fn !== 'function') throw this.unsupported(op);
    return (fn as FnN).apply(this.ops, args);
  }

  private substitute(op: OpName, args: unknown[], result: unknown): unknown {
    const meta = OP_TABLE[op];
    if (meta.ret !== 'outBytes') return result;
    const buf = args[meta.args.indexOf('outBytes')];
    if (!(buf instanceof Uint8Array) || !(result instanceof Uint8Array)) {
      throw new VdpaError(
        'EINVAL',
        `interceptor result ${String(encodeValue(result))} for ${op} is not bytes`,
      );
    }
    buf.set(result.length > buf.length ? result.subarray(0, buf.length) : result);
    return undefined;
  }
}
