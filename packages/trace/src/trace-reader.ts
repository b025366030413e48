import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { VdpaError, BUS_OPS, CB_NAMES, MGMT_OPS, type JsonValue, isOpName } from '@vdpa-kit/core-bus';
import { decodeArgs, decodeResult } from './event-decoding.js';
import { TraceError } from './trace-error.js';
import {
  TRACE_FORMAT_VERSION,
  TRACE_RECORD_KINDS,
  isValidTraceRecord,
  traceHeaderSchema,
  traceRecordSchema,
  type Trace,
  type TraceHeader,
  type TraceRecord,
} from './trace-format.js';

/** Default source name of an in-memory trace in error messages. */
const DEFAULT_SOURCE = 'trace';

/** Carriage return: a `\r\n` line end leaves it at the end of a line. */
const CR = 0x0d;

const OPS_BY_KIND: Readonly<Record<string, ReadonlySet<string>>> = {
  cb: new Set(CB_NAMES),
  bus: new Set(BUS_OPS),
  mgmt: new Set(MGMT_OPS),
};

const RECORD_KINDS: ReadonlySet<string> = new Set(TRACE_RECORD_KINDS);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** `a.b.0` of a zod issue path. */
function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

/** The first zod issue as `bad field "x": message (got value)`. */
function schemaProblem(error: z.ZodError, value: Record<string, unknown>): string {
  const issue = error.issues[0];
  const path = issuePath(issue.path);
  if (issue.code === 'unrecognized_keys') return `unknown field ${describe(issue.keys[0])}`;
  if (issue.code === 'invalid_key') {
    const key = issue.path[issue.path.length - 1];
    return `bad key ${describe(String(key))} in field "${issuePath(issue.path.slice(0, -1))}"`;
  }
  let got: unknown = value;
  for (const key of issue.path)
    got = isObject(got) || Array.isArray(got) ? (got as Record<PropertyKey, unknown>)[key] : undefined;
  const field = path.length > 0 ? `field "${path}"` : 'record';
  return got === undefined
    ? `missing ${field}: ${issue.message.toLowerCase()}`
    : `bad ${field} ${describe(got)}: ${issue.message.toLowerCase()}`;
}

/**
 * Freezes a parsed JSON object or array and everything in it, without allocating: the contents first,
 * then the container (so the walk uses the container's shape as parsed, shared by similar records).
 */
function deepFreeze<T extends object>(value: T): T {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  } else {
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const v = fields[key];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  }
  return Object.freeze(value);
}

/** The frozen empty list every record's empty `args` (or other empty top-level list) becomes. */
const EMPTY_LIST: readonly never[] = Object.freeze([]);

/**
 * Deep-freezes a validated record; its empty top-level lists (the `args` of most calls) are replaced
 * by one shared frozen list, which saves an allocation kept alive and a freeze per record.
 */
function freezeRecord(record: Record<string, unknown>): TraceRecord {
  for (const key in record) {
    const v = record[key];
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v) && v.length === 0) record[key] = EMPTY_LIST;
    else deepFreeze(v);
  }
  return Object.freeze(record) as unknown as TraceRecord;
}

/** Checks of an op record that the schema does not express: per-phase fields and value decoding. */
function opProblem(value: Record<string, unknown>): string | undefined {
  const op = value.op as Parameters<typeof decodeArgs>[0];
  const phase = value.phase;
  if (phase === 'call') {
    if (value.args === undefined) return `missing field "args" of a ${op} call`;
    if (value.ret !== undefined || value.err !== undefined) return `${op} call has a result field`;
    try {
      decodeArgs(op, value.args as JsonValue[]);
    } catch (err) {
      return `bad field "args" of ${op}: ${VdpaError.from(err).message}`;
    }
    return undefined;
  }
  if (value.args !== undefined) return `${op} ${String(phase)} has an "args" field`;
  if (phase === 'error') return value.err === undefined ? `missing field "err" of a ${op} error` : undefined;
  if (value.err !== undefined) return `${op} return has an "err" field`;
  // A device returning nothing from a non-void op is recorded as `null`: accepted as emitted.
  if (value.ret === undefined || value.ret === null) return undefined;
  try {
    decodeResult(op, value.ret as JsonValue);
  } catch (err) {
    return `bad field "ret" of ${op}: ${VdpaError.from(err).message}`;
  }
  return undefined;
}

/** The vq count maps of a `dp` record. */
const VQ_COUNT_FIELDS = ['kicks', 'cbs'] as const;

/**
 * The check of a `dp` record the schema misses: a zod record skips a `__proto__` key (a JSON line can
 * have one), which is no vq index.
 */
function datapathProblem(value: Record<string, unknown>): string | undefined {
  for (const field of VQ_COUNT_FIELDS) {
    const counts = value[field];
    if (isObject(counts) && Object.hasOwn(counts, '__proto__'))
      return `bad key "__proto__" in field "${field}"`;
  }
  return undefined;
}

/**
 * Validates one parsed line as the header. Throws a `TraceError` naming `line`.
 */
function parseHeader(value: unknown, source: string, line: number): TraceHeader {
  if (!isObject(value) || value.kind !== 'header') {
    const kind = isObject(value) ? describe(value.kind) : describe(value);
    throw TraceError.at(source, line, `missing header: the first record has kind ${kind}, not "header"`);
  }
  if (value.v !== TRACE_FORMAT_VERSION)
    throw TraceError.at(
      source,
      line,
      `unsupported trace version ${describe(value.v)} (this reader reads version ${TRACE_FORMAT_VERSION})`,
    );
  const result = traceHeaderSchema.safeParse(value);
  if (!result.success)
    throw TraceError.at(source, line, `header ${schemaProblem(result.error, value)}`, result.error);
  return deepFreeze(value) as unknown as TraceHeader;
}

