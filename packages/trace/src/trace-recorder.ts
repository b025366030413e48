import { Subscription, type Observable } from 'rxjs';
import { VdpaError, type BusEvent } from '@vdpa-kit/core-bus';
import {
  TRACE_FORMAT_VERSION,
  createTraceHeader,
  type DatapathMode,
  type DatapathRecord,
  type TraceHeader,
  type TraceHeaderOptions,
  type TraceRecord,
} from './trace-format.js';
import { TraceWriter } from './trace-writer.js';

/** Where a recorder puts records: a {@link TraceWriter}, an array, anything with `write`. */
export interface TraceSink {
  write(record: TraceRecord): void;
  /** Receives the header first when the recording is given one. */
  writeHeader?(header: TraceHeader): void;
}

/** Options of {@link startRecording}. */
export interface RecordingOptions {
  /** `'coalesced'` (default, or the header's mode) or `'full'`. */
  readonly datapath?: DatapathMode;
  /** Header passed to `sink.writeHeader` before any record (its `datapath` must match). */
  readonly header?: TraceHeader;
}

/** A running recording. */
export interface Recording {
  /**
   * Writes what is still coalesced (held kicks, pending `dp` counts) and unsubscribes; idempotent.
   * @throws VdpaError the first error the sink threw while recording (recording stopped at that point)
   */
  stop(): void;
}

/** Anything with the bus's event stream. */
export interface EventSource {
  readonly events$: Observable<BusEvent>;
}

/** Coalesced datapath counts of one device since its previous record. */
interface DeviceCounts {
  readonly dev: string;
  /** Index = vq index. */
  readonly kicks: number[];
  readonly cbs: number[];
  seq: number;
  ts: number;
  pending: boolean;
}

/** `{ "<idx>": count }` of the non-zero counts; resets them. */
function takeCounts(counts: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0) continue;
    out[String(i)] = counts[i];
    counts[i] = 0;
  }
  return out;
}

function bySeq(a: DeviceCounts, b: DeviceCounts): number {
  return a.seq - b.seq;
}

function bump(counts: number[], idx: number): void {
  while (counts.length <= idx) counts.push(0);
  counts[idx]++;
}

/** A coalescable `kickVq` call: issued by the driver (no `origin`), with a vq index. */
function isKickCall(e: BusEvent): boolean {
  return (
    e.kind === 'op' && e.op === 'kickVq' && e.phase === 'call' && e.origin === undefined && vqIndex(e) >= 0
  );
}

/** A coalescable callback: a delivered `vqCb` with a vq index. */
function isVqCb(e: BusEvent): boolean {
  return e.kind === 'cb' && e.op === 'vqCb' && e.err === undefined && vqIndex(e) >= 0;
}

/** The vq index argument of a kick or vq callback, or -1. */
function vqIndex(e: BusEvent): number {
  const a = e.kind === 'op' || e.kind === 'cb' ? e.args?.[0] : undefined;
  return typeof a === 'number' && Number.isInteger(a) && a >= 0 ? a : -1;
}

/**
 * The coalescing state machine of a recording (one per recording).
 *
 * A `kickVq` call is held until its `return` (both coalesced into counts) or `error` (both recorded
 * as events); while a kick is open every event is held, so that the device's callbacks and any
 * nested kicks are ordered correctly. Before any record that is not coalesced, every device's
 * pending counts are written as `dp` records in `seq` order: so a `dp` record always precedes the
 * next control event of its device (and of every other device), and `seq` strictly increases.
 */
class Coalescer {
  private readonly devices = new Map<string, DeviceCounts>();
  /** Devices with pending counts (reused; sorted by seq when flushed). */
  private readonly pendingDevices: DeviceCounts[] = [];
  /** Events held while a kick is open, and whether each one is coalesced. */
  private readonly held: BusEvent[] = [];
  private readonly heldCoalesced: boolean[] = [];
  /** Indices into `held` of the open kick calls (innermost last). */
  private readonly open: number[] = [];

  constructor(private readonly sink: TraceSink) {}

