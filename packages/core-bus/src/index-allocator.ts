import { VdpaError } from './errors.js';

/**
 * An index allocator with the kernel IDA semantics the bus uses for `vdpa%u` names: `alloc` returns
 * the lowest free index from 0; `free` makes an index available again.
 *
 * @example
 * const ida = new IndexAllocator();
 * ida.alloc(); // 0
 * ida.alloc(); // 1
 * ida.free(0);
 * ida.alloc(); // 0
 */
export class IndexAllocator {
  private readonly used = new Set<number>();

  /** @returns the lowest free index */
  alloc(): number {
    let i = 0;
    while (this.used.has(i)) i++;
    this.used.add(i);
    return i;
  }

  /**
   * Frees `index`.
   * @throws VdpaError `ENOENT` if `index` is not allocated
   */
  free(index: number): void {
    if (!this.used.delete(index)) throw new VdpaError('ENOENT', `index ${index} is not allocated`);
  }

  /** True when `index` is allocated. */
  has(index: number): boolean {
    return this.used.has(index);
  }
}
