import type { GuestMemory, Iotlb } from '@vdpa-kit/vring';
import {
  type OpName,
  type VdpaCallback,
  type VdpaConfigOps,
  type VdpaIovaRange,
  type VdpaMapFile,
  type VdpaNotificationArea,
  type VdpaVqState,
  type VendorStat,
  VdpaError,
  encodeArgs,
  type JsonValue,
  OP_NAMES,
  OP_TABLE,
  VDPA_CLASS_IDS,
  type VdpaClassId,
  isVdpaClassId,
} from '@vdpa-kit/core-bus';
import { decodeResult } from './event-decoding.js';
import { type ScriptCall, type ScriptIncarnation, deviceScript, sameJson } from './device-script.js';
import { formatCall } from './timeline.js';
import { TraceError } from './trace-error.js';
import type { Trace } from './trace-format.js';

/** How the recorded device was registered (from its `device_registered` event). */
export interface ReplayRegistration {
  readonly nvqs: number;
  readonly classIds: readonly VdpaClassId[];
  readonly ngroups: number;
  readonly nas: number;
  readonly useVa: boolean;
}

/** One call a {@link ReplayDevice} still expects (`count` > 1 for coalesced kicks). */
export interface ReplayExpectation {
  readonly seq: number;
  readonly op: OpName;
  readonly args: readonly JsonValue[];
  readonly count: number;
}

/** The first call a {@link ReplayDevice} did not expect. */
export interface ReplayDivergence {
  /** `seq` of the expected call (or of the device's last record when nothing more was expected). */
  readonly seq: number;
  /** What the trace expected next, or undefined when it expected nothing more. */
  readonly expected: ReplayExpectation | undefined;
  /** What the transport called. */
  readonly actual: { readonly op: OpName; readonly args: readonly JsonValue[] };
  /** `replay divergence at seq N: expected setVqNum(0, 256), got setVqNum(0, 128)`. */
  readonly message: string;
}

/** Options of a {@link ReplayDevice}. */
export interface ReplayDeviceOptions {
  /** Which life of the device to replay (0-based, split at `device_registered`; default 0). */
  readonly incarnation?: number;
  /**
   * The optional ops the device has (default: those the trace shows it had — called without the
   * channel's "not supported" error). `has(op)` on a handle follows this.
   */
  readonly optionalOps?: readonly OpName[];
}

/** A callback to fire: vq `idx` callback (`idx` ≥ 0) or the config callback (`idx` = -1), `count` times. */
interface Fire {
  readonly idx: number;
  readonly count: number;
}

/** `Fire.idx` of the config-change callback (vq indices are ≥ 0). */
const CONFIG_CB = -1;

interface CallStep {
  readonly kind: 'call';
  readonly seq: number;
  readonly op: OpName;
  readonly args: readonly JsonValue[];
  /** Issued by the core, the bus or management: may be absent from the replay session. */
  readonly optional: boolean;
  readonly error: VdpaError | undefined;
  readonly result: unknown;
  readonly recorded: boolean;
  readonly after: Fire[];
}

interface KickStep {
  readonly kind: 'kicks';
  readonly seq: number;
  /** vq index → kicks still expected. */
  readonly left: Map<number, number>;
  /** Kicks of the whole record, and how many came so far. */
  readonly total: number;
  done: number;
  /** The record's own callbacks, spread evenly over its kicks; `fired[j]` of `spread[j]` so far. */
  readonly spread: readonly Fire[];
  readonly fired: number[];
  /** Callbacks recorded after the record: fired after its last kick. */
  readonly after: Fire[];
}

type Step = CallStep | KickStep;

/** The message of the channel's `EOPNOTSUPP` for an op the device does not implement. */
const NOT_SUPPORTED = /^op \S+ is not supported by device /;

/** Vq ops whose first argument is a vq index (to size `nvqs` when no registration was recorded). */
const VQ_INDEX_OPS: ReadonlySet<OpName> = new Set<OpName>([
  'setVqAddress',
  'setVqNum',
  'kickVq',
  'setVqCb',
  'setVqReady',
  'getVqReady',
  'setVqState',
  'getVqState',
]);

function vqIndexKey(key: string, seq: number): number {
  const idx = Number(key);
  if (!Number.isSafeInteger(idx) || idx < 0)
    throw new TraceError(`trace seq ${seq}: dp vq index ${JSON.stringify(key)} is not an index`);
  return idx;
}

