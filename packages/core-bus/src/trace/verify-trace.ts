import type { GuestMemory } from '@vdpa-kit/vring';
import type { OpName, VdpaCallback, VdpaConfigOps } from '../config-ops.js';
import type { DeviceHandle } from '../device-handle.js';
import { VdpaError } from '../errors.js';
import { REPLAY_CALLBACK, decodeArgs, encodeResult, fromHex } from '../event-codec.js';
import type { JsonObject, JsonValue } from '../events.js';
import type { VdpaDevAddRequest } from '../mgmt-device.js';
import { OP_TABLE } from '../op-table.js';
import type { VdpaBus } from '../vdpa-bus.js';
import type { VdpaDriver } from '../vdpa-driver.js';
import { DatapathDependence } from './datapath-dependent.js';
import {
  type RecordedOutcome,
  type ScriptCall,
  type ScriptIncarnation,
  defaultTraceDevice,
  deviceScript,
  formatOutcome,
  sameJson,
} from './device-script.js';
import { formatCall } from './timeline.js';
import { TraceError } from './trace-error.js';
import type { Trace } from './trace-format.js';

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
    return (fn as (...a: unknown[]) => unknown).apply(this.ops, args);
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
    return (fn as (...a: unknown[]) => unknown).apply(handle, args);
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

/** Calls `op` on the session and encodes how it ended. */
function invokeOutcome(session: Session, op: OpName, args: unknown[]): VerifyOutcome {
  let result: unknown;
  try {
    result = session.invoke(op, args);
  } catch (err) {
    const e = VdpaError.from(err);
    return { err: e.code, message: e.message };
  }
  const ret = encodeResult(op, result, args);
  return ret === undefined ? VOID_RETURN : { ret };
}

function sameOutcome(a: VerifyOutcome, b: VerifyOutcome): boolean {
  if (a.err !== undefined || b.err !== undefined) return a.err === b.err;
  return sameJson(a.ret, b.ret);
}

/** One verification run: replays the incarnations of one device on a session. */
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

  constructor(
    private readonly session: Session,
    private readonly options: VerifyOptions,
  ) {}

  /** Replays one incarnation; returns false once diverged. */
  run(dev: string, life: ScriptIncarnation, devAdd: VdpaDevAddRequest | undefined): boolean {
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
    const dep = new DatapathDependence();
    for (const item of life.items) {
      if (item.kind === 'cb') continue;
      if (item.kind === 'dp') {
        for (const [key, count] of Object.entries(item.kicks)) {
          // One argument list per vq for all its kicks: a dp record may stand for thousands.
          const args: JsonValue[] = [Number(key)];
          for (let n = 0; n < count; n++) {
            if (!this.check(item.seq, 'kickVq', args, args, VOID_RETURN, false)) return false;
          }
          if (count > 0) dep.noteKicks();
        }
        continue;
      }
      if (!this.replay(item, dep)) return false;
    }
    return true;
  }

  private replay(call: ScriptCall, dep: DatapathDependence): boolean {
    // Bus probe checks and `free` are regenerated by the bus; management reads are not part of the
    // session (and bypass the config wrapper, which a driver handle would apply).
    if (call.origin === 'bus' || call.origin === 'mgmt' || call.op === 'free') return true;
    let args: unknown[];
    try {
      args = this.liveArgs(call.op, decodeArgs(call.op, call.args));
    } catch (err) {
      throw new TraceError(`trace seq ${call.seq}: arguments of ${call.op}: ${VdpaError.from(err).message}`, {
        cause: err,
      });
    }
    const dependent = dep.dependent(call.op);
    dep.note(call.op);
    if (call.outcome === undefined) {
      this.replayed++;
      invokeOutcome(this.session, call.op, args);
      return true;
    }
    const compare = !dependent || this.options.strict === true;
    return this.check(call.seq, call.op, call.args, args, call.outcome, !compare);
  }

  /** Issues one op and compares its outcome (unless `skip`); records the divergence. */
  private check(
    seq: number,
    op: OpName,
    recordedArgs: readonly JsonValue[],
    args: unknown[],
    expected: VerifyOutcome,
    skip: boolean,
  ): boolean {
    this.replayed++;
    const actual = invokeOutcome(this.session, op, args);
    if (skip) {
      this.skipped++;
      return true;
    }
    this.compared++;
    if (sameOutcome(expected, actual)) return true;
    this.divergence = { seq, op, args: recordedArgs, expected, actual };
    return false;
  }

  /** Substitutes counting stubs for recorded callbacks and the given memory for handles. */
  private liveArgs(op: OpName, args: unknown[]): unknown[] {
    const kinds = OP_TABLE[op].args;
    for (let i = 0; i < args.length; i++) {
      if (kinds[i] === 'callback' && args[i] === REPLAY_CALLBACK) {
        args[i] = op === 'setConfigCb' ? this.configStub : this.vqStub(args[0] as number);
      } else if (kinds[i] === 'handle') {
        args[i] = this.options.guestMemory ?? null;
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
  const lives = deviceScript(trace.records, dev);
  if (lives.length === 0) throw new TraceError(`trace has no record of device ${dev}`);
  const session: Session = 'factory' in target ? new FactorySession(target.factory) : new BusSession(target);
  const devAdd = 'factory' in target ? undefined : target.devAdd;
  const verifier = new Verifier(session, options);
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
