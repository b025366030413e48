import { VdpaError, type VdpaMapFile } from '@vdpa-kit/core-bus';
import { U32_MAX, U64_LIMIT, VHOST_ACCESS_RW } from '@vdpa-kit/virtio-spec';
import { Iotlb } from '@vdpa-kit/vring';
import { checkU64Arg } from './u64-arg.js';

/** `ULONG_MAX`, the last IOVA of the identity passthrough `[0, ULONG_MAX]`. */
const PASSTHROUGH_LAST = U64_LIMIT - 1n;

/** Width of the kernel's `u64` IOVA arithmetic. */
const U64_BITS = 64;

/**
 * The simulator's on-chip IOMMU (vdpa_sim.c): one {@link Iotlb} per address space, each starting
 * as the identity passthrough `[0, 2^64 - 1] -> 0, RW` (two entries, as `vhost_iotlb_add_range_ctx()`
 * stores it) with its `pt` flag set. Implements the
 * bodies of `set_map`, `dma_map`, `dma_unmap` and `reset_map`.
 *
 * Every address space keeps the same `Iotlb` object for its whole life (contents are replaced in place),
 * so vrings holding it see every change; translation caches follow the IOTLB's generation.
 *
 * @example
 * const iommu = new VdpasimIommu(2, 2048);
 * iommu.dmaMap(1, 0x1000n, 0x1000n, 0x8000n, VHOST_ACCESS_RW); // AS 1 leaves passthrough
 * iommu.resetMap(1); // identity again
 */
export class VdpasimIommu {
  private readonly tlbs: Iotlb[];
  private readonly pt: boolean[];

  /**
   * @param nas number of address spaces
   * @param maxEntries entry limit per address space (`max_iotlb_entries`), given to each IOTLB without
   * `retire`, so not enforced: `vhost_iotlb_add_range_ctx()` looks at the limit only with
   * `VHOST_IOTLB_FLAG_RETIRE`, which vdpa_sim does not set
   */
  constructor(
    readonly nas: number,
    maxEntries: number,
  ) {
    this.tlbs = [];
    this.pt = [];
    for (let asid = 0; asid < nas; asid++) {
      const tlb = new Iotlb({ limit: maxEntries });
      tlb.addRange(0n, PASSTHROUGH_LAST, 0n, VHOST_ACCESS_RW);
      this.tlbs.push(tlb);
      this.pt.push(true);
    }
  }

  /**
   * The IOTLB of address space `asid`.
   * @throws VdpaError `EINVAL` for an address space id not below {@link nas}
   */
  iotlb(asid: number): Iotlb {
    return this.tlbs[this.check(asid)];
  }

  /** Whether address space `asid` is still the identity passthrough (`iommu_pt`). */
  isPassthrough(asid: number): boolean {
    return this.pt[this.check(asid)];
  }

  /**
   * `set_map`: replaces the whole mapping of `asid` with a copy of `source`'s entries; the address space
   * is no longer passthrough. On failure it is left empty.
   * @throws VdpaError `EINVAL` for a bad `asid` or a source that is not an `Iotlb`, or the code of the
   * entry that failed to copy
   */
  setMap(asid: number, source: Iotlb): void {
    const tlb = this.tlbs[this.check(asid)];
    if (!(source instanceof Iotlb))
      throw new VdpaError('EINVAL', `set_map source ${String(source)} is not an iotlb`);
    this.pt[asid] = false;
    try {
      tlb.copyFrom(source);
    } catch (err) {
      tlb.reset();
      throw VdpaError.from(err);
    }
  }

  /**
   * `dma_map` (`vdpasim_dma_map()`): adds `[iova, iova + size - 1]` → `pa` with `perm`, the end computed
   * in u64 arithmetic as the kernel computes it; an address space still in passthrough is emptied first,
   * also when the add then fails. A zero size at IOVA 0 wraps to `ULLONG_MAX` and maps the whole space,
   * as in the kernel.
   * @throws VdpaError `EINVAL` for a bad `asid` or a permission that is not a u32, `ERANGE` for an IOVA,
   * size or address that is not a u64 (both change nothing), `EFAULT` when the end wraps past 2^64 - 1
   * or a zero size makes it end before it starts (`vhost_iotlb_add_range_ctx()`: `last < start`)
   */
  dmaMap(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque?: VdpaMapFile): void {
    const tlb = this.tlbs[this.check(asid)];
    checkU64Arg(iova, 'iova');
    checkU64Arg(size, 'map size');
    checkU64Arg(pa, 'map address');
    if (!(Number.isInteger(perm) && perm >= 0 && perm <= U32_MAX))
      throw new VdpaError('EINVAL', `map permission ${String(perm)} is not a u32`);
    this.leavePassthrough(asid);
    try {
      tlb.addRange(iova, lastOf(iova, size), pa, perm, opaque);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /**
   * `dma_unmap` (`vdpasim_dma_unmap()`): removes every entry overlapping `[iova, iova + size - 1]` (u64
   * arithmetic, as {@link dmaMap}); an address space still in passthrough is emptied first (as the
   * kernel does). It never fails for a u64 range, as the kernel returns 0.
   * @throws VdpaError `EINVAL` for a bad `asid`, `ERANGE` for an IOVA or size that is not a u64
   */
  dmaUnmap(asid: number, iova: bigint, size: bigint): void {
    const tlb = this.tlbs[this.check(asid)];
    checkU64Arg(iova, 'iova');
    checkU64Arg(size, 'unmap size');
    this.leavePassthrough(asid);
    tlb.delRange(iova, lastOf(iova, size));
  }

  /**
   * `reset_map`: restores the identity passthrough of `asid` (nothing to do when it already is).
   * @throws VdpaError `EINVAL` for a bad `asid`
   */
  resetMap(asid: number): void {
    const tlb = this.tlbs[this.check(asid)];
    if (this.pt[asid]) return;
    tlb.reset();
    tlb.addRange(0n, PASSTHROUGH_LAST, 0n, VHOST_ACCESS_RW);
    this.pt[asid] = true;
  }

  /** Restores the identity passthrough of every address space (`compat_reset` with `CLEAN_MAP`). */
  resetAll(): void {
    for (let asid = 0; asid < this.nas; asid++) this.resetMap(asid);
  }

  private leavePassthrough(asid: number): void {
    if (!this.pt[asid]) return;
    this.tlbs[asid].reset();
    this.pt[asid] = false;
  }

  private check(asid: number): number {
    if (!Number.isInteger(asid) || asid < 0 || asid >= this.nas) {
      throw new VdpaError('EINVAL', `address space ${String(asid)} is out of range (nas ${this.nas})`);
    }
    return asid;
  }
}

/**
 * The inclusive end of `[iova, iova + size)` as the kernel computes it, `iova + size - 1` in u64
 * arithmetic (`vdpasim_dma_map()`, `vdpasim_dma_unmap()`): a range running past 2^64 - 1 wraps.
 */
function lastOf(iova: bigint, size: bigint): bigint {
  return BigInt.asUintN(U64_BITS, iova + size - 1n);
}
