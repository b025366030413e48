import { VdpaError } from '@vdpa-kit/core-bus';

/** Options of a {@link TraceError}. */
export interface TraceErrorOptions {
  /** 1-based line of the trace file the error is about, when it is about one line. */
  readonly line?: number;
  /** The underlying error (a JSON syntax error, a zod issue list, a decoding `VdpaError`). */
  readonly cause?: unknown;
}

/**
 * A trace file, trace record or trace-derived spec that cannot be used: always errno `EINVAL`, with
 * the 1-based `line` when the problem is on one line. Messages name the source and the line first:
 * `trace.jsonl line 7: unknown op "kickVqq"`.
 *
 * @example
 * throw TraceError.at('trace.jsonl', 7, 'unknown op "kickVqq"');
 */
export class TraceError extends VdpaError {
  /** 1-based line number in the trace source, when known. */
  readonly line: number | undefined;

  /**
   * @param message the full message (lower-case; see {@link TraceError.at} for the line prefix)
   * @param options `line` and `cause`
   */
  constructor(message: string, options: TraceErrorOptions = {}) {
    super('EINVAL', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.line = options.line;
  }

  /**
   * A `TraceError` about line `line` of `source`: the message is `<source> line <line>: <detail>`.
   * @param source file name (or `trace` for an in-memory trace)
   * @param line 1-based line number
   * @param detail what is wrong, naming the offending value
   * @param cause optional underlying error
   */
  static at(source: string, line: number, detail: string, cause?: unknown): TraceError {
    return new TraceError(`${source} line ${line}: ${detail}`, { line, cause });
  }
}
