import type { VdpaError } from '@vdpa-kit/core-bus';
import { VHOST_ACCESS_RO, VHOST_ACCESS_RW, VHOST_ACCESS_WO } from '@vdpa-kit/virtio-spec';
import { IOVA_MAX, Iotlb } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { simStack } from '../test/stack.js';
import { VdpasimIommu } from './vdpasim-iommu.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as VdpaError).code;
  }
  return undefined;
}

// vdpa_sim.c maps [0, ULONG_MAX] -> 0 RW, which vhost_iotlb_add_range_ctx() stores as two halves.
const identity = [
  { start: 0n, last: (1n << 63n) - 1n, addr: 0n, perm: VHOST_ACCESS_RW },
  { start: 1n << 63n, last: (1n << 64n) - 1n, addr: 1n << 63n, perm: VHOST_ACCESS_RW },
];

describe('VdpasimIommu', () => {
  it('starts every address space as identity passthrough', () => {
    const iommu = new VdpasimIommu(2, 2048);
    for (const asid of [0, 1]) {
      expect(iommu.isPassthrough(asid)).toBe(true);
      expect(iommu.iotlb(asid).entries()).toEqual(identity);
    }
    expect(codeOf(() => iommu.iotlb(2))).toBe('EINVAL');
  });

  it('dmaMap leaves passthrough and adds only the new range', () => {
    const iommu = new VdpasimIommu(2, 2048);
    iommu.dmaMap(0, 0x1000, 0x2000, 0x10000, VHOST_ACCESS_RO);
    expect(iommu.isPassthrough(0)).toBe(false);
    expect(iommu.iotlb(0).entries()).toEqual([
      { start: 0x1000n, last: 0x2fffn, addr: 0x10000n, perm: VHOST_ACCESS_RO },
    ]);
    iommu.dmaMap(0, 0x4000, 0x1000, 0x20000, VHOST_ACCESS_WO, { file: 'memfd:guest', offset: 0 });
    expect(iommu.iotlb(0).size).toBe(2);
    expect(iommu.iotlb(0).lookup(0x4000)?.opaque).toEqual({ file: 'memfd:guest', offset: 0 });
    // The other address space is untouched.
    expect(iommu.iotlb(1).entries()).toEqual(identity);
  });

  it('dmaUnmap on a passthrough space empties it (kernel behaviour)', () => {
    const iommu = new VdpasimIommu(2, 2048);
    iommu.dmaUnmap(1, 0x1000, 0x1000);
    expect(iommu.isPassthrough(1)).toBe(false);
    expect(iommu.iotlb(1).size).toBe(0);
  });

  it('dmaUnmap removes every overlapping entry whole', () => {
    const iommu = new VdpasimIommu(1, 0);
    iommu.dmaMap(0, 0x1000, 0x1000, 0x1000, VHOST_ACCESS_RW);
    iommu.dmaMap(0, 0x2000, 0x1000, 0x2000, VHOST_ACCESS_RW);
    iommu.dmaMap(0, 0x8000, 0x1000, 0x8000, VHOST_ACCESS_RW);
    iommu.dmaUnmap(0, 0x1800, 0x1000);
    expect(
      iommu
        .iotlb(0)
        .entries()
        .map((m) => m.start),
    ).toEqual([0x8000n]);
  });

  it('setMap replaces the whole space with a copy', () => {
    const iommu = new VdpasimIommu(2, 2048);
    const src = new Iotlb();
    src.addRange(0x1000n, 0x1fffn, 0x5000n, VHOST_ACCESS_RW);
    src.addRange(0x3000n, 0x3fffn, 0x6000n, VHOST_ACCESS_RO);
    iommu.setMap(1, src);
    expect(iommu.isPassthrough(1)).toBe(false);
    expect(iommu.iotlb(1).entries()).toEqual(src.entries());
    src.reset();
    expect(iommu.iotlb(1).size).toBe(2);
  });

  // vdpa_sim.c allocates its IOTLBs with vhost_iotlb_alloc(max_iotlb_entries, 0): without
  // VHOST_IOTLB_FLAG_RETIRE, vhost_iotlb_add_range_ctx() never looks at the limit.
  it('setMap beyond the entry limit copies every entry, as the kernel does', () => {
    const iommu = new VdpasimIommu(1, 2);
    const src = new Iotlb();
    for (let i = 0; i < 3; i++)
      src.addRange(BigInt(i * 0x1000), BigInt(i * 0x1000 + 0xfff), BigInt(i * 0x1000), VHOST_ACCESS_RW);
    iommu.setMap(0, src);
    expect(iommu.iotlb(0).size).toBe(3);
    expect(iommu.isPassthrough(0)).toBe(false);
  });

  it('dmaMap beyond the entry limit adds the entry, as the kernel does; 0 is unlimited too', () => {
    const limited = new VdpasimIommu(1, 1);
    limited.dmaMap(0, 0, 0x1000, 0, VHOST_ACCESS_RW);
    limited.dmaMap(0, 0x1000, 0x1000, 0x1000, VHOST_ACCESS_RW);
    expect(limited.iotlb(0).size).toBe(2);
    const unlimited = new VdpasimIommu(1, 0);
    for (let i = 0; i < 3000; i++) unlimited.dmaMap(0, i * 0x1000, 0x1000, i * 0x1000, VHOST_ACCESS_RW);
    expect(unlimited.iotlb(0).size).toBe(3000);
  });

  it('reports bad map arguments with errno codes', () => {
    const iommu = new VdpasimIommu(2, 2048);
    expect(codeOf(() => iommu.dmaMap(2, 0, 0x1000, 0, VHOST_ACCESS_RW))).toBe('EINVAL');
    expect(codeOf(() => iommu.dmaMap(0, 0x1000, 0, 0, VHOST_ACCESS_RW))).toBe('EFAULT');
    // vhost_iotlb_add_range_ctx() stores any `unsigned int perm`.
    expect(codeOf(() => iommu.dmaMap(0, 0, 0x1000, 0, 7))).toBeUndefined();
    expect(codeOf(() => iommu.dmaMap(0, 0, 0x1000, 0, -1))).toBe('EINVAL');
    expect(codeOf(() => iommu.dmaMap(0, 0, 0x1000, 0.5, VHOST_ACCESS_RW))).toBe('ERANGE');
    expect(codeOf(() => iommu.dmaMap(0, IOVA_MAX, 2, 0, VHOST_ACCESS_RW))).toBe('ERANGE');
    expect(codeOf(() => iommu.setMap(0, {} as Iotlb))).toBe('EINVAL');
    expect(codeOf(() => iommu.resetMap(-1))).toBe('EINVAL');
  });

  it('resetMap restores identity only where it was lost', () => {
    const iommu = new VdpasimIommu(2, 2048);
    const before = iommu.iotlb(0).generation;
    iommu.resetMap(0);
    expect(iommu.iotlb(0).generation).toBe(before);
    iommu.dmaMap(1, 0x1000, 0x1000, 0, VHOST_ACCESS_RW);
    iommu.resetMap(1);
    expect(iommu.isPassthrough(1)).toBe(true);
    expect(iommu.iotlb(1).entries()).toEqual(identity);
  });

  it('keeps one Iotlb object per space for its whole life', () => {
    const iommu = new VdpasimIommu(1, 2048);
    const tlb = iommu.iotlb(0);
    iommu.dmaMap(0, 0, 0x1000, 0, VHOST_ACCESS_RW);
    iommu.setMap(0, new Iotlb());
    iommu.resetMap(0);
    expect(iommu.iotlb(0)).toBe(tlb);
  });
});

