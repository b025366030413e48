import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VringError, type VringErrno } from './errors.js';
import { Iov } from './iov.js';

/** The `code` of the VringError `fn` throws, or `undefined` if it returns. Rethrows anything else. */
function codeOf(fn: () => unknown): VringErrno | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof VringError) return err.code;
    throw err;
  }
  return undefined;
}

/** `n` bytes counting up from `from` (mod 256). */
function ramp(n: number, from = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
}

/** The bytes an iov's segments describe, in order, consumed or not. */
function flatten(iov: Iov): number[] {
  const out: number[] = [];
  for (let i = 0; i < iov.count; i++)
    out.push(...iov.bufs[i].subarray(iov.offs[i], iov.offs[i] + iov.lens[i]));
  return out;
}

/** An iov over `buf` with segments at the given `[off, len]` pairs. */
function iovOf(buf: Uint8Array, segs: ReadonlyArray<readonly [number, number]>, capacity?: number): Iov {
  const iov = new Iov(capacity);
  for (const [off, len] of segs) iov.add(buf, off, len);
  return iov;
}

describe('Iov add', () => {
  it('appends segments and sums their lengths', () => {
    const buf = ramp(64);
    const iov = iovOf(buf, [
      [0, 4],
      [10, 6],
      [30, 2],
    ]);
    expect([iov.count, iov.totalLength, iov.remaining()]).toEqual([3, 12, 12]);
    expect(flatten(iov)).toEqual([1, 2, 3, 4, 11, 12, 13, 14, 15, 16, 31, 32]);
  });

  it('merges a segment contiguous with the previous one in the same buffer', () => {
    const buf = ramp(64);
    const iov = iovOf(buf, [
      [0, 4],
      [4, 4],
      [8, 2],
    ]);
    expect([iov.count, iov.lens[0], iov.totalLength]).toEqual([1, 10, 10]);
  });

  it('does not merge contiguous offsets of different buffers, nor a segment that goes backwards', () => {
    const a = ramp(16);
    const b = ramp(16);
    const iov = new Iov();
    iov.add(a, 0, 4);
    iov.add(b, 4, 4);
    iov.add(b, 0, 4);
    expect([iov.count, iov.totalLength]).toEqual([3, 12]);
  });

  it('does not merge two views of the same buffer, even when they touch', () => {
    const buffer = new ArrayBuffer(32);
    const iov = new Iov();
    iov.add(new Uint8Array(buffer, 0, 16), 12, 4);
    iov.add(new Uint8Array(buffer, 16, 16), 0, 4);
    expect(iov.count).toBe(2);
  });

  it('accepts a zero-length segment, which pull skips', () => {
    const buf = ramp(8);
    const iov = iovOf(buf, [
      [0, 2],
      [5, 0],
      [6, 2],
    ]);
    const dst = new Uint8Array(4);
    expect(iov.pull(dst)).toBe(4);
    expect(Array.from(dst)).toEqual([1, 2, 7, 8]);
    expect(iov.remaining()).toBe(0);
  });

  it.each([
    ['past the end of its buffer', 12, 5],
    ['at a negative offset', -1, 2],
    ['with a negative length', 0, -1],
    ['at a fractional offset', 0.5, 2],
    ['with a fractional length', 0, 2.5],
  ])('rejects a segment %s with EFAULT and keeps the list unchanged', (_what, off, len) => {
    const iov = iovOf(ramp(16), [[0, 4]]);
    expect(codeOf(() => iov.add(ramp(16), off, len))).toBe('EFAULT');
    expect([iov.count, iov.totalLength]).toEqual([1, 4]);
  });

  it('grows beyond its initial capacity and keeps every segment', () => {
    const buf = ramp(256);
    const iov = new Iov(2);
    for (let i = 0; i < 40; i++) iov.add(buf, i * 6, 3);
    const dst = new Uint8Array(120);
    expect([iov.count, iov.pull(dst)]).toEqual([40, 120]);
    expect(Array.from(dst)).toEqual(
      Array.from({ length: 120 }, (_, k) => (Math.floor(k / 3) * 6 + (k % 3) + 1) & 0xff),
    );
  });

  it('grows from a capacity of zero', () => {
    const iov = new Iov(0);
    iov.add(ramp(8), 0, 2);
    iov.add(ramp(8), 4, 2);
    expect([iov.count, iov.totalLength]).toEqual([2, 4]);
  });

  it('reset empties the list and lets it be reused', () => {
    const buf = ramp(32);
    const iov = iovOf(buf, [
      [0, 4],
      [8, 4],
    ]);
    iov.pull(new Uint8Array(6));
    iov.reset();
    expect([iov.count, iov.index, iov.consumed, iov.totalLength, iov.remaining()]).toEqual([0, 0, 0, 0, 0]);
    iov.add(buf, 20, 3);
    const dst = new Uint8Array(3);
    expect(iov.pull(dst)).toBe(3);
    expect(Array.from(dst)).toEqual([21, 22, 23]);
  });
});

