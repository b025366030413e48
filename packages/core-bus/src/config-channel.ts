import type { OpName, VdpaCallback, VdpaConfigOps } from './config-ops.js';
import { VdpaError } from './errors.js';
import { NO_ARGS, encodeArgList, indexArgs } from './event-args.js';
import { encodeArgs, encodeResult, encodeValue } from './event-codec.js';
import type { EventSink } from './event-sink.js';
import type { CbName, OpOrigin } from './events.js';
import type { InterceptDecision, Interceptor, InterceptorChain, OpCall, OpOutcome } from './interceptor.js';
import type { Logger } from './logger.js';
import { OP_NAMES, OP_TABLE } from './op-table.js';
import type { VdpaDevice } from './vdpa-device.js';

type Fn0 = (this: VdpaConfigOps) => unknown;
type Fn1 = (this: VdpaConfigOps, a: unknown) => unknown;
type Fn2 = (this: VdpaConfigOps, a: unknown, b: unknown) => unknown;
type Fn3 = (this: VdpaConfigOps, a: unknown, b: unknown, c: unknown) => unknown;
type Fn4 = (this: VdpaConfigOps, a: unknown, b: unknown, c: unknown, d: unknown) => unknown;
type FnN = (this: VdpaConfigOps, ...args: unknown[]) => unknown;

/** What the observed path needs to know about an op, looked up once per op instead of per call. */
interface OpSite {
  /** An argument or the result is an `outBytes` buffer (`getConfig`): the general path encodes it. */
  readonly outBytes: boolean;
  /** The op returns nothing: its `return` event has no `ret`. */
  readonly voidRet: boolean;
}

