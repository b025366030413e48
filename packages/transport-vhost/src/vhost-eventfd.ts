import { Observable, type Subscriber } from 'rxjs';

/**
 * An eventfd as vhost uses one (`struct eventfd_ctx`): a counter that `signal()` adds 1 to
 * (`eventfd_signal()`) and that wakes whoever waits on it. The kick of a ring is one the front-end
 * signals and `vhost_vdpa` waits on (`vhost_poll`); the call of a ring and the config call are ones
 * `vhost_vdpa` signals and the front-end waits on.
 *
 * `signals$` emits, for each wake-up, how many signals it consumed (an eventfd `read()` returns the
 * counter and clears it). A subscriber that arrives while the counter is non-zero is woken at once with
 * it, as `vhost_poll_start()` queues the work when the file is already readable. An in-process
 * implementation is {@link InProcessEventfd}; a real eventfd (a native addon polling the fd on the
 * event loop, writing 8 bytes on `signal()`) implements the same interface.
 *
 * @example
 * const kick: VhostDoorbell = new InProcessEventfd();
 * vhost.setVringKick({ index: 0, fd: kick });
 * kick.signal(); // the device's kickVq(0)
 */
export interface VhostEventfd {
  /** Adds 1 to the counter and wakes the waiters (`eventfd_signal(ctx, 1)`, or `write(fd, &1, 8)`). */
  signal(): void;
  /** Wake-ups: the counter value each one consumed. */
  readonly signals$: Observable<number>;
}

/** The kick eventfd of a ring (`VHOST_SET_VRING_KICK`): the front-end signals, `vhost_vdpa` kicks the vq. */
export type VhostDoorbell = VhostEventfd;

/** A call eventfd (`VHOST_SET_VRING_CALL`, `VHOST_VDPA_SET_CONFIG_CALL`): `vhost_vdpa` signals, the front-end waits. */
export type VhostCall = VhostEventfd;

/**
 * An eventfd inside this process: `signal()` wakes the subscribers synchronously (the counter is
 * consumed by the wake-up, so each subscriber sees `1`); without a subscriber the counter grows and the
 * next subscriber is woken with it. {@link read} consumes it the way `read(2)` on an eventfd does, and
 * {@link signalled} counts every signal ever made (what a test asserts on).
 *
 * @example
 * const call = new InProcessEventfd();
 * call.signals$.subscribe(() => drainUsed());
 * call.signal();
 */
export class InProcessEventfd implements VhostEventfd {
  /** Wake-ups, see {@link VhostEventfd.signals$}. */
  readonly signals$: Observable<number>;
  private counter = 0;
  private total = 0;
  private readonly waiters = new Set<Subscriber<number>>();

  constructor() {
    this.signals$ = new Observable<number>((subscriber) => {
      this.waiters.add(subscriber);
      if (this.counter > 0) this.wake();
      return () => {
        this.waiters.delete(subscriber);
      };
    });
  }

  /** Signals made since creation (never reset). */
  get signalled(): number {
    return this.total;
  }

  /** The counter not yet consumed by a wake-up or a {@link read}. */
  get pending(): number {
    return this.counter;
  }

  /** @inheritdoc */
  signal(): void {
    this.counter++;
    this.total++;
    if (this.waiters.size > 0) this.wake();
  }

  /** Returns the counter and clears it (`read(2)` on an eventfd; 0 here where the fd would block). */
  read(): number {
    const value = this.counter;
    this.counter = 0;
    return value;
  }

  private wake(): void {
    const value = this.counter;
    this.counter = 0;
    for (const waiter of [...this.waiters]) waiter.next(value);
  }
}