describe('Iov pull', () => {
  const segs: ReadonlyArray<readonly [number, number]> = [
    [0, 3],
    [10, 5],
    [20, 4],
  ];

  it('copies across segment boundaries and consumes what it copied', () => {
    const iov = iovOf(ramp(32), segs);
    const dst = new Uint8Array(10);
    expect(iov.pull(dst)).toBe(10);
    expect(Array.from(dst)).toEqual([1, 2, 3, 11, 12, 13, 14, 15, 21, 22]);
    expect([iov.index, iov.consumed, iov.remaining()]).toEqual([2, 2, 2]);
  });

  it('continues where a partial pull stopped', () => {
    const iov = iovOf(ramp(32), segs);
    const a = new Uint8Array(4);
    const b = new Uint8Array(4);
    const c = new Uint8Array(8);
    expect([iov.pull(a), iov.pull(b), iov.pull(c), iov.pull(c)]).toEqual([4, 4, 4, 0]);
    expect([...a, ...b, ...c.subarray(0, 4)]).toEqual([1, 2, 3, 11, 12, 13, 14, 15, 21, 22, 23, 24]);
  });

  it('writes at dstOff and copies at most len bytes', () => {
    const iov = iovOf(ramp(32), segs);
    const dst = new Uint8Array(8);
    expect(iov.pull(dst, 2, 4)).toBe(4);
    expect(Array.from(dst)).toEqual([0, 0, 1, 2, 3, 11, 0, 0]);
    expect(iov.remaining()).toBe(8);
  });

  it('returns fewer bytes than asked when the list runs out', () => {
    const iov = iovOf(ramp(32), segs);
    expect(iov.pull(new Uint8Array(100))).toBe(12);
    expect(iov.remaining()).toBe(0);
  });

  it('never copies past the end of dst, whatever len says', () => {
    const iov = iovOf(ramp(32), segs);
    const dst = new Uint8Array(4);
    expect(iov.pull(dst, 1, 100)).toBe(3);
    expect(Array.from(dst)).toEqual([0, 1, 2, 3]);
    expect(iov.remaining()).toBe(9);
  });

  it('copies nothing for a zero, negative or NaN len', () => {
    const iov = iovOf(ramp(32), segs);
    const dst = new Uint8Array(4);
    expect([iov.pull(dst, 0, 0), iov.pull(dst, 0, -3), iov.pull(dst, 0, Number.NaN)]).toEqual([0, 0, 0]);
    expect(iov.remaining()).toBe(12);
  });

  it.each([-1, 5])('rejects a dstOff of %i outside a 4-byte dst with EINVAL', (dstOff) => {
    const iov = iovOf(ramp(32), segs);
    expect(codeOf(() => iov.pull(new Uint8Array(4), dstOff))).toBe('EINVAL');
    expect(iov.remaining()).toBe(12);
  });

  it('pulls from a SharedArrayBuffer', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(32));
    shared.set(ramp(32));
    const iov = iovOf(shared, [
      [4, 20],
      [28, 2],
    ]);
    const dst = new Uint8Array(22);
    expect(iov.pull(dst)).toBe(22);
    expect(Array.from(dst)).toEqual([...ramp(20, 5), 29, 30]);
  });
});