  push(e: BusEvent): void {
    if (this.held.length === 0) {
      if (isKickCall(e)) this.hold(e);
      else if (isVqCb(e)) this.count(e);
      else this.emit(e);
      return;
    }
    if (isKickCall(e)) {
      this.hold(e);
      return;
    }
    if (
      e.kind === 'op' &&
      e.op === 'kickVq' &&
      e.phase !== 'call' &&
      e.origin === undefined &&
      this.open.length > 0
    ) {
      const at = this.open[this.open.length - 1];
      if (this.held[at].dev === e.dev) {
        this.open.pop();
        const ok = e.phase === 'return';
        this.heldCoalesced[at] = ok;
        this.held.push(e);
        this.heldCoalesced.push(ok);
        if (this.open.length === 0) this.resolve();
        return;
      }
    }
    this.held.push(e);
    this.heldCoalesced.push(isVqCb(e));
  }

  /** Writes everything held or pending (end of the recording). */
  end(): void {
    this.open.length = 0;
    this.resolve();
    this.flushCounts();
  }

  private hold(e: BusEvent): void {
    this.open.push(this.held.length);
    this.held.push(e);
    // Undecided until the kick's return: written as an event if it never comes.
    this.heldCoalesced.push(false);
  }

  /** Processes the held events in order once every held kick is matched (or at the end). */
  private resolve(): void {
    const held = this.held;
    const flags = this.heldCoalesced;
    for (let i = 0; i < held.length; i++) {
      if (flags[i]) this.count(held[i]);
      else this.emit(held[i]);
    }
    held.length = 0;
    flags.length = 0;
  }

  private count(e: BusEvent): void {
    const dev = e.dev as string;
    let c = this.devices.get(dev);
    if (c === undefined) {
      c = { dev, kicks: [], cbs: [], seq: 0, ts: 0, pending: false };
      this.devices.set(dev, c);
    }
    // A kick is counted on its call (which carries the vq index); its return only moves seq and ts.
    if (e.kind === 'cb') bump(c.cbs, vqIndex(e));
    else if (e.kind === 'op' && e.phase === 'call') bump(c.kicks, vqIndex(e));
    c.seq = e.seq;
    c.ts = e.ts;
    if (!c.pending) {
      c.pending = true;
      this.pendingDevices.push(c);
    }
  }

  private emit(e: BusEvent): void {
    this.flushCounts();
    this.sink.write(e);
  }

  private flushCounts(): void {
    const list = this.pendingDevices;
    if (list.length === 0) return;
    if (list.length > 1) list.sort(bySeq);
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      c.pending = false;
      const rec: DatapathRecord = {
        v: TRACE_FORMAT_VERSION,
        kind: 'dp',
        seq: c.seq,
        ts: c.ts,
        dev: c.dev,
        kicks: Object.freeze(takeCounts(c.kicks)),
        cbs: Object.freeze(takeCounts(c.cbs)),
      };
      this.sink.write(Object.freeze(rec));
    }
    list.length = 0;
  }
}

/**
 * Starts recording every event of `bus` into `sink`, in order. The recorder is one `bus.events$`
 * subscription (not an interceptor): the event stream carries every op, callback, bus and management
 * event in strictly increasing `seq`, including the outcome of every interceptor, so a recording sees
 * exactly what the bus emitted from the moment it starts. In `'coalesced'` mode driver `kickVq`
 * call/return pairs and delivered `vqCb` callbacks become `dp` records (see `TraceCoalescer` rules in
 * the trace format doc); a `kickVq` that fails is recorded as its two events. In `'full'` mode every
 * event is written as it comes.
 *
 * A sink that throws stops the recording; {@link Recording.stop} rethrows that error. Completion of
 * the bus's stream (bus disposal) ends the recording like `stop()`.
 *
 * @param bus the bus (or anything with `events$`)
 * @param sink receives the header (if given and the sink has `writeHeader`) then the records
 * @param options datapath mode, header
 * @returns the running recording
 * @throws VdpaError `EINVAL` when `options.datapath` contradicts `options.header.datapath`
 * @example
 * const records: TraceRecord[] = [];
 * const rec = startRecording(bus, { write: (r) => records.push(r) });
 * // ... drive the stack ...
 * rec.stop();
 */
