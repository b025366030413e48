import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import type { OpName } from './config-ops.js';
import type { Clock } from './clock.js';
import { EVENT_FORMAT_VERSION } from './constants.js';
import type { VdpaErrno } from './errors.js';
import type { BusEvent, CbEvent, CbName, JsonValue, OpEvent, OpOrigin } from './events.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event before the stream stamps it with `v`, `seq` and `ts`. */
export type UnstampedEvent = DistributiveOmit<BusEvent, 'v' | 'seq' | 'ts'>;

/**
 * The bus's one ordered event stream (internal). Stamps `v`, `seq` and `ts`, freezes the record and
 * delivers it to every subscriber of `events$`. Op and callback records get their argument lists
 * already frozen (possibly shared between events); other nested values are fresh per event and typed
 * read-only. An event emitted while another is being delivered (a subscriber reacting synchronously)
 * is queued and delivered after it, so every subscriber sees `seq` order.
 *
 * `events$` has the semantics of a private `Subject` exposed through `asObservable()`: a delivery goes
 * to the subscribers present when it starts, each through its own RxJS `Subscriber` (a throwing
 * subscriber is reported by RxJS and the others still get the event), and a subscriber added after
 * {@link EventStream.complete} completes at once. It is not a `Subject` because `Subject.next` took
 * the op-cost benchmark from 1.7 to 2.6 times its ceiling (docs/performance.md).
 */
export class EventStream {
  // Copy-on-write: a delivery loops over the list as it was when the delivery began.
  private subscribers: readonly Subscriber<BusEvent>[] = [];
  private completed = false;
  private readonly pending: BusEvent[] = [];
  private delivering = false;
  private seq = 0;
  /** The stream. */
  readonly events$: Observable<BusEvent>;

  constructor(private readonly clock: Clock) {
    this.events$ = new Observable<BusEvent>((subscriber) => this.add(subscriber));
  }

  /** True when someone subscribes to `events$`. */
  get observed(): boolean {
    return this.subscribers.length > 0;
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
   * Emits the `call` event of an op. The record is one literal per shape (no spread, no property
   * added after creation): this runs per op while observed.
   * @param args the encoded arguments, frozen (they become part of an immutable record)
   * @returns the event's `seq`
   */
  emitOpCall(dev: string, op: OpName, origin: OpOrigin | undefined, args: readonly JsonValue[]): number {
    const seq = this.seq++;
    const ts = this.clock.now();
    const v = EVENT_FORMAT_VERSION;
    this.deliver(
      Object.freeze<OpEvent>(
        origin === undefined
          ? { v, seq, ts, dev, kind: 'op', op, phase: 'call', args }
          : { v, seq, ts, dev, kind: 'op', op, phase: 'call', origin, args },
      ),
    );
    return seq;
  }

  /**
   * Emits the `return` event of an op.
   * @param ret the encoded result, or `undefined` for a void op (the field is then left out)
   */
  emitOpReturn(dev: string, op: OpName, origin: OpOrigin | undefined, ret: JsonValue | undefined): void {
    const seq = this.seq++;
    const ts = this.clock.now();
    const v = EVENT_FORMAT_VERSION;
    let e: OpEvent;
    if (origin === undefined) {
      e =
        ret === undefined
          ? { v, seq, ts, dev, kind: 'op', op, phase: 'return' }
          : { v, seq, ts, dev, kind: 'op', op, phase: 'return', ret };
    } else {
      e =
        ret === undefined
          ? { v, seq, ts, dev, kind: 'op', op, phase: 'return', origin }
          : { v, seq, ts, dev, kind: 'op', op, phase: 'return', origin, ret };
    }
    this.deliver(Object.freeze(e));
  }

  /** Emits the `error` event of an op that failed with `err` (`message`: the error's message). */
  emitOpError(dev: string, op: OpName, origin: OpOrigin | undefined, err: VdpaErrno, message: string): void {
    const seq = this.seq++;
    const ts = this.clock.now();
    const v = EVENT_FORMAT_VERSION;
    this.deliver(
      Object.freeze<OpEvent>(
        origin === undefined
          ? { v, seq, ts, dev, kind: 'op', op, phase: 'error', err, message }
          : { v, seq, ts, dev, kind: 'op', op, phase: 'error', origin, err, message },
      ),
    );
  }

  /**
   * Emits a callback event.
   * @param args `[idx]` or `[]`, frozen
   * @param err set when the callback was dropped
   * @param message explanation of `err` (recorded only with `err`)
   * @returns the event's `seq`
   */
  emitCb(dev: string, op: CbName, args: readonly JsonValue[], err?: VdpaErrno, message?: string): number {
    const seq = this.seq++;
    const ts = this.clock.now();
    const v = EVENT_FORMAT_VERSION;
    this.deliver(
      Object.freeze<CbEvent>(
        err === undefined
          ? { v, seq, ts, dev, kind: 'cb', op, args }
          : message === undefined
            ? { v, seq, ts, dev, kind: 'cb', op, args, err }
            : { v, seq, ts, dev, kind: 'cb', op, args, err, message },
      ),
    );
    return seq;
  }

  /** Completes the stream (bus disposal). */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    const subscribers = this.subscribers;
    this.subscribers = [];
    for (const subscriber of subscribers) subscriber.complete();
  }

  private add(subscriber: Subscriber<BusEvent>): TeardownLogic {
    if (this.completed) {
      subscriber.complete();
      return undefined;
    }
    this.subscribers = [...this.subscribers, subscriber];
    return () => {
      this.subscribers = this.subscribers.filter((s) => s !== subscriber);
    };
  }

  private deliver(event: BusEvent): void {
    if (this.delivering) {
      this.pending.push(event);
      return;
    }
    this.delivering = true;
    try {
      this.publish(event);
      for (let i = 0; i < this.pending.length; i++) this.publish(this.pending[i]);
    } finally {
      if (this.pending.length > 0) this.pending.length = 0;
      this.delivering = false;
    }
  }

  /** `Subject.next` without its per-call closure and iterator. */
  private publish(event: BusEvent): void {
    const subscribers = this.subscribers;
    for (let k = 0; k < subscribers.length; k++) subscribers[k].next(event);
  }
}
