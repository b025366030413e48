import type { GuestMemory } from '@vdpa-kit/vring';
import {
  type OpName,
  type VdpaCallback,
  type VdpaConfigOps,
  type DeviceHandle,
  VdpaError,
  bigintToHex,
  encodeResult,
  fromHex,
  type JsonObject,
  type JsonValue,
  type OpEvent,
  type VdpaDevAddRequest,
  OP_NAMES,
  OP_TABLE,
  type OpMeta,
  type VdpaBus,
  type VdpaDriver,
} from '@vdpa-kit/core-bus';
import { REPLAY_CALLBACK, decodeArgs, decodeValue } from './event-decoding.js';
import { DatapathDependence, isDatapathDependent } from './datapath-dependent.js';
import {
  type RecordedOutcome,
  type ScriptLifeRange,
  defaultTraceDevice,
  deviceScriptIndex,
  formatOutcome,
  recordedOutcome,
  sameJson,
} from './device-script.js';
import { formatCall } from './timeline.js';
import { TraceError } from './trace-error.js';
import type { DatapathRecord, Trace, TraceRecord } from './trace-format.js';

/**
 * Verify against a live management device: `verifyTrace` creates the device with the recorded
 * `dev_add` attributes (or `devAdd`) on `mgmtdev`, keeps every transport of the bus away from it,
 * replays through a driver handle of its own, and deletes the device at the end.
 *
 * How the device is kept away from the bus's transports: while `devAdd` registers it, a synchronous
 * `events$` subscriber sets its `driverOverride` to a private driver (`trace_verify`), registered
 * right after to bind it (other unbound devices it is offered get a `probe_failed`, nothing else).
 * So call `verifyTrace` from the top level, not from inside an `events$` subscriber: events emitted
 * during a delivery are queued, the override would come too late, and verify fails with `EBUSY`.
 */
export interface VerifyBusTarget {
  readonly bus: VdpaBus;
  /** The management device to create the device on (any registered one, a `--plugin` one included). */
  readonly mgmtdev: string;
  /** `dev add` attributes to use instead of the recorded ones (default: recorded, else none). */
  readonly devAdd?: VdpaDevAddRequest;
  /** Device name to create (default the recorded name). */
  readonly name?: string;
}

/** Verify against device objects from a factory (unit tests): one per incarnation, no bus. */
export interface VerifyFactoryTarget {
  /** Creates a fresh device. */
  readonly factory: () => VdpaConfigOps;
}

/** What `verifyTrace` drives. */
export type VerifyTarget = VerifyBusTarget | VerifyFactoryTarget;

/** Options of {@link verifyTrace}. */
export interface VerifyOptions {
  /** Also compare results that depend on ring contents (see `DATAPATH_DEPENDENT_OPS`). Default false. */
  readonly strict?: boolean;
  /** The recorded device to replay (default: the first one the trace adds, see `defaultTraceDevice`). */
  readonly dev?: string;
  /** Memory handed to a replayed `bindMm` (a trace records handles as `true`). */
  readonly guestMemory?: GuestMemory;
}

/** An outcome as compared: `ret` (absent for void ops) or `err` (with the error's `message`). */
export type VerifyOutcome = RecordedOutcome;

/** The first difference between the trace and the live device. */
export interface VerifyDivergence {
  /** `seq` of the recorded call (of the `dp` record for coalesced kicks, of `dev_add` for creation). */
  readonly seq: number;
  /** The op, or `dev_add` when the device could not be created. */
  readonly op: string;
  /** Recorded (encoded) arguments. */
  readonly args: readonly JsonValue[];
  readonly expected: VerifyOutcome;
  readonly actual: VerifyOutcome;
}

