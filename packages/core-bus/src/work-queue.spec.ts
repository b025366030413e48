import { describe, expect, it } from 'vitest';
import { type Work, createWorkQueue } from './work-queue.js';

/** A work that records its runs and asks for `passes` runs in total. */
function counted(log: string[], name: string, passes = 1, during?: () => void): Work {
  let left = passes;
  return {
    run: () => {
      log.push(name);
      during?.();
      left--;
      return left > 0;
    },
  };
}

const microtask = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));
/** Resolves after every pending microtask ran (a macrotask turn). */
const drained = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('inline work queue', () => {
  it('runs work before queue() returns', () => {
    const wq = createWorkQueue('inline');
    const log: string[] = [];
    wq.queue(counted(log, 'a'));
    expect(log).toEqual(['a']);
    expect(wq.mode).toBe('inline');
  });

  it('is never re-entrant: a queue() during a run runs after the current work', () => {
    const wq = createWorkQueue('inline');
    const log: string[] = [];
    const b = counted(log, 'b');
    const a = counted(log, 'a', 1, () => {
      wq.queue(b);
      log.push('a-after-queue');
    });
    wq.queue(a);
    expect(log).toEqual(['a', 'a-after-queue', 'b']);
  });

  it('reruns a work that queues itself while running', () => {
    const wq = createWorkQueue('inline');
    const log: string[] = [];
    let again = true;
    const w: Work = {
      run: () => {
        log.push('w');
        if (again) {
          again = false;
          wq.queue(w);
        }
        return false;
      },
    };
    wq.queue(w);
    expect(log).toEqual(['w', 'w']);
  });

  it('keeps requeueing while run returns true, without dropping work', () => {
    const wq = createWorkQueue('inline');
    const log: string[] = [];
    wq.queue(counted(log, 'x', 1000));
    expect(log).toHaveLength(1000);
  });

  it('round-robins requeued works (per-pass budget fairness)', () => {
    const wq = createWorkQueue('inline');
    const log: string[] = [];
    const b = counted(log, 'b', 2);
    const a = counted(log, 'a', 3, () => wq.queue(b));
    wq.queue(a);
    // b asks for a second pass, then a's third run queues it once more.
    expect(log).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('cancel stops a pending work and the requeue of a running one', () => {
    const wq = createWorkQueue('inline');
    const log: string[] = [];
    const b = counted(log, 'b');
    const a: Work = {
      run: () => {
        log.push('a');
        wq.queue(b);
        wq.cancel(b);
        wq.cancel(a);
        return true;
      },
    };
    wq.queue(a);
    expect(log).toEqual(['a']);
  });

  it('rethrows a run error after draining the rest, or hands it to onError', () => {
    const wq = createWorkQueue('inline');
    const log: string[] = [];
    const boom = new Error('boom');
    const failing: Work = {
      run: () => {
        wq.queue(counted(log, 'next'));
        throw boom;
      },
    };
    expect(() => wq.queue(failing)).toThrow(boom);
    expect(log).toEqual(['next']);
    const errors: unknown[] = [];
    const quiet = createWorkQueue('inline', { onError: (e) => errors.push(e) });
    quiet.queue(failing);
    expect(errors).toEqual([boom]);
  });
});

describe('microtask work queue', () => {
  it('defers to a microtask and coalesces repeated queues of a work', async () => {
    const wq = createWorkQueue('microtask');
    const log: string[] = [];
    const a = counted(log, 'a');
    wq.queue(a);
    wq.queue(a);
    wq.queue(counted(log, 'b'));
    wq.queue(a);
    expect(log).toEqual([]);
    await microtask();
    expect(log).toEqual(['a', 'b']);
    await drained();
    expect(log).toEqual(['a', 'b']);
  });

  it('runs requeued work on a later microtask, letting others interleave', async () => {
    const wq = createWorkQueue('microtask');
    const log: string[] = [];
    wq.queue(counted(log, 'a', 3));
    queueMicrotask(() => log.push('other'));
    await drained();
    expect(log).toEqual(['a', 'other', 'a', 'a']);
  });

  it('flush runs everything pending synchronously', () => {
    const wq = createWorkQueue('microtask');
    const log: string[] = [];
    wq.queue(counted(log, 'a', 2));
    wq.queue(counted(log, 'b'));
    wq.flush();
    expect(log).toEqual(['a', 'b', 'a']);
  });

  it('cancel before the microtask runs drops the work', async () => {
    const wq = createWorkQueue('microtask');
    const log: string[] = [];
    const a = counted(log, 'a');
    wq.queue(a);
    wq.cancel(a);
    await microtask();
    expect(log).toEqual([]);
  });

  it('reports run errors to onError and continues', async () => {
    const errors: unknown[] = [];
    const wq = createWorkQueue('microtask', { onError: (e) => errors.push(e) });
    const log: string[] = [];
    wq.queue({
      run: () => {
        throw new Error('bad');
      },
    });
    wq.queue(counted(log, 'ok'));
    await microtask();
    expect(errors.map((e) => (e as Error).message)).toEqual(['bad']);
    expect(log).toEqual(['ok']);
  });
});
