import { Subject, type Observable } from 'rxjs';
import type { Clock } from './clock.js';
import { EVENT_FORMAT_VERSION } from './constants.js';
import type { BusEvent } from './events.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event before the sink stamps it with `v`, `seq` and `ts`. */
export type UnstampedEvent = DistributiveOmit<BusEvent, 'v' | 'seq' | 'ts'>;

/**
 * The bus's one ordered event stream (internal). Stamps `v`, `seq` and `ts`, freezes the record and
 * delivers it. An event emitted while another is being delivered (a subscriber reacting
 * synchronously) is queued and delivered after it, so every subscriber sees `seq` order.
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
   * Stamps, freezes and delivers `event`.
   * @returns the event's `seq`
   */
  emit(event: UnstampedEvent): number {
    const seq = this.seq++;
    const stamped = Object.freeze({ v: EVENT_FORMAT_VERSION, seq, ts: this.clock.now(), ...event }) as BusEvent;
    this.pending.push(stamped);
    if (!this.delivering) this.deliver();
    return seq;
  }

  /** Completes the stream (bus disposal). */
  complete(): void {
    this.subject.complete();
  }

  private deliver(): void {
    this.delivering = true;
    try {
      for (let i = 0; i < this.pending.length; i++) this.subject.next(this.pending[i]);
    } finally {
      this.pending.length = 0;
      this.delivering = false;
    }
  }
}
