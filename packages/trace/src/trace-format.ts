import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import {
  EVENT_FORMAT_VERSION,
  VDPA_ERRNOS,
  isVdpaErrno,
  BUS_OPS,
  CB_NAMES,
  MGMT_OPS,
  type BusEvent,
  type JsonObject,
  type JsonValue,
  OP_NAMES,
  OP_TABLE,
  type OpMeta,
  type ValueKind,
} from '@vdpa-kit/core-bus';
import { decodeValue } from './event-decoding.js';

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
// Schemas (zod). They check structure and field types; the reader adds what a schema cannot say
// compactly (per-phase fields, argument decoding by op kind, seq order) and turns issues into
// line-numbered `TraceError`s.

const version = z.literal(TRACE_FORMAT_VERSION);
const seq = z.int().nonnegative();
const ts = z.number();
const errno = z.enum(VDPA_ERRNOS);
const json: z.ZodType<JsonValue> = z.json() as z.ZodType<JsonValue>;
const jsonObject: z.ZodType<JsonObject> = z.record(z.string(), json) as z.ZodType<JsonObject>;
// Record payloads (arguments, results) are values from `JSON.parse`, JSON by construction: the
// schema checks their container shape only, and the op codec checks each value's encoding by op.
// (A recursive `z.json()` per record cost as much as `JSON.parse` itself.)
const payload = z.unknown();
const payloadObject = z.record(z.string(), payload);
const vqCounts = z.record(z.string().regex(/^(?:0|[1-9][0-9]*)$/), z.int().positive());

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

/** Schema of an op event record (`kind: 'op'`). */
export const opRecordSchema = z.strictObject({
  v: version,
  seq,
  ts,
  dev: z.string(),
  kind: z.literal('op'),
  op: z.enum(OP_NAMES as readonly [string, ...string[]]),
  phase: z.enum(['call', 'return', 'error']),
  origin: z.enum(['core', 'bus', 'mgmt']).optional(),
  args: z.array(payload).optional(),
  ret: payload.optional(),
  err: errno.optional(),
  message: z.string().optional(),
});

/** Schema of a callback event record (`kind: 'cb'`). */
export const cbRecordSchema = z.strictObject({
  v: version,
  seq,
  ts,
  dev: z.string(),
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
  dev: z.string().nullable(),
  kind: z.literal('bus'),
  op: z.enum(BUS_OPS),
  args: payloadObject.optional(),
  err: errno.optional(),
  message: z.string().optional(),
});

/** Schema of a management event record (`kind: 'mgmt'`). */
export const mgmtRecordSchema = z.strictObject({
  v: version,
  seq,
  ts,
  dev: z.string().nullable(),
  kind: z.literal('mgmt'),
  op: z.enum(MGMT_OPS),
  phase: z.enum(['return', 'error']),
  args: payloadObject,
  ret: payload.optional(),
  err: errno.optional(),
  message: z.string().optional(),
});

/** Schema of a {@link DatapathRecord} (`kind: 'dp'`). */
export const datapathRecordSchema = z.strictObject({
  v: version,
  kind: z.literal('dp'),
  seq,
  ts,
  dev: z.string(),
  kicks: vqCounts,
  cbs: vqCounts,
});

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

// ---------------------------------------------------------------------------------------------------
// The fast check: a hand-written twin of `traceRecordSchema` plus the reader's per-phase and op-codec
// checks, for the common case of a valid record. One pass over the record's keys (loads by key inside
// `for…in` stay fast whatever the record's shape), no allocation. It only ever accepts what the schema
// path accepts; when it says no, the reader runs the schema path, which gives the verdict and the
// message. Keep it in step with the schemas above: the reader's property test compares the two on
// random mutations of valid records.

