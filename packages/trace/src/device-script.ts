import type {
  OpName,
  VdpaErrno,
  CbName,
  JsonObject,
  JsonValue,
  MgmtEvent,
  OpEvent,
  OpOrigin,
} from '@vdpa-kit/core-bus';
import { formatJsonValue } from './timeline.js';
import { TraceError } from './trace-error.js';
import type { Trace, TraceRecord } from './trace-format.js';

// ---------------------------------------------------------------------------------------------------
// The script of one device: its op calls paired with their outcomes, its callbacks and coalesced
// datapath records, split into incarnations (one per registration). Shared by `ReplayDevice` (mock
// mode) and `verifyTrace` (verify mode).

/** How a recorded op call ended: `ret` (absent for void ops) or `err` with its `message`. */
export interface RecordedOutcome {
  readonly ret?: JsonValue;
  readonly err?: VdpaErrno;
  readonly message?: string;
}

/** A recorded op call of the device, with its outcome when the trace has it. */
export interface ScriptCall {
  readonly kind: 'call';
  /** `seq` of the `call` event. */
  readonly seq: number;
  readonly op: OpName;
  readonly args: readonly JsonValue[];
  readonly origin: OpOrigin | undefined;
  /** Undefined when the trace ends before the call returned. */
  readonly outcome: RecordedOutcome | undefined;
}

/** A coalesced `dp` record of the device. */
export interface ScriptDatapath {
  readonly kind: 'dp';
  readonly seq: number;
  readonly kicks: Readonly<Record<string, number>>;
  readonly cbs: Readonly<Record<string, number>>;
}

/** A recorded callback (`vqCb` with `args: [idx]`, or `configCb`). */
export interface ScriptCallback {
  readonly kind: 'cb';
  readonly seq: number;
  readonly op: CbName;
  readonly args: readonly JsonValue[];
}

/** One item of a device script, in trace order. */
export type ScriptItem = ScriptCall | ScriptDatapath | ScriptCallback;

/** One life of the device: from its registration (or its first record) to the next registration. */
export interface ScriptIncarnation {
  /** `seq` of the first record of this life. */
  readonly seq: number;
  /** `args` of its `device_registered` event (nvqs, classIds, …), when recorded. */
  readonly registration: JsonObject | undefined;
  /** Its successful `dev_add` event, when recorded. */
  readonly devAdd: MgmtEvent | undefined;
  readonly items: readonly ScriptItem[];
}

/** One life of a device as a range of record indices (see {@link deviceScriptIndex}). */
export interface ScriptLifeRange {
  /** `seq` of the first record of this life. */
  readonly seq: number;
  /** `args` of its `device_registered` event, when recorded. */
  readonly registration: JsonObject | undefined;
  /** Its successful `dev_add` event, when recorded. */
  readonly devAdd: MgmtEvent | undefined;
  /** Index of the life's first record in the records (the range also holds other devices' records). */
  readonly start: number;
  /** One past the index of the life's last record. */
  readonly end: number;
}

/** The script of one device by record index: what {@link deviceScript} builds, without copies. */
export interface DeviceScriptIndex {
  /** The incarnations, in order. */
  readonly lives: readonly ScriptLifeRange[];
  /**
   * Per record index: for an op `call` of the device, the index of the `return` / `error` record it
   * pairs with; -1 for an unanswered call and for every other record.
   */
  readonly outcomeOf: Int32Array;
}

interface MutableLife {
  seq: number;
  registration: JsonObject | undefined;
  devAdd: MgmtEvent | undefined;
  start: number;
  end: number;
}

/** Marks "no record" in {@link DeviceScriptIndex.outcomeOf}. */
const NO_RECORD = -1;

/**
 * Finds the incarnations of device `dev` (a new one at each `device_registered`, else from its first
 * record) and pairs each of its op calls with its `return` / `error` (innermost open call of the same
 * op first, so nested calls pair correctly). Records of other devices are skipped. This is the
 * allocation-light form of {@link deviceScript}, for replaying large traces.
 *
 * @param records trace records, in order
 * @param dev the device name
 * @returns the lives as index ranges (empty when the trace has no record of `dev`) and the pairing
 */
