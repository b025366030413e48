import { describe, expect, it } from 'vitest';
import { U16_MAX, U32_MAX, U64_LIMIT } from './limits.js';

describe('limits', () => {
  it('are 2^16 - 1, 2^32 - 1 and 2^64', () => {
    expect(U16_MAX).toBe(2 ** 16 - 1);
    expect(U32_MAX).toBe(2 ** 32 - 1);
    expect(U64_LIMIT).toBe(2n ** 64n);
  });
});
