import { VdpaError, type VdpaMapFile } from '@vdpa-kit/core-bus';
import { U64_LIMIT, VHOST_ACCESS_RW } from '@vdpa-kit/virtio-spec';
import { IOVA_MAX, Iotlb } from '@vdpa-kit/vring';

/** `ULONG_MAX`, the last IOVA of the identity passthrough `[0, ULONG_MAX]`. */
const PASSTHROUGH_LAST = U64_LIMIT - 1n;

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
 * iommu.dmaMap(1, 0x1000, 0x1000, 0x8000, VHOST_ACCESS_RW); // AS 1 leaves passthrough
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
   * `dma_map`: adds `[iova, iova + size)` → `pa` with `perm`; an address space still in passthrough is
   * emptied first.
   * @throws VdpaError `EINVAL` for a bad `asid` or a permission that is not a u32, `EFAULT` for a zero
   * size (the range would end before it starts), `ERANGE` for an IOVA, size or address that is not a
   * safe integer or a range running past `IOVA_MAX`
   */
  dmaMap(asid: number, iova: number, size: number, pa: number, perm: number, opaque?: VdpaMapFile): void {
    const tlb = this.tlbs[this.check(asid)];
    const last = lastOf(iova, size);
    this.leavePassthrough(asid);
    try {
      tlb.addRange(BigInt(iova), BigInt(last), BigInt(checkAddressArg(pa)), perm, opaque);
    } catch (err) {
      throw VdpaError.from(err);
    }
  }

  /**
   * `dma_unmap`: removes every entry overlapping `[iova, iova + size)`; an address space still in
   * passthrough is emptied first (as the kernel does).
   * @throws VdpaError `EINVAL` for a bad `asid`, `EFAULT` for a zero size, `ERANGE` as {@link dmaMap}
   */
  dmaUnmap(asid: number, iova: number, size: number): void {
    const tlb = this.tlbs[this.check(asid)];
    const last = lastOf(iova, size);
    this.leavePassthrough(asid);
    try {
      tlb.delRange(BigInt(iova), BigInt(last));
    } catch (err) {
      throw VdpaError.from(err);
    }
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
 * The inclusive end of `[iova, iova + size)`, computed without leaving the safe integers.
 * @throws VdpaError `ERANGE` for a bad iova or size or a range past `IOVA_MAX`, `EFAULT` for size 0
 */
function lastOf(iova: number, size: number): number {
  if (!Number.isSafeInteger(iova) || iova < 0)
    throw new VdpaError('ERANGE', `iova ${String(iova)} is not an address in [0, 2^53)`);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new VdpaError('ERANGE', `map size ${String(size)} is not a size in [0, 2^53)`);
  if (size === 0)
    throw new VdpaError('EFAULT', `map of 0 bytes at iova 0x${iova.toString(16)} ends before it starts`);
  if (size - 1 > IOVA_MAX - iova) {
    throw new VdpaError(
      'ERANGE',
      `map of 0x${size.toString(16)} bytes at iova 0x${iova.toString(16)} runs past 2^53`,
    );
  }
  return iova + (size - 1);
}

/**
 * `pa` as an address the IOTLB takes (it is converted to a u64 at the call).
 * @throws VdpaError `ERANGE` unless a non-negative safe integer
 */
function checkAddressArg(pa: number): number {
  if (!Number.isSafeInteger(pa) || pa < 0)
    throw new VdpaError('ERANGE', `map address ${String(pa)} is not an address in [0, 2^53)`);
  return pa;
}
