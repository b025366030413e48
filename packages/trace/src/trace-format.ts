import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import {
  BUS_OPS,
  CB_NAMES,
  EVENT_FORMAT_VERSION,
  MGMT_OPS,
  OP_NAMES,
  VDPA_ERRNOS,
  type BusEvent,
  type JsonObject,
  type JsonValue,
  type OpName,
} from '@vdpa-kit/core-bus';
import { argsProblem, resultProblem } from './value-schemas.js';

/** Trace format version written in the header and in every record (`v`); equals the event version. */
export const TRACE_FORMAT_VERSION = EVENT_FORMAT_VERSION;

/** The `format` field of a trace header: tells a trace file from any other JSON Lines file. */
export const TRACE_FORMAT_NAME = 'vdpa-kit-trace';

/**
 * The `framework.name` of a trace header: the package that defines the event records (`@vdpa-kit/core-bus`;
 * the format itself is defined here, in `@vdpa-kit/trace`).
 */
export const TRACE_FRAMEWORK_NAME = '@vdpa-kit/core-bus';

/** Default batch size of a `TraceWriter`: lines are joined and written once this many bytes are pending. */
export const TRACE_BATCH_BYTES_DEFAULT = 65536;

/** How datapath events are recorded: coalesced into `dp` records (default) or every one. */
export const DATAPATH_MODES = ['coalesced', 'full'] as const;

/** Datapath recording mode of a trace (see {@link DATAPATH_MODES}). */
export type DatapathMode = (typeof DATAPATH_MODES)[number];

/** A plugin package that took part in the recorded stack. */
export interface TracePlugin {
  readonly name: string;
  readonly version: string;
}

/**
 * Line 1 of a trace file: which format, which framework and plugins recorded it, the composed stack
 * (free-form: mgmtdev, device attributes, transport, work queue, …), when, and the datapath mode.
 */
export interface TraceHeader {
  readonly v: typeof TRACE_FORMAT_VERSION;
  readonly kind: 'header';
  readonly format: typeof TRACE_FORMAT_NAME;
  readonly framework: { readonly name: typeof TRACE_FRAMEWORK_NAME; readonly version: string };
  readonly plugins: readonly TracePlugin[];
  readonly stack: JsonObject;
  /** ISO 8601 date-time. */
  readonly createdAt: string;
  readonly datapath: DatapathMode;
}

/**
 * Coalesced datapath activity of one device (`'coalesced'` traces): the counts of `kickVq`
 * call/return pairs and of delivered `vqCb` callbacks per vq index since the previous record of that
 * device. `seq` and `ts` are those of the last coalesced event.
 */
export interface DatapathRecord {
  readonly v: typeof TRACE_FORMAT_VERSION;
  readonly kind: 'dp';
  readonly seq: number;
  readonly ts: number;
  readonly dev: string;
  /** vq index (decimal string) → number of successful driver `kickVq` calls. */
  readonly kicks: Readonly<Record<string, number>>;
  /** vq index (decimal string) → number of delivered `vqCb` callbacks. */
  readonly cbs: Readonly<Record<string, number>>;
}

/** One record of a trace after the header: a bus event exactly as emitted, or a datapath record. */
export type TraceRecord = BusEvent | DatapathRecord;

/** A whole trace in memory. */
export interface Trace {
  readonly header: TraceHeader;
  readonly records: TraceRecord[];
}

/** True when `record` is a coalesced {@link DatapathRecord}. */
export function isDatapathRecord(record: TraceRecord): record is DatapathRecord {
  return record.kind === 'dp';
}

/** Options of {@link createTraceHeader}. */
export interface TraceHeaderOptions {
  /** Plugin packages of the stack (default none). */
  readonly plugins?: readonly TracePlugin[];
  /** Stack description (default `{}`). */
  readonly stack?: JsonObject;
  /** Datapath mode (default `'coalesced'`). */
  readonly datapath?: DatapathMode;
  /** Creation time (default now); fixed in golden traces so they are byte-stable. */
  readonly createdAt?: Date | string;
}

let frameworkVersionCache: string | undefined;

/**
 * The version of `@vdpa-kit/core-bus`, the package that defines the event records (read once from its
 * `package.json`); `0.0.0` when it cannot be read.
 */
export function frameworkVersion(): string {
  if (frameworkVersionCache === undefined) {
    try {
      const path = createRequire(import.meta.url).resolve(`${TRACE_FRAMEWORK_NAME}/package.json`);
      const pkg: unknown = JSON.parse(readFileSync(path, 'utf8'));
      const version =
        typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
      frameworkVersionCache = typeof version === 'string' ? version : '0.0.0';
    } catch {
      frameworkVersionCache = '0.0.0';
    }
  }
  return frameworkVersionCache;
}