/** Largest recorded `outBytes` length the fast check accepts itself (larger ones are decoded). */
const FAST_OUT_BYTES_MAX = 0x10000;
const HEX_BIGINT = /^0x[0-9a-f]+$/i;
const HEX_BYTES = /^(?:[0-9a-f]{2})*$/i;
const VQ_KEY = /^(?:0|[1-9][0-9]*)$/;
const OP_META: ReadonlyMap<unknown, OpMeta> = new Map(OP_NAMES.map((n) => [n, OP_TABLE[n]]));
const OP_ORIGINS: ReadonlySet<unknown> = new Set(['core', 'bus', 'mgmt']);
const CB_SET: ReadonlySet<unknown> = new Set(CB_NAMES);
const BUS_SET: ReadonlySet<unknown> = new Set(BUS_OPS);
const MGMT_SET: ReadonlySet<unknown> = new Set(MGMT_OPS);

// Required keys per record kind besides `kind` and the stamp fields (`v`, `seq`, `ts`, `dev`, checked
// first by `stampsOk`).
/** `op`, `phase`. */
const OP_REQUIRED = 2;
/** `op`, `args`. */
const CB_REQUIRED = 2;
/** `op`. */
const BUS_REQUIRED = 1;
/** `op`, `phase`, `args`. */
const MGMT_REQUIRED = 3;
/** `kicks`, `cbs`. */
const DP_REQUIRED = 2;

