import { describe, expect, it } from 'vitest';
import { LogicalClock, SystemClock } from './clock.js';

describe('clocks', () => {
  it('LogicalClock counts from its start', () => {
    const c = new LogicalClock(5);
    expect([c.now(), c.now(), c.now()]).toEqual([5, 6, 7]);
    expect(new LogicalClock().now()).toBe(0);
  });

  it('SystemClock reads wall-clock milliseconds', () => {
    const before = Date.now();
    const t = new SystemClock().now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(Number.isInteger(t)).toBe(true);
  });
});
