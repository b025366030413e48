import {
  type Interceptor,
  OP_TABLE,
  type OpName,
  VdpaError,
  type VdpaErrno,
  isOpName,
  isVdpaErrno,
} from '@vdpa-kit/core-bus';

/** Options of {@link failNth}. */
export interface FailNthOptions {
  /** Only calls on this device count (default: every device). */
  readonly dev?: string;
  /** Fail every call from the nth on, not just the nth. */
  readonly every?: boolean;
}

/** Options of {@link corruptResult}. */
export interface CorruptResultOptions {
  /** Corrupt only the nth (1-based) matching call (default: every matching call). */
  readonly nth?: number;
  /** Only calls on this device count (default: every device). */
  readonly dev?: string;
}

/** Names `fn` (its `name` shows in stack traces and tells the injected faults apart). */
function named(name: string, fn: Interceptor): Interceptor {
  return Object.defineProperty(fn, 'name', { value: name });
}

function checkOp(op: unknown): OpName {
  if (!isOpName(op)) throw new VdpaError('EINVAL', `op ${JSON.stringify(op)} is not a config op`);
  return op;
}

function checkNth(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
    throw new VdpaError('EINVAL', `${what} ${String(n)} is not a positive integer`);
  return n;
}

/**
 * An interceptor that fails the `n`th call (1-based) of `op` — or, with `every`, each call from the
 * `n`th on — with `error`, without calling the device. Calls are counted when they reach this layer,
 * per interceptor, across devices unless `dev` is given; every issuer counts (driver, core, bus,
 * management).
 *
 * @param op the op to fail
 * @param n 1-based call number
 * @param error the errno the call fails with
 * @param opts `dev` filter, `every`
 * @throws VdpaError `EINVAL` for an unknown op or errno, or an `n` that is not a positive integer
 * @example
 * const remove = bus.addInterceptor(failNth('setDriverFeatures', 1, 'EIO'));
 */
export function failNth(op: OpName, n: number, error: VdpaErrno, opts: FailNthOptions = {}): Interceptor {
  checkOp(op);
  checkNth(n, 'call number');
  if (!isVdpaErrno(error)) throw new VdpaError('EINVAL', `errno ${JSON.stringify(error)} is not known`);
  const every = opts.every === true;
  const dev = opts.dev;
  let count = 0;
  return named(`failNth(${op}, ${n}${every ? '+' : ''}, ${error})`, (call, next) => {
    if (call.op !== op || (dev !== undefined && call.dev !== dev)) return next();
    count++;
    if (count === n || (every && count > n)) {
      throw new VdpaError(error, `${op} call ${count} on ${call.dev} failed by fault injection (${error})`);
    }
    return next();
  });
}

/**
 * An interceptor that lets the device answer `op` and then substitutes `corrupt(result)` for the
 * result, so the `return` event and the caller see the corrupted value. For `getConfig` the function
 * receives a copy of the bytes read and must return a `Uint8Array`, which is copied into the caller's
 * buffer (an answer of another type fails the call with `EINVAL`). Failed calls are left alone.
 *
 * @param op the op whose result to corrupt (not a void op)
 * @param corrupt maps the real result to the corrupted one
 * @param opts `nth` (1-based; default every call), `dev` filter
 * @throws VdpaError `EINVAL` for an unknown or void op, or a bad `nth`
 * @example
 * bus.addInterceptor(corruptResult('getDeviceFeatures', (f) => (f as bigint) & ~1n));
 */
