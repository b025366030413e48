import { NativeError, POLL_READABLE, type NativeVhost } from '@vdpa-kit/native-vhost';
import { Observable } from 'rxjs';
import type { VhostEventfd } from '../../vhost-eventfd.js';

/**
 * A real eventfd (one a vhost-user front-end sent) as a {@link VhostEventfd}: `signal()` writes 1 to
 * it (`eventfd_signal()`), and `signals$` watches it on the event loop and reads the counter on each
 * wake-up, as `vhost_poll` waits on a kick fd. The fd is borrowed: whoever received it closes it, after
 * the last subscription to `signals$` has ended (the watch is dropped on unsubscribe).
 *
 * @example
 * const kick = new NativeEventfd(native, fd);
 * vhost.setVringKick(0, kick); // the front-end's write(fd, 1) → kickVq(0)
 */
export class NativeEventfd implements VhostEventfd {
  /** Wake-ups: the counter each one consumed (one subscriber at a time: one watch per fd). */
  readonly signals$: Observable<number>;

  /**
   * @param native the addon
   * @param fd the eventfd (made non-blocking while watched)
   */
  constructor(
    private readonly native: NativeVhost,
    readonly fd: number,
  ) {
    this.signals$ = new Observable<number>((subscriber) => {
      const drain = (): void => {
        let value: number;
        try {
          value = native.eventfdReadNumber(fd);
        } catch (err) {
          subscriber.error(err);
          return;
        }
        if (value > 0) subscriber.next(value);
      };
      native.watch(fd, POLL_READABLE, (error) => {
        if (error !== undefined) subscriber.error(error);
        else drain();
      });
      // A counter already set when the watch starts is a wake-up too (vhost_poll_start()).
      drain();
      return () => {
        native.unwatch(fd);
      };
    });
  }

  /**
   * Adds 1 to the counter. A saturated counter (`EAGAIN`: the front-end has not read it for 2^64 − 2
   * signals) already wakes it, so that one is dropped; other errors are thrown.
   * @throws NativeError EBADF and the like
   */
  signal(): void {
    try {
      this.native.eventfdWrite(this.fd, 1n);
    } catch (err) {
      if (err instanceof NativeError && err.code === 'EAGAIN') return;
      throw err;
    }
  }
}
