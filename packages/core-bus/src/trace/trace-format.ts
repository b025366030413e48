import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EVENT_FORMAT_VERSION } from '../constants.js';
import { VDPA_ERRNOS } from '../errors.js';
import { BUS_OPS, CB_NAMES, MGMT_OPS, type BusEvent, type JsonObject, type JsonValue } from '../events.js';
import { OP_NAMES } from '../op-table.js';

/** Trace format version written in the header and in every record (`v`); equals the event version. */
export const TRACE_FORMAT_VERSION = EVENT_FORMAT_VERSION;

/** The `format` field of a trace header: tells a trace file from any other JSON Lines file. */
export const TRACE_FORMAT_NAME = 'vdpa-kit-trace';

/** The `framework.name` of a trace header: the package that defines the event records. */
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
 * The version of `@vdpa-kit/core-bus` (read once from its `package.json`, which sits two levels
 * above this module in `src/` and in `dist/`); `0.0.0` when it cannot be read.
 */
export function frameworkVersion(): string {
  if (frameworkVersionCache === undefined) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
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
