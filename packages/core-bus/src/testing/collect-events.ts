import type { Observable } from 'rxjs';
import type { BusEvent } from '../events.js';

/** A live collection of bus events. */
export interface EventCollector {
  /** Events received so far, in order. */
  readonly events: readonly BusEvent[];
  /** Forgets the events received so far. */
  clear(): void;
  /** Unsubscribes. */
  stop(): void;
}

/**
 * Subscribes to `bus.events$` and collects every event into an array (assert on the array, not
 * inside a subscribe callback).
 *
 * @example
 * const log = collectEvents(bus);
 * bus.registerDriver(t);
 * expect(log.events.map((e) => e.op)).toEqual(['driver_registered']);
 * log.stop();
 */
export function collectEvents(bus: { readonly events$: Observable<BusEvent> }): EventCollector {
  const events: BusEvent[] = [];
  const sub = bus.events$.subscribe((e) => events.push(e));
  return {
    events,
    clear: () => {
      events.length = 0;
    },
    stop: () => sub.unsubscribe(),
  };
}
