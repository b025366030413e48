import fc from 'fast-check';
import { VIRTIO_CONFIG_S_NEEDS_RESET } from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { simStack } from '../test/stack.js';
import { SimNetDriver, statOf } from '../test/sim-net-driver.js';

const MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const NUM = 16;
const DESC_SIZE = 16;
const DESC_LEN = 8;
const DESC_FLAGS = 12;
const DESC_NEXT = 14;
const AVAIL_IDX = 2;
const AVAIL_RING = 4;
const DATA_SIZE = 8192;
/** Guest memory of each run: small, so that the whole of it can be compared. */
const MEMORY_SIZE = 1 << 20;

/** Bytes of a split ring's areas for `num` entries, generously rounded (desc + avail + used). */
function ringAreas(
  layout: { descAddr: number; availAddr: number; usedAddr: number },
  num: number,
): [number, number][] {
  return [
    [layout.descAddr, layout.descAddr + DESC_SIZE * num],
    [layout.availAddr, layout.availAddr + 6 + 2 * num],
    [layout.usedAddr, layout.usedAddr + 6 + 8 * num],
  ];
}

// Mostly well-formed chains (so frames do flow), with every kind of damage mixed in.
const descArb = fc.record({
  near: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
  offset: fc.integer({ min: 0, max: DATA_SIZE + 64 }),
  far: fc.oneof(fc.integer({ min: 0, max: 2 * MEMORY_SIZE }), fc.integer({ min: 0, max: 2 ** 40 })),
  len: fc.integer({ min: 0, max: 3000 }),
  flags: fc.oneof(
    { arbitrary: fc.constant(0), weight: 6 },
    { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 1 },
  ),
  next: fc.integer({ min: 0, max: NUM + 4 }),
});
const headArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: NUM - 1 }), weight: 8 },
  { arbitrary: fc.integer({ min: 0, max: NUM + 4 }), weight: 1 },
);

describe('vdpasim_net against arbitrary guest rings', () => {
  it('never throws, writes only RX buffers and rings, and reports any bad input as NEEDS_RESET', () => {
    fc.assert(
      fc.property(
        fc.array(descArb, { minLength: NUM, maxLength: NUM }),
        fc.array(headArb, { minLength: 1, maxLength: NUM + 2 }),
        (descs, heads) => {
          const stack = simStack({ memorySize: MEMORY_SIZE });
          const { handle, sim } = stack.add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
          const mem = stack.mem;
          const drv = new SimNetDriver(handle, mem, { num: NUM, rxBuffers: NUM });
          const data = drv.dma.alloc(DATA_SIZE, 16);
          // Broadcast bytes: any chain long enough passes the receive filter.
          mem.fill(data, DATA_SIZE, 0xff);
          const tx = drv.tx[0].layout;
          descs.forEach((d, i) => {
            const addr = d.near ? data + d.offset : d.far;
            const at = tx.descAddr + DESC_SIZE * i;
            mem.writeU32(at, addr % 2 ** 32);
            mem.writeU32(at + 4, Math.floor(addr / 2 ** 32));
            mem.writeU32(at + DESC_LEN, d.len);
            mem.writeU16(at + DESC_FLAGS, d.flags);
            mem.writeU16(at + DESC_NEXT, d.next);
          });
          heads.forEach((h, k) => mem.writeU16(tx.availAddr + AVAIL_RING + 2 * (k % NUM), h));
          mem.writeU16(tx.availAddr + AVAIL_IDX, heads.length);

          const size = mem.regions()[0].size;
          const before = mem.view(0, size).slice();
          expect(() => handle.kickVq(1)).not.toThrow();
          const after = mem.view(0, size);

          const allowed: [number, number][] = [
            ...ringAreas(drv.rx[0].layout, NUM),
            [tx.usedAddr, tx.usedAddr + 6 + 8 * NUM],
            ...[...drv.rxBufs].map(([a, n]): [number, number] => [a, a + n]),
          ];
          for (let i = 0; i < size; i++) {
            if (before[i] === after[i]) continue;
            expect(
              allowed.some(([lo, hi]) => i >= lo && i < hi),
              `byte 0x${i.toString(16)} written`,
            ).toBe(true);
          }
          const needsReset = (handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0;
          expect(needsReset).toBe(sim.lastError !== undefined);
          if (statOf(handle.getVendorVqStats(1), 'tx errors') > 0n) expect(needsReset).toBe(true);
          expect(drv.configChanges).toBe(needsReset ? 1 : 0);
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);
});