describe('Iov push', () => {
  it('copies across segment boundaries, consumes, and leaves bytes outside the segments alone', () => {
    const buf = new Uint8Array(32);
    const iov = iovOf(buf, [
      [0, 3],
      [10, 5],
      [20, 4],
    ]);
    expect(iov.push(ramp(10, 101))).toBe(10);
    expect(Array.from(buf.subarray(0, 24))).toEqual([
      101, 102, 103, 0, 0, 0, 0, 0, 0, 0, 104, 105, 106, 107, 108, 0, 0, 0, 0, 0, 109, 110, 0, 0,
    ]);
    expect(iov.remaining()).toBe(2);
    expect(iov.push(ramp(10, 201), 3)).toBe(2);
    expect([buf[22], buf[23], buf[24]]).toEqual([204, 205, 0]);
    expect(iov.push(ramp(4))).toBe(0);
  });

  it('reads from srcOff, copies at most len bytes, and never reads past the end of src', () => {
    const buf = new Uint8Array(32);
    const iov = iovOf(buf, [[0, 32]]);
    expect(iov.push(ramp(8), 2, 3)).toBe(3);
    expect(iov.push(ramp(8), 6, 100)).toBe(2);
    expect(Array.from(buf.subarray(0, 6))).toEqual([3, 4, 5, 7, 8, 0]);
  });

  it.each([-1, 9])('rejects a srcOff of %i outside an 8-byte src with EINVAL', (srcOff) => {
    const iov = iovOf(new Uint8Array(32), [[0, 32]]);
    expect(codeOf(() => iov.push(ramp(8), srcOff))).toBe('EINVAL');
    expect(iov.remaining()).toBe(32);
  });

  it('copies large and small chunks alike into a SharedArrayBuffer', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(2048));
    const iov = iovOf(shared, [
      [0, 1500],
      [1600, 8],
    ]);
    expect(iov.push(ramp(1508))).toBe(1508);
    expect(Array.from(shared.subarray(0, 1500))).toEqual(Array.from(ramp(1500)));
    expect(Array.from(shared.subarray(1600, 1608))).toEqual(Array.from(ramp(8, 1501)));
  });
});

describe('Iov advance and remaining', () => {
  it('skips bytes without copying, then pull continues after them', () => {
    const iov = iovOf(ramp(32), [
      [0, 3],
      [10, 5],
    ]);
    expect(iov.advance(4)).toBe(4);
    expect(iov.remaining()).toBe(4);
    const dst = new Uint8Array(4);
    expect(iov.pull(dst)).toBe(4);
    expect(Array.from(dst)).toEqual([12, 13, 14, 15]);
  });

  it('advances at most what remains', () => {
    const iov = iovOf(ramp(32), [
      [0, 3],
      [10, 5],
    ]);
    iov.advance(1);
    expect([iov.advance(100), iov.remaining(), iov.advance(1)]).toEqual([7, 0, 0]);
  });

  it('counts exactly the unconsumed bytes after each step', () => {
    const iov = iovOf(ramp(32), [
      [0, 3],
      [10, 5],
      [20, 4],
    ]);
    const seen: number[] = [iov.remaining()];
    for (let i = 0; i < 5; i++) {
      iov.advance(i === 0 ? 3 : 2);
      seen.push(iov.remaining());
    }
    expect(seen).toEqual([12, 9, 7, 5, 3, 1]);
    expect(iov.totalLength).toBe(12);
  });

  it('reports 0 remaining for an empty list', () => {
    expect(new Iov().remaining()).toBe(0);
  });
});

describe('Iov contiguous', () => {
  it('gives the offset of the next bytes when the current segment holds them, consuming nothing', () => {
    const iov = iovOf(ramp(32), [
      [4, 6],
      [20, 8],
    ]);
    expect([iov.contiguous(0), iov.contiguous(6), iov.contiguous(7)]).toEqual([4, 4, -1]);
    iov.advance(2);
    expect([iov.contiguous(4), iov.contiguous(5)]).toEqual([6, -1]);
    iov.advance(4);
    expect([iov.contiguous(8), iov.contiguous(9), iov.remaining()]).toEqual([20, -1, 8]);
  });

  it('is -1 for an empty or consumed list and for a NaN length', () => {
    const iov = iovOf(ramp(8), [[0, 8]]);
    expect(iov.contiguous(Number.NaN)).toBe(-1);
    iov.advance(8);
    expect([iov.contiguous(0), iov.contiguous(1), new Iov().contiguous(0)]).toEqual([-1, -1, -1]);
  });
});