/**
 * Validates one parsed line as a record after the header. Throws a `TraceError` naming `line`.
 */
function parseRecordAt(value: unknown, source: string, line: number): TraceRecord {
  if (!isObject(value)) throw TraceError.at(source, line, `record ${describe(value)} is not an object`);
  const kind = value.kind;
  if (kind === 'header') throw TraceError.at(source, line, 'header is not the first record');
  if (value.v !== TRACE_FORMAT_VERSION)
    throw TraceError.at(
      source,
      line,
      `unsupported trace version ${describe(value.v)} (this reader reads version ${TRACE_FORMAT_VERSION})`,
    );
  if (typeof kind !== 'string' || !RECORD_KINDS.has(kind))
    throw TraceError.at(source, line, `unknown record kind ${describe(kind)}`);
  if (kind !== 'dp') {
    const op = value.op;
    const known = kind === 'op' ? isOpName(op) : typeof op === 'string' && OPS_BY_KIND[kind].has(op);
    if (!known) throw TraceError.at(source, line, `unknown op ${describe(op)}`);
  }
  const result = traceRecordSchema.safeParse(value);
  if (!result.success) throw TraceError.at(source, line, schemaProblem(result.error, value), result.error);
  const problem = kind === 'op' ? opProblem(value) : kind === 'dp' ? datapathProblem(value) : undefined;
  if (problem !== undefined) throw TraceError.at(source, line, problem);
  return freezeRecord(value);
}

/**
 * Validates one parsed JSON value as a trace record (not the header) with the schemas (the reader's
 * slow path, which names the problem): version, kind, op name, every field, argument and result
 * encodings.
 * @param value a parsed JSON line
 * @param source name used in the message
 * @param line 1-based line number used in the message
 * @returns the record, deep-frozen
 * @throws TraceError naming the line and the bad value
 */
export function parseTraceRecord(value: unknown, source = DEFAULT_SOURCE, line = 1): TraceRecord {
  return parseRecordAt(value, source, line);
}

/**
 * Parses a whole trace held in memory: splits the JSON Lines text, `JSON.parse`s each line and
 * validates the header and every record (zod schemas plus the op codec); checks that `seq` strictly
 * increases and that a `'full'` trace has no `dp` records. Accepts `\r\n` line ends and a missing
 * final newline.
 *
 * Every record is validated. A valid record takes the fast path: `isValidTraceRecord`, a hand-written
 * twin of the schemas and the codec's checks, accepts it without allocating; a record it does not
 * accept goes through the schemas, which give the verdict and the message (so the errors are those
 * of {@link parseTraceRecord}). Lines are cut with `indexOf`, not `split`, and records are frozen in
 * place (empty top-level lists become one shared frozen list).
 *
 * @param text the file contents
 * @param source name for error messages (a file name; default `trace`)
 * @returns the header and the frozen records
 * @throws TraceError (`EINVAL`, with `line`) for: an empty text or a first record that is not a
 *   header, an unknown version, kind or op, a bad or unknown field, a header that is not first, an
 *   empty line, invalid JSON (a corrupted line, or a truncated last line), a non-increasing seq
 * @example
 * const trace = parseTrace(text, 'session.jsonl');
 * console.log(trace.header.datapath, trace.records.length);
 */
export function parseTrace(text: string, source = DEFAULT_SOURCE): Trace {
  const end = text.length;
  let header: TraceHeader | undefined;
  const records: TraceRecord[] = [];
  let prevSeq = -1;
  let pos = 0;
  let lineNo = 0;
  while (pos < end) {
    lineNo++;
    let nl = text.indexOf('\n', pos);
    const complete = nl !== -1;
    if (!complete) nl = end;
    const stop = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    const raw = text.slice(pos, stop);
    pos = nl + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      // A line of white space only is never JSON: name it as such.
      if (raw.trim() === '') throw TraceError.at(source, lineNo, 'empty line');
      const why = err instanceof Error ? err.message : String(err);
      const what = complete ? 'corrupted line' : 'truncated last line';
      throw TraceError.at(source, lineNo, `${what}: invalid JSON (${why})`, err);
    }
    if (header === undefined) {
      header = parseHeader(value, source, lineNo);
      continue;
    }
    // The fast check accepts only valid records; anything else gets the schema path's verdict.
    const record = isValidTraceRecord(value)
      ? freezeRecord(value as Record<string, unknown>)
      : parseRecordAt(value, source, lineNo);
    if (record.seq <= prevSeq)
      throw TraceError.at(
        source,
        lineNo,
        `seq ${record.seq} is not greater than the previous seq ${prevSeq}`,
      );
    if (record.kind === 'dp' && header.datapath === 'full')
      throw TraceError.at(source, lineNo, 'dp record in a trace recorded with datapath "full"');
    prevSeq = record.seq;
    records.push(record);
  }
  if (header === undefined) throw TraceError.at(source, 1, 'missing header: the trace is empty');
  return { header, records };
}

/**
 * Reads and parses a trace file in bulk (one `readFileSync`, then {@link parseTrace}); error messages
 * name the file as given.
 * @param path the trace file
 * @throws VdpaError with the read errno (`ENOENT`, `EPERM`, …, else `EIO`) when the file cannot be read;
 *   TraceError as {@link parseTrace}
 * @example
 * const trace = readTrace('test/fixtures/golden-vdpasim_net.jsonl');
 */
export function readTrace(path: string): Trace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = VdpaError.from(err);
    throw new VdpaError(e.code, `trace file ${path} cannot be read: ${e.message}`, { cause: err });
  }
  return parseTrace(text, path);
}