/**
 * Builds a trace header for the current framework version.
 * @param options plugins, stack, datapath mode, creation time
 * @example
 * const header = createTraceHeader({ stack: { mgmtdev: 'vdpasim_net' }, createdAt: new Date(0) });
 */
export function createTraceHeader(options: TraceHeaderOptions = {}): TraceHeader {
  const createdAt = options.createdAt ?? new Date();
  return {
    v: TRACE_FORMAT_VERSION,
    kind: 'header',
    format: TRACE_FORMAT_NAME,
    framework: { name: TRACE_FRAMEWORK_NAME, version: frameworkVersion() },
    plugins: (options.plugins ?? []).map((p) => ({ name: p.name, version: p.version })),
    stack: options.stack ?? {},
    createdAt: typeof createdAt === 'string' ? createdAt : createdAt.toISOString(),
    datapath: options.datapath ?? 'coalesced',
  };
}

// ---------------------------------------------------------------------------------------------------
// Schemas (zod): the one definition of the format. Each record schema gives the fields and their types,
// then, as checks, the rules that tie fields together (an op record's phase and op, the vq indices of
// a dp record). A check's issue carries the whole message a reader shows.

/** Schema of the `v` of the header and of every record. */
export const traceVersionSchema = z.literal(TRACE_FORMAT_VERSION);
const version = traceVersionSchema;
const seq = z.int().nonnegative();
const ts = z.number();
const errno = z.enum(VDPA_ERRNOS, { error: 'not a vdpa errno' });
/** `error` of a field that has a type: a missing field keeps zod's message. */
const present = (what: string) => ({
  error: (issue: { readonly input?: unknown }) => (issue.input === undefined ? undefined : what),
});
const devName = z.string(present('not a device name'));
const busDevName = z.string(present('not a device name or null')).nullable();
const json: z.ZodType<JsonValue> = z.json() as z.ZodType<JsonValue>;
const jsonObject: z.ZodType<JsonObject> = z.record(z.string(), json) as z.ZodType<JsonObject>;
// Record payloads (arguments, results) are values from `JSON.parse`, JSON by construction: the
// schema checks their container shape, and the op rules check each value's encoding by op.
// (A recursive `z.json()` would walk every payload a second time.)
const payload = z.unknown();
const argumentRecord = z.record(z.string(), payload, present('not an argument record'));

/** A vq index as a `dp` record's key: a decimal without leading zeros. */
const VQ_KEY = /^(?:0|[1-9][0-9]*)$/;

/**
 * A `kicks` / `cbs` map: decimal vq index keys, positive counts. zod's record skips a `__proto__`
 * key (a JSON line can have one as an own key), so the check before it refuses that key.
 */
const vqCounts = z
  .unknown()
  .check((ctx) => {
    const counts = ctx.value;
    if (typeof counts === 'object' && counts !== null && Object.hasOwn(counts, '__proto__'))
      ctx.issues.push({
        code: 'invalid_key',
        origin: 'record',
        issues: [],
        input: '__proto__',
        path: ['__proto__'],
        message: 'not a vq index',
      });
  })
  .pipe(z.record(z.string().regex(VQ_KEY), z.int().positive()));

/** Schema of a {@link TraceHeader}. */
export const traceHeaderSchema = z.strictObject({
  v: version,
  kind: z.literal('header'),
  format: z.literal(TRACE_FORMAT_NAME),
  framework: z.strictObject({ name: z.literal(TRACE_FRAMEWORK_NAME), version: z.string() }),
  plugins: z.array(z.strictObject({ name: z.string(), version: z.string() })),
  stack: jsonObject,
  createdAt: z.iso.datetime({ offset: true }),
  datapath: z.enum(DATAPATH_MODES),
});

/** The fields of an op record, before the rules of its phase and op. */
interface OpRecordFields {
  readonly op: string;
  readonly phase: 'call' | 'return' | 'error';
  readonly args?: readonly unknown[] | undefined;
  readonly ret?: unknown;
  readonly err?: string | undefined;
}

/** A rule an op record breaks: the field it is about and the whole message. */
interface OpRuleProblem {
  readonly field: 'args' | 'ret' | 'err';
  readonly message: string;
}

/**
 * What is wrong with an op record whose fields are each valid: a call has `args` (encoded per
 * `OP_TABLE[op].args`) and no result; an error has `err` and no `args`; a return has neither `args`
 * nor `err`, and its `ret`, unless absent or `null` (a device returning nothing from a non-void op),
 * is encoded per `OP_TABLE[op].ret`.
 */
