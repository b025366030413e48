/**
 * Source of event timestamps (`BusEvent.ts`). Injected under the `CLOCK` token so that tests and
 * replays get deterministic records.
 */
export interface Clock {
  /** The current timestamp. */
  now(): number;
}

/** Wall-clock time in milliseconds since the epoch (`Date.now()`). */
export class SystemClock implements Clock {
  /** @returns `Date.now()` */
  now(): number {
    return Date.now();
  }
}

/**
 * A deterministic clock that counts: each `now()` returns the next integer from `start`.
 *
 * @example
 * const clock = new LogicalClock();
 * clock.now(); // 0
 * clock.now(); // 1
 */
export class LogicalClock implements Clock {
  private next: number;

  /** @param start the first value `now()` returns (default 0) */
  constructor(start = 0) {
    this.next = start;
  }

  /** @returns the next count */
  now(): number {
    return this.next++;
  }
}