describe('Iov copyTo', () => {
  it('copies across mismatched segment boundaries between different buffers', () => {
    const src = ramp(64);
    const dstBuf = new Uint8Array(64);
    const from = iovOf(src, [
      [0, 3],
      [10, 5],
      [20, 7],
    ]);
    const to = iovOf(dstBuf, [
      [0, 4],
      [8, 4],
      [16, 4],
      [24, 4],
    ]);
    expect(from.copyTo(to)).toBe(15);
    expect(flatten(to)).toEqual([1, 2, 3, 11, 12, 13, 14, 15, 21, 22, 23, 24, 25, 26, 27, 0]);
    expect([from.remaining(), to.remaining()]).toEqual([0, 1]);
  });

  it('stops at len and at the end of the shorter list, and continues from there', () => {
    const from = iovOf(ramp(64), [
      [0, 6],
      [10, 6],
    ]);
    const dstBuf = new Uint8Array(64);
    const to = iovOf(dstBuf, [
      [0, 4],
      [8, 4],
    ]);
    expect(from.copyTo(to, 5)).toBe(5);
    expect([from.remaining(), to.remaining()]).toEqual([7, 3]);
    expect(from.copyTo(to)).toBe(3);
    expect([from.remaining(), to.remaining()]).toEqual([4, 0]);
    expect(flatten(to)).toEqual([1, 2, 3, 4, 5, 6, 11, 12]);
    expect(from.copyTo(to)).toBe(0);
  });

  it('copies within one view with memmove semantics when ranges overlap', () => {
    const buf = ramp(64);
    const from = iovOf(buf, [[0, 40]]);
    const to = iovOf(buf, [[4, 40]]);
    expect(from.copyTo(to)).toBe(40);
    expect(Array.from(buf.subarray(4, 44))).toEqual(Array.from(ramp(40)));
    expect(Array.from(buf.subarray(0, 4))).toEqual([1, 2, 3, 4]);
  });

  it.each([8, 40])('copies %i bytes between overlapping views of one buffer with memmove semantics', (n) => {
    const buffer = new ArrayBuffer(64);
    const whole = new Uint8Array(buffer);
    whole.set(ramp(64));
    const low = new Uint8Array(buffer, 0, 48);
    const high = new Uint8Array(buffer, 4, 48);
    // low[2, 2 + n) = bytes [2, 2 + n) -> high[0, n) = bytes [4, 4 + n): forward overlap.
    expect(iovOf(low, [[2, n]]).copyTo(iovOf(high, [[0, n]]))).toBe(n);
    expect(Array.from(whole.subarray(4, 4 + n))).toEqual(Array.from(ramp(n, 3)));
    // And backwards: high[0, n) = bytes [4, 4 + n) -> low[0, n).
    expect(iovOf(high, [[0, n]]).copyTo(iovOf(low, [[0, n]]))).toBe(n);
    expect(Array.from(whole.subarray(0, n))).toEqual(Array.from(ramp(n, 3)));
  });

  it('copies between regions of one SharedArrayBuffer and to other buffers with the same iov', () => {
    const shared = new SharedArrayBuffer(256);
    const a = new Uint8Array(shared, 0, 128);
    const b = new Uint8Array(shared, 128, 128);
    const c = new Uint8Array(128);
    a.set(ramp(128));
    const from = iovOf(a, [
      [0, 10],
      [20, 30],
    ]);
    const to = new Iov();
    to.add(b, 0, 5);
    to.add(c, 0, 20);
    to.add(b, 50, 15);
    expect(from.copyTo(to)).toBe(40);
    expect([...b.subarray(0, 5), ...c.subarray(0, 20), ...b.subarray(50, 65)]).toEqual([
      ...ramp(10),
      ...ramp(30, 21),
    ]);
  });

  it('copies what a memmove-per-chunk model says, for random segmentations over aliasing views', () => {
    const kinds = ['plain', 'sharedA', 'sharedB', 'sameAsSource', 'viewOfSource'] as const;
    const seg = (kind: fc.Arbitrary<(typeof kinds)[number]>) =>
      fc.tuple(kind, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 24 }));
    fc.assert(
      fc.property(
        fc.array(seg(fc.constantFrom('sameAsSource' as const, 'sharedB' as const, 'plain' as const)), {
          maxLength: 8,
        }),
        fc.array(seg(fc.constantFrom(...kinds)), { maxLength: 8 }),
        fc.integer({ min: 0, max: 200 }),
        (srcSegs, dstSegs, len) => {
          // Model memory: the shared buffer at [0, 256) and the plain buffer at [256, 320).
          const shared = new SharedArrayBuffer(256);
          const plain = new Uint8Array(64);
          const source = new Uint8Array(shared, 0, 64);
          const views = {
            plain,
            sharedA: new Uint8Array(shared, 64, 64),
            sharedB: new Uint8Array(shared, 128, 64),
            sameAsSource: source,
            viewOfSource: new Uint8Array(shared, 0, 64),
          };
          const base = (v: Uint8Array): number => (v === plain ? 256 : v.byteOffset);
          const sharedBytes = new Uint8Array(shared);
          for (let i = 0; i < 256; i++) sharedBytes[i] = (i * 7 + 3) & 0xff;
          const model = [...sharedBytes, ...plain];
          const from = new Iov(1);
          for (const [kind, off, n] of srcSegs) from.add(views[kind], off, n);
          const to = new Iov(1);
          for (const [kind, off, n] of dstSegs) to.add(views[kind], off, n);
          // Chunks end wherever either list's segment ends; each chunk is one memmove.
          const runs = (iov: Iov): number[][] =>
            Array.from({ length: iov.count }, (_, i) =>
              Array.from({ length: iov.lens[i] }, (_, k) => base(iov.bufs[i]) + iov.offs[i] + k),
            );
          const srcRuns = runs(from).filter((r) => r.length > 0);
          const dstRuns = runs(to).filter((r) => r.length > 0);
          let left = len;
          let copiedInModel = 0;
          while (left > 0 && srcRuns.length > 0 && dstRuns.length > 0) {
            const n = Math.min(left, srcRuns[0].length, dstRuns[0].length);
            const bytes = srcRuns[0].splice(0, n).map((a) => model[a]);
            dstRuns[0].splice(0, n).forEach((a, k) => (model[a] = bytes[k]));
            if (srcRuns[0].length === 0) srcRuns.shift();
            if (dstRuns[0].length === 0) dstRuns.shift();
            left -= n;
            copiedInModel += n;
          }
          const copied = from.copyTo(to, len);
          const actual = [...sharedBytes, ...plain];
          return (
            copied === copiedInModel &&
            to.remaining() === to.totalLength - copied &&
            actual.every((v, k) => v === model[k])
          );
        },
      ),
    );
  });
});