const OP_SITES: { readonly [K in OpName]: OpSite } = Object.freeze(
  Object.fromEntries(
    OP_NAMES.map((name): [OpName, OpSite] => {
      const meta = OP_TABLE[name];
      return [
        name,
        Object.freeze({
          outBytes: meta.ret === 'outBytes' || meta.args.includes('outBytes'),
          voidRet: meta.ret === 'void',
        }),
      ];
    }),
  ) as { readonly [K in OpName]: OpSite },
);

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
 * When observed without interceptors, they build the two frozen records and the encoded argument
 * list (shared for no argument or one small index) but no argument array, call record, outcome or
 * closure. Only interceptors (or an `outBytes` op) take the general {@link ConfigChannel.invoke}.
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
    if (this.active) return this.observed(origin, op, 0, undefined, undefined, undefined, undefined);
    const fn = this.fn(op) as Fn0;
    try {
      return fn.call(this.ops);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 1-argument op. */
  call1(origin: OpOrigin | undefined, op: OpName, a: unknown): unknown {
    if (this.active) return this.observed(origin, op, 1, a, undefined, undefined, undefined);
    const fn = this.fn(op) as Fn1;
    try {
      return fn.call(this.ops, a);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 2-argument op. */
  call2(origin: OpOrigin | undefined, op: OpName, a: unknown, b: unknown): unknown {
    if (this.active) return this.observed(origin, op, 2, a, b, undefined, undefined);
    const fn = this.fn(op) as Fn2;
    try {
      return fn.call(this.ops, a, b);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 3-argument op. */
  call3(origin: OpOrigin | undefined, op: OpName, a: unknown, b: unknown, c: unknown): unknown {
    if (this.active) return this.observed(origin, op, 3, a, b, c, undefined);
    const fn = this.fn(op) as Fn3;
    try {
      return fn.call(this.ops, a, b, c);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /** Calls a 4-argument op. */
  call4(origin: OpOrigin | undefined, op: OpName, a: unknown, b: unknown, c: unknown, d: unknown): unknown {
    if (this.active) return this.observed(origin, op, 4, a, b, c, d);
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
    // Built once per registration: a callback event allocates no argument list.
    const args = idx === undefined ? NO_ARGS : indexArgs(idx);
    return () => {
      if (!owner.alive) {
        if (this.active) {
          const message = `${op} of ${dev} dropped: the driver that registered it is unbound`;
          this.sink.emitCb(dev, op, args, 'ENODEV', message);
        }
        return;
      }
      if (this.active) {
        const seq = this.sink.emitCb(dev, op, args);
        const layers = this.chain.current;
        for (let k = 0; k < layers.length; k++) {
          const layer = layers[k];
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

  /**
   * Observed path of `call0`..`call4`: emits the `call` event with the first `n` of `a`..`d`, calls
   * the device (or, when an interceptor exists once the `call` event is delivered, runs the layers),
   * emits `return` or `error`. Builds no argument array unless it takes the general path.
   */
  private observed(
    origin: OpOrigin | undefined,
    op: OpName,
    n: number,
    a: unknown,
    b: unknown,
    c: unknown,
    d: unknown,
  ): unknown {
    const site = OP_SITES[op];
    if (site.outBytes) return this.invoke(origin, op, argList(n, a, b, c, d));
    const dev = this.device.name;
    const seq = this.sink.emitOpCall(dev, op, origin, encodeArgList(n, a, b, c, d));
    // A subscriber may have added an interceptor while the call event was delivered: it sees this op.
    if (this.chain.size > 0) return this.intercept(seq, origin, op, argList(n, a, b, c, d));
    let result: unknown;
    try {
      const fn = this.table[op];
      if (typeof fn !== 'function') throw this.unsupported(op);
      switch (n) {
        case 0:
          result = (fn as Fn0).call(this.ops);
          break;
        case 1:
          result = (fn as Fn1).call(this.ops, a);
          break;
        case 2:
          result = (fn as Fn2).call(this.ops, a, b);
          break;
        case 3:
          result = (fn as Fn3).call(this.ops, a, b, c);
          break;
        default:
          result = (fn as Fn4).call(this.ops, a, b, c, d);
      }
    } catch (err) {
      const error = VdpaError.from(err);
      this.sink.emitOpError(dev, op, origin, error.code, error.message);
      throw error;
    }
    this.sink.emitOpReturn(dev, op, origin, site.voidRet ? undefined : encodeValue(result));
    return result;
  }

  /**
   * General path: the `call` event, the interceptor layers around the device call, then `return` or
   * `error`. Used with interceptors and for `outBytes` ops; builds the argument array it is given into
   * the interceptors' {@link OpCall}.
   */
  invoke(origin: OpOrigin | undefined, op: OpName, args: unknown[]): unknown {
    const seq = this.sink.emitOpCall(this.device.name, op, origin, Object.freeze(encodeArgs(op, args)));
    return this.intercept(seq, origin, op, args);
  }

  /** The part of {@link ConfigChannel.invoke} after the `call` event (`seq`). */
  private intercept(seq: number, origin: OpOrigin | undefined, op: OpName, args: unknown[]): unknown {
    const dev = this.device.name;
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
    if (entered > 0) {
      let outcome: OpOutcome = error === undefined ? { ok: true, result } : { ok: false, error };
      for (let k = entered - 1; k >= 0; k--) {
        const layer = layers[k];
        if (layer.transform !== undefined) outcome = this.transform(layer, call, outcome);
        if (layer.after === undefined) continue;
        try {
          layer.after(call, outcome);
        } catch (err) {
          this.logger.error('interceptor after hook threw', { dev, op, err: VdpaError.from(err).message });
        }
      }
      if (outcome.ok) {
        error = undefined;
        result = outcome.result;
      } else {
        error = outcome.error;
      }
    }
    if (error !== undefined) {
      this.sink.emitOpError(dev, op, origin, error.code, error.message);
      throw error;
    }
    this.sink.emitOpReturn(dev, op, origin, encodeResult(op, result, args));
    return result;
  }

  /**
   * Runs one layer's `transform` hook: its replacement outcome (an `outBytes` result copied into the
   * caller's buffer, as for a `before` answer), the error it threw, or `outcome` unchanged.
   */
  private transform(layer: Interceptor, call: OpCall, outcome: OpOutcome): OpOutcome {
    try {
      const next = layer.transform?.(call, outcome);
      if (next == null || next === outcome) return outcome;
      if (!next.ok) return { ok: false, error: VdpaError.from(next.error) };
      return { ok: true, result: this.substitute(call.op, call.args, next.result) };
    } catch (err) {
      return { ok: false, error: VdpaError.from(err) };
    }
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

  private substitute(op: OpName, args: readonly unknown[], result: unknown): unknown {
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

/** The first `n` (0..4) of `a`..`d` as an array (the general path's argument list). */
function argList(n: number, a: unknown, b: unknown, c: unknown, d: unknown): unknown[] {
  switch (n) {
    case 0:
      return [];
    case 1:
      return [a];
    case 2:
      return [a, b];
    case 3:
      return [a, b, c];
    default:
      return [a, b, c, d];
  }
}