function registrationOf(life: ScriptIncarnation): ReplayRegistration {
  const r = life.registration ?? {};
  const num = (key: string, dflt: number): number => {
    const v = r[key];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : dflt;
  };
  let maxIdx = -1;
  for (const item of life.items) {
    if (item.kind === 'call' && VQ_INDEX_OPS.has(item.op) && typeof item.args[0] === 'number')
      maxIdx = Math.max(maxIdx, item.args[0]);
    if (item.kind === 'dp')
      for (const k of Object.keys(item.kicks)) maxIdx = Math.max(maxIdx, vqIndexKey(k, item.seq));
  }
  const classIds = Array.isArray(r.classIds) ? r.classIds.filter(isVdpaClassId) : [];
  return Object.freeze({
    nvqs: num('nvqs', maxIdx + 1),
    classIds: Object.freeze(classIds.length > 0 ? classIds : [...VDPA_CLASS_IDS]),
    ngroups: Math.max(1, num('ngroups', 1)),
    nas: Math.max(1, num('nas', 1)),
    useVa: r.useVa === true,
  });
}

/** Optional ops the recorded device had: called at least once without the channel's "not supported". */
function optionalOpsOf(lives: readonly ScriptIncarnation[]): Set<OpName> {
  const present = new Set<OpName>();
  for (const life of lives) {
    for (const item of life.items) {
      if (item.kind !== 'call' || OP_TABLE[item.op].mandatory) continue;
      const o = item.outcome;
      if (o === undefined || o.err !== 'EOPNOTSUPP' || !NOT_SUPPORTED.test(o.message ?? ''))
        present.add(item.op);
    }
  }
  // The bus refuses a device with only one of the pair.
  if (present.has('dmaMap') || present.has('dmaUnmap')) {
    present.add('dmaMap');
    present.add('dmaUnmap');
  }
  return present;
}

/**
 * A `VdpaConfigOps` that answers from a trace instead of a device (mock-mode replay): a transport
 * can be tested without the device it was recorded with.
 *
 * Each op call must match the next recorded call of the device (op and arguments as encoded in
 * events; callbacks compare as registered or `null`; `getConfig` buffers by length). Calls the core,
 * the bus or management issued in the recording (`origin` set) may be absent from the replay and are
 * then skipped; `free` never diverges. Coalesced `dp` kicks are expected as that many `kickVq` calls per
 * vq, in any order, before the next control op. A matched call returns the recorded result (getConfig:
 * the recorded bytes copied into the buffer) or throws the recorded `VdpaError`; the recorded
 * `vqCb` / `configCb` callbacks that followed it are fired, before it returns, on the callbacks the
 * transport registered (the callbacks of a `dp` record are spread evenly over its kicks: a `'full'`
 * trace gives the exact points).
 *
 * Guest memory is not in a trace: the replay device never reads or writes the rings. A transport
 * gets its callbacks but finds no used buffers, so what waits for the device's answer in memory (a
 * control-queue command's ack, received frames) does not complete; mock mode is for the control path.
 * @see verifyTrace for driving a real device with the recorded ops.
 *
 * An unexpected call is a divergence: it throws `VdpaError('EINVAL', 'replay divergence at seq N:
 * expected setVqNum(0, 256), got setVqNum(0, 128)')`, is kept in {@link ReplayDevice.divergence},
 * and every later call throws too. {@link ReplayDevice.remaining} lists what the transport did not do.
 *
 * Optional ops exist only if the recorded device had them (see {@link ReplayDeviceOptions}).
 *
 * @throws TraceError from the constructor when the trace has no record of `dev`, no such incarnation,
 * or a recorded result that does not decode
 * @example
 * const mock = new ReplayDevice(trace, 'vdpa0');
 * const dev = bus.allocDevice({ ops: mock, name: 'vdpa0', classIds: mock.registration.classIds });
 * bus.registerDevice(dev, mock.registration.nvqs); // the transport under test probes it
 * expect(mock.divergence).toBeUndefined();
 * expect(mock.remaining()).toEqual([]);
 */
export class ReplayDevice implements VdpaConfigOps {
  /** The recorded device this replays. */
  readonly dev: string;
  /** How the recorded device was registered (defaults when the trace lacks the event). */
  readonly registration: ReplayRegistration;
  /** The first divergence, once one happened. */
  divergence: ReplayDivergence | undefined;
  private readonly steps: Step[] = [];
  private cursor = 0;
  private readonly lastSeq: number;
  private readonly vqCbs = new Map<number, VdpaCallback>();
  private configCb: VdpaCallback | null = null;

