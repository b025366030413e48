import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateLockPath, withStateLock } from './state-lock.js';

describe('withStateLock', () => {
  it('serialises critical sections and releases the lock after each', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vdpa-kit-lock-')), 'state.jsonl');
    const order: string[] = [];
    const section = (name: string) =>
      withStateLock(path, async () => {
        order.push(`${name}:in`);
        expect(existsSync(stateLockPath(path))).toBe(true);
        await new Promise((resolve) => setImmediate(resolve));
        order.push(`${name}:out`);
        return name;
      });
    const results = await Promise.all([section('a'), section('b'), section('c')]);
    expect(results).toEqual(['a', 'b', 'c']);
    // Sections never interleave: every "in" is followed by its own "out".
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i].replace(':in', ':out'));
    expect(existsSync(stateLockPath(path))).toBe(false);
  });

  it('releases the lock when the section throws', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vdpa-kit-lock-')), 'state.jsonl');
    await expect(
      withStateLock(path, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(stateLockPath(path))).toBe(false);
  });
});
