import { existsSync, statSync } from 'node:fs';
import { VdpaError } from '@vdpa-kit/core-bus';
import { type Trace, TraceError, readTrace } from '@vdpa-kit/trace';
import { CliError } from '../errors.js';

/**
 * Reads and validates a trace file for a CLI command (`readTrace`: bulk read, JSON Lines, schema).
 *
 * @param path the trace file
 * @throws CliError `trace file X not found`, `trace file X is a directory`, or the trace reader's
 * line-numbered message (`X line 7: unknown op "kickVqq"`)
 * @example
 * const trace = readTraceFile('session.jsonl');
 */
export function readTraceFile(path: string): Trace {
  if (!existsSync(path)) throw new CliError(`trace file ${path} not found`);
  if (statSync(path).isDirectory()) throw new CliError(`trace file ${path} is a directory`);
  try {
    return readTrace(path);
  } catch (err) {
    if (err instanceof TraceError) throw new CliError(err.message, { cause: err });
    throw new CliError(`cannot read trace ${path}: ${VdpaError.from(err).message}`, { cause: err });
  }
}
