import { readFileSync } from 'node:fs';
import { VdpaError } from '@vdpa-kit/core-bus';
import { compileValidator } from './schema-validator.js';
import { TraceError } from './trace-error.js';
import {
  traceHeaderSchema,
  traceRecordSchema,
  type Trace,
  type TraceHeader,
  type TraceRecord,
} from './trace-format.js';
import { headerProblem, recordProblem } from './trace-issues.js';
import { hasInexactNumber, inexactNumberProblem, isTraceNumber } from './trace-numbers.js';

/** Default source name of an in-memory trace in error messages. */
const DEFAULT_SOURCE = 'trace';

/** Carriage return: a `\r\n` line end leaves it at the end of a line. */
const CR = 0x0d;

/** `traceRecordSchema` compiled into a validator (walked from the schema: no second copy of the rules). */
const validRecord = compileValidator(traceRecordSchema);

/**
 * True when `value` (a `JSON.parse` result) is a valid trace record after the header: the verdict of
 * `traceRecordSchema`, given by its compiled validator without allocating, and every number in it
 * exact (at most 2^53-1 in magnitude, see `parseTrace`).
 * @param value a parsed trace line
 */
export function isTraceRecord(value: unknown): boolean {
  return validRecord(value) && !hasInexactNumber(value);
}

/**
 * Freezes a parsed JSON object or array and everything in it, without allocating: the contents first,
 * then the container (so the walk uses the container's shape as parsed, shared by similar records).
 * @returns false when it met a number a trace cannot carry exactly (`isTraceNumber`)
 */
function deepFreeze(value: object): boolean {
  let exact = true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null) exact = deepFreeze(v) && exact;
      else if (typeof v === 'number' && !isTraceNumber(v)) exact = false;
    }
  } else {
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const v = fields[key];
      if (typeof v === 'object' && v !== null) exact = deepFreeze(v) && exact;
      else if (typeof v === 'number' && !isTraceNumber(v)) exact = false;
    }
  }
  Object.freeze(value);
  return exact;
}

/** The frozen empty list every record's empty `args` (or other empty top-level list) becomes. */
const EMPTY_LIST: readonly never[] = Object.freeze([]);

/**
 * Deep-freezes a validated record; its empty top-level lists (the `args` of most calls) are replaced
 * by one shared frozen list, which saves an allocation kept alive and a freeze per record.
 * @returns false when it met a number a trace cannot carry exactly (`isTraceNumber`)
 */
function freezeRecord(record: Record<string, unknown>): boolean {
  let exact = true;
  for (const key in record) {
    const v = record[key];
    if (typeof v === 'number') {
      if (!isTraceNumber(v)) exact = false;
    } else if (typeof v !== 'object' || v === null) continue;
    else if (Array.isArray(v) && v.length === 0) record[key] = EMPTY_LIST;
    else exact = deepFreeze(v) && exact;
  }
  Object.freeze(record);
  return exact;
}

/**
 * The `TraceError` for a parsed line holding a number a trace cannot carry exactly (which
 * {@link freezeRecord} or `isTraceNumber` found): it names the field and quotes the number as
 * written in `text`.
 */
function inexactNumberError(value: unknown, source: string, line: number, text?: string): TraceError {
  const problem = inexactNumberProblem(value, text) ?? 'number beyond 2^53-1';
  return TraceError.at(source, line, problem);
}

/**
 * Validates one parsed line as the header. Throws a `TraceError` naming `line`.
 */
function parseHeader(value: unknown, source: string, line: number, text?: string): TraceHeader {
  const result = traceHeaderSchema.safeParse(value);
  if (!result.success)
    throw TraceError.at(source, line, headerProblem(result.error, value, text), result.error);
  const problem = inexactNumberProblem(value, text);
  if (problem !== undefined) throw TraceError.at(source, line, `header ${problem}`);
  deepFreeze(value as object);
  return value as TraceHeader;
}

/**
 * Validates one parsed line as a record after the header. Throws a `TraceError` naming `line`.
 */
function parseRecordAt(value: unknown, source: string, line: number, text?: string): TraceRecord {
  const result = traceRecordSchema.safeParse(value);
  if (!result.success)
    throw TraceError.at(source, line, recordProblem(result.error, value, text), result.error);
  if (!freezeRecord(value as Record<string, unknown>)) throw inexactNumberError(value, source, line, text);
  return value as TraceRecord;
}

/**
 * Validates one parsed JSON value as a trace record (not the header) with `traceRecordSchema`:
 * version, kind, op name, every field, the fields of an op record's phase, its argument and result
 * encodings, the vq indices of a `dp` record; and, as {@link parseTrace}, no number beyond 2^53-1 in
 * magnitude anywhere in it.
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
 * validates the header (`traceHeaderSchema`) and every record (`traceRecordSchema`); then the rules
 * between records: `seq` strictly increases, and a `'full'` trace has no `dp` records. Accepts
 * `\r\n` line ends and a missing final newline.
 *
 * A number beyond 2^53-1 in magnitude, anywhere in a line, is refused: `JSON.parse` has already
 * rounded it (2^53+1 reads as 2^53), so a replay would use a value the trace does not hold. It is
 * found on the parsed value while the record is frozen (no second walk, no scan of the text), then
 * quoted as written from the line's text.
 *
 * Every record is validated by the schema: a valid one by zod's compiled validator of it, without
 * allocating; any other by the schema's parser, whose first issue becomes the message (so the errors
 * are those of {@link parseTraceRecord}). Lines are cut with `indexOf`, not `split`, and records are
 * frozen in place (empty top-level lists become one shared frozen list).
 *
 * @param text the file contents
 * @param source name for error messages (a file name; default `trace`)
 * @returns the header and the frozen records
 * @throws TraceError (`EINVAL`, with `line`) for: an empty text or a first record that is not a
 *   header, an unknown version, kind or op, a bad or unknown field, a number beyond 2^53-1, a header
 *   that is not first, an empty line, invalid JSON (a corrupted line, or a truncated last line), a
 *   non-increasing seq
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
      header = parseHeader(value, source, lineNo, raw);
      continue;
    }
    let record: TraceRecord;
    if (validRecord(value)) {
      if (!freezeRecord(value as Record<string, unknown>))
        throw inexactNumberError(value, source, lineNo, raw);
      record = value as TraceRecord;
    } else record = parseRecordAt(value, source, lineNo, raw);
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
