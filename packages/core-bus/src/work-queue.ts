/**
 * A unit of deferred work (the kthread `work_struct` analogue): `run` does one pass with a budget and
 * returns `true` when there is more to do, which requeues it.
 */
export interface Work {
  run(): boolean;
}

/** How a queue runs its work: synchronously (`inline`) or on coalesced microtasks (`microtask`). */
export type WorkQueueMode = 'inline' | 'microtask';

/**
 * Where a device's datapath runs (the kthread worker analogue). Queuing work that is already pending
 * is a no-op (coalescing, like `kthread_queue_work`).
 */
export interface WorkQueue {
  readonly mode: WorkQueueMode;
  /** Schedules `work` (no-op when already pending). */
  queue(work: Work): void;
  /** Runs every pending work now, until none is pending (no-op when called from inside a run). */
  flush(): void;
  /** Unschedules `work`; if it is running, its `true` return no longer requeues it. */
  cancel(work: Work): void;
}

/** Options of {@link createWorkQueue}. */
export interface WorkQueueOptions {
  /**
   * Receives an error thrown by `run` (the work is then not requeued). Without it, `inline` mode
   * rethrows the first error from `queue`/`flush` after draining, and `microtask` mode rethrows it
   * from the microtask.
   */
  readonly onError?: (error: unknown, work: Work) => void;
}

abstract class BaseWorkQueue implements WorkQueue {
  abstract readonly mode: WorkQueueMode;
  /** Pending works, FIFO, each at most once. */
  protected pending: Work[] = [];
  protected readonly pendingSet = new Set<Work>();
  protected running: Work | undefined;
  protected runningCancelled = false;

  constructor(protected readonly onError: ((error: unknown, work: Work) => void) | undefined) {}

  abstract queue(work: Work): void;
  abstract flush(): void;

  cancel(work: Work): void {
    if (this.pendingSet.delete(work)) {
      const at = this.pending.indexOf(work);
      if (at >= 0) this.pending.splice(at, 1);
    }
    if (this.running === work) this.runningCancelled = true;
  }

  protected enqueue(work: Work): boolean {
    if (this.pendingSet.has(work)) return false;
    this.pendingSet.add(work);
    this.pending.push(work);
    return true;
  }

  /**
   * Runs one work; requeues it when it returns true and was not cancelled meanwhile.
   * @returns the error it threw, if any and no `onError` took it
   */
  protected runOne(work: Work): unknown {
    this.running = work;
    this.runningCancelled = false;
    let again = false;
    let failure: unknown;
    try {
      again = work.run();
    } catch (err) {
      if (this.onError === undefined) failure = err ?? new Error('work threw a nullish value');
      else this.onError(err, work);
    } finally {
      this.running = undefined;
    }
    if (again && !this.runningCancelled) this.enqueue(work);
    return failure;
  }

  protected take(): Work | undefined {
    const work = this.pending.shift();
    if (work !== undefined) this.pendingSet.delete(work);
    return work;
  }
}

/**
 * `inline`: `queue()` runs the work synchronously, before returning. Never re-entrant: a `queue()`
 * issued while a work is running (by that work or by something it calls) only marks the work
 * pending, and the outer loop runs it after the current one. The loop keeps running while any work is
 * pending — a work returning `true` runs again, as often as it asks: there is no cap that would drop
 * work, so a work that always returns `true` never lets `queue()` return. Deterministic: for tests
 * and replay.
 */
class InlineWorkQueue extends BaseWorkQueue {
  readonly mode = 'inline';
  private draining = false;

  queue(work: Work): void {
    this.enqueue(work);
    if (!this.draining) this.drain();
  }

  flush(): void {
    if (!this.draining) this.drain();
  }

  private drain(): void {
    this.draining = true;
    let firstError: unknown;
    try {
      for (let work = this.take(); work !== undefined; work = this.take()) {
        const failure = this.runOne(work);
        if (failure !== undefined && firstError === undefined) firstError = failure;
      }
    } finally {
      this.draining = false;
    }
    if (firstError !== undefined) throw firstError;
  }
}

/**
 * `microtask`: `queue()` schedules one `queueMicrotask` pass for everything pending (coalesced: many
 * queues, one microtask). A pass runs the works pending when it starts; works queued or requeued
 * during the pass (a `true` return) go to the next microtask, so other microtasks interleave. Never
 * uses timers.
 */
class MicrotaskWorkQueue extends BaseWorkQueue {
  readonly mode = 'microtask';
  private scheduled = false;
  private passing = false;
  private readonly pass = (): void => {
    this.scheduled = false;
    this.runPass();
  };

  queue(work: Work): void {
    this.enqueue(work);
    this.schedule();
  }

  flush(): void {
    if (this.passing) return;
    while (this.pending.length > 0) this.runPass();
  }

  private schedule(): void {
    if (this.scheduled || this.passing || this.pending.length === 0) return;
    this.scheduled = true;
    queueMicrotask(this.pass);
  }

  private runPass(): void {
    if (this.passing) return;
    this.passing = true;
    let firstError: unknown;
    try {
      for (let n = this.pending.length; n > 0; n--) {
        const work = this.take();
        if (work === undefined) break;
        const failure = this.runOne(work);
        if (failure !== undefined && firstError === undefined) firstError = failure;
      }
    } finally {
      this.passing = false;
    }
    this.schedule();
    if (firstError !== undefined) throw firstError;
  }
}

/**
 * Creates a work queue.
 *
 * @param mode `inline` (synchronous, deterministic) or `microtask` (coalesced `queueMicrotask`)
 * @param options error handling
 * @example
 * const wq = createWorkQueue('inline');
 * wq.queue({ run: () => device.processRings() }); // ran before queue() returned
 */
export function createWorkQueue(mode: WorkQueueMode, options: WorkQueueOptions = {}): WorkQueue {
  return mode === 'inline' ? new InlineWorkQueue(options.onError) : new MicrotaskWorkQueue(options.onError);
}
