import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The teaching device must stay short enough to read in one sitting. */
const SOURCE_LINE_LIMIT = 400;

/** Lines that are neither blank nor comment-only: `//`, `/**`, ` * ` and ` *\/` lines do not count. */
function codeLines(text: string): number {
  return text.split('\n').filter((line) => !/^\s*($|\/\/|\/\*|\*)/.test(line)).length;
}

describe('device-mvnet source', () => {
  it(`has fewer than ${SOURCE_LINE_LIMIT} lines of code outside the specs`, () => {
    const dir = new URL('.', import.meta.url);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'),
    );
    expect(files).toContain('mvnet-device.ts');
    const total = files.reduce((sum, f) => sum + codeLines(readFileSync(new URL(f, dir), 'utf8')), 0);
    expect(total).toBeLessThan(SOURCE_LINE_LIMIT);
  });
});