describe('address spaces through the config ops', () => {
  it('gives the module IOTLB limit to its IOTLBs, which do not enforce it (no RETIRE, as in the kernel)', () => {
    const { add } = simStack({ module: { maxIotlbEntries: 1 } });
    const { handle, sim } = add('vdpa0');
    handle.dmaMap(0, 0, 0x1000, 0, VHOST_ACCESS_RW);
    handle.dmaMap(0, 0x1000, 0x1000, 0x1000, VHOST_ACCESS_RW);
    expect(sim.iommu.iotlb(0).size).toBe(2);
  });

  it('maps through setMap, dmaMap, dmaUnmap and resetMap', () => {
    const { add } = simStack();
    const { handle, sim } = add('vdpa0');
    const src = new Iotlb();
    src.addRange(0n, 0xffffn, 0x100000n, VHOST_ACCESS_RW);
    handle.setMap(0, src);
    expect(sim.iommu.iotlb(0).entries()).toEqual([
      { start: 0n, last: 0xffffn, addr: 0x100000n, perm: VHOST_ACCESS_RW },
    ]);
    handle.dmaMap(0, 0x10000, 0x1000, 0x200000, VHOST_ACCESS_RO);
    handle.dmaUnmap(0, 0, 0x10);
    expect(
      sim.iommu
        .iotlb(0)
        .entries()
        .map((m) => m.start),
    ).toEqual([0x10000n]);
    handle.resetMap(0);
    expect(sim.iommu.iotlb(0).isIdentity()).toBe(true);
  });
});