/** Result of {@link verifyTrace}. */
export interface VerifyReport {
  /** True when no compared result differed. */
  readonly ok: boolean;
  /** The recorded device that was replayed. */
  readonly dev: string;
  /** Results compared with the recording. */
  readonly compared: number;
  /** Datapath-dependent results not compared (without `strict`). */
  readonly skipped: number;
  /** Op calls issued to the device (coalesced kicks count one each). */
  readonly replayed: number;
  /** Times the live device invoked the counting stubs replay registered: per vq index, and config. */
  readonly callbacks: { readonly vq: Readonly<Record<string, number>>; readonly config: number };
  readonly divergence?: VerifyDivergence;
}

/** A device under replay: created per incarnation, called op by op, always destroyed. */
interface Session {
  /**
   * Creates the device.
   * @returns the error of the creation itself (a divergence at `dev_add`), or undefined
   * @throws VdpaError when the target cannot take the device at all (unknown mgmtdev, name in use)
   */
  create(name: string, request: VdpaDevAddRequest): VdpaError | undefined;
  invoke(op: OpName, args: unknown[]): unknown;
  destroy(): void;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** `fn.apply(self, args)`, with the short argument lists of config ops passed directly. */
function callWith(fn: Method, self: unknown, args: readonly unknown[]): unknown {
  switch (args.length) {
    case 0:
      return fn.call(self);
    case 1:
      return fn.call(self, args[0]);
    case 2:
      return fn.call(self, args[0], args[1]);
    default:
      return fn.apply(self, args as unknown[]);
  }
}

/** Device objects from a factory, called directly (no wrappers, no events). */
class FactorySession implements Session {
  private ops: VdpaConfigOps | undefined;
  private name = '';

  constructor(private readonly factory: () => VdpaConfigOps) {}

  create(name: string): VdpaError | undefined {
    this.name = name;
    try {
      this.ops = this.factory();
    } catch (err) {
      return VdpaError.from(err);
    }
    return undefined;
  }

  invoke(op: OpName, args: unknown[]): unknown {
    const fn = (this.ops as unknown as Record<string, unknown>)[op];
    if (typeof fn !== 'function')
      throw new VdpaError('EOPNOTSUPP', `op ${op} is not supported by device ${this.name}`);
    return callWith(fn as Method, this.ops, args);
  }

  destroy(): void {
    const ops = this.ops;
    this.ops = undefined;
    try {
      ops?.free?.();
    } catch {
      // Releasing a replayed device is best effort, like the bus's release.
    }
  }
}

const VERIFY_DRIVER_NAME = 'trace_verify';

/**
 * A device created on a live bus and claimed by a private driver. While `devAdd` registers it, a
 * synchronous `events$` subscriber sets its `driverOverride` to that driver (not yet registered), so no
 * transport of the bus probes it; registering the driver then binds it. Other unbound devices the
 * driver is offered are refused.
 */
class BusSession implements Session {
  private handle: DeviceHandle | undefined;
  private driver: VdpaDriver | undefined;
  private created: string | undefined;

  constructor(private readonly target: VerifyBusTarget) {}

  create(recordedName: string, request: VdpaDevAddRequest): VdpaError | undefined {
    const { bus, mgmtdev } = this.target;
    const name = this.target.name ?? recordedName;
    if (!bus.mgmtdevs().some((m) => m.name === mgmtdev))
      throw new VdpaError('ENODEV', `management device ${mgmtdev} not found`);
    if (bus.device(name) !== undefined)
      throw new VdpaError('EEXIST', `device ${name} already exists: trace verify needs to create it`);
    const driverName = this.freeDriverName();
    const sub = bus.events$.subscribe((e) => {
      if (e.kind === 'bus' && e.op === 'device_registered' && e.dev === name)
        bus.setDriverOverride(name, driverName);
    });
    try {
      bus.devAdd(mgmtdev, name, request);
    } catch (err) {
      return VdpaError.from(err);
    } finally {
      sub.unsubscribe();
    }
    this.created = name;
    const bound = bus.driverOf(name);
    if (bound !== undefined)
      throw new VdpaError(
        'EBUSY',
        `device ${name} was bound to driver ${bound} before trace verify could claim it`,
      );
    const dev = bus.device(name);
    if (dev === undefined) throw new VdpaError('ENODEV', `device ${name} vanished after dev add`);
    const driver: VdpaDriver = {
      name: driverName,
      idTable: [...dev.classIds],
      probe: (handle) => {
        if (handle.name !== name)
          throw new VdpaError('ENODEV', `driver ${driverName} only takes device ${name}, not ${handle.name}`);
        this.handle = handle;
      },
      remove: () => {
        this.handle = undefined;
      },
    };
    bus.registerDriver(driver);
    this.driver = driver;
    if (this.handle === undefined)
      throw new VdpaError('ENODEV', `trace verify could not bind device ${name}`);
    return undefined;
  }

