import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VringError } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { DmaAllocator } from './dma-allocator.js';
import { Virtqueue } from './virtqueue.js';
import { BufferList } from './virtqueue-buffer-list.js';
import type { VirtqueueOptions } from './virtqueue-options.js';
import {
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
  vringAvailSize,
  vringDescSize,
  vringUsedSize,
} from '@vdpa-kit/virtio-spec';
import { type Chain, FakeDevice } from '../test/fake-device.js';
import { errorOf } from '../test/error-of.js';

const MEM_SIZE = 1 << 16;
const U16_MASK = 0xffff;
const HIGH = 0x1_2345_6000; // above 4 GiB: exercises both halves of le64 addr
/** A token the API rejects, smuggled past the type checker to test that it does. */
const NO_TOKEN = undefined as unknown as number;

interface Side {
  mem: GuestMemory;
  vq: Virtqueue<number>;
  dev: FakeDevice;
  /** `vq.availIdx` at each notify. */
  kicks: number[];
  /** `avail.idx` in ring memory at each notify: what the device would see. */
  seen: number[];
}

/** One queue over its own memory, with a fake device; `onNotify` runs inside notify after recording. */
function side(
  options: Partial<VirtqueueOptions<number>> = {},
  onNotify?: (q: Virtqueue<number>) => void,
): Side {
  const mem = GuestMemory.create({ size: MEM_SIZE });
  const dma = new DmaAllocator(mem);
  const kicks: number[] = [];
  const seen: number[] = [];
  const view = mem.regionOf(0, 1).view;
  const vq = Virtqueue.create<number>(mem, dma, {
    index: 0,
    num: 8,
    eventIdx: false,
    indirect: false,
    notify: (q) => {
      kicks.push(q.availIdx);
      seen.push(view.getUint16(q.layout.availAddr + 2, true));
      onNotify?.(q);
    },
    ...options,
  });
  return { mem, vq, dev: new FakeDevice(mem, vq.layout, options.initialIdx ?? 0), kicks, seen };
}

