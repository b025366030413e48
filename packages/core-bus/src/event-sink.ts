import { Subject, type Observable } from 'rxjs';
import type { OpName } from './config-ops.js';
import type { Clock } from './clock.js';
import { EVENT_FORMAT_VERSION } from './constants.js';
import type { VdpaErrno } from './errors.js';
import type { BusEvent, CbEvent, CbName, JsonValue, OpEvent, OpOrigin, OpPhase } from './events.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event before the sink stamps it with `v`, `seq` and `ts`. */
export type UnstampedEvent = DistributiveOmit<BusEvent, 'v' | 'seq' | 'ts'>;

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The bus's one ordered event stream (internal). Stamps `v`, `seq` and `ts`, freezes the record
 * (shallowly: nested arrays are fresh per event and typed read-only) and delivers it. An event
 * emitted while another is being delivered (a subscriber reacting synchronously) is queued and
 * delivered after it, so every subscriber sees `seq` order.
 */
export class EventSink {
  private readonly subject = new Subject<BusEvent>();
  private readonly pending: BusEvent[] = [];
  private delivering = false;
  private seq = 0;
  /** The stream. */
  readonly events$: Observable<BusEvent>;

  constructor(private readonly clock: Clock) {
    this.events$ = this.subject.asObservable();
  }

  /** True when someone subscribes to `events$`. */
  get observed(): boolean {
    return this.subject.observed;
  }

  /**
   * Stamps, freezes and delivers `event` (control-path events: bus, mgmt).
   * @returns the event's `seq`
   */
  emit(event: UnstampedEvent): number {
    const seq = this.seq++;
    this.deliver(Object.freeze({ v: EVENT_FORMAT_VERSION, seq, ts: this.clock.now(), ...event }) as BusEvent);
    return seq;
  }

  /**
   * Emits an op event, building the record field by field (no spread: this runs per op when
   * observed). Undefined fields are left out.
   * @returns the event's `seq`
   */
  emitOp(
    dev: string,
    op: OpName,
    phase: OpPhase,
    origin: OpOrigin | undefined,
    args: readonly JsonValue[] | undefined,
    ret: JsonValue | undefined,
    err: VdpaErrno | undefined,
    message: string | undefined,
  ): number {
    const seq = this.seq++;
    const e: Writable<OpEvent> = {
      v: EVENT_FORMAT_VERSION,
      seq,
      ts: this.clock.now(),
      dev,
      kind: 'op',
      op,
      phase,
    };
    if (origin !== undefined) e.origin = origin;
    if (args !== undefined) e.args = args;
    if (ret !== undefined) e.ret = ret;
    if (err !== undefined) e.err = err;
    if (message !== undefined) e.message = message;
    this.deliver(Object.freeze(e));
    return seq;
  }

  /**
   * Emits a callback event.
   * @returns the event's `seq`
   */
  emitCb(dev: string, op: CbName, args: readonly JsonValue[], err?: VdpaErrno, message?: string): number {
    const seq = this.seq++;
    const e: Writable<CbEvent> = {
      v: EVENT_FORMAT_VERSION,
      seq,
      ts: this.clock.now(),
      dev,
      kind: 'cb',
      op,
      args,
    };
    if (err !== undefined) e.err = err;
    if (message !== undefined) e.message = message;
    this.deliver(Object.freeze(e));
    return seq;
  }

  /** Completes the stream (bus disposal). */
  complete(): void {
    this.subject.complete();
  }

  private deliver(event: BusEvent): void {
    if (this.delivering) {
      this.pending.push(event);
      return;
    }
    this.delivering = true;
    try {
      this.subject.next(event);
      for (let i = 0; i < this.pending.length; i++) this.subject.next(this.pending[i]);
    } finally {
      if (this.pending.length > 0) this.pending.length = 0;
      this.delivering = false;
    }
  }
}