function opRuleProblem(r: OpRecordFields): OpRuleProblem | undefined {
  const op = r.op as OpName;
  if (r.phase === 'call') {
    if (r.args === undefined) return { field: 'args', message: `missing field "args" of a ${op} call` };
    if (r.ret !== undefined || r.err !== undefined)
      return { field: r.ret !== undefined ? 'ret' : 'err', message: `${op} call has a result field` };
    const bad = argsProblem(op, r.args);
    return bad === undefined ? undefined : { field: 'args', message: `bad field "args" of ${op}: ${bad}` };
  }
  if (r.args !== undefined) return { field: 'args', message: `${op} ${r.phase} has an "args" field` };
  if (r.phase === 'error') {
    if (r.err === undefined) return { field: 'err', message: `missing field "err" of a ${op} error` };
    return r.ret === undefined ? undefined : { field: 'ret', message: `${op} error has a "ret" field` };
  }
  if (r.err !== undefined) return { field: 'err', message: `${op} return has an "err" field` };
  if (r.ret === undefined || r.ret === null) return undefined;
  const bad = resultProblem(op, r.ret);
  return bad === undefined ? undefined : { field: 'ret', message: `bad field "ret" of ${op}: ${bad}` };
}

/** Schema of an op event record (`kind: 'op'`): its fields, then the rules of its phase and op. */
export const opRecordSchema = z
  .strictObject({
    v: version,
    seq,
    ts,
    dev: devName,
    kind: z.literal('op'),
    op: z.enum(OP_NAMES as readonly [OpName, ...OpName[]]),
    phase: z.enum(['call', 'return', 'error']),
    origin: z.enum(['core', 'bus', 'mgmt']).optional(),
    args: z.array(payload).optional(),
    ret: payload.optional(),
    err: errno.optional(),
    message: z.string().optional(),
  })
  .check((ctx) => {
    const problem = opRuleProblem(ctx.value);
    if (problem !== undefined)
      ctx.issues.push({ code: 'custom', input: ctx.value, path: [problem.field], message: problem.message });
  });

/** Schema of a callback event record (`kind: 'cb'`). */
export const cbRecordSchema = z.strictObject({
  v: version,
  seq,
  ts,
  dev: devName,
  kind: z.literal('cb'),
  op: z.enum(CB_NAMES),
  args: z.array(payload),
  err: errno.optional(),
  message: z.string().optional(),
});

/** Schema of a bus lifecycle event record (`kind: 'bus'`). */
export const busRecordSchema = z.strictObject({
  v: version,
  seq,
  ts,
  dev: busDevName,
  kind: z.literal('bus'),
  op: z.enum(BUS_OPS),
  args: argumentRecord.optional(),
  err: errno.optional(),
  message: z.string().optional(),
});

/**
 * Schema of a management event record (`kind: 'mgmt'`): a `return` has no `err`; an `error` has `err`
 * and no `ret`.
 */
export const mgmtRecordSchema = z
  .strictObject({
    v: version,
    seq,
    ts,
    dev: busDevName,
    kind: z.literal('mgmt'),
    op: z.enum(MGMT_OPS),
    phase: z.enum(['return', 'error']),
    args: argumentRecord,
    ret: payload.optional(),
    err: errno.optional(),
    message: z.string().optional(),
  })
  .check((ctx) => {
    const { op, phase, ret, err } = ctx.value;
    const problem =
      phase === 'return'
        ? err === undefined
          ? undefined
          : { field: 'err', message: `${op} return has an "err" field` }
        : err === undefined
          ? { field: 'err', message: `missing field "err" of a ${op} error` }
          : ret === undefined
            ? undefined
            : { field: 'ret', message: `${op} error has a "ret" field` };
    if (problem !== undefined)
      ctx.issues.push({ code: 'custom', input: ctx.value, path: [problem.field], message: problem.message });
  });

/** Schema of a {@link DatapathRecord} (`kind: 'dp'`). */
export const datapathRecordSchema = z.strictObject({
  v: version,
  kind: z.literal('dp'),
  seq,
  ts,
  dev: devName,
  kicks: vqCounts,
  cbs: vqCounts,
});

/** Schema of a bus event as a trace records it (any {@link TraceRecord} but a `dp` record). */
export const busEventSchema = z.discriminatedUnion('kind', [
  opRecordSchema,
  cbRecordSchema,
  busRecordSchema,
  mgmtRecordSchema,
]);

/** Schema of any {@link TraceRecord}, discriminated by `kind`. */
export const traceRecordSchema = z.discriminatedUnion('kind', [
  opRecordSchema,
  cbRecordSchema,
  busRecordSchema,
  mgmtRecordSchema,
  datapathRecordSchema,
]);

/** Record kinds that may follow the header. */
export const TRACE_RECORD_KINDS = ['op', 'cb', 'bus', 'mgmt', 'dp'] as const;