  invoke(op: OpName, args: unknown[]): unknown {
    const handle = this.handle;
    if (handle === undefined) throw new VdpaError('ENODEV', `no device is bound for replay of ${op}`);
    if (op === 'reset') {
      handle.reset();
      return undefined;
    }
    const fn = (handle as unknown as Record<string, unknown>)[op];
    if (typeof fn !== 'function')
      throw new VdpaError('EOPNOTSUPP', `op ${op} cannot be replayed through a handle`);
    return callWith(fn as Method, handle, args);
  }

  destroy(): void {
    const { bus } = this.target;
    const errors: unknown[] = [];
    if (this.driver !== undefined) {
      try {
        bus.unregisterDriver(this.driver.name);
      } catch (err) {
        errors.push(err);
      }
      this.driver = undefined;
    }
    if (this.created !== undefined) {
      if (bus.device(this.created) !== undefined) {
        try {
          bus.devDel(this.created);
        } catch (err) {
          errors.push(err);
        }
      }
      this.created = undefined;
    }
    this.handle = undefined;
    if (errors.length > 0) {
      const first = VdpaError.from(errors[0]);
      throw new VdpaError(first.code, `trace verify could not clean up: ${first.message}`, { cause: first });
    }
  }

  private freeDriverName(): string {
    let name = VERIFY_DRIVER_NAME;
    for (let n = 1; this.target.bus.driver(name) !== undefined; n++) name = `${VERIFY_DRIVER_NAME}_${n}`;
    return name;
  }
}

function traceValue(seq: number, what: string): TraceError {
  return new TraceError(`trace seq ${seq}: dev_add ${what}`);
}

/**
 * The `dev add` request recorded in a `dev_add` event's `args` (`deviceFeatures` hex, `mac` hex,
 * `mtu`, `maxVqPairs`).
 * @throws TraceError naming the bad attribute
 */
export function devAddRequestOf(args: JsonObject, seq: number): VdpaDevAddRequest {
  const { deviceFeatures, mac, mtu, maxVqPairs } = args;
  let features: bigint | undefined;
  if (deviceFeatures !== undefined) {
    if (typeof deviceFeatures !== 'string' || !/^0x[0-9a-f]+$/i.test(deviceFeatures))
      throw traceValue(seq, `deviceFeatures ${JSON.stringify(deviceFeatures)} is not a hex string`);
    features = BigInt(deviceFeatures);
  }
  let macBytes: Uint8Array | undefined;
  if (mac !== undefined) {
    if (typeof mac !== 'string') throw traceValue(seq, `mac ${JSON.stringify(mac)} is not a hex string`);
    try {
      macBytes = fromHex(mac);
    } catch {
      throw traceValue(seq, `mac ${JSON.stringify(mac)} is not a hex string`);
    }
  }
  for (const [key, v] of [
    ['mtu', mtu],
    ['maxVqPairs', maxVqPairs],
  ] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v)))
      throw traceValue(seq, `${key} ${JSON.stringify(v)} is not an integer`);
  }
  const net =
    macBytes === undefined && mtu === undefined && maxVqPairs === undefined
      ? undefined
      : {
          ...(macBytes === undefined ? {} : { mac: macBytes }),
          ...(mtu === undefined ? {} : { mtu: mtu as number }),
          ...(maxVqPairs === undefined ? {} : { maxVqPairs: maxVqPairs as number }),
        };
  return {
    ...(features === undefined ? {} : { deviceFeatures: features }),
    ...(net === undefined ? {} : { net }),
  };
}