type Fields = Readonly<Record<string, unknown>>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function seqOk(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function tsOk(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * The fields every record kind has, present and valid: `v`, `seq`, `ts` and `dev` (a string, or
 * `null` where `nullDev`). The per-kind checks then skip these keys.
 */
function stampsOk(r: Fields, nullDev: boolean): boolean {
  const dev = r.dev;
  return (
    r.v === TRACE_FORMAT_VERSION &&
    seqOk(r.seq) &&
    tsOk(r.ts) &&
    (typeof dev === 'string' || (nullDev && dev === null))
  );
}

/** True when `decodeValue` accepts `json` as `kind` (the exact check, for the rare kinds). */
function decodes(kind: ValueKind, json: unknown): boolean {
  try {
    decodeValue(kind, json);
    return true;
  } catch {
    return false;
  }
}

/** True when `json` is a valid encoding of `kind` (what `decodeValue` accepts). */
function encodingOk(kind: ValueKind, json: unknown): boolean {
  switch (kind) {
    case 'void':
    case 'handle':
    case 'json':
      return true;
    case 'number':
      return typeof json === 'number' && Number.isFinite(json);
    case 'boolean':
      return typeof json === 'boolean';
    case 'string':
      return typeof json === 'string';
    case 'bigint':
      return typeof json === 'string' && HEX_BIGINT.test(json);
    case 'bytes':
      return typeof json === 'string' && HEX_BYTES.test(json);
    case 'outBytes':
      if (typeof json === 'string') return HEX_BYTES.test(json);
      if (typeof json === 'number' && Number.isInteger(json) && json >= 0 && json <= FAST_OUT_BYTES_MAX)
        return true;
      return decodes(kind, json);
    case 'callback':
      return json === null || json === true;
    default:
      return decodes(kind, json);
  }
}

/** The argument list of a call, as `decodeArgs` checks it. */
function argsOk(meta: OpMeta, args: readonly unknown[]): boolean {
  const kinds = meta.args;
  if (args.length > kinds.length) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const kind = kinds[i];
    if (!(kind === 'json' && a === null) && !encodingOk(kind, a)) return false;
  }
  return true;
}

function opRecordOk(r: Fields): boolean {
  if (!stampsOk(r, false)) return false;
  let required = 0;
  let meta: OpMeta | undefined;
  let phase: unknown;
  let args: readonly unknown[] | undefined;
  let ret: unknown;
  let hasErr = false;
  for (const key in r) {
    const value = r[key];
    switch (key) {
      case 'v':
      case 'seq':
      case 'ts':
      case 'dev':
        continue;
      case 'kind':
        break;
      case 'op':
        meta = OP_META.get(value);
        if (meta === undefined) return false;
        required++;
        break;
      case 'phase':
        phase = value;
        required++;
        break;
      case 'origin':
        if (!OP_ORIGINS.has(value)) return false;
        break;
      case 'args':
        if (!Array.isArray(value)) return false;
        args = value;
        break;
      case 'ret':
        ret = value;
        break;
      case 'err':
        if (!isVdpaErrno(value)) return false;
        hasErr = true;
        break;
      case 'message':
        if (typeof value !== 'string') return false;
        break;
      default:
        return false;
    }
  }
  if (required !== OP_REQUIRED || meta === undefined) return false;
  switch (phase) {
    case 'call':
      return args !== undefined && ret === undefined && !hasErr && argsOk(meta, args);
    case 'error':
      return args === undefined && hasErr;
    case 'return':
      return (
        args === undefined && !hasErr && (ret === undefined || ret === null || encodingOk(meta.ret, ret))
      );
    default:
      return false;
  }
}

function cbRecordOk(r: Fields): boolean {
  if (!stampsOk(r, false)) return false;
  let required = 0;
  for (const key in r) {
    const value = r[key];
    switch (key) {
      case 'v':
      case 'seq':
      case 'ts':
      case 'dev':
        continue;
      case 'kind':
        continue;
      case 'op':
        if (!CB_SET.has(value)) return false;
        break;
      case 'args':
        if (!Array.isArray(value)) return false;
        break;
      case 'err':
        if (!isVdpaErrno(value)) return false;
        continue;
      case 'message':
        if (typeof value !== 'string') return false;
        continue;
      default:
        return false;
    }
    required++;
  }
  return required === CB_REQUIRED;
}

/** Bus and management records (`mgmt` when `mgmt`): the same fields but `phase`, `ret`, `args`. */
function busOrMgmtRecordOk(r: Fields, mgmt: boolean): boolean {
  if (!stampsOk(r, true)) return false;
  let required = 0;
  for (const key in r) {
    const value = r[key];
    switch (key) {
      case 'v':
      case 'seq':
      case 'ts':
      case 'dev':
        continue;
      case 'kind':
        continue;
      case 'op':
        if (!(mgmt ? MGMT_SET : BUS_SET).has(value)) return false;
        break;
      case 'phase':
        if (!mgmt || (value !== 'return' && value !== 'error')) return false;
        break;
      case 'args':
        if (!isFields(value)) return false;
        if (!mgmt) continue;
        break;
      case 'ret':
        if (!mgmt) return false;
        continue;
      case 'err':
        if (!isVdpaErrno(value)) return false;
        continue;
      case 'message':
        if (typeof value !== 'string') return false;
        continue;
      default:
        return false;
    }
    required++;
  }
  return required === (mgmt ? MGMT_REQUIRED : BUS_REQUIRED);
}

/** A `kicks` / `cbs` map: decimal vq index keys, positive safe-integer counts. */
function vqCountsOk(counts: unknown): boolean {
  if (!isFields(counts)) return false;
  for (const key in counts) {
    const n = counts[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0 || !VQ_KEY.test(key)) return false;
  }
  return true;
}

function dpRecordOk(r: Fields): boolean {
  if (!stampsOk(r, false)) return false;
  let required = 0;
  for (const key in r) {
    const value = r[key];
    switch (key) {
      case 'v':
      case 'seq':
      case 'ts':
      case 'dev':
        continue;
      case 'kind':
        continue;
      case 'kicks':
      case 'cbs':
        if (!vqCountsOk(value)) return false;
        break;
      default:
        return false;
    }
    required++;
  }
  return required === DP_REQUIRED;
}

/**
 * The reader's fast path: true when `value` (a `JSON.parse` result) is certainly a valid trace record
 * — everything {@link traceRecordSchema} checks, the per-phase fields of op records and the op codec's
 * argument and result encodings — checked by hand in one pass, without allocating. False means "not
 * shown valid": validate with the schemas for the verdict and the message. Never true for a value the
 * schema path rejects.
 * @param value a parsed trace line (after the header)
 */
export function isValidTraceRecord(value: unknown): boolean {
  if (!isFields(value)) return false;
  switch (value.kind) {
    case 'op':
      return opRecordOk(value);
    case 'dp':
      return dpRecordOk(value);
    case 'cb':
      return cbRecordOk(value);
    case 'bus':
      return busOrMgmtRecordOk(value, false);
    case 'mgmt':
      return busOrMgmtRecordOk(value, true);
    default:
      return false;
  }
}