export function startRecording(bus: EventSource, sink: TraceSink, options: RecordingOptions = {}): Recording {
  const header = options.header;
  const datapath = options.datapath ?? header?.datapath ?? 'coalesced';
  if (header !== undefined && header.datapath !== datapath) {
    throw new VdpaError(
      'EINVAL',
      `recording datapath mode ${JSON.stringify(datapath)} contradicts the header's ${JSON.stringify(header.datapath)}`,
    );
  }
  if (header !== undefined) sink.writeHeader?.(header);
  const coalescer = datapath === 'coalesced' ? new Coalescer(sink) : undefined;
  let failure: VdpaError | undefined;
  let done = false;
  // A closed parent unsubscribes what is added later: covers a stream that completes during subscribe.
  const subscription = new Subscription();
  const finish = (): void => {
    if (done) return;
    done = true;
    subscription.unsubscribe();
    if (failure === undefined && coalescer !== undefined) {
      try {
        coalescer.end();
      } catch (err) {
        failure = VdpaError.from(err);
      }
    }
  };
  const fail = (err: unknown): void => {
    failure = VdpaError.from(err);
    finish();
  };
  subscription.add(
    bus.events$.subscribe({
      next:
        coalescer === undefined
          ? (e) => {
              if (done) return;
              try {
                sink.write(e);
              } catch (err) {
                fail(err);
              }
            }
          : (e) => {
              if (done) return;
              try {
                coalescer.push(e);
              } catch (err) {
                fail(err);
              }
            },
      complete: finish,
    }),
  );
  return {
    stop(): void {
      finish();
      if (failure !== undefined) {
        const err = failure;
        failure = undefined;
        throw new VdpaError(err.code, `trace recording failed: ${err.message}`, { cause: err });
      }
    },
  };
}

/** Options of {@link recordToFile}. */
export interface RecordToFileOptions {
  /** Datapath mode (default: the header's, else `'coalesced'`). */
  readonly datapath?: DatapathMode;
  /** A ready header, or the options to build one with `createTraceHeader` (default: a bare header). */
  readonly header?: TraceHeader | TraceHeaderOptions;
  /** Batch size of the writer (default 65536). */
  readonly batchBytes?: number;
}

function isHeader(h: TraceHeader | TraceHeaderOptions): h is TraceHeader {
  return (h as { kind?: unknown }).kind === 'header';
}

/**
 * Records `bus` into a new trace file: creates a {@link TraceWriter}, writes the header, starts a
 * recording into it; `stop()` ends the recording, flushes the last batch and closes the file.
 *
 * @param bus the bus
 * @param path the file to create (truncated if it exists)
 * @param options datapath mode, header, batch size
 * @throws VdpaError when the file cannot be created (see `TraceWriter`); `stop()` throws a write error
 * @example
 * const rec = recordToFile(bus, 'session.jsonl', { header: { stack: { mgmtdev: 'vdpasim_net' } } });
 * bus.devAdd('vdpasim_net', 'vdpa0');
 * rec.stop();
 */
export function recordToFile(bus: EventSource, path: string, options: RecordToFileOptions = {}): Recording {
  const given = options.header ?? {};
  const header = isHeader(given)
    ? given
    : createTraceHeader({ ...given, datapath: options.datapath ?? given.datapath ?? 'coalesced' });
  const writer = new TraceWriter(
    path,
    options.batchBytes === undefined ? {} : { batchBytes: options.batchBytes },
  );
  let recording: Recording;
  try {
    recording = startRecording(bus, writer, { header, datapath: options.datapath ?? header.datapath });
  } catch (err) {
    writer.close();
    throw err;
  }
  return {
    stop(): void {
      try {
        recording.stop();
      } finally {
        writer.close();
      }
    },
  };
}