export function deviceScriptIndex(records: readonly TraceRecord[], dev: string): DeviceScriptIndex {
  const outcomeOf = new Int32Array(records.length).fill(NO_RECORD);
  const lives: MutableLife[] = [];
  let life: MutableLife | undefined;
  const open: number[] = [];
  const begin = (i: number, registration: JsonObject | undefined): MutableLife => {
    if (life !== undefined) life.end = i;
    const next: MutableLife = {
      seq: records[i].seq,
      registration,
      devAdd: undefined,
      start: i,
      end: records.length,
    };
    lives.push(next);
    return next;
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r.dev !== dev) continue;
    switch (r.kind) {
      case 'bus':
        if (r.op === 'device_registered') {
          life = begin(i, r.args);
          open.length = 0;
        }
        break;
      case 'mgmt':
        if (r.op === 'dev_add' && r.phase === 'return') {
          life ??= begin(i, undefined);
          if (life.devAdd === undefined) life.devAdd = r;
        }
        break;
      case 'op':
        if (r.phase === 'call') {
          life ??= begin(i, undefined);
          open.push(i);
        } else {
          for (let k = open.length - 1; k >= 0; k--) {
            if ((records[open[k]] as OpEvent).op !== r.op) continue;
            outcomeOf[open[k]] = i;
            // Remove entry k in place (a splice would allocate the removed list).
            if (k < open.length - 1) open.copyWithin(k, k + 1);
            open.pop();
            break;
          }
        }
        break;
      case 'cb':
      case 'dp':
        life ??= begin(i, undefined);
        break;
    }
  }
  return { lives, outcomeOf };
}

/**
 * The outcome a `return` / `error` record states: `{ ret }` (`{}` without one) or `{ err, message }`
 * (`EIO` when the error record has no errno).
 * @param r the return or error record of an op
 */
export function recordedOutcome(r: OpEvent): RecordedOutcome {
  if (r.phase === 'error')
    return { err: r.err ?? 'EIO', ...(r.message === undefined ? {} : { message: r.message }) };
  return r.ret === undefined ? {} : { ret: r.ret };
}

/**
 * Splits the records of device `dev` into incarnations (a new one at each `device_registered`) of
 * op calls paired with their `return` / `error` (innermost open call first, so nested calls pair
 * correctly), callbacks and `dp` records. Records of other devices are ignored.
 *
 * @param records trace records, in order
 * @param dev the device name
 * @returns the incarnations, in order (empty when the trace has no record of `dev`)
 */
export function deviceScript(records: readonly TraceRecord[], dev: string): ScriptIncarnation[] {
  const { lives, outcomeOf } = deviceScriptIndex(records, dev);
  return lives.map((life): ScriptIncarnation => {
    const items: ScriptItem[] = [];
    for (let i = life.start; i < life.end; i++) {
      const r = records[i];
      if (r.dev !== dev) continue;
      if (r.kind === 'op') {
        if (r.phase !== 'call') continue;
        const at = outcomeOf[i];
        items.push({
          kind: 'call',
          seq: r.seq,
          op: r.op,
          args: r.args ?? [],
          origin: r.origin,
          outcome: at === NO_RECORD ? undefined : recordedOutcome(records[at] as OpEvent),
        });
      } else if (r.kind === 'cb') {
        items.push({ kind: 'cb', seq: r.seq, op: r.op, args: r.args });
      } else if (r.kind === 'dp') {
        items.push({ kind: 'dp', seq: r.seq, kicks: r.kicks, cbs: r.cbs });
      }
    }
    return { seq: life.seq, registration: life.registration, devAdd: life.devAdd, items };
  });
}

/**
 * The device a replay picks when none is named: the device of the first successful `dev_add`, else
 * of the first op or `dp` record.
 * @throws TraceError when the trace has no device record at all
 */
export function defaultTraceDevice(trace: Trace): string {
  for (const r of trace.records) {
    if (r.kind === 'mgmt' && r.op === 'dev_add' && r.phase === 'return' && r.dev !== null) return r.dev;
  }
  for (const r of trace.records) if (r.kind === 'op' || r.kind === 'dp') return r.dev;
  throw new TraceError('trace has no device to replay: no dev_add, op or dp record');
}

/**
 * Formats an outcome: `!ERRNO` for an error, `ok` for a void return, else the value as the timeline
 * prints it (bigints as bare hex).
 * @param outcome the outcome
 */
export function formatOutcome(outcome: RecordedOutcome): string {
  if (outcome.err !== undefined) return `!${outcome.err}`;
  return outcome.ret === undefined ? 'ok' : formatJsonValue(outcome.ret);
}

// ---------------------------------------------------------------------------------------------------
// The mock device.

/**
 * Deep equality of two encoded values (event arguments or results); object key order is ignored.
 * @returns true when both are the same JSON value
 */
export function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameJson(v, (b as readonly JsonValue[])[i]));
  }
  const ka = Object.keys(a);
  const ob = b as JsonObject;
  if (ka.length !== Object.keys(ob).length) return false;
  return ka.every(
    (k) => Object.prototype.hasOwnProperty.call(ob, k) && sameJson((a as JsonObject)[k], ob[k]),
  );
}