/** A return without a result (a void op; the recorded outcome of every coalesced kick). */
const VOID_RETURN: VerifyOutcome = Object.freeze({});

/** Lower-case hex digits, as `toHex` writes bytes. */
const HEX_DIGITS = '0123456789abcdef';
/** Bits of one hex digit. */
const NIBBLE_BITS = 4;
/** Mask of the low hex digit of a byte. */
const NIBBLE_MASK = 0xf;
/** Hex digits per byte. */
const HEX_PER_BYTE = 2;

/** True when `hex` is exactly `toHex(bytes)` (compared in place, without building the string). */
function bytesMatchHex(bytes: Uint8Array, hex: string): boolean {
  if (hex.length !== bytes.length * HEX_PER_BYTE) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (
      hex.charCodeAt(i * HEX_PER_BYTE) !== HEX_DIGITS.charCodeAt(b >> NIBBLE_BITS) ||
      hex.charCodeAt(i * HEX_PER_BYTE + 1) !== HEX_DIGITS.charCodeAt(b & NIBBLE_MASK)
    )
      return false;
  }
  return true;
}

/** What replay needs to know of an op: one lookup per replayed call. */
interface ReplayOp {
  readonly meta: OpMeta;
  /** The result depends on ring contents before any kick (`isDatapathDependent(op, false)`). */
  readonly dependent: boolean;
  /** The result depends on ring contents once a kick was replayed since the last reset. */
  readonly dependentAfterKick: boolean;
  /** The op marks datapath activity (as `DatapathDependence.note` sees it). */
  readonly kick: boolean;
  /** The op clears the mark. */
  readonly reset: boolean;
}

/** {@link ReplayOp} of every op, derived from `isDatapathDependent` and `DatapathDependence`. */
const REPLAY_OPS: Readonly<Record<OpName, ReplayOp>> = Object.freeze(
  Object.fromEntries(
    OP_NAMES.map((op): [OpName, ReplayOp] => {
      const fromIdle = new DatapathDependence();
      fromIdle.note(op);
      const fromKicked = new DatapathDependence();
      fromKicked.noteKicks();
      fromKicked.note(op);
      const info: ReplayOp = {
        meta: OP_TABLE[op],
        dependent: isDatapathDependent(op, false),
        dependentAfterKick: isDatapathDependent(op, true),
        kick: fromIdle.kickedSinceReset,
        reset: !fromKicked.kickedSinceReset,
      };
      return [op, Object.freeze(info)];
    }),
  ) as Record<OpName, ReplayOp>,
);

/** How an invoked op ended: its result, or the error it threw. */
interface Invocation {
  result: unknown;
  error: VdpaError | undefined;
}

/** The outcome of an invocation as recorded in a trace (the result encoded by `encodeResult`). */
function encodeOutcome(op: OpName, args: unknown[], done: Invocation): VerifyOutcome {
  if (done.error !== undefined) return { err: done.error.code, message: done.error.message };
  const ret = encodeResult(op, done.result, args);
  return ret === undefined ? VOID_RETURN : { ret };
}

function sameOutcome(a: VerifyOutcome, b: VerifyOutcome): boolean {
  if (a.err !== undefined || b.err !== undefined) return a.err === b.err;
  return sameJson(a.ret, b.ret);
}

/**
 * One verification run: replays the incarnations of one device on a session. Per replayed call it
 * allocates only what the op's arguments need (argument lists are reused per length); results are
 * compared with the recorded encoding in place for the common result kinds, and encoded (as the
 * trace was) only to decide the other cases and to report a divergence.
 */
