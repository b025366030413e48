import type { VdpaBus } from '@vdpa-kit/core-bus';
import { type EventSource, startRecording } from '../trace-recorder.js';
import {
  createTraceHeader,
  type DatapathMode,
  type Trace,
  type TraceHeader,
  type TraceHeaderOptions,
  type TraceRecord,
} from '../trace-format.js';

/** Options of {@link recordSession}. */
export interface RecordSessionOptions {
  /** Datapath mode (default: the header's, else `'coalesced'`). */
  readonly datapath?: DatapathMode;
  /** A ready header, or the options to build one with `createTraceHeader` (default: a bare header). */
  readonly header?: TraceHeader | TraceHeaderOptions;
}

function isHeader(h: TraceHeader | TraceHeaderOptions): h is TraceHeader {
  return (h as { kind?: unknown }).kind === 'header';
}

/**
 * Records everything `bus` emits while `fn` runs (awaited) into an in-memory trace, through the
 * same recorder as `vdpa-kit run --record` (`startRecording`, datapath coalesced by default). The
 * recording stops when `fn` settles, also when it throws (its error is then rethrown).
 *
 * @param bus the bus (or anything with `events$`)
 * @param fn drives the stack
 * @param options datapath mode, header
 * @returns the trace: the header and every record, in order
 * @example
 * const trace = await recordSession(bus, () => {
 *   bus.devAdd('fake_mgmt', 'vdpa0');
 *   bus.devDel('vdpa0');
 * });
 * expectReplay(trace, () => new FakeDevice());
 */
export async function recordSession(
  bus: VdpaBus | EventSource,
  fn: () => void | Promise<void>,
  options: RecordSessionOptions = {},
): Promise<Trace> {
  const given = options.header ?? {};
  const header = isHeader(given)
    ? given
    : createTraceHeader({ ...given, datapath: options.datapath ?? given.datapath ?? 'coalesced' });
  const records: TraceRecord[] = [];
  const recording = startRecording(
    bus,
    { write: (r) => records.push(r) },
    { header, datapath: options.datapath ?? header.datapath },
  );
  try {
    await fn();
  } catch (err) {
    try {
      recording.stop();
    } catch {
      // The session's own error is the one to report.
    }
    throw err;
  }
  recording.stop();
  return { header, records };
}