export function corruptResult(
  op: OpName,
  corrupt: (result: unknown) => unknown,
  opts: CorruptResultOptions = {},
): Interceptor {
  checkOp(op);
  const meta = OP_TABLE[op];
  if (meta.ret === 'void') throw new VdpaError('EINVAL', `op ${op} returns nothing to corrupt`);
  const nth = opts.nth === undefined ? undefined : checkNth(opts.nth, 'call number');
  const dev = opts.dev;
  const outAt = meta.ret === 'outBytes' ? meta.args.indexOf('outBytes') : -1;
  let count = 0;
  return named(`corruptResult(${op}${nth === undefined ? '' : `, ${nth}`})`, (call, next) => {
    if (call.op !== op || (dev !== undefined && call.dev !== dev)) return next();
    count++;
    const result = next();
    if (nth !== undefined && count !== nth) return result;
    if (outAt < 0) return corrupt(result);
    const buf = call.args[outAt];
    if (!(buf instanceof Uint8Array)) return result;
    const bytes = corrupt(Uint8Array.from(buf));
    if (!(bytes instanceof Uint8Array)) {
      throw new VdpaError('EINVAL', `corrupted ${op} result ${String(bytes)} is not bytes`);
    }
    buf.set(bytes.length > buf.length ? bytes.subarray(0, buf.length) : bytes);
    return result;
  });
}

/**
 * The corruption of `--inject OP:N:corrupt`: flips the low bit of a number or bigint, negates a
 * boolean, zeroes a byte array (a copy); any other value is returned as is.
 * @example
 * flipLowBit(0x300000020n); // 0x300000021n
 */
export function flipLowBit(value: unknown): unknown {
  if (typeof value === 'number') return value ^ 1;
  if (typeof value === 'bigint') return value ^ 1n;
  if (typeof value === 'boolean') return !value;
  if (value instanceof Uint8Array) return new Uint8Array(value.length);
  return value;
}

const CORRUPTIBLE = new Set(['number', 'bigint', 'u64', 'boolean', 'bytes', 'outBytes']);
const SPEC_FIELDS = 3;
const CALL_NUMBER = /^([1-9][0-9]*)(\+?)$/;

/**
 * Parses a CLI fault-injection spec into an interceptor:
 * - `OP:N:ERRNO` — fail the Nth call of OP with ERRNO (`setStatus:2:EIO`);
 * - `OP:N+:ERRNO` — fail every call from the Nth on (`kickVq:10+:EAGAIN`);
 * - `OP:N:corrupt` — corrupt the Nth result with {@link flipLowBit} (`getDeviceFeatures:1:corrupt`);
 *   only for ops returning a number, bigint, boolean or bytes.
 *
 * @param spec the spec
 * @throws VdpaError `EINVAL` naming the spec: wrong shape, unknown op, bad call number, unknown errno,
 *   `N+` with `corrupt`, or `corrupt` of an op whose result cannot be corrupted
 * @example
 * bus.addInterceptor(parseInjectSpec('setDriverFeatures:1:EIO'));
 */
export function parseInjectSpec(spec: string): Interceptor {
  const bad = (why: string): VdpaError =>
    new VdpaError('EINVAL', `inject spec ${JSON.stringify(spec)}: ${why}`);
  const parts = typeof spec === 'string' ? spec.split(':') : [];
  if (parts.length !== SPEC_FIELDS) throw bad('expected OP:N:ERRNO, OP:N+:ERRNO or OP:N:corrupt');
  const [op, nText, action] = parts;
  if (!isOpName(op)) throw bad(`unknown op ${JSON.stringify(op)}`);
  const m = CALL_NUMBER.exec(nText);
  if (m === null || !Number.isSafeInteger(Number(m[1])))
    throw bad(`call number ${JSON.stringify(nText)} is not a positive integer (optionally followed by +)`);
  const n = Number(m[1]);
  const every = m[2] === '+';
  if (action === 'corrupt') {
    if (every) throw bad('corrupt takes one call number, not N+');
    const ret = OP_TABLE[op].ret;
    if (!CORRUPTIBLE.has(ret))
      throw bad(`op ${op} returns ${ret === 'void' ? 'nothing' : `a ${ret}`}, which cannot be corrupted`);
    return corruptResult(op, flipLowBit, { nth: n });
  }
  if (!isVdpaErrno(action)) throw bad(`unknown errno ${JSON.stringify(action)}`);
  return failNth(op, n, action, { every });
}