class Verifier {
  compared = 0;
  skipped = 0;
  replayed = 0;
  divergence: VerifyDivergence | undefined;
  readonly vqCallbacks: Record<string, number> = {};
  configCallbacks = 0;
  private readonly stubs = new Map<number, VdpaCallback>();
  private readonly configStub: VdpaCallback = () => {
    this.configCallbacks++;
  };
  /** Argument lists by length, reused from call to call. */
  private readonly argLists: unknown[][] = [];
  private readonly done: Invocation = { result: undefined, error: undefined };
  /** The last bigint result and its hex encoding (a device returns the same features again and again). */
  private lastBigint: bigint | undefined;
  private lastBigintHex = '';
  /** A kick was replayed since the last reset of the current incarnation. */
  private kicked = false;

  constructor(
    private readonly session: Session,
    private readonly options: VerifyOptions,
    private readonly records: readonly TraceRecord[],
    private readonly outcomeOf: Int32Array,
  ) {}

  /** Replays one incarnation; returns false once diverged. */
  run(dev: string, life: ScriptLifeRange, devAdd: VdpaDevAddRequest | undefined): boolean {
    const request =
      devAdd ?? (life.devAdd === undefined ? {} : devAddRequestOf(life.devAdd.args, life.devAdd.seq));
    const failed = this.session.create(dev, request);
    if (failed !== undefined) {
      const seq = life.devAdd?.seq ?? life.seq;
      const args: JsonValue[] = life.devAdd === undefined ? [] : [life.devAdd.args];
      const expected: VerifyOutcome = life.devAdd?.ret === undefined ? {} : { ret: life.devAdd.ret };
      this.divergence = {
        seq,
        op: 'dev_add',
        args,
        expected,
        actual: { err: failed.code, message: failed.message },
      };
      return false;
    }
    // Datapath activity since the last reset (see `DatapathDependence`), per incarnation.
    this.kicked = false;
    const records = this.records;
    for (let i = life.start; i < life.end; i++) {
      const r = records[i];
      if (r.dev !== dev) continue;
      if (r.kind === 'op') {
        if (r.phase === 'call' && !this.replay(r, this.outcomeOf[i])) return false;
      } else if (r.kind === 'dp') {
        if (!this.replayKicks(r)) return false;
      }
    }
    return true;
  }

  /** Replays the coalesced kicks of a `dp` record: each must succeed. */
  private replayKicks(record: DatapathRecord): boolean {
    for (const key in record.kicks) {
      const count = record.kicks[key];
      // One argument list per vq for all its kicks: a dp record may stand for thousands.
      const recorded: JsonValue[] = [Number(key)];
      const args: unknown[] = [Number(key)];
      for (let n = 0; n < count; n++) {
        this.replayed++;
        this.invoke('kickVq', args);
        this.compared++;
        if (
          (this.done.error !== undefined || !this.sameResult(OP_TABLE.kickVq, args, undefined)) &&
          !this.diverge(record.seq, 'kickVq', recorded, args, VOID_RETURN)
        )
          return false;
      }
      if (count > 0) this.kicked = true;
    }
    return true;
  }

  private replay(call: OpEvent, outcomeAt: number): boolean {
    const op = call.op;
    // Bus probe checks and `free` are regenerated by the bus; management reads are not part of the
    // session (and bypass the config wrapper, which a driver handle would apply).
    if (call.origin === 'bus' || call.origin === 'mgmt' || op === 'free') return true;
    const info = REPLAY_OPS[op];
    const meta = info.meta;
    const recorded = call.args ?? [];
    let args: unknown[];
    try {
      args = this.liveArgs(meta, recorded);
    } catch (err) {
      throw new TraceError(`trace seq ${call.seq}: arguments of ${op}: ${VdpaError.from(err).message}`, {
        cause: err,
      });
    }
    const dependent = this.kicked ? info.dependentAfterKick : info.dependent;
    if (info.kick) this.kicked = true;
    else if (info.reset) this.kicked = false;
    this.replayed++;
    this.invoke(op, args);
    if (outcomeAt < 0) return true;
    if (dependent && this.options.strict !== true) {
      this.skipped++;
      return true;
    }
    this.compared++;
    const outcome = this.records[outcomeAt] as OpEvent;
    const error = this.done.error;
    if (outcome.phase === 'error') {
      if (error !== undefined && error.code === (outcome.err ?? 'EIO')) return true;
    } else if (error === undefined && this.sameResult(meta, args, outcome.ret)) {
      return true;
    }
    // Not shown equal in place: compare the encoded outcomes, as recorded.
    const expected = recordedOutcome(outcome);
    return this.diverge(call.seq, op, recorded, args, expected);
  }

