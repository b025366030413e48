import { loadNative } from '@vdpa-kit/native-vhost';
import { GuestMemory } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { VhostUserMemoryTable } from '../memory-table.js';
import { VU_MAPPED_REGION_BASE, VhostUserMappedMemory } from './mapped-memory.js';

const native = loadNative();
const MIB = 1 << 20;

function table(fd: number, regions: { gpa: number; size: number; offset: number }[]): VhostUserMemoryTable {
  return VhostUserMemoryTable.fromWire(
    regions.map((r) => ({
      guestPhysAddr: BigInt(r.gpa),
      memorySize: BigInt(r.size),
      userspaceAddr: BigInt(0x7f0000000000 + r.gpa),
      mmapOffset: BigInt(r.offset),
    })),
    regions.map(() => fd),
  );
}

describe('VhostUserMappedMemory', () => {
  it('maps each region from its mmap_offset and places it in GuestMemory above the base, shared with the fd', () => {
    const fd = native.memfd('mapped-memory-spec', 2 * MIB);
    const mine = native.mmap(fd, 0, 2 * MIB);
    const mem = GuestMemory.create({ size: MIB });
    const mapped = VhostUserMappedMemory.map(
      native,
      mem,
      table(fd, [
        { gpa: 0, size: 0xa0000, offset: 0 },
        { gpa: 0xc0000, size: 2 * MIB - 0xc0000, offset: 0xc0000 },
      ]),
    );
    const [a, b] = mapped.regions;
    expect(a!.uaddr).toBe(VU_MAPPED_REGION_BASE);
    expect(b!.uaddr).toBeGreaterThanOrEqual(a!.uaddr + 0xa0000);
    // Writes through GuestMemory reach the fd at the region's mmap_offset, and back.
    mem.writeU32(b!.uaddr + 4, 0xdeadbeef);
    expect(new DataView(mine).getUint32(0xc0000 + 4, true)).toBe(0xdeadbeef);
    new DataView(mine).setUint32(0x10, 42, true);
    expect(mem.readU32(a!.uaddr + 0x10)).toBe(42);

    mapped.unmap();
    mapped.unmap();
    expect(mem.regions().map((r) => r.gpa)).toEqual([0]);
    native.munmap(mine);
    native.close(fd);
  });

  it('reuses the gap a removed mapping left, and releases what it mapped when a region fails', () => {
    const fd = native.memfd('mapped-memory-spec', MIB);
    const mem = new GuestMemory();
    const first = VhostUserMappedMemory.map(native, mem, table(fd, [{ gpa: 0, size: MIB, offset: 0 }]));
    first.unmap();
    const again = VhostUserMappedMemory.map(native, mem, table(fd, [{ gpa: 0, size: MIB, offset: 0 }]));
    expect(again.regions[0]!.uaddr).toBe(VU_MAPPED_REGION_BASE);
    again.unmap();
    // The second region runs past the end of the memfd: ENXIO, and the first one is gone again.
    expect(() =>
      VhostUserMappedMemory.map(
        native,
        mem,
        table(fd, [
          { gpa: 0, size: MIB / 2, offset: 0 },
          { gpa: MIB, size: MIB, offset: MIB / 2 },
        ]),
      ),
    ).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    expect(mem.regions()).toEqual([]);
    native.close(fd);
  });
});
