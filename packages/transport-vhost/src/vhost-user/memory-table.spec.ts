import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type VhostUserRegionWire } from './codec.js';
import { VhostUserError } from './errors.js';
import { VhostUserMemoryTable } from './memory-table.js';

function region(gpa: bigint, size: bigint, uva: bigint, offset = 0n): VhostUserRegionWire {
  return { guestPhysAddr: gpa, memorySize: size, userspaceAddr: uva, mmapOffset: offset };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof VhostUserError) return err.code;
    throw err;
  }
  return 'accepted';
}

/** QEMU 7.2's two regions of a 256 MiB guest: below and above the VGA hole, one memfd. */
const QEMU_REGIONS = [
  region(0n, 0xa0000n, 0x7f1200000000n, 0n),
  region(0xc0000n, 0xfff4000n, 0x7f12000c0000n, 0xc0000n),
];

describe('VhostUserMemoryTable validation', () => {
  it("accepts QEMU's two regions and DPDK's gpa == uva region", () => {
    const qemu = VhostUserMemoryTable.fromWire(QEMU_REGIONS, [20, 21]);
    expect(
      qemu.regions.map((r) => [r.guestPhysAddr, r.memorySize, r.userspaceAddr, r.mmapOffset, r.fd]),
    ).toEqual([
      [0, 0xa0000, 0x7f1200000000, 0, 20],
      [0xc0000, 0xfff4000, 0x7f12000c0000, 0xc0000, 21],
    ]);
    expect(qemu.fds).toEqual([20, 21]);
    const dpdk = VhostUserMemoryTable.fromWire([region(0x10063a000n, 0x20000000n, 0x10063a000n)], [30]);
    expect(dpdk.uvaToGpa(0x10063b000n)).toBe(0x10063b000);
  });

  it('refuses a zero-sized region', () => {
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(0n, 0n, 0x1000n)], [3]))).toBe(
      'BAD_MEMORY_TABLE',
    );
  });

  it('refuses an absurd size before anything is mapped, with a configurable limit', () => {
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(0n, 1n << 41n, 0x1000n)], [3]))).toBe(
      'BAD_MEMORY_TABLE',
    );
    expect(
      refusal(() =>
        VhostUserMemoryTable.fromWire([region(0n, 0x2000n, 0x1000n)], [3], { maxRegionSize: 0x1000 }),
      ),
    ).toBe('BAD_MEMORY_TABLE');
    expect(
      refusal(() =>
        VhostUserMemoryTable.fromWire([region(0n, 0x1000n, 0x1000n)], [3], { maxRegionSize: 0x1000 }),
      ),
    ).toBe('accepted');
  });

  it('refuses a region that wraps past 2^64 in any of its three spaces', () => {
    const top = (1n << 64n) - 0x1000n;
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(top, 0x2000n, 0x1000n)], [3]))).toBe(
      'BAD_MEMORY_TABLE',
    );
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(0n, 0x2000n, top)], [3]))).toBe(
      'BAD_MEMORY_TABLE',
    );
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(0n, 0x2000n, 0x1000n, top)], [3]))).toBe(
      'BAD_MEMORY_TABLE',
    );
  });

  it('refuses an address or end at or above 2^53 with its own code', () => {
    const big = 1n << 53n;
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(big, 0x1000n, 0x1000n)], [3]))).toBe(
      'ADDRESS_TOO_LARGE',
    );
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(0n, 0x1000n, big - 0x800n)], [3]))).toBe(
      'ADDRESS_TOO_LARGE',
    );
    expect(refusal(() => VhostUserMemoryTable.fromWire([region(0n, 0x1000n, big - 0x1000n)], [3]))).toBe(
      'accepted',
    );
  });

  it('refuses regions overlapping in guest-physical or in front-end virtual space', () => {
    expect(
      refusal(() =>
        VhostUserMemoryTable.fromWire(
          [region(0n, 0x2000n, 0x10000n), region(0x1000n, 0x1000n, 0x20000n)],
          [3, 4],
        ),
      ),
    ).toBe('BAD_MEMORY_TABLE');
    expect(
      refusal(() =>
        VhostUserMemoryTable.fromWire(
          [region(0n, 0x1000n, 0x10000n), region(0x1000n, 0x1000n, 0x10fffn)],
          [3, 4],
        ),
      ),
    ).toBe('BAD_MEMORY_TABLE');
    // Adjacent is not overlapping.
    expect(
      refusal(() =>
        VhostUserMemoryTable.fromWire(
          [region(0x1000n, 0x1000n, 0x11000n), region(0n, 0x1000n, 0x10000n)],
          [3, 4],
        ),
      ),
    ).toBe('accepted');
  });

  it('refuses more than 8 regions and a region count that differs from the fds', () => {
    const nine = Array.from({ length: 9 }, (_, i) => region(BigInt(i) << 20n, 0x1000n, BigInt(i + 1) << 20n));
    expect(
      refusal(() =>
        VhostUserMemoryTable.fromWire(
          nine,
          nine.map((_, i) => i),
        ),
      ),
    ).toBe('BAD_MEMORY_TABLE');
    expect(refusal(() => VhostUserMemoryTable.fromWire(QEMU_REGIONS, [3]))).toBe('MISSING_FDS');
    expect(refusal(() => VhostUserMemoryTable.fromWire(QEMU_REGIONS, [3, 4, 5]))).toBe('TOO_MANY_FDS');
  });
});