  /** Compares the encoded outcomes; records the divergence when they differ. */
  private diverge(
    seq: number,
    op: OpName,
    recordedArgs: readonly JsonValue[],
    args: unknown[],
    expected: VerifyOutcome,
  ): boolean {
    const actual = encodeOutcome(op, args, this.done);
    if (sameOutcome(expected, actual)) return true;
    this.divergence = { seq, op, args: recordedArgs, expected, actual };
    return false;
  }

  /** Calls `op` on the session; how it ended is in `this.done`. */
  private invoke(op: OpName, args: unknown[]): void {
    const done = this.done;
    done.result = undefined;
    done.error = undefined;
    try {
      done.result = this.session.invoke(op, args);
    } catch (err) {
      done.error = VdpaError.from(err);
    }
  }

  /**
   * True when `encodeResult(meta.name, result, args)` is certainly the JSON value `recorded` (a successful
   * call); false when not shown (the caller then compares the encodings).
   */
  private sameResult(meta: OpMeta, args: unknown[], recorded: JsonValue | undefined): boolean {
    const result = this.done.result;
    switch (meta.ret) {
      case 'void':
        return recorded === undefined;
      case 'number':
        return typeof recorded === 'number' && result === recorded && Number.isFinite(recorded);
      case 'boolean':
      case 'string':
        return typeof recorded === meta.ret && result === recorded;
      case 'bigint':
      case 'u64':
        if (typeof result !== 'bigint' || typeof recorded !== 'string') return false;
        if (result !== this.lastBigint) {
          this.lastBigint = result;
          this.lastBigintHex = bigintToHex(result);
        }
        return this.lastBigintHex === recorded;
      case 'outBytes': {
        const buf = args[meta.args.indexOf('outBytes')];
        return buf instanceof Uint8Array && typeof recorded === 'string' && bytesMatchHex(buf, recorded);
      }
      default:
        return false;
    }
  }

  /**
   * The live arguments of a recorded call (as `decodeArgs` decodes them), in a list reused per length:
   * counting stubs for recorded callbacks, the given memory for handles.
   * @throws VdpaError for a bad argument count or encoding
   */
  private liveArgs(meta: OpMeta, recorded: readonly JsonValue[]): unknown[] {
    const op = meta.name;
    const kinds = meta.args;
    const n = recorded.length;
    if (n > kinds.length) decodeArgs(op, recorded);
    let args = this.argLists[n];
    if (args === undefined) {
      args = new Array<unknown>(n);
      this.argLists[n] = args;
    }
    for (let i = 0; i < n; i++) {
      const kind = kinds[i];
      const json = recorded[i];
      switch (kind) {
        case 'number':
          args[i] = typeof json === 'number' && Number.isFinite(json) ? json : decodeValue(kind, json);
          break;
        case 'boolean':
        case 'string':
          args[i] = typeof json === kind ? json : decodeValue(kind, json);
          break;
        case 'json':
          args[i] = json === null ? undefined : json;
          break;
        case 'handle':
          args[i] = this.options.guestMemory ?? null;
          break;
        case 'callback':
          args[i] =
            decodeValue(kind, json) === REPLAY_CALLBACK
              ? op === 'setConfigCb'
                ? this.configStub
                : this.vqStub(args[0] as number)
              : null;
          break;
        default:
          args[i] = decodeValue(kind, json);
      }
    }
    return args;
  }

  private vqStub(idx: number): VdpaCallback {
    let stub = this.stubs.get(idx);
    if (stub === undefined) {
      const key = String(idx);
      stub = () => {
        this.vqCallbacks[key] = (this.vqCallbacks[key] ?? 0) + 1;
      };
      this.stubs.set(idx, stub);
    }
    return stub;
  }
}

