import type { OpName } from '../config-ops.js';
import type { VdpaErrno } from '../errors.js';
import type { CbName, JsonObject, JsonValue, MgmtEvent, OpOrigin } from '../events.js';
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

interface MutableCall {
  kind: 'call';
  seq: number;
  op: OpName;
  args: readonly JsonValue[];
  origin: OpOrigin | undefined;
  outcome: RecordedOutcome | undefined;
}

interface MutableIncarnation {
  seq: number;
  registration: JsonObject | undefined;
  devAdd: MgmtEvent | undefined;
  items: ScriptItem[];
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
  const lives: MutableIncarnation[] = [];
  let life: MutableIncarnation | undefined;
  const open: MutableCall[] = [];
  const current = (seq: number): MutableIncarnation => {
    if (life === undefined) {
      life = { seq, registration: undefined, devAdd: undefined, items: [] };
      lives.push(life);
    }
    return life;
  };
  for (const r of records) {
    if (r.dev !== dev) continue;
    switch (r.kind) {
      case 'bus':
        if (r.op === 'device_registered') {
          life = { seq: r.seq, registration: r.args, devAdd: undefined, items: [] };
          lives.push(life);
          open.length = 0;
        }
        break;
      case 'mgmt':
        if (r.op === 'dev_add' && r.phase === 'return') {
          const l = current(r.seq);
          if (l.devAdd === undefined) l.devAdd = r;
        }
        break;
      case 'op':
        if (r.phase === 'call') {
          const call: MutableCall = {
            kind: 'call',
            seq: r.seq,
            op: r.op,
            args: r.args ?? [],
            origin: r.origin,
            outcome: undefined,
          };
          open.push(call);
          current(r.seq).items.push(call);
        } else {
          for (let k = open.length - 1; k >= 0; k--) {
            if (open[k].op !== r.op) continue;
            open[k].outcome =
              r.phase === 'error'
                ? { err: r.err ?? 'EIO', ...(r.message === undefined ? {} : { message: r.message }) }
                : r.ret === undefined
                  ? {}
                  : { ret: r.ret };
            open.splice(k, 1);
            break;
          }
        }
        break;
      case 'cb':
        current(r.seq).items.push({ kind: 'cb', seq: r.seq, op: r.op, args: r.args });
        break;
      case 'dp':
        current(r.seq).items.push({ kind: 'dp', seq: r.seq, kicks: r.kicks, cbs: r.cbs });
        break;
    }
  }
  return lives;
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