describe('VhostUserMemoryTable translation', () => {
  const table = VhostUserMemoryTable.fromWire(QEMU_REGIONS, [20, 21]);

  it('translates a front-end virtual address to guest-physical', () => {
    expect(table.uvaToGpa(0x7f1200000000n)).toBe(0);
    expect(table.uvaToGpa(0x7f12000c1000n, 0x1000)).toBe(0xc1000);
    expect(table.uvaToRegion(0x7f12000c1000)).toEqual({ region: table.regions[1], index: 1, offset: 0x1000 });
  });

  it('finds the region and offset of a guest-physical address', () => {
    expect(table.gpaToRegion(0x9ffffn)).toEqual({ region: table.regions[0], index: 0, offset: 0x9ffff });
    expect(table.gpaToRegion(0xc0010)).toEqual({ region: table.regions[1], index: 1, offset: 0x10 });
  });

  it('refuses addresses in the hole, past the end, crossing a region end, or beyond 2^53', () => {
    expect(refusal(() => table.gpaToRegion(0xb0000))).toBe('ADDRESS_NOT_MAPPED');
    expect(refusal(() => table.gpaToRegion(0xc0000 + 0xfff4000))).toBe('ADDRESS_NOT_MAPPED');
    expect(refusal(() => table.gpaToRegion(0x9f000, 0x2000))).toBe('ADDRESS_NOT_MAPPED');
    expect(refusal(() => table.uvaToGpa(0x7f11ffffffffn))).toBe('ADDRESS_NOT_MAPPED');
    expect(refusal(() => table.uvaToGpa(1n << 60n))).toBe('ADDRESS_NOT_MAPPED');
    expect(refusal(() => VhostUserMemoryTable.empty().uvaToGpa(0))).toBe('ADDRESS_NOT_MAPPED');
  });

  it('agrees with a linear search over random tables', () => {
    const tables = fc
      .uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 8 })
      .chain((slots) =>
        fc.tuple(
          fc.constant(slots),
          fc.array(fc.integer({ min: 1, max: 0x10 }), { minLength: slots.length, maxLength: slots.length }),
          fc.shuffledSubarray(
            Array.from({ length: 64 }, (_, i) => i),
            { minLength: slots.length, maxLength: slots.length },
          ),
        ),
      );
    fc.assert(
      fc.property(tables, fc.integer({ min: 0, max: 64 * 0x10000 }), ([slots, sizes, uvaSlots], probe) => {
        const wire = slots.map((s, i) =>
          region(
            BigInt(s) * 0x10000n,
            BigInt(sizes[i]!) * 0x1000n,
            0x7f0000000000n + BigInt(uvaSlots[i]!) * 0x10000n,
          ),
        );
        const t = VhostUserMemoryTable.fromWire(
          wire,
          wire.map((_, i) => i + 10),
        );
        const linear = t.regions.findIndex(
          (r) => probe >= r.guestPhysAddr && probe < r.guestPhysAddr + r.memorySize,
        );
        if (linear < 0) {
          expect(refusal(() => t.gpaToRegion(probe))).toBe('ADDRESS_NOT_MAPPED');
        } else {
          const r = t.regions[linear]!;
          expect(t.gpaToRegion(probe)).toEqual({ region: r, index: linear, offset: probe - r.guestPhysAddr });
          const uva = r.userspaceAddr + (probe - r.guestPhysAddr);
          expect(t.uvaToGpa(uva)).toBe(probe);
        }
      }),
    );
  });
});