/**
 * Verify-mode replay: drives a fresh device with the recorded op calls of one device, compares every
 * result and error with the recording, and reports the first divergence.
 *
 * - Every op call of the device is replayed in order, `origin: 'core'` ones as recorded (the config
 *   wrapper of the handle then sees features already valid and adds nothing); `origin: 'bus'` probe
 *   checks and `free` are regenerated by the bus, `origin: 'mgmt'` management reads are not replayed.
 * - Coalesced `dp` records are replayed as that many `kickVq` calls per vq; each must succeed.
 * - Recorded callbacks (`setVqCb` / `setConfigCb` with `true`) get counting stubs
 *   ({@link VerifyReport.callbacks}).
 * - Errors compare by errno (messages differ between implementations); results by their encoding.
 * - Results that depend on ring contents (`DATAPATH_DEPENDENT_OPS`) are replayed but compared only
 *   with `strict`; the report counts them as `skipped`.
 * - Each incarnation (registration) of the device is created fresh and destroyed at its end — also on
 *   divergence or exception, so nothing is left half-applied: with a bus target the device is deleted
 *   and the private driver unregistered. A device that cannot be created is a divergence at `dev_add`.
 *
 * @param trace the recorded trace
 * @param target a live management device on a bus, or a device factory
 * @param options `strict`, `dev`, `guestMemory`
 * @returns the report (`ok: false` with `divergence` on the first difference)
 * @throws TraceError when the trace has no device or a recorded value does not decode; VdpaError
 * `ENODEV` / `EEXIST` when the bus target has no such mgmtdev or already has the device, `EBUSY` when
 * a transport bound the created device first (see {@link VerifyBusTarget}); in every case the
 * device created for the replay is deleted first
 * @example
 * const report = verifyTrace(readTrace('session.jsonl'), { bus, mgmtdev: 'vdpasim_net' });
 * if (!report.ok && report.divergence) console.error(formatDivergence(report.divergence));
 */
export function verifyTrace(trace: Trace, target: VerifyTarget, options: VerifyOptions = {}): VerifyReport {
  const dev = options.dev ?? defaultTraceDevice(trace);
  const { lives, outcomeOf } = deviceScriptIndex(trace.records, dev);
  if (lives.length === 0) throw new TraceError(`trace has no record of device ${dev}`);
  const session: Session = 'factory' in target ? new FactorySession(target.factory) : new BusSession(target);
  const devAdd = 'factory' in target ? undefined : target.devAdd;
  const verifier = new Verifier(session, options, trace.records, outcomeOf);
  for (const life of lives) {
    let ok: boolean;
    try {
      ok = verifier.run(dev, life, devAdd);
    } catch (err) {
      try {
        session.destroy();
      } catch {
        // The replay error is the one to report; the cleanup error would hide it.
      }
      throw err;
    }
    session.destroy();
    if (!ok) break;
  }
  const divergence = verifier.divergence;
  return {
    ok: divergence === undefined,
    dev,
    compared: verifier.compared,
    skipped: verifier.skipped,
    replayed: verifier.replayed,
    callbacks: { vq: { ...verifier.vqCallbacks }, config: verifier.configCallbacks },
    ...(divergence === undefined ? {} : { divergence }),
  };
}

/**
 * One line for a divergence: `divergence at seq 12: setVqNum(0, 256): expected ok, got !EINVAL`.
 * The call prints as in the timeline (`formatCall`); outcomes as `ok` (void return), a value
 * (bigints as bare hex) or `!ERRNO`.
 * @param d the divergence of a {@link VerifyReport}
 */
export function formatDivergence(d: VerifyDivergence): string {
  return `divergence at seq ${d.seq}: ${formatCall(d.op, d.args)}: expected ${formatOutcome(d.expected)}, got ${formatOutcome(d.actual)}`;
}
