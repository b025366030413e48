import type { VdpaError } from '@vdpa-kit/core-bus';
import { collectEvents } from '@vdpa-kit/core-bus/testing';
import { VHOST_ACCESS_RO, VHOST_ACCESS_RW, VHOST_ACCESS_WO } from '@vdpa-kit/virtio-spec';
import { Iotlb, Iov } from '@vdpa-kit/vring';
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
    iommu.dmaMap(0, 0x1000n, 0x2000n, 0x10000n, VHOST_ACCESS_RO);
    expect(iommu.isPassthrough(0)).toBe(false);
    expect(iommu.iotlb(0).entries()).toEqual([
      { start: 0x1000n, last: 0x2fffn, addr: 0x10000n, perm: VHOST_ACCESS_RO },
    ]);
    iommu.dmaMap(0, 0x4000n, 0x1000n, 0x20000n, VHOST_ACCESS_WO, { file: 'memfd:guest', offset: 0 });
    expect(iommu.iotlb(0).size).toBe(2);
    expect(iommu.iotlb(0).lookup(0x4000)?.opaque).toEqual({ file: 'memfd:guest', offset: 0 });
    // The other address space is untouched.
    expect(iommu.iotlb(1).entries()).toEqual(identity);
  });

  it('dmaUnmap on a passthrough space empties it (kernel behaviour)', () => {
    const iommu = new VdpasimIommu(2, 2048);
    iommu.dmaUnmap(1, 0x1000n, 0x1000n);
    expect(iommu.isPassthrough(1)).toBe(false);
    expect(iommu.iotlb(1).size).toBe(0);
  });

  it('dmaUnmap removes every overlapping entry whole', () => {
    const iommu = new VdpasimIommu(1, 0);
    iommu.dmaMap(0, 0x1000n, 0x1000n, 0x1000n, VHOST_ACCESS_RW);
    iommu.dmaMap(0, 0x2000n, 0x1000n, 0x2000n, VHOST_ACCESS_RW);
    iommu.dmaMap(0, 0x8000n, 0x1000n, 0x8000n, VHOST_ACCESS_RW);
    iommu.dmaUnmap(0, 0x1800n, 0x1000n);
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
    limited.dmaMap(0, 0n, 0x1000n, 0n, VHOST_ACCESS_RW);
    limited.dmaMap(0, 0x1000n, 0x1000n, 0x1000n, VHOST_ACCESS_RW);
    expect(limited.iotlb(0).size).toBe(2);
    const unlimited = new VdpasimIommu(1, 0);
    for (let i = 0n; i < 3000n; i++) unlimited.dmaMap(0, i * 0x1000n, 0x1000n, i * 0x1000n, VHOST_ACCESS_RW);
    expect(unlimited.iotlb(0).size).toBe(3000);
  });

  it('reports bad map arguments with errno codes', () => {
    const iommu = new VdpasimIommu(2, 2048);
    expect(codeOf(() => iommu.dmaMap(2, 0n, 0x1000n, 0n, VHOST_ACCESS_RW))).toBe('EINVAL');
    expect(codeOf(() => iommu.dmaMap(0, 0x1000n, 0n, 0n, VHOST_ACCESS_RW))).toBe('EFAULT');
    // vhost_iotlb_add_range_ctx() stores any `unsigned int perm`.
    expect(codeOf(() => iommu.dmaMap(0, 0n, 0x1000n, 0n, 7))).toBeUndefined();
    expect(codeOf(() => iommu.dmaMap(0, 0n, 0x1000n, 0n, -1))).toBe('EINVAL');
    // A u64 argument cannot hold these: refused before the address space changes.
    expect(codeOf(() => iommu.dmaMap(0, 0n, 0x1000n, -1n, VHOST_ACCESS_RW))).toBe('ERANGE');
    expect(codeOf(() => iommu.dmaMap(0, 1n << 64n, 0x1000n, 0n, VHOST_ACCESS_RW))).toBe('ERANGE');
    expect(codeOf(() => iommu.dmaMap(1, 0n, 0x1000n, 0.5 as unknown as bigint, VHOST_ACCESS_RW))).toBe(
      'ERANGE',
    );
    expect(codeOf(() => iommu.dmaUnmap(1, 0n, 1n << 64n))).toBe('ERANGE');
    expect(iommu.isPassthrough(1)).toBe(true);
    expect(codeOf(() => iommu.setMap(0, {} as Iotlb))).toBe('EINVAL');
    expect(codeOf(() => iommu.resetMap(-1))).toBe('EINVAL');
  });

  it('resetMap restores identity only where it was lost', () => {
    const iommu = new VdpasimIommu(2, 2048);
    const before = iommu.iotlb(0).generation;
    iommu.resetMap(0);
    expect(iommu.iotlb(0).generation).toBe(before);
    iommu.dmaMap(1, 0x1000n, 0x1000n, 0n, VHOST_ACCESS_RW);
    iommu.resetMap(1);
    expect(iommu.isPassthrough(1)).toBe(true);
    expect(iommu.iotlb(1).entries()).toEqual(identity);
  });

  it('keeps one Iotlb object per space for its whole life', () => {
    const iommu = new VdpasimIommu(1, 2048);
    const tlb = iommu.iotlb(0);
    iommu.dmaMap(0, 0n, 0x1000n, 0n, VHOST_ACCESS_RW);
    iommu.setMap(0, new Iotlb());
    iommu.resetMap(0);
    expect(iommu.iotlb(0)).toBe(tlb);
  });
});