  /**
   * @param trace the recorded trace
   * @param dev the recorded device name
   * @param options incarnation, optional ops
   */
  constructor(trace: Trace, dev: string, options: ReplayDeviceOptions = {}) {
    const lives = deviceScript(trace.records, dev);
    if (lives.length === 0) throw new TraceError(`trace has no record of device ${dev}`);
    const at = options.incarnation ?? 0;
    const life = lives[at];
    if (life === undefined) {
      throw new TraceError(`trace has no incarnation ${at} of device ${dev} (it has ${lives.length})`);
    }
    this.dev = dev;
    this.registration = registrationOf(life);
    this.lastSeq = life.items.length > 0 ? life.items[life.items.length - 1].seq : life.seq;
    this.build(life);
    const present = options.optionalOps === undefined ? optionalOpsOf(lives) : new Set(options.optionalOps);
    if (this.registration.useVa && !present.has('setMap') && !present.has('dmaMap')) {
      present.add('dmaMap');
      present.add('dmaUnmap');
    }
    for (const op of OP_NAMES) {
      if (OP_TABLE[op].mandatory || op === 'free' || present.has(op)) continue;
      Object.defineProperty(this, op, { value: undefined, enumerable: false });
    }
  }

  /** True when every required call was made (see {@link ReplayDevice.remaining}). */
  get done(): boolean {
    return this.remaining().length === 0;
  }

  /**
   * What the transport did not do yet: the recorded driver calls (and coalesced kicks, with their
   * counts) after the last matched one. Calls with an `origin` are not listed.
   */
  remaining(): ReplayExpectation[] {
    const out: ReplayExpectation[] = [];
    for (let i = this.cursor; i < this.steps.length; i++) {
      const step = this.steps[i];
      if (step.kind === 'call') {
        if (!step.optional) out.push({ seq: step.seq, op: step.op, args: step.args, count: 1 });
        continue;
      }
      for (const [idx, count] of step.left) {
        if (count > 0) out.push({ seq: step.seq, op: 'kickVq', args: [idx], count });
      }
    }
    return out;
  }

  private build(life: ScriptIncarnation): void {
    let anchor: Step | undefined;
    const attach = (fire: Fire): void => {
      // Callbacks before any call of this life have nothing registered to reach.
      anchor?.after.push(fire);
    };
    for (const item of life.items) {
      if (item.kind === 'cb') {
        const idx = item.op === 'configCb' ? CONFIG_CB : item.args[0];
        if (typeof idx !== 'number' || !Number.isSafeInteger(idx))
          throw new TraceError(`trace seq ${item.seq}: vqCb argument ${JSON.stringify(idx)} is not an index`);
        attach({ idx, count: 1 });
        continue;
      }
      if (item.kind === 'dp') {
        const left = new Map<number, number>();
        for (const [k, n] of Object.entries(item.kicks)) left.set(vqIndexKey(k, item.seq), n);
        const fires: Fire[] = Object.entries(item.cbs).map(([k, n]) => ({
          idx: vqIndexKey(k, item.seq),
          count: n,
        }));
        let total = 0;
        for (const n of left.values()) total += n;
        if (total > 0) {
          const step: KickStep = {
            kind: 'kicks',
            seq: item.seq,
            left,
            total,
            done: 0,
            spread: fires,
            fired: fires.map(() => 0),
            after: [],
          };
          this.steps.push(step);
          anchor = step;
        } else {
          for (const f of fires) attach(f);
        }
        continue;
      }
      const step = this.callStep(item);
      this.steps.push(step);
      if (!step.optional || anchor === undefined) anchor = step;
    }
  }

  private callStep(item: ScriptCall): CallStep {
    const base = {
      kind: 'call' as const,
      seq: item.seq,
      op: item.op,
      args: item.args,
      optional: item.origin !== undefined,
      after: [] as Fire[],
    };
    const o = item.outcome;
    if (o === undefined) return { ...base, error: undefined, result: undefined, recorded: false };
    if (o.err !== undefined) {
      const error = new VdpaError(
        o.err,
        o.message ?? `replayed ${o.err} of ${item.op} on device ${this.dev}`,
      );
      return { ...base, error, result: undefined, recorded: true };
    }
    try {
      return { ...base, error: undefined, result: decodeResult(item.op, o.ret), recorded: true };
    } catch (err) {
      throw new TraceError(`trace seq ${item.seq}: result of ${item.op}: ${VdpaError.from(err).message}`, {
        cause: err,
      });
    }
  }