describe('Iov pull and push property', () => {
  it('pulling in random chunks yields the segments in order, and push is its inverse', () => {
    // Disjoint segments as (gap before, length) pairs, so that pushed bytes are not overwritten.
    const layoutArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 40 })), {
      maxLength: 10,
    });
    fc.assert(
      fc.property(
        layoutArb,
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (layout, chunks, shared) => {
          const segs: Array<[number, number]> = [];
          let at = 0;
          for (const [gap, n] of layout) {
            segs.push([at + gap, n]);
            at += gap + n;
          }
          const size = 512;
          const buf = shared ? new Uint8Array(new SharedArrayBuffer(size)) : new Uint8Array(size);
          buf.set(Uint8Array.from({ length: size }, (_, i) => (i * 13 + 5) & 0xff));
          const iov = iovOf(buf, segs, 1);
          const expected = flatten(iov);
          const out: number[] = [];
          for (const c of chunks) {
            const dst = new Uint8Array(c);
            const n = iov.pull(dst);
            if (n !== Math.min(c, expected.length - out.length)) return false;
            out.push(...dst.subarray(0, n));
          }
          if (!out.every((v, k) => v === expected[k])) return false;
          // Push the same bytes reversed, in the same chunks, into a list over the same layout.
          const target = shared ? new Uint8Array(new SharedArrayBuffer(size)) : new Uint8Array(size);
          const back = iovOf(target, segs, 1);
          const reversed = Uint8Array.from(expected).reverse();
          let pushed = 0;
          for (const c of chunks)
            pushed += back.push(reversed, pushed, Math.min(c, reversed.length - pushed));
          return (
            pushed === out.length &&
            flatten(back)
              .slice(0, pushed)
              .every((v, k) => v === reversed[k])
          );
        },
      ),
    );
  });
});
