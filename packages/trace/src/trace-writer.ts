import { closeSync, openSync, writeSync } from 'node:fs';
import { OP_TABLE, VdpaError } from '@vdpa-kit/core-bus';
import { TRACE_BATCH_BYTES_DEFAULT, type TraceHeader, type TraceRecord } from './trace-format.js';
import { TraceError } from './trace-error.js';
import { hasInexactNumber, inexactNumberProblem } from './trace-numbers.js';
import { argsProblem, resultProblem } from './value-schemas.js';

/** Options of a {@link TraceWriter}. */
export interface TraceWriterOptions {
  /** Pending text size (UTF-16 code units, ≈ bytes for trace text) that triggers a write (default 65536). */
  readonly batchBytes?: number;
}

/**
 * One JSON Lines line of a trace record or header, without the newline: `JSON.stringify` of the
 * record as it is (bus events are JSON-safe by construction: bigints are already hex strings).
 * A number beyond 2^53-1 in magnitude (a float such as 2^60 passed as a `number` argument, ±Infinity,
 * NaN) is refused: the reader refuses such a line, since JSON cannot say whether it was rounded.
 * @param record a header, a bus event or a datapath record
 * @throws TraceError (`EINVAL`) naming the record's seq and the field of a number beyond 2^53-1, or
 *   an op's argument or result its reader would refuse (a bigint no u64 holds where the kernel's type
 *   is a u64, a negative or fractional integer argument: values a buggy in-process caller can pass and
 *   no kernel can); TypeError from `JSON.stringify` for a value that is not JSON-safe (a raw bigint)
 */
export function serializeRecord(record: TraceRecord | TraceHeader): string {
  if (hasInexactNumber(record)) {
    const what = record.kind === 'header' ? 'trace header' : `trace record seq ${String(record.seq)}`;
    throw new TraceError(
      `${what} cannot be written: ${inexactNumberProblem(record) ?? 'number beyond 2^53-1'}`,
    );
  }
  if (record.kind === 'op' && Object.hasOwn(OP_TABLE, record.op)) {
    const problem =
      record.phase === 'call'
        ? argsProblem(record.op, record.args)
        : record.phase === 'return' && record.ret !== undefined && record.ret !== null
          ? resultProblem(record.op, record.ret)
          : undefined;
    if (problem !== undefined) {
      throw new TraceError(
        `trace record seq ${String(record.seq)} cannot be written: ${record.op} ${record.phase}: ${problem}`,
      );
    }
  }
  return JSON.stringify(record);
}

/**
 * Writes a trace file as JSON Lines in batches: records are serialised as they come and joined into
 * one pending string, written with one `writeSync` once `batchBytes` are pending, on
 * {@link TraceWriter.flush} and on {@link TraceWriter.close}. The file is created (truncated) by the
 * constructor. Synchronous, so a recorder on the synchronous bus never reorders or loses records.
 *
 * @example
 * const w = new TraceWriter('session.jsonl');
 * w.write(createTraceHeader());
 * w.write(event);
 * w.close();
 */
export class TraceWriter {
  private fd: number | undefined;
  private pending = '';
  private readonly batchBytes: number;

  /**
   * @param path file to create (truncated if it exists)
   * @param options batch size
   * @throws VdpaError `EINVAL` for a batch size that is not a positive integer; the `open` errno
   *   (`ENOENT`, `EPERM`, …, else `EIO`) when the file cannot be created
   */
  constructor(
    readonly path: string,
    options: TraceWriterOptions = {},
  ) {
    const batchBytes = options.batchBytes ?? TRACE_BATCH_BYTES_DEFAULT;
    if (!Number.isInteger(batchBytes) || batchBytes <= 0)
      throw new VdpaError('EINVAL', `trace batch size ${batchBytes} is not a positive integer`);
    this.batchBytes = batchBytes;
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw ioError(`trace file ${path} cannot be created`, err);
    }
  }

  /** True once {@link TraceWriter.close} ran. */
  get closed(): boolean {
    return this.fd === undefined;
  }

  /**
   * Appends one record (or the header) as a line; writes the batch when it is full.
   * @throws VdpaError `EINVAL` after `close`; TraceError (`EINVAL`) for a record {@link serializeRecord}
   *   refuses (nothing is appended); the write errno when a batch write fails
   */
  write(record: TraceRecord | TraceHeader): void {
    if (this.fd === undefined) throw new VdpaError('EINVAL', `trace writer of ${this.path} is closed`);
    this.pending += serializeRecord(record) + '\n';
    if (this.pending.length >= this.batchBytes) this.flush();
  }

  /** Writes the header line (the same as {@link TraceWriter.write}; for `TraceSink` users). */
  writeHeader(header: TraceHeader): void {
    this.write(header);
  }

  /**
   * Writes whatever is pending.
   * @throws VdpaError the write errno (else `EIO`) when the write fails
   */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    try {
      writeSync(this.fd, text);
    } catch (err) {
      throw ioError(`trace file ${this.path} cannot be written`, err);
    }
  }

  /**
   * Flushes and closes the file; idempotent.
   * @throws VdpaError when the final write fails (the file is closed anyway)
   */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    try {
      this.flush();
    } finally {
      this.fd = undefined;
      closeSync(fd);
    }
  }
}

function ioError(what: string, err: unknown): VdpaError {
  const e = VdpaError.from(err);
  return new VdpaError(e.code, `${what}: ${e.message}`, { cause: err });
}