  /** Matches a call against the script, answers it and fires the callbacks recorded after it. */
  private answer(op: OpName, args: readonly unknown[]): unknown {
    if (this.divergence !== undefined) {
      throw new VdpaError(
        'EINVAL',
        `replay of device ${this.dev} diverged earlier: ${this.divergence.message}`,
      );
    }
    const actual = encodeArgs(op, args);
    for (let i = this.cursor; i < this.steps.length; i++) {
      const step = this.steps[i];
      if (step.kind === 'kicks') {
        const idx = args[0];
        const left = typeof idx === 'number' ? step.left.get(idx) : undefined;
        if (op !== 'kickVq' || left === undefined || left === 0) break;
        // Position first: a callback fired below may call the device again.
        step.left.set(idx as number, left - 1);
        step.done++;
        this.cursor = step.done === step.total ? i + 1 : i;
        this.spreadCallbacks(step);
        if (step.done === step.total) this.fire(step.after);
        return undefined;
      }
      if (step.op === op && sameJson(step.args, actual)) {
        this.cursor = i + 1;
        return this.respond(step, args);
      }
      if (!step.optional) break;
    }
    if (op === 'free') return undefined;
    throw this.diverge(op, actual);
  }

  private respond(step: CallStep, args: readonly unknown[]): unknown {
    if (!step.recorded) {
      throw new VdpaError('EINVAL', `trace has no result of ${step.op} at seq ${step.seq}`);
    }
    if (step.error === undefined) {
      if (step.op === 'setVqCb') {
        const cb = args[1] as VdpaCallback | null;
        if (cb === null) this.vqCbs.delete(args[0] as number);
        else this.vqCbs.set(args[0] as number, cb);
      } else if (step.op === 'setConfigCb') {
        this.configCb = args[0] as VdpaCallback | null;
      } else if (OP_TABLE[step.op].ret === 'outBytes') {
        const buf = args[OP_TABLE[step.op].args.indexOf('outBytes')];
        if (buf instanceof Uint8Array && step.result instanceof Uint8Array)
          buf.set(step.result.subarray(0, buf.length));
      }
    }
    this.fire(step.after);
    if (step.error !== undefined) throw step.error;
    return OP_TABLE[step.op].ret === 'outBytes' ? undefined : step.result;
  }

  /**
   * Fires the callbacks of a `dp` record due after its `done` kicks: the order of kicks and callbacks
   * inside the record is not known, so `count` callbacks are spread evenly over the `total` kicks (a
   * command queue's one callback per kick comes right after its kick).
   */
  private spreadCallbacks(step: KickStep): void {
    for (let j = 0; j < step.spread.length; j++) {
      const f = step.spread[j];
      const due = Math.floor((step.done * f.count) / step.total);
      while (step.fired[j] < due) {
        step.fired[j]++;
        const cb = f.idx === CONFIG_CB ? this.configCb : this.vqCbs.get(f.idx);
        if (cb !== undefined && cb !== null) cb();
      }
    }
  }

  private fire(fires: readonly Fire[]): void {
    for (const f of fires) {
      const cb = f.idx === CONFIG_CB ? this.configCb : this.vqCbs.get(f.idx);
      if (cb === undefined || cb === null) continue;
      for (let n = 0; n < f.count; n++) cb();
    }
  }

  private diverge(op: OpName, actual: readonly JsonValue[]): VdpaError {
    const expected = this.remaining()[0];
    const what =
      expected === undefined
        ? 'no more calls'
        : expected.count > 1
          ? `${formatCall(expected.op, expected.args)} ×${expected.count}`
          : formatCall(expected.op, expected.args);
    const seq = expected?.seq ?? this.lastSeq;
    const message = `replay divergence at seq ${seq}: expected ${what}, got ${formatCall(op, actual)}`;
    this.divergence = Object.freeze({ seq, expected, actual: { op, args: actual }, message });
    return new VdpaError('EINVAL', message);
  }

