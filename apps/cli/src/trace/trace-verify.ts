import { VdpaError, type VdpaBus } from '@vdpa-kit/core-bus';
import { type Trace, type VerifyReport, formatDivergence, verifyTrace } from '@vdpa-kit/trace';
import type { ContainerModule } from 'inversify';
import { composeCliStack } from '../compose.js';
import { CliError } from '../errors.js';
import { mgmtdevNotFound } from '../mgmtdev-not-found.js';

/** Options of {@link verifyTraceFile}. */
export interface VerifyTraceOptions {
  /** The file name as given (for messages and the JSON). */
  readonly file: string;
  /** The management device to replay against; `undefined` = the one the trace recorded (`trace replay`). */
  readonly mgmtdev?: string;
  /** `--strict`: also compare the datapath-dependent ops. */
  readonly strict: boolean;
  /** `--plugin` modules (a plugin's management device can be the target). */
  readonly plugins: readonly ContainerModule[];
}

/** The outcome of `trace verify` / `trace replay`, as printed with `--json`. */
export interface VerifyTraceResult extends VerifyReport {
  readonly file: string;
  readonly mgmtdev: string;
}

/**
 * The management device a trace was recorded on: that of its first successful `dev_add`, else its
 * header's `stack.mgmtdev`.
 *
 * @throws CliError when the trace names none
 */
export function recordedMgmtdev(file: string, trace: Trace): string {
  for (const r of trace.records) {
    if (r.kind === 'mgmt' && r.op === 'dev_add' && r.phase === 'return' && typeof r.args.mgmtdev === 'string')
      return r.args.mgmtdev;
  }
  const fromHeader = trace.header.stack.mgmtdev;
  if (typeof fromHeader === 'string') return fromHeader;
  throw new CliError(
    `trace ${file} records no dev_add and its header names no mgmtdev: use trace verify --mgmtdev`,
  );
}

/**
 * `trace verify` / `trace replay`: composes a stack without a transport (the built-in devices and the
 * plugins), then replays the trace's recorded ops against a fresh device on `mgmtdev` and compares
 * every result and error (`verifyTrace`, which deletes the device again whatever happens).
 *
 * @returns the report; `ok` false carries the first divergence
 * @throws CliError for an unknown management device, a trace with nothing to replay, or a failure
 * that is not a divergence (the device could not be created)
 * @example
 * const result = verifyTraceFile(readTraceFile('golden.jsonl'), { file: 'golden.jsonl', mgmtdev: 'mvnet', strict: false, plugins: [] });
 */
export function verifyTraceFile(trace: Trace, options: VerifyTraceOptions): VerifyTraceResult {
  const mgmtdev = options.mgmtdev ?? recordedMgmtdev(options.file, trace);
  let bus: VdpaBus;
  try {
    bus = composeCliStack({ plugins: options.plugins, clock: 'logical' }).bus;
  } catch (err) {
    throw new CliError(`cannot compose the stack: ${VdpaError.from(err).message}`, { cause: err });
  }
  try {
    if (!bus.mgmtdevs().some((m) => m.name === mgmtdev)) mgmtdevNotFound(mgmtdev, bus);
    let report: VerifyReport;
    try {
      report = verifyTrace(trace, { bus, mgmtdev }, { strict: options.strict });
    } catch (err) {
      throw new CliError(`cannot verify ${options.file} on ${mgmtdev}: ${VdpaError.from(err).message}`, {
        cause: err,
      });
    }
    return { file: options.file, mgmtdev, ...report };
  } finally {
    bus.dispose();
  }
}

/**
 * The text of `trace verify` / `trace replay`: one summary line, and the divergence line
 * (`divergence at seq N: op(args): expected …, got …`) when there is one.
 *
 * @returns lines without newlines
 */
export function formatVerifyResult(r: VerifyTraceResult): string[] {
  const counts = `${r.compared} compared, ${r.skipped} skipped, ${r.replayed} replayed`;
  if (r.ok) return [`verified ${r.file} on ${r.mgmtdev}: ${counts}: ok`];
  const lines = [`verified ${r.file} on ${r.mgmtdev}: ${counts}: DIVERGED`];
  if (r.divergence !== undefined) lines.push(formatDivergence(r.divergence));
  return lines;
}
