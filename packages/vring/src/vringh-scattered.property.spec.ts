import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VHOST_ACCESS_RW,
  VHOST_ACCESS_RO,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '@vdpa-kit/virtio-spec';
import { VringError } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';
import { Iov } from './iov.js';
import { Vringh } from './vringh.js';

// vringh.c translates every ring field and descriptor through the IOTLB (getu16_iotlb, putu16_iotlb,
// copydesc_iotlb, putused_iotlb, copy_from_iotlb / copy_to_iotlb for buffers), so a ring whose areas a
// vIOMMU scatters over many small entries and shuffled pages works exactly as the same ring in one
// contiguous mapping. Here one IOVA window holds the three ring areas, indirect tables and buffers;
// it is mapped either whole onto one physical range, or cut into many small pieces (even sizes: a
// 16-bit field split over two entries is ENOBUFS for the kernel) placed on shuffled physical slots.
const WINDOW = 0x10_0000;
const SPAN = 0x8000;
const DESC = 0x0000;
const AVAIL = 0x1000;
const USED = 0x2000;
const ZONE = 0x3000;
const SLOT = 0x200;
const R = 0;
const W = VIRTQ_DESC_F_WRITE;
const N = VIRTQ_DESC_F_NEXT;
const I = VIRTQ_DESC_F_INDIRECT;

interface GenDesc {
  off: number;
  len: number;
  flags: number;
  next: number;
}

const descArb = (num: number): fc.Arbitrary<GenDesc> =>
  fc.record({
    // Mostly inside the window's zone, sometimes running out of it (a hole).
    off: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: ZONE, max: SPAN - 0x400 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: SPAN + 0x100 }) },
    ),
    len: fc.oneof(
      fc.integer({ min: 0, max: 0x300 }),
      fc.integer({ min: 0, max: 8 }).map((k) => 16 * k),
    ),
    flags: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(R, N, W, W | N) },
      { weight: 2, arbitrary: fc.constantFrom(I, I | N) },
    ),
    next: fc.integer({ min: 0, max: num }),
  });

const scenarioArb = fc.constantFrom(2, 4, 8, 16, 32).chain((num) =>
  fc.record({
    num: fc.constant(num),
    eventIdx: fc.boolean(),
    table: fc.array(descArb(num), { minLength: num, maxLength: num }),
    // Descriptors written into the zone at 16-byte slots: the entries of indirect tables.
    indirect: fc.array(fc.tuple(fc.integer({ min: 0, max: (SPAN - ZONE) / 16 - 1 }), descArb(8)), {
      maxLength: 40,
    }),
    heads: fc.array(
      fc.oneof({ weight: 20, arbitrary: fc.nat(num - 1) }, { weight: 1, arbitrary: fc.nat(70) }),
      {
        maxLength: num + 2,
      },
    ),
    garbage: fc.uint8Array({ minLength: 0x100, maxLength: 0x100 }),
    availFlags: fc.nat(1),
    usedEvent: fc.nat(0xffff),
    // Cut points of the scattered layout (even offsets), and a shuffle of the pieces.
    cuts: fc.uniqueArray(
      fc.integer({ min: 1, max: SPAN / 2 - 1 }).map((k) => 2 * k),
      {
        minLength: 64,
        maxLength: 400,
      },
    ),
    seed: fc.integer(),
  }),
);

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** The window's bytes as the driver wrote them (IOVA offset → byte). */
function image(s: Scenario): Uint8Array {
  const bytes = new Uint8Array(SPAN);
  for (let i = ZONE; i < SPAN; i++) bytes[i] = s.garbage[i & 0xff];
  const view = new DataView(bytes.buffer);
  const put = (at: number, d: GenDesc): void => {
    view.setUint32(at, WINDOW + d.off, true);
    view.setUint32(at + 4, 0, true);
    view.setUint32(at + 8, d.len, true);
    view.setUint16(at + 12, d.flags, true);
    view.setUint16(at + 14, d.next, true);
  };
  s.table.forEach((d, i) => put(DESC + 16 * i, d));
  for (const [slot, d] of s.indirect) put(ZONE + 16 * slot, d);
  view.setUint16(AVAIL, s.availFlags, true);
  s.heads.forEach((h, i) => view.setUint16(AVAIL + 4 + 2 * (i % s.num), h, true));
  view.setUint16(AVAIL + 2, s.heads.length, true);
  view.setUint16(AVAIL + 4 + 2 * s.num, s.usedEvent, true);
  return bytes;
}

