import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The teaching device must stay short enough to read in one sitting. */
const SOURCE_LINE_LIMIT = 402;

/** Physical lines: code, comments and blank lines alike; a last line without a newline counts too. */
function physicalLines(text: string): number {
  const newlines = text.split('\n').length - 1;
  return text === '' || text.endsWith('\n') ? newlines : newlines + 1;
}

describe('device-mvnet source', () => {
  it('counts every line, blank and comment lines included', () => {
    expect(physicalLines('')).toBe(0);
    expect(physicalLines('a\n\n// b\n')).toBe(3);
    expect(physicalLines('a\nb')).toBe(2);
  });

  it(`has fewer than ${SOURCE_LINE_LIMIT} physical lines outside the specs`, () => {
    const dir = new URL('.', import.meta.url);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'),
    );
    expect(files).toContain('mvnet-device.ts');
    const total = files.reduce((sum, f) => sum + physicalLines(readFileSync(new URL(f, dir), 'utf8')), 0);
    expect(total).toBeLessThan(SOURCE_LINE_LIMIT);
  });
});