  setVqAddress(idx: number, descArea: number, driverArea: number, deviceArea: number): void {
    this.answer('setVqAddress', [idx, descArea, driverArea, deviceArea]);
  }
  setVqNum(idx: number, num: number): void {
    this.answer('setVqNum', [idx, num]);
  }
  kickVq(idx: number): void {
    this.answer('kickVq', [idx]);
  }
  kickVqWithData(data: number): void {
    this.answer('kickVqWithData', [data]);
  }
  setVqCb(idx: number, cb: VdpaCallback | null): void {
    this.answer('setVqCb', [idx, cb]);
  }
  setVqReady(idx: number, ready: boolean): void {
    this.answer('setVqReady', [idx, ready]);
  }
  getVqReady(idx: number): boolean {
    return this.answer('getVqReady', [idx]) as boolean;
  }
  setVqState(idx: number, state: VdpaVqState): void {
    this.answer('setVqState', [idx, state]);
  }
  getVqState(idx: number): VdpaVqState {
    return this.answer('getVqState', [idx]) as VdpaVqState;
  }
  getVendorVqStats(idx: number): VendorStat[] {
    return this.answer('getVendorVqStats', [idx]) as VendorStat[];
  }
  getVqNotification(idx: number): VdpaNotificationArea {
    return this.answer('getVqNotification', [idx]) as VdpaNotificationArea;
  }
  getVqIrq(idx: number): number {
    return this.answer('getVqIrq', [idx]) as number;
  }
  getVqSize(idx: number): number {
    return this.answer('getVqSize', [idx]) as number;
  }
  getVqAlign(): number {
    return this.answer('getVqAlign', []) as number;
  }
  getVqGroup(idx: number): number {
    return this.answer('getVqGroup', [idx]) as number;
  }
  getVqDescGroup(idx: number): number {
    return this.answer('getVqDescGroup', [idx]) as number;
  }
  getDeviceFeatures(): bigint {
    return this.answer('getDeviceFeatures', []) as bigint;
  }
  getBackendFeatures(): bigint {
    return this.answer('getBackendFeatures', []) as bigint;
  }
  setDriverFeatures(features: bigint): void {
    this.answer('setDriverFeatures', [features]);
  }
  getDriverFeatures(): bigint {
    return this.answer('getDriverFeatures', []) as bigint;
  }
  setConfigCb(cb: VdpaCallback | null): void {
    this.answer('setConfigCb', [cb]);
  }
  getVqNumMax(): number {
    return this.answer('getVqNumMax', []) as number;
  }
  getVqNumMin(): number {
    return this.answer('getVqNumMin', []) as number;
  }
  getDeviceId(): number {
    return this.answer('getDeviceId', []) as number;
  }
  getVendorId(): number {
    return this.answer('getVendorId', []) as number;
  }
  getStatus(): number {
    return this.answer('getStatus', []) as number;
  }
  setStatus(status: number): void {
    this.answer('setStatus', [status]);
  }
  reset(): void {
    this.answer('reset', []);
  }
  compatReset(flags: number): void {
    this.answer('compatReset', [flags]);
  }
  suspend(): void {
    this.answer('suspend', []);
  }
  resume(): void {
    this.answer('resume', []);
  }
  getConfigSize(): number {
    return this.answer('getConfigSize', []) as number;
  }
  getConfig(offset: number, buf: Uint8Array): void {
    this.answer('getConfig', [offset, buf]);
  }
  setConfig(offset: number, buf: Uint8Array): void {
    this.answer('setConfig', [offset, buf]);
  }
  getGeneration(): number {
    return this.answer('getGeneration', []) as number;
  }
  getIovaRange(): VdpaIovaRange {
    return this.answer('getIovaRange', []) as VdpaIovaRange;
  }
  setVqAffinity(idx: number, cpuMask: bigint): void {
    this.answer('setVqAffinity', [idx, cpuMask]);
  }
  getVqAffinity(idx: number): bigint {
    return this.answer('getVqAffinity', [idx]) as bigint;
  }
  setMap(asid: number, iotlb: Iotlb): void {
    this.answer('setMap', [asid, iotlb]);
  }
  dmaMap(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque?: VdpaMapFile): void {
    this.answer(
      'dmaMap',
      opaque === undefined ? [asid, iova, size, pa, perm] : [asid, iova, size, pa, perm, opaque],
    );
  }
  dmaUnmap(asid: number, iova: bigint, size: bigint): void {
    this.answer('dmaUnmap', [asid, iova, size]);
  }
  resetMap(asid: number): void {
    this.answer('resetMap', [asid]);
  }
  setGroupAsid(group: number, asid: number): void {
    this.answer('setGroupAsid', [group, asid]);
  }
  getVqDmaDev(idx: number): string {
    return this.answer('getVqDmaDev', [idx]) as string;
  }
  bindMm(mm: GuestMemory): void {
    this.answer('bindMm', [mm]);
  }
  unbindMm(): void {
    this.answer('unbindMm', []);
  }
  free(): void {
    this.answer('free', []);
  }
}