/** A copy of the descriptor table, available ring and used ring. */
function ringBytes(s: Side): Uint8Array {
  const { num, descAddr, availAddr, usedAddr } = s.vq.layout;
  const parts = [
    s.mem.view(descAddr, vringDescSize(num)),
    s.mem.view(availAddr, vringAvailSize(num)),
    s.mem.view(usedAddr, vringUsedSize(num)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** First offset where `a` and `b` differ, -1 if equal. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Whether the two sides' rings differ, compared in place (for the long runs). */
function ringsDiffer(a: Side, b: Side): boolean {
  const { num } = a.vq.layout;
  for (const [addr, size] of [
    [a.vq.layout.descAddr, vringDescSize(num)],
    [a.vq.layout.availAddr, vringAvailSize(num)],
    [a.vq.layout.usedAddr, vringUsedSize(num)],
  ]) {
    // Both memories are allocated alike, so the rings sit at the same addresses.
    if (firstDiff(a.mem.view(addr, size), b.mem.view(addr, size)) !== -1) return true;
  }
  return false;
}

interface Observed {
  numFree: number;
  availIdx: number;
  lastUsedIdx: number;
  lastLen: number;
  isBroken: boolean;
  kicks: number[];
  seen: number[];
}

function observe(s: Side): Observed {
  const { vq } = s;
  return {
    numFree: vq.numFree,
    availIdx: vq.availIdx,
    lastUsedIdx: vq.lastUsedIdx,
    lastLen: vq.lastLen,
    isBroken: vq.isBroken,
    kicks: [...s.kicks],
    seen: [...s.seen],
  };
}

/** Asserts that two sides are indistinguishable: same ring memory, same queue state, same notifies. */
function expectSame(a: Side, b: Side): void {
  expect(firstDiff(ringBytes(a), ringBytes(b))).toBe(-1);
  expect(observe(a)).toEqual(observe(b));
  expect(a.dev.availIdx()).toBe(a.vq.availIdx);
}

type Dir = 'out' | 'in';

function addBatch(
  vq: Virtqueue<number>,
  dir: Dir,
  addrs: ArrayLike<number>,
  lens: ArrayLike<number>,
  tokens: ArrayLike<number>,
  count: number,
): void {
  if (dir === 'out') vq.addOutbufs(addrs, lens, tokens, count);
  else vq.addInbufs(addrs, lens, tokens, count);
}

function addOneByOne(
  vq: Virtqueue<number>,
  dir: Dir,
  addrs: ArrayLike<number>,
  lens: ArrayLike<number>,
  tokens: ArrayLike<number>,
  count: number,
): void {
  for (let k = 0; k < count; k++) {
    if (dir === 'out') vq.addOutbuf(addrs[k], lens[k], tokens[k]);
    else vq.addInbuf(addrs[k], lens[k], tokens[k]);
  }
}

/** Pops every available chain on both devices, checks they agree, and returns them. */
function popAll(a: Side, b: Side): Chain[] {
  const chains: Chain[] = [];
  for (let c = a.dev.pop(); c !== undefined; c = a.dev.pop()) {
    expect(b.dev.pop()).toEqual(c);
    chains.push(c);
  }
  expect(b.dev.pop()).toBeUndefined();
  return chains;
}

describe.each<{ name: string; dir: Dir }>([
  { name: 'addOutbufs', dir: 'out' },
  { name: 'addInbufs', dir: 'in' },
])('$name', ({ dir }) => {
  const write = dir === 'in' ? VIRTQ_DESC_F_WRITE : 0;

  it('adds the same chains as one-by-one adds, and getBufs returns their tokens and lengths', () => {
    const a = side();
    const b = side();
    a.vq.addOutbuf(0x1000, 10, 100);
    b.vq.addOutbuf(0x1000, 10, 100);
    const addrs = [0x2000, HIGH, 0xffff_ffff, 2 ** 53 - 1];
    const lens = new Uint32Array([1, 64, 0xffff_ffff, 1500]);
    const tokens = [1, 2, 3, 4];
    addBatch(a.vq, dir, addrs, lens, tokens, 4);
    addOneByOne(b.vq, dir, addrs, lens, tokens, 4);
    expectSame(a, b);
    expect(a.vq.numFree).toBe(3);
    expect(a.vq.availIdx).toBe(5);
    const chains = popAll(a, b);
    expect(chains.map((c) => c.head)).toEqual([0, 1, 2, 3, 4]);
    const segs = chains.slice(1).map((c) => (write ? c.writable : c.readable));
    expect(segs).toEqual(addrs.map((addr, k) => [{ addr, len: lens[k] }]));
    for (const c of chains) {
      const used = write && c.head > 0 ? c.writable[0].len : 0;
      a.dev.use(c.head, used);
      b.dev.use(c.head, used);
    }
    const got = new Array<number>(8).fill(0);
    const gotLens = new Uint32Array(8);
    expect(a.vq.getBufs(got, gotLens)).toBe(5);
    expect(got.slice(0, 5)).toEqual([100, 1, 2, 3, 4]);
    expect([...gotLens.slice(0, 5)]).toEqual(write ? [0, 1, 64, 0xffff_ffff, 1500] : [0, 0, 0, 0, 0]);
    for (const t of [100, 1, 2, 3, 4]) expect(b.vq.getBuf()).toBe(t);
    expectSame(a, b);
    expect(a.vq.numFree).toBe(8);
  });

  it("bounds each chain's used len by its own buffer", () => {
    const s = side();
    addBatch(s.vq, dir, [0x1000, 0x2000], [100, 200], [1, 2], 2);
    s.dev.use(1, write ? 200 : 0);
    s.dev.use(0, write ? 101 : 1);
    expect(s.vq.getBuf()).toBe(2);
    const room = write ? 100 : 0;
    const err = errorOf(() => s.vq.getBuf());
    expect([err.code, err.message]).toEqual([
      'EIO',
      `virtqueue 0: used len ${room + 1} is beyond the ${room} writable bytes of id 0`,
    ]);
  });

  it('reads only the first count elements of longer arrays', () => {
    const a = side();
    const b = side();
    const addrs = new Float64Array([0x1000, 0x2000, -1, NaN]);
    const lens = new Float64Array([10, 20, 0, 1.5]);
    const tokens = [7, 8, NO_TOKEN, NO_TOKEN];
    addBatch(a.vq, dir, addrs, lens, tokens, 2);
    addOneByOne(b.vq, dir, addrs, lens, tokens, 2);
    expectSame(a, b);
    expect(a.vq.availIdx).toBe(2);
  });

  it('count 0 is a no-op', () => {
    const a = side({ eventIdx: true });
    a.vq.addOutbuf(0x1000, 10, 1);
    const before = ringBytes(a);
    const state = observe(a);
    addBatch(a.vq, dir, [], [], [], 0);
    addBatch(a.vq, dir, [1], [1], [1], 0);
    expect(firstDiff(ringBytes(a), before)).toBe(-1);
    expect(observe(a)).toEqual(state);
  });

  /** Runs `act` and asserts it throws `code`/`message` and leaves the queue and its rings unchanged. */
  function expectRejected(s: Side, act: () => void, code: string, message: string): void {
    const before = ringBytes(s);
    const state = observe(s);
    const err = errorOf(act);
    expect([err.code, err.message]).toEqual([code, message]);
    expect(firstDiff(ringBytes(s), before)).toBe(-1);
    expect(observe(s)).toEqual(state);
  }

  /** A queue with some history: one chain in flight, one completed, indices away from 0. */
  function used(): Side {
    const s = side({ eventIdx: true, initialIdx: 65534 });
    s.vq.addOutbuf(0x1000, 10, 1);
    s.vq.addInbuf(0x2000, 20, 2);
    s.dev.pop();
    s.dev.use(0, 0);
    expect(s.vq.getBuf()).toBe(1);
    return s;
  }

  it.each<[string, number, number, number, string, string]>([
    [
      'an undefined token',
      0x1000,
      10,
      NO_TOKEN,
      'EINVAL',
      'token of virtqueue 0 is undefined (batch element 2)',
    ],
    [
      'a negative address',
      -1,
      10,
      9,
      'ERANGE',
      'buffer address -1 is not an address in [0, 2^53) (batch element 2)',
    ],
    [
      'an address of 2^53',
      2 ** 53,
      10,
      9,
      'ERANGE',
      'buffer address 9007199254740992 is not an address in [0, 2^53) (batch element 2)',
    ],
    [
      'a fractional address',
      0.5,
      10,
      9,
      'ERANGE',
      'buffer address 0.5 is not an address in [0, 2^53) (batch element 2)',
    ],
    [
      'a NaN address',
      NaN,
      10,
      9,
      'ERANGE',
      'buffer address NaN is not an address in [0, 2^53) (batch element 2)',
    ],
    ['a zero length', 0x1000, 0, 9, 'EINVAL', 'buffer length 0 is not in 1..4294967295 (batch element 2)'],
    [
      'a length of 2^32',
      0x1000,
      2 ** 32,
      9,
      'EINVAL',
      'buffer length 4294967296 is not in 1..4294967295 (batch element 2)',
    ],
    [
      'a fractional length',
      0x1000,
      1.5,
      9,
      'EINVAL',
      'buffer length 1.5 is not in 1..4294967295 (batch element 2)',
    ],
    ['a NaN length', 0x1000, NaN, 9, 'EINVAL', 'buffer length NaN is not in 1..4294967295 (batch element 2)'],
  ])('rejects %s in the batch with nothing written', (_what, addr, len, token, code, message) => {
    const s = used();
    const addrs = [0x3000, 0x4000, addr, 0x5000];
    const lens = [30, 40, len, 50];
    const tokens = [3, 4, token, 5];
    expectRejected(s, () => addBatch(s.vq, dir, addrs, lens, tokens, 4), code, message);
    // The single-buffer form gives the same code for the same value.
    expect(errorOf(() => addOneByOne(s.vq, dir, [addr], [len], [token], 1)).code).toBe(code);
  });

  it.each<[string, number, string]>([
    ['negative', -1, 'batch count -1 is not an integer in 0..3'],
    ['fractional', 1.5, 'batch count 1.5 is not an integer in 0..3'],
    ['NaN', NaN, 'batch count NaN is not an integer in 0..3'],
    ['infinite', Infinity, 'batch count Infinity is not an integer in 0..3'],
  ])('rejects a %s count with EINVAL', (_what, count, message) => {
    const s = used();
    expectRejected(s, () => addBatch(s.vq, dir, [1, 2, 3], [1, 2, 3], [1, 2, 3], count), 'EINVAL', message);
  });

  it.each<[string, number[], number[], number[]]>([
    ['addrs', [1, 2], [1, 2, 3], [1, 2, 3]],
    ['lens', [1, 2, 3], [1, 2], [1, 2, 3]],
    ['tokens', [1, 2, 3], [1, 2, 3], [1, 2]],
  ])('rejects a count larger than %s with EINVAL', (_what, addrs, lens, tokens) => {
    const s = used();
    const message = 'batch count 3 is not an integer in 0..2';
    expectRejected(s, () => addBatch(s.vq, dir, addrs, lens, tokens, 3), 'EINVAL', message);
  });

  it('throws ENOSPC, with nothing written, when fewer than count descriptors are free', () => {
    const s = used();
    const addrs = new Float64Array(8).fill(0x1000);
    const lens = new Uint32Array(8).fill(10);
    const tokens = [1, 2, 3, 4, 5, 6, 7, 8];
    const message = 'virtqueue 0 has 7 free descriptors, the batch needs 8';
    expectRejected(s, () => addBatch(s.vq, dir, addrs, lens, tokens, 8), 'ENOSPC', message);
    addBatch(s.vq, dir, addrs, lens, tokens, 7);
    expect(s.vq.numFree).toBe(0);
    expectRejected(
      s,
      () => addBatch(s.vq, dir, addrs, lens, tokens, 1),
      'ENOSPC',
      'virtqueue 0 has 0 free descriptors, the batch needs 1',
    );
  });

  it('checks the elements before the space', () => {
    const s = used();
    const message = 'buffer length 0 is not in 1..4294967295 (batch element 7)';
    const lens = [1, 1, 1, 1, 1, 1, 1, 0];
    expectRejected(
      s,
      () => addBatch(s.vq, dir, new Array(8).fill(1), lens, new Array(8).fill(1), 8),
      'EINVAL',
      message,
    );
  });

  it('throws EIO on a broken or destroyed queue, even for count 0', () => {
    const s = used();
    s.dev.use(7, 0);
    expect(errorOf(() => s.vq.getBuf()).code).toBe('EIO');
    for (const count of [0, 1, -1]) {
      expectRejected(s, () => addBatch(s.vq, dir, [1], [1], [1], count), 'EIO', 'virtqueue 0 is broken');
    }
    s.vq.destroy();
    expect(errorOf(() => addBatch(s.vq, dir, [1], [1], [1], 1)).message).toBe('virtqueue 0 is destroyed');
  });
});

/**
 * Drives A with batches and B one by one, the device completing everything after each batch, until
 * `total` chains were added; checks A and B agree after every batch. Returns the two sides.
 */
function runMany(
  options: Partial<VirtqueueOptions<number>>,
  sizes: readonly number[],
  total: number,
  afterBatch?: (a: Side, b: Side, added: number) => void,
): { a: Side; b: Side } {
  const a = side(options);
  const b = side(options);
  const num = a.vq.num;
  const addrs = new Float64Array(num);
  const lens = new Uint32Array(num);
  const tokens = new Array<number>(num).fill(0);
  const got = new Array<number>(num).fill(0);
  const gotLens = new Uint32Array(num);
  let added = 0;
  let reaped = 0;
  for (let i = 0; added < total; i++) {
    const n = Math.min(sizes[i % sizes.length], total - added);
    for (let k = 0; k < n; k++) {
      addrs[k] = HIGH + added + k;
      lens[k] = 1 + ((added + k) % 100);
      tokens[k] = added + k;
    }
    addBatch(a.vq, 'in', addrs, lens, tokens, n);
    addOneByOne(b.vq, 'in', addrs, lens, tokens, n);
    added += n;
    // The ring bytes are compared below: popping B alongside is enough to keep its device in step.
    for (let c = a.dev.pop(); c !== undefined; c = a.dev.pop()) {
      b.dev.pop();
      a.dev.use(c.head, c.writable[0].len);
      b.dev.use(c.head, c.writable[0].len);
    }
    const m = a.vq.getBufs(got, gotLens);
    for (let k = 0; k < m; k++) {
      if (got[k] !== reaped + k) throw new Error(`token ${got[k]}, expected ${reaped + k}`);
      if (b.vq.getBuf() !== got[k] || b.vq.lastLen !== gotLens[k]) throw new Error(`b differs at ${got[k]}`);
    }
    reaped += m;
    // Comparing every batch is the point; checking the bytes cheaply keeps 2^16 additions fast.
    if (ringsDiffer(a, b)) throw new Error(`rings differ after batch ${i}`);
    if (a.vq.availIdx !== b.vq.availIdx || a.vq.numFree !== b.vq.numFree)
      throw new Error(`state differs at ${i}`);
    afterBatch?.(a, b, added);
  }
  expectSame(a, b);
  return { a, b };
}

describe('the kick before 0xffff undecided additions', () => {
  it('fires inside a batch after the same addition as one by one, with avail.idx published first', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 8, 16),
        fc.boolean(),
        fc.integer({ min: 0, max: U16_MASK }),
        fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 5 }),
        (num, eventIdx, initialIdx, rawSizes) => {
          const sizes = rawSizes.map((n) => Math.min(n, num));
          // Nobody calls kick: only the forced decision notifies (avail_event stays at initialIdx, which
          // the first decision passes; without EVENT_IDX the device never sets NO_NOTIFY).
          const { a, b } = runMany({ num, eventIdx, initialIdx }, sizes, U16_MASK + 2 * num);
          const forced = (initialIdx + U16_MASK) & U16_MASK;
          expect(a.kicks).toEqual([forced]);
          expect(a.seen).toEqual([forced]);
          expect(b.kicks).toEqual([forced]);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('is a decision even when it does not notify, and restarts the count', () => {
    // NO_NOTIFY around the first forced decision, cleared soon after: only the second one notifies.
    const { a } = runMany({ num: 8, eventIdx: false }, [8, 3, 5], 2 * U16_MASK + 10, (x, y, added) => {
      const flags = added < U16_MASK + 100 ? VIRTQ_USED_F_NO_NOTIFY : 0;
      x.dev.setUsedFlags(flags);
      y.dev.setUsedFlags(flags);
    });
    expect(a.kicks).toEqual([(2 * U16_MASK) & U16_MASK]);
    expect(a.seen).toEqual(a.kicks);
  });

  it('when notify throws, the batch stops after the kicking element, as one by one would', () => {
    const boom = (): never => {
      throw new Error('doorbell failed');
    };
    const a = side({ num: 8 }, boom);
    const b = side({ num: 8 }, boom);
    const addrs = new Float64Array(8).fill(0x1000);
    const lens = new Uint32Array(8).fill(10);
    const tokens = [0, 1, 2, 3, 4, 5, 6, 7];
    // 0xffff = 8 * 8191 + 7: the 8192nd batch of 8 kicks at its 7th element.
    for (let i = 0; i < 8191; i++) {
      addBatch(a.vq, 'out', addrs, lens, tokens, 8);
      addOneByOne(b.vq, 'out', addrs, lens, tokens, 8);
      for (let c = a.dev.pop(); c !== undefined; c = a.dev.pop()) {
        b.dev.pop();
        a.dev.use(c.head, 0);
        b.dev.use(c.head, 0);
      }
      for (let k = 0; k < 8; k++) {
        a.vq.getBuf();
        b.vq.getBuf();
      }
    }
    expectSame(a, b);
    expect(() => addBatch(a.vq, 'out', addrs, lens, tokens, 8)).toThrow('doorbell failed');
    expect(() => addOneByOne(b.vq, 'out', addrs, lens, tokens, 8)).toThrow('doorbell failed');
    expectSame(a, b);
    expect(a.vq.numFree).toBe(1);
    expect(a.kicks).toEqual([U16_MASK]);
  });

  /**
   * 8191 batches of 8 (65528 additions), each used and reaped, then one more batch of 8: its 7th
   * addition reaches 0xffff and kicks inside the batch.
   */
  function batchPastForcedKick(a: Side): void {
    upToForcedKick(a);
    addBatch(
      a.vq,
      'out',
      new Float64Array(8).fill(0x1000),
      new Uint32Array(8).fill(10),
      [0, 1, 2, 3, 4, 5, 6, 7],
      8,
    );
  }

  /** The 8191 batches of {@link batchPastForcedKick} before its last one. */
  function upToForcedKick(a: Side): void {
    const addrs = new Float64Array(8).fill(0x1000);
    const lens = new Uint32Array(8).fill(10);
    const tokens = [0, 1, 2, 3, 4, 5, 6, 7];
    for (let i = 0; i < 8191; i++) {
      addBatch(a.vq, 'out', addrs, lens, tokens, 8);
      for (let c = a.dev.pop(); c !== undefined; c = a.dev.pop()) a.dev.use(c.head, 0);
      for (let k = 0; k < 8; k++) a.vq.getBuf();
    }
  }

  it('re-checks the queue after a notify that re-entered it', () => {
    const a = side({ num: 8 }, (q) => {
      // The notify handler takes the free descriptor itself: the rest of the batch no longer fits.
      while (q.numFree > 0) q.addOutbuf(0x9000, 1, 99);
    });
    const err = errorOf(() => batchPastForcedKick(a));
    expect([err.code, err.message]).toEqual([
      'ENOSPC',
      'virtqueue 0 has 0 free descriptors, the rest of the batch needs 1',
    ]);
    // 0xffff from the batches, then the handler's one: the index wrapped to 0.
    expect(a.vq.availIdx).toBe(0);
    expect(a.kicks).toEqual([U16_MASK]);
    expect(a.dev.availIdx()).toBe(a.vq.availIdx);
  });

  it('checks again the elements a notify changed inside the batch', () => {
    const tokens: (number | undefined)[] = [0, 1, 2, 3, 4, 5, 6, 7];
    const addrs = new Float64Array(8).fill(0x1000);
    const lens = new Uint32Array(8).fill(10);
    let armed = false;
    const a = side({ num: 8 }, () => {
      if (armed) tokens[7] = undefined;
    });
    upToForcedKick(a);
    armed = true;
    const err = errorOf(() => a.vq.addOutbufs(addrs, lens, tokens as number[], 8));
    expect([err.code, err.message]).toEqual([
      'EINVAL',
      'token of virtqueue 0 is undefined (batch element 7)',
    ]);
    // The seven before the kick stay added; the changed one was not.
    expect(a.kicks).toEqual([U16_MASK]);
    expect([a.vq.availIdx, a.vq.numFree, a.dev.availIdx()]).toEqual([U16_MASK, 1, U16_MASK]);
  });

  it('stops with ECANCELED after a notify that reset the queue', () => {
    const a = side({ num: 8 }, (q) => q.reset());
    const err = errorOf(() => batchPastForcedKick(a));
    expect([err.code, err.message]).toEqual([
      'ECANCELED',
      'virtqueue 0 was reset by its notify during a batch: the reset dropped the 7 buffers added ' +
        'before it; 1 of 8 not added',
    ]);
    expect(a.kicks).toEqual([U16_MASK]);
    // Nothing was added after the reset.
    expect([a.vq.availIdx, a.vq.numFree, a.dev.availIdx()]).toEqual([0, 8, 0]);
  });
});

describe('property: batched adds are indistinguishable from one-by-one adds', () => {
  interface Elem {
    addr: number;
    len: number;
    token: boolean;
  }
  type Op =
    | { kind: 'add'; dir: Dir; elems: Elem[]; typed: boolean; slack: number }
    | { kind: 'chain'; outLens: number[]; inLens: number[] }
    | { kind: 'device'; picks: number[]; fracs: number[] }
    | { kind: 'reap'; max: number }
    | { kind: 'get' }
    | { kind: 'kick' }
    | { kind: 'arm'; offset: number }
    | { kind: 'cb'; which: 0 | 1 | 2 };

  const goodElem: fc.Arbitrary<Elem> = fc.record({
    addr: fc.oneof(
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.constant(HIGH),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    ),
    len: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.constant(0xffff_ffff)),
    token: fc.constant(true),
  });
  const badElem: fc.Arbitrary<Elem> = fc.constantFrom<Elem>(
    { addr: 0x1000, len: 1, token: false },
    { addr: -1, len: 1, token: true },
    { addr: 2 ** 53, len: 1, token: true },
    { addr: 0x1000, len: 0, token: true },
    { addr: 0x1000, len: 2 ** 32, token: true },
    { addr: 0x1000, len: 2.5, token: true },
  );
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('add' as const),
        dir: fc.constantFrom<Dir>('out', 'in'),
        elems: fc.array(fc.oneof({ weight: 30, arbitrary: goodElem }, { weight: 1, arbitrary: badElem }), {
          maxLength: 18,
        }),
        typed: fc.boolean(),
        slack: fc.integer({ min: 0, max: 2 }),
      }),
    },
    {
      // Multi-buffer chains (direct or indirect), added alike on both: getBufs must free them as getBuf does.
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('chain' as const),
        outLens: fc.array(fc.integer({ min: 1, max: 2000 }), { maxLength: 3 }),
        inLens: fc.array(fc.integer({ min: 1, max: 2000 }), { maxLength: 3 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('device' as const),
        picks: fc.array(fc.nat(), { maxLength: 16 }),
        fracs: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 16, maxLength: 16 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('reap' as const), max: fc.integer({ min: 0, max: 20 }) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('get' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('kick' as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('arm' as const), offset: fc.integer({ min: 0, max: 20 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('cb' as const), which: fc.constantFrom<0 | 1 | 2>(0, 1, 2) }),
    },
  );

  /** The code addOutbufs must throw for `elems[0..count)` with `numFree` free, or undefined. */
  function expectedCode(elems: readonly Elem[], numFree: number): string | undefined {
    for (const e of elems) {
      if (!e.token) return 'EINVAL';
      if (!Number.isSafeInteger(e.addr) || e.addr < 0) return 'ERANGE';
      if (!Number.isInteger(e.len) || e.len < 1 || e.len > 0xffff_ffff) return 'EINVAL';
    }
    return elems.length > numFree ? 'ENOSPC' : undefined;
  }

  it('same rings, state, notifies, tokens and lengths after every step', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 8, 16),
        fc.boolean(),
        fc.boolean(),
        fc.oneof(fc.integer({ min: U16_MASK - 40, max: U16_MASK }), fc.integer({ min: 0, max: U16_MASK })),
        fc.array(opArb, { minLength: 10, maxLength: 150, size: 'max' }),
        (num, eventIdx, indirect, initialIdx, ops) => {
          const options = { num, eventIdx, indirect, initialIdx };
          const a = side(options);
          const b = side(options);
          const popped: Chain[] = [];
          let nextToken = 0;
          const got = new Array<number>(8).fill(-1);
          const gotLens = new Uint32Array(8);

          for (const op of ops) {
            switch (op.kind) {
              case 'add': {
                const count = op.elems.length;
                // Arrays longer than count, their tail invalid: it must be ignored.
                const size = count + op.slack;
                const addrs = op.typed ? new Float64Array(size).fill(-1) : new Array<number>(size).fill(-1);
                const lens = op.typed ? new Float64Array(size) : new Array<number>(size).fill(0);
                const tokens = new Array<number>(size).fill(NO_TOKEN);
                op.elems.forEach((e, k) => {
                  addrs[k] = e.addr;
                  lens[k] = e.len;
                  tokens[k] = e.token ? nextToken + k : NO_TOKEN;
                });
                const code = expectedCode(op.elems, a.vq.numFree);
                if (code === undefined) {
                  addBatch(a.vq, op.dir, addrs, lens, tokens, count);
                  addOneByOne(b.vq, op.dir, addrs, lens, tokens, count);
                  nextToken += count;
                } else {
                  // All or nothing: B, left alone, is what A must still look like.
                  expect(errorOf(() => addBatch(a.vq, op.dir, addrs, lens, tokens, count)).code).toBe(code);
                }
                break;
              }
              case 'chain': {
                const out = new BufferList();
                const inb = new BufferList();
                op.outLens.forEach((len, k) => out.push(HIGH + 0x1000 * k, len));
                op.inLens.forEach((len, k) => inb.push(0x8000 + 0x1000 * k, len));
                const codes = [a, b].map((s) => {
                  try {
                    s.vq.add(out, inb, nextToken);
                    return 'ok';
                  } catch (err) {
                    if (!(err instanceof VringError)) throw err;
                    return err.code;
                  }
                });
                expect(codes[0]).toBe(codes[1]);
                if (codes[0] === 'ok') nextToken++;
                break;
              }
              case 'device': {
                popped.push(...popAll(a, b));
                for (const [i, pick] of op.picks.entries()) {
                  if (popped.length === 0) break;
                  const [c] = popped.splice(pick % popped.length, 1);
                  const room = c.writable.reduce((n, s) => n + s.len, 0);
                  const len = Math.floor(room * op.fracs[i]);
                  a.dev.use(c.head, len);
                  b.dev.use(c.head, len);
                }
                break;
              }
              case 'reap': {
                // A reaps with getBufs, B with getBuf: the reference for both the adds and the reaps. With
                // max 0 getBufs takes nothing and, like no getBuf call, leaves used_event alone.
                const n = a.vq.getBufs(got, gotLens, op.max);
                const limit = Math.max(0, Math.min(op.max, gotLens.length));
                const ref: number[] = [];
                const refLens: number[] = [];
                for (let t = ref.length < limit ? b.vq.getBuf() : undefined; t !== undefined;) {
                  ref.push(t);
                  refLens.push(b.vq.lastLen);
                  t = ref.length < limit ? b.vq.getBuf() : undefined;
                }
                expect(got.slice(0, n)).toEqual(ref);
                expect([...gotLens.slice(0, n)]).toEqual(refLens);
                break;
              }
              case 'get': {
                expect(a.vq.getBuf()).toBe(b.vq.getBuf());
                break;
              }
              case 'kick': {
                expect(a.vq.kick()).toBe(b.vq.kick());
                break;
              }
              case 'arm': {
                for (const s of [a, b]) {
                  if (eventIdx) s.dev.setAvailEvent(s.dev.lastAvail + op.offset);
                  else s.dev.setUsedFlags(op.offset % 2 === 0 ? 0 : VIRTQ_USED_F_NO_NOTIFY);
                }
                break;
              }
              case 'cb': {
                if (op.which === 0) {
                  a.vq.disableCb();
                  b.vq.disableCb();
                } else if (op.which === 1) {
                  expect(a.vq.enableCb()).toBe(b.vq.enableCb());
                } else {
                  expect(a.vq.enableCbDelayed()).toBe(b.vq.enableCbDelayed());
                }
                break;
              }
            }
            expectSame(a, b);
            expect(a.vq.isBroken).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('property: getBufs catches every bad used element getBuf catches', () => {
  type Used =
    | { kind: 'good'; pick: number; frac: number }
    | { kind: 'range'; id: number }
    | { kind: 'free'; pick: number }
    | { kind: 'again'; pick: number }
    | { kind: 'long'; pick: number; extra: number };

  const usedArb: fc.Arbitrary<Used> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('good' as const),
        pick: fc.nat(),
        frac: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('range' as const),
        id: fc.integer({ min: 8, max: 0xffff_ffff }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('again' as const), pick: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('long' as const),
        pick: fc.nat(),
        extra: fc.integer({ min: 1, max: 0xffff_ffff }),
      }),
    },
  );

  it('getBufs returns what getBuf returns, then throws the same EIO', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: U16_MASK }),
        fc.array(usedArb, { maxLength: 8 }),
        fc.integer({ min: 1, max: 8 }),
        (inFlight, sizes, initialIdx, writes, max) => {
          const a = side({ num: 8, eventIdx: true, initialIdx });
          const b = side({ num: 8, eventIdx: true, initialIdx });
          for (let k = 0; k < inFlight; k++) {
            // Size 0 stands for a device-readable buffer (0 writable bytes).
            for (const s of [a, b]) {
              if (sizes[k] === 0) s.vq.addOutbuf(0x1000, 1, k);
              else s.vq.addInbuf(0x1000, sizes[k], k);
            }
          }
          const chains = popAll(a, b);
          const room = new Map(chains.map((c) => [c.head, c.writable.reduce((n, s) => n + s.len, 0)]));
          const open = [...room.keys()];
          const done: number[] = [];
          const free = [...Array(8).keys()].filter((id) => !room.has(id));
          for (const w of writes) {
            let id: number;
            let len = 0;
            if (w.kind === 'good' && open.length > 0) {
              [id] = open.splice(w.pick % open.length, 1);
              len = Math.floor((room.get(id) ?? 0) * w.frac);
              done.push(id);
            } else if (w.kind === 'range') {
              id = w.id;
            } else if (w.kind === 'free' && free.length > 0) {
              id = free[w.pick % free.length];
            } else if (w.kind === 'again' && done.length > 0) {
              id = done[w.pick % done.length];
            } else if (w.kind === 'long' && open.length > 0) {
              id = open[w.pick % open.length];
              len = Math.min(0xffff_ffff, (room.get(id) ?? 0) + w.extra);
            } else {
              // Nothing of that kind to pick from: a used element with no chain in flight at all.
              id = free.length > 0 ? free[0] : 8;
            }
            a.dev.use(id, len);
            b.dev.use(id, len);
          }

          const ref: number[] = [];
          const refLens: number[] = [];
          let refErr: VringError | undefined;
          try {
            for (let t = b.vq.getBuf(); t !== undefined; t = b.vq.getBuf()) {
              ref.push(t);
              refLens.push(b.vq.lastLen);
            }
          } catch (err) {
            if (!(err instanceof VringError)) throw err;
            refErr = err;
          }

          const got: number[] = [];
          const gotLens: number[] = [];
          const tokens = new Array<number>(max).fill(-1);
          const lens = new Uint32Array(max);
          let gotErr: VringError | undefined;
          try {
            for (let n = a.vq.getBufs(tokens, lens); n > 0; n = a.vq.getBufs(tokens, lens)) {
              got.push(...tokens.slice(0, n));
              gotLens.push(...lens.slice(0, n));
            }
          } catch (err) {
            if (!(err instanceof VringError)) throw err;
            gotErr = err;
          }
          expect(got).toEqual(ref);
          expect(gotLens).toEqual(refLens);
          expect(gotErr?.message).toBe(refErr?.message);
          expect(gotErr?.code).toBe(refErr?.code);
          expectSame(a, b);
        },
      ),
      { numRuns: 500 },
    );
  });
});