describe('address spaces through the config ops', () => {
  it('gives the module IOTLB limit to its IOTLBs, which do not enforce it (no RETIRE, as in the kernel)', () => {
    const { add } = simStack({ module: { maxIotlbEntries: 1 } });
    const { handle, sim } = add('vdpa0');
    handle.dmaMap(0, 0n, 0x1000n, 0n, VHOST_ACCESS_RW);
    handle.dmaMap(0, 0x1000n, 0x1000n, 0x1000n, VHOST_ACCESS_RW);
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
    handle.dmaMap(0, 0x10000n, 0x1000n, 0x200000n, VHOST_ACCESS_RO);
    handle.dmaUnmap(0, 0n, 0x10n);
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

// include/linux/vdpa.h: dma_map(vdev, asid, u64 iova, u64 size, u64 pa, u32 perm, opaque) and
// dma_unmap(vdev, asid, u64 iova, u64 size); vdpa_sim.c: vdpasim_dma_map() passes
// `iova + size - 1` (u64 arithmetic) to vhost_iotlb_add_range_ctx(), which answers -EFAULT when
// `last < start`.
describe('dma_map / dma_unmap over the whole u64 space (vdpasim_dma_map, vdpasim_dma_unmap)', () => {
  const TOP_PAGE = 0xffff_ffff_ffff_f000n;
  const U64_MAX = (1n << 64n) - 1n;
  const PA = 0x5000;

  it('vdpasim_get_iova_range() answers [0, ULLONG_MAX] exactly through the bus, and its event says so', () => {
    const { add, bus } = simStack();
    const { handle } = add('vdpa0');
    const log = collectEvents(bus);
    expect(handle.getIovaRange()).toEqual({ first: 0n, last: U64_MAX });
    log.stop();
    const ret = log.events.find((e) => e.kind === 'op' && e.op === 'getIovaRange' && e.phase === 'return');
    expect(JSON.stringify(ret?.kind === 'op' ? ret.ret : undefined)).toBe(
      '{"first":"0x0","last":"0xffffffffffffffff"}',
    );
  });

  it('vdpasim_dma_map() maps the last page below 2^64 exactly, and it translates', () => {
    const { add, mem } = simStack();
    const { handle, sim } = add('vdpa0');
    handle.dmaMap(0, TOP_PAGE, 0x1000n, BigInt(PA), VHOST_ACCESS_RO);
    expect(sim.iommu.iotlb(0).entries()).toEqual([
      { start: TOP_PAGE, last: U64_MAX, addr: BigInt(PA), perm: VHOST_ACCESS_RO },
    ]);
    mem.write(PA + 0xff0, new Uint8Array([1, 2, 3, 4]));
    const iov = new Iov();
    // vringh.c: iotlb_translate() of IOVA 0xfffffffffffffff0, given as its u32 halves.
    sim.iommu.iotlb(0).translateU64(0xffff_ffff, 0xffff_fff0, 4, VHOST_ACCESS_RO, mem, iov);
    const got = new Uint8Array(4);
    expect(iov.pull(got)).toBe(4);
    expect([...got]).toEqual([1, 2, 3, 4]);
  });

  it('vdpasim_dma_unmap() removes exactly that entry and leaves the one below it', () => {
    const { add } = simStack();
    const { handle, sim } = add('vdpa0');
    handle.dmaMap(0, TOP_PAGE - 0x1000n, 0x1000n, 0x4000n, VHOST_ACCESS_RW);
    handle.dmaMap(0, TOP_PAGE, 0x1000n, 0x5000n, VHOST_ACCESS_RW);
    handle.dmaUnmap(0, TOP_PAGE, 0x1000n);
    expect(sim.iommu.iotlb(0).entries()).toEqual([
      { start: TOP_PAGE - 0x1000n, last: TOP_PAGE - 1n, addr: 0x4000n, perm: VHOST_ACCESS_RW },
    ]);
  });

  it('vhost_iotlb_add_range_ctx(): a dma_map whose end wraps past 2^64 - 1 is EFAULT, after the passthrough is gone', () => {
    const { add } = simStack();
    const { handle, sim } = add('vdpa0');
    expect(codeOf(() => handle.dmaMap(1, TOP_PAGE, 0x2000n, 0n, VHOST_ACCESS_RW))).toBe('EFAULT');
    expect(codeOf(() => handle.dmaMap(1, 2n, U64_MAX, 0n, VHOST_ACCESS_RW))).toBe('EFAULT');
    // vdpasim_dma_map() resets a passthrough space before the add fails.
    expect(sim.iommu.isPassthrough(1)).toBe(false);
    expect(sim.iommu.iotlb(1).size).toBe(0);
    // The largest range that does not wrap is mapped.
    handle.dmaMap(1, 1n, U64_MAX, 0n, VHOST_ACCESS_RW);
    expect(sim.iommu.iotlb(1).entries()).toEqual([
      { start: 1n, last: U64_MAX, addr: 0n, perm: VHOST_ACCESS_RW },
    ]);
  });

  it('vdpasim_dma_map(): size 0 at IOVA 0 wraps to [0, ULLONG_MAX], stored as two halves', () => {
    const iommu = new VdpasimIommu(1, 2048);
    iommu.dmaMap(0, 0n, 0n, 0n, VHOST_ACCESS_RW);
    expect(iommu.isPassthrough(0)).toBe(false);
    expect(iommu.iotlb(0).entries()).toEqual(identity);
  });

  it('vdpasim_dma_unmap() of a range that wraps answers 0 and removes what straddles both ends', () => {
    const iommu = new VdpasimIommu(1, 2048);
    iommu.dmaMap(0, 0x1000n, 0x1000n, 0n, VHOST_ACCESS_RW);
    iommu.dmaMap(0, 0n, 0x1000n, 0n, VHOST_ACCESS_RW);
    // [TOP_PAGE, TOP_PAGE + 0x2000 - 1] wraps to last = 0xfff: vhost_iotlb_del_range() finds no
    // entry that reaches both TOP_PAGE and starts at or below 0xfff.
    iommu.dmaUnmap(0, TOP_PAGE, 0x2000n);
    expect(iommu.iotlb(0).size).toBe(2);
  });
});
