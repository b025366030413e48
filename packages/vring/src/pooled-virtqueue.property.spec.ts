import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VringError } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { DmaAllocator } from './dma-allocator.js';
import { PooledVirtqueue } from './pooled-virtqueue.js';
import { vringAvailSize, vringDescSize, vringUsedSize } from '@vdpa-kit/virtio-spec';
import { FakeDevice } from '../test/fake-device.js';
import { errorOf } from '../test/error-of.js';

const MEM_SIZE = 1 << 16;
const U16_MASK = 0xffff;
const NUM_RUNS = 200;

interface Setup {
  mem: GuestMemory;
  vq: PooledVirtqueue;
  dev: FakeDevice;
}

function setup(
  num: number,
  bufSize: number,
  writable: boolean,
  eventIdx: boolean,
  initialIdx: number,
): Setup {
  const mem = GuestMemory.create({ size: MEM_SIZE });
  const dma = new DmaAllocator(mem);
  const vq = PooledVirtqueue.create(mem, dma, {
    index: 0,
    num,
    eventIdx,
    bufSize,
    bufAlign: 8,
    writable,
    notify: () => {},
    initialIdx,
  });
  return { mem, vq, dev: new FakeDevice(mem, vq.layout, initialIdx) };
}

/**
 * The driver's view of the pool, kept independently of the queue: the slots in flight with the length
 * each was posted with, and the ring positions.
 */
class Model {
  /** slot -> posted length (what the descriptor says). */
  readonly inFlight = new Map<number, number>();
  availIdx: number;
  lastUsed: number;

  constructor(
    readonly num: number,
    readonly bufSize: number,
    readonly writable: boolean,
    start: number,
  ) {
    this.availIdx = start;
    this.lastUsed = start;
  }

  get nextSlot(): number {
    return this.availIdx & (this.num - 1);
  }

  /** Consecutive free slots from nextSlot, in ring order. */
  freeRun(): number {
    let n = 0;
    while (n < this.num && !this.inFlight.has((this.availIdx + n) & (this.num - 1))) n++;
    return n;
  }

  /** The largest used len the device may report for `slot`, -1 when it is not in flight. */
  limit(slot: number): number {
    const posted = this.inFlight.get(slot);
    if (posted === undefined) return -1;
    return this.writable ? posted : 0;
  }

  post(count: number, lens: readonly number[] | undefined): void {
    for (let k = 0; k < count; k++) {
      const slot = (this.availIdx + k) & (this.num - 1);
      if (this.inFlight.has(slot)) throw new Error(`model: slot ${slot} posted twice`);
      this.inFlight.set(slot, lens === undefined ? this.bufSize : lens[k]);
    }
    this.availIdx = (this.availIdx + count) & U16_MASK;
  }

  reset(): void {
    this.inFlight.clear();
    this.availIdx = 0;
    this.lastUsed = 0;
  }
}

/**
 * `expect(actual).toEqual(expected)`, compared as JSON first: the property runs thousands of steps, and
 * an expect per field would dominate its run time.
 */
function same(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected))
    expect({ [what]: actual }).toEqual({ [what]: expected });
}

/** What the queue says about its pool, next to what the model says: equal after every step. */
function checkState(vq: PooledVirtqueue, m: Model): void {
  let actual = `${vq.availIdx} ${vq.nextSlot} ${vq.lastUsedIdx} ${vq.numFree} ${vq.freeRun()}`;
  let expected = `${m.availIdx} ${m.nextSlot} ${m.lastUsed} ${m.num - m.inFlight.size} ${m.freeRun()}`;
  for (let s = 0; s < m.num; s++) {
    actual += vq.inFlight(s) ? ' 1' : ' 0';
    expected += m.inFlight.has(s) ? ' 1' : ' 0';
  }
  // Compared as strings first: one expect per step would dominate the run time.
  if (actual !== expected) {
    expect('availIdx nextSlot lastUsedIdx numFree freeRun inFlight...: ' + actual).toBe(
      'availIdx nextSlot lastUsedIdx numFree freeRun inFlight...: ' + expected,
    );
  }
}

type Step =
  | { kind: 'post'; exact: boolean; frac: number; withLens: boolean; lens: number[] }
  | { kind: 'pop'; n: number }
  | { kind: 'use'; picks: number[]; fracs: number[] }
  | { kind: 'reap'; max: number; reclaim: boolean };