interface Layout {
  mem: GuestMemory;
  tlb: Iotlb;
}

/** The window mapped whole onto physical [0x1000, + SPAN). */
function contiguous(bytes: Uint8Array): Layout {
  const mem = GuestMemory.create({ size: SPAN + 0x2000 });
  mem.write(0x1000, bytes);
  const tlb = new Iotlb();
  tlb.addRange(BigInt(WINDOW), BigInt(WINDOW + SPAN - 1), 0x1000n, VHOST_ACCESS_RW);
  return { mem, tlb };
}

/** The window cut at `cuts`, each piece on its own physical slot, slots in shuffled order. */
function scattered(bytes: Uint8Array, s: Scenario): Layout {
  const edges = [0, ...[...s.cuts].sort((a, b) => a - b), SPAN];
  const pieces = edges.slice(1).map((end, i) => ({ start: edges[i], end }));
  // Pieces longer than a slot are cut again.
  const small = pieces.flatMap(({ start, end }) => {
    const out = [];
    for (let a = start; a < end; a += SLOT) out.push({ start: a, end: Math.min(end, a + SLOT) });
    return out;
  });
  const order = small.map((_, i) => i);
  let x = s.seed >>> 0;
  for (let i = order.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const mem = GuestMemory.create({ size: (small.length + 1) * SLOT });
  const tlb = new Iotlb();
  small.forEach(({ start, end }, k) => {
    const pa = SLOT + order[k] * SLOT;
    mem.write(pa, bytes.subarray(start, end));
    tlb.addRange(BigInt(WINDOW + start), BigInt(WINDOW + end - 1), BigInt(pa), VHOST_ACCESS_RW);
  });
  return { mem, tlb };
}

/** What the device sees and does: every call's result or error code, in order. */
function drive(s: Scenario, l: Layout): unknown[] {
  const vrh = new Vringh();
  vrh.init({
    num: s.num,
    descAddr: WINDOW + DESC,
    availAddr: WINDOW + AVAIL,
    usedAddr: WINDOW + USED,
    eventIdx: s.eventIdx,
    mem: l.mem,
    iotlb: l.tlb,
  });
  const log: unknown[] = [];
  const attempt = (fn: () => unknown): unknown => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof VringError)) throw err;
      return err.code;
    }
  };
  const riov = new Iov(1);
  const wiov = new Iov(1);
  for (let i = 0; i < s.num + 4; i++) {
    const head = attempt(() => vrh.getdesc(riov, wiov));
    log.push(head, vrh.lastAvailIdx, riov.totalLength, wiov.totalLength);
    if (typeof head !== 'number') {
      if (vrh.lastAvailIdx === i) break;
      continue;
    }
    if (head < 0) break;
    const data = new Uint8Array(riov.totalLength);
    vrh.pull(riov, data);
    log.push(Array.from(data));
    const reply = new Uint8Array(wiov.totalLength).map((_, k) => (k * 13 + head) & 0xff);
    const written = vrh.push(wiov, reply);
    log.push(attempt(() => vrh.complete(head, written)));
  }
  log.push(attempt(() => vrh.needNotify()));
  log.push(attempt(() => vrh.notifyEnable()));
  log.push(attempt(() => vrh.notifyDisable()));
  log.push(vrh.lastUsedIdx);
  // The whole window as it ends up, read back through the mapping.
  const iov = new Iov();
  l.tlb.translate(WINDOW, SPAN, VHOST_ACCESS_RO, l.mem, iov);
  const after = new Uint8Array(SPAN);
  iov.pull(after);
  log.push(Buffer.from(after).toString('hex'));
  return log;
}

describe('Vringh over a scattered IOTLB (property)', () => {
  it('behaves exactly as the same ring in one contiguous mapping', () => {
    let withChains = 0;
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const bytes = image(s);
        const want = drive(s, contiguous(bytes));
        const got = drive(s, scattered(bytes, s));
        expect(got).toEqual(want);
        if (Array.isArray(want[4])) withChains++;
      }),
      { numRuns: 150 },
    );
    // The scenarios are not all errors: most take at least one chain.
    expect(withChains).toBeGreaterThan(50);
  });
});
