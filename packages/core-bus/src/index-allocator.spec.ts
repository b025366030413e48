import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VdpaError } from './errors.js';
import { IndexAllocator } from './index-allocator.js';

describe('IndexAllocator', () => {
  it('always hands out the lowest free index (model check)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(20)), { maxLength: 200 }), (script) => {
        const ida = new IndexAllocator();
        const model = new Set<number>();
        for (const step of script) {
          if (step < 0 || !model.has(step)) {
            let lowest = 0;
            while (model.has(lowest)) lowest++;
            expect(ida.alloc()).toBe(lowest);
            model.add(lowest);
          } else {
            ida.free(step);
            model.delete(step);
          }
        }
        for (let i = 0; i <= 21; i++) expect(ida.has(i)).toBe(model.has(i));
      }),
    );
  });

  it('refuses to free an index that is not allocated', () => {
    const ida = new IndexAllocator();
    expect(() => ida.free(3)).toThrow(VdpaError);
  });
});