/** A fraction in [0, 1), uniform (fc.double favours tiny values, which would make most posts empty). */
const frac = fc.integer({ min: 0, max: 0xffff }).map((x) => x / 0x10000);

/** Queue sizes, the small ones less often: a queue of 1 or 2 moves few buffers per step. */
const numArb = fc.oneof(
  { arbitrary: fc.constant(1), weight: 1 },
  { arbitrary: fc.constant(2), weight: 2 },
  { arbitrary: fc.constant(4), weight: 3 },
  { arbitrary: fc.constant(8), weight: 3 },
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('post' as const),
    exact: fc.boolean(),
    frac,
    withLens: fc.boolean(),
    lens: fc.array(fc.nat({ max: 1 << 20 }), { minLength: 8, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('pop' as const), n: fc.integer({ min: 0, max: 9 }) }),
  fc.record({
    kind: fc.constant('use' as const),
    picks: fc.array(fc.nat({ max: 64 }), { minLength: 1, maxLength: 8 }),
    fracs: fc.array(frac, { minLength: 8, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('reap' as const),
    max: fc.integer({ min: 0, max: 10 }),
    reclaim: fc.boolean(),
  }),
);

describe('property: PooledVirtqueue against a model of its pool', () => {
  it('reap returns the device uses in order; numFree, freeRun, inFlight and ENOSPC follow the model', () => {
    fc.assert(
      fc.property(
        numArb,
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 65530),
        fc.array(stepArb, { minLength: 80, maxLength: 200 }),
        (num, bufSize, writable, eventIdx, initialIdx, steps) => {
          const { mem, vq, dev } = setup(num, bufSize, writable, eventIdx, initialIdx);
          const m = new Model(num, bufSize, writable, initialIdx);
          /** Popped by the device, not used yet. */
          const popped: number[] = [];
          /** Used by the device, not reaped yet: in used-ring order. */
          const used: { slot: number; len: number }[] = [];
          let devPos: number = initialIdx;
          let usedEvent: number = initialIdx;
          const slots = new Uint16Array(num + 2);
          const lens = new Uint32Array(num + 2);
          for (const step of steps) {
            switch (step.kind) {
              case 'post': {
                const run = m.freeRun();
                // Half the posts take the whole run: post(freeRun()) is accepted.
                const k = step.exact ? run : Math.floor(step.frac * (run + 1));
                const postLens = step.withLens ? step.lens.map((x) => 1 + (x % bufSize)) : undefined;
                vq.post(k, postLens);
                m.post(k, postLens);
                same('avail.idx', dev.availIdx(), m.availIdx);
                break;
              }
              case 'pop': {
                for (let i = 0; i < step.n; i++) {
                  const c = dev.pop();
                  if (devPos === m.availIdx) {
                    same('nothing more available', c, undefined);
                    break;
                  }
                  const slot = devPos & (num - 1);
                  const posted = m.inFlight.get(slot);
                  const seg = [{ addr: vq.bufferAddr(slot), len: posted ?? -1 }];
                  same('chain', c, {
                    head: slot,
                    indirect: false,
                    readable: writable ? [] : seg,
                    writable: writable ? seg : [],
                  });
                  popped.push(slot);
                  devPos = (devPos + 1) & U16_MASK;
                }
                break;
              }
              case 'use': {
                for (let i = 0; i < step.picks.length && popped.length > 0; i++) {
                  const [slot] = popped.splice(step.picks[i] % popped.length, 1);
                  const len = writable ? Math.floor(step.fracs[i] * (m.limit(slot) + 1)) : 0;
                  dev.use(slot, len);
                  used.push({ slot, len });
                }
                break;
              }
              case 'reap': {
                const n = step.reclaim ? vq.reclaim(step.max) : vq.reap(slots, lens, step.max);
                const expected = used.splice(0, Math.min(step.max, used.length));
                same('taken', n, expected.length);
                if (!step.reclaim) {
                  same(
                    'slots',
                    [...slots.subarray(0, n)],
                    expected.map((e) => e.slot),
                  );
                  same(
                    'lens',
                    [...lens.subarray(0, n)],
                    expected.map((e) => e.len),
                  );
                }
                for (const e of expected) m.inFlight.delete(e.slot);
                m.lastUsed = (m.lastUsed + n) & U16_MASK;
                // used_event moves (to lastUsedIdx) only with EVENT_IDX and only when something was taken.
                if (eventIdx && n > 0) usedEvent = m.lastUsed;
                same('used_event', dev.usedEvent(), usedEvent);
                break;
              }
            }
            same('broken', vq.isBroken, false);
            checkState(vq, m);
            // One more than the run never fits: ENOSPC (EINVAL past num), and nothing changes.
            const over = errorOf(() => vq.post(m.freeRun() + 1));
            same('post(freeRun() + 1)', over.code, m.freeRun() < num ? 'ENOSPC' : 'EINVAL');
            checkState(vq, m);
            same('avail.idx', dev.availIdx(), m.availIdx);
          }
          // Drain: everything posted comes back, and then the whole pool can be posted again.
          for (let c = dev.pop(); c !== undefined; c = dev.pop()) popped.push(c.head);
          for (const slot of popped) {
            dev.use(slot, 0);
            used.push({ slot, len: 0 });
          }
          popped.length = 0;
          expect(vq.reap(slots, lens, num)).toBe(used.length);
          expect([...slots.subarray(0, used.length)]).toEqual(used.map((e) => e.slot));
          for (const e of used) m.inFlight.delete(e.slot);
          m.lastUsed = (m.lastUsed + used.length) & U16_MASK;
          checkState(vq, m);
          expect([vq.numFree, vq.freeRun()]).toEqual([num, num]);
          vq.post(num);
          expect(mem.readU16(vq.layout.availAddr + 2)).toBe((m.availIdx + num) & U16_MASK);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

const MISC_OPS = ['kick', 'enableCb', 'enableCbDelayed', 'disableCb', 'interrupt', 'moreUsed'] as const;
type MiscOp = (typeof MISC_OPS)[number];

/** One thing the device or the driver does in the garbage property. */
type GStep =
  | { kind: 'post'; exact: boolean; frac: number; withLens: boolean; lens: number[] }
  | { kind: 'usedIdx'; delta: number }
  | { kind: 'usedIdxAny'; idx: number }
  | { kind: 'elem'; at: number; id: number; len: number }
  | {
      kind: 'use';
      idMode: 'inFlight' | 'num' | 'any';
      idPick: number;
      id: number;
      lenMode: 'ok' | 'at' | 'above' | 'any';
      frac: number;
      len: number;
    }
  | { kind: 'reap'; max: number; reclaim: boolean }
  | { kind: 'misc'; op: MiscOp }
  | { kind: 'reset' };

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const gstepArb: fc.Arbitrary<GStep> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('post' as const),
      exact: fc.boolean(),
      frac,
      withLens: fc.boolean(),
      lens: fc.array(fc.integer({ min: 1, max: 1 << 20 }), { minLength: 8, maxLength: 8 }),
    }),
    weight: 8,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('usedIdx' as const), delta: fc.integer({ min: -2, max: 4 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('usedIdxAny' as const),
      idx: fc.integer({ min: 0, max: U16_MASK }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('elem' as const),
      at: fc.nat({ max: 7 }),
      id: fc.oneof(fc.nat({ max: 9 }), u32),
      len: fc.oneof(fc.nat({ max: 70 }), u32),
    }),
    weight: 2,
  },
  {
    // A use at the device's used index: mostly of a slot in flight, with a length at, under or just
    // over its limit, so that good elements, bad ones and good-then-bad batches all happen.
    arbitrary: fc.record({
      kind: fc.constant('use' as const),
      idMode: fc.oneof(
        { arbitrary: fc.constant('inFlight' as const), weight: 14 },
        { arbitrary: fc.constant('num' as const), weight: 1 },
        { arbitrary: fc.constant('any' as const), weight: 1 },
      ),
      idPick: fc.nat({ max: 64 }),
      id: fc.oneof(fc.nat({ max: 9 }), u32),
      lenMode: fc.oneof(
        { arbitrary: fc.constant('ok' as const), weight: 14 },
        { arbitrary: fc.constant('at' as const), weight: 3 },
        { arbitrary: fc.constant('above' as const), weight: 1 },
        { arbitrary: fc.constant('any' as const), weight: 1 },
      ),
      frac,
      len: fc.oneof(fc.nat({ max: 70 }), u32),
    }),
    weight: 16,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('reap' as const),
      max: fc.oneof(fc.integer({ min: -1, max: 10 }), fc.constant(1.5)),
      reclaim: fc.boolean(),
    }),
    weight: 10,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('misc' as const),
      op: fc.constantFrom(...MISC_OPS),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'reset' as const }), weight: 4 },
);

/** Runs `fn`; a VringError('EIO') is the only exception allowed. @returns the result, or 'EIO' */
function onlyEio<T>(fn: () => T): T | 'EIO' {
  try {
    return fn();
  } catch (err) {
    if (err instanceof VringError && err.code === 'EIO') return 'EIO';
    throw err;
  }
}

/**
 * What reap/reclaim must do with what is in the used ring, by the rules of the class comment: an error
 * when the used index runs ahead, else the elements up to the first bad one (an error when it is the
 * first).
 */
function predict(
  mem: GuestMemory,
  vq: PooledVirtqueue,
  m: Model,
  broken: boolean,
  max: number,
): { throws: boolean; elems: { slot: number; len: number }[] } {
  if (broken) return { throws: true, elems: [] };
  const { usedAddr, num } = vq.layout;
  const usedIdx = mem.readU16(usedAddr + 2);
  const pending = (usedIdx - m.lastUsed) & U16_MASK;
  if (pending === 0) return { throws: false, elems: [] };
  if (pending > ((m.availIdx - m.lastUsed) & U16_MASK)) return { throws: true, elems: [] };
  const take = Math.min(pending, max);
  const elems: { slot: number; len: number }[] = [];
  const taken = new Set<number>();
  for (let k = 0; k < take; k++) {
    const e = usedAddr + 4 + 8 * ((m.lastUsed + k) & (num - 1));
    const id = mem.readU32(e);
    const len = mem.readU32(e + 4);
    const ok = id < num && !taken.has(id) && len <= m.limit(id);
    if (!ok) return { throws: k === 0, elems };
    taken.add(id);
    elems.push({ slot: id, len });
  }
  return { throws: false, elems };
}

describe('property: garbage in the used ring', () => {
  it('only ever yields a normal return or VringError(EIO), exactly as predicted, and writes only the rings', () => {
    fc.assert(
      fc.property(
        numArb,
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 65530, 65535),
        fc.array(gstepArb, { minLength: 30, maxLength: 100 }),
        (num, bufSize, writable, eventIdx, initialIdx, steps) => {
          const { mem, vq } = setup(num, bufSize, writable, eventIdx, initialIdx);
          const { descAddr, availAddr, usedAddr } = vq.layout;
          const areas: [number, number][] = [
            [descAddr, vringDescSize(num)],
            [availAddr, vringAvailSize(num)],
            [usedAddr, vringUsedSize(num)],
            [vq.poolAddr, num * vq.bufStride],
          ];
          const inside = new Uint8Array(MEM_SIZE);
          for (const [start, size] of areas) inside.fill(1, start, start + size);
          // Everything outside the areas gets a pattern; the pool gets another (nobody may write it).
          const whole = mem.view(0, MEM_SIZE);
          for (let a = 0; a < MEM_SIZE; a++) if (inside[a] === 0) whole[a] = (a * 131 + 7) & 0xff;
          mem.fill(vq.poolAddr, num * vq.bufStride, 0x3c);
          const snapshot = whole.slice();
          const m = new Model(num, bufSize, writable, initialIdx);
          let broken = false;
          const slots: number[] = new Array<number>(10).fill(0);
          const lens = new Uint32Array(10);
          let deviceIdx: number = initialIdx;
          for (const step of steps) {
            switch (step.kind) {
              case 'post': {
                const run = m.freeRun();
                const k = step.exact ? run : Math.floor(step.frac * (run + 1));
                const postLens = step.withLens ? step.lens.map((x) => 1 + (x % bufSize)) : undefined;
                const r = onlyEio(() => vq.post(k, postLens));
                same('post threw EIO', r === 'EIO', broken);
                if (!broken) m.post(k, postLens);
                break;
              }
              // The used index moved by a little (often past what is available), or anywhere.
              case 'usedIdx':
                mem.writeU16(usedAddr + 2, (m.lastUsed + step.delta) & U16_MASK);
                deviceIdx = (m.lastUsed + step.delta) & U16_MASK;
                break;
              case 'usedIdxAny':
                mem.writeU16(usedAddr + 2, step.idx);
                deviceIdx = step.idx;
                break;
              // An element anywhere in the used ring, pending or not, with any id and len.
              case 'elem': {
                const e = usedAddr + 4 + 8 * (step.at & (num - 1));
                mem.writeU32(e, step.id);
                mem.writeU32(e + 4, step.len);
                break;
              }
              case 'use': {
                // Slots in flight that no used element between lastUsedIdx and the device's index names.
                const named = new Set<number>();
                const ahead = (deviceIdx - m.lastUsed) & U16_MASK;
                for (let j = 0; j < Math.min(ahead, num); j++) {
                  named.add(mem.readU32(usedAddr + 4 + 8 * ((m.lastUsed + j) & (num - 1))));
                }
                const flying = [...m.inFlight.keys()].filter((x) => !named.has(x)).sort((a, b) => a - b);
                let id = step.id;
                if (step.idMode === 'num') id = num;
                else if (step.idMode === 'inFlight') {
                  // A device that has nothing to use does not write (the other steps write garbage).
                  if (flying.length === 0) break;
                  id = flying[step.idPick % flying.length];
                }
                const lim = id < num ? Math.max(m.limit(id), 0) : 0;
                let len = step.len;
                if (step.lenMode === 'ok') len = Math.floor(step.frac * (lim + 1));
                else if (step.lenMode === 'at') len = lim;
                else if (step.lenMode === 'above') len = lim + 1;
                const e = usedAddr + 4 + 8 * (deviceIdx & (num - 1));
                mem.writeU32(e, id);
                mem.writeU32(e + 4, len);
                deviceIdx = (deviceIdx + 1) & U16_MASK;
                mem.writeU16(usedAddr + 2, deviceIdx);
                break;
              }
              case 'reap': {
                const limit = step.max > 0 ? Math.floor(step.max) : 0;
                const p = predict(mem, vq, m, broken, limit);
                const r = onlyEio(() =>
                  step.reclaim ? vq.reclaim(step.max) : vq.reap(slots, lens, step.max),
                );
                if (p.throws) {
                  same('reap result', r, 'EIO');
                  broken = true;
                } else {
                  same('reap result', r, p.elems.length);
                  if (!step.reclaim) {
                    same(
                      'slots',
                      slots.slice(0, p.elems.length),
                      p.elems.map((e) => e.slot),
                    );
                    same(
                      'lens',
                      [...lens.subarray(0, p.elems.length)],
                      p.elems.map((e) => e.len),
                    );
                  }
                  for (const e of p.elems) m.inFlight.delete(e.slot);
                  m.lastUsed = (m.lastUsed + p.elems.length) & U16_MASK;
                }
                break;
              }
              case 'misc': {
                const r = onlyEio(() => {
                  switch (step.op) {
                    case 'kick':
                      return vq.kick();
                    case 'enableCb':
                      return vq.enableCb();
                    case 'enableCbDelayed':
                      return vq.enableCbDelayed();
                    case 'disableCb':
                      return vq.disableCb();
                    case 'interrupt':
                      return vq.interrupt();
                    case 'moreUsed':
                      return vq.moreUsed();
                  }
                });
                const mayThrow =
                  step.op === 'kick' || step.op === 'enableCb' || step.op === 'enableCbDelayed';
                same(`${step.op} threw EIO`, r === 'EIO', broken && mayThrow);
                break;
              }
              case 'reset':
                vq.reset();
                m.reset();
                broken = false;
                deviceIdx = 0;
                break;
            }
            same('isBroken', vq.isBroken, broken);
            if (!broken) checkState(vq, m);
          }
          for (let a = 0; a < MEM_SIZE; a++) {
            if (inside[a] === 0 && whole[a] !== snapshot[a]) {
              expect(`byte at 0x${a.toString(16)} changed`).toBe('no byte outside the rings changed');
            }
          }
          expect(mem.view(vq.poolAddr, num * vq.bufStride).every((b) => b === 0x3c)).toBe(true);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
