import { type DeviceHandle, VdpaError, type VdpaIovaRange, type VdpaMapFile } from '@vdpa-kit/core-bus';
import {
  U64_LIMIT,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_BATCH_END,
  VHOST_IOTLB_INVALIDATE,
  VHOST_IOTLB_UPDATE,
} from '@vdpa-kit/virtio-spec';
import { type GuestMemory, Iotlb } from '@vdpa-kit/vring';
import type { VhostIotlbMsg } from './vhost-msg.js';

/** The host page the PA path pins and maps by (x86-64 `PAGE_SIZE`). */
const HOST_PAGE_SIZE = 4096n;
/** `~PAGE_MASK`: the offset bits of an address within its page. */
const PAGE_OFFSET_BITS = HOST_PAGE_SIZE - 1n;
/** Largest u64 (`U64_MAX`). */
const LAST_U64 = U64_LIMIT - 1n;
/** Width of the kernel's u64 IOVA arithmetic. */
const IOVA_BITS = 64;

/** The file a VA-mode mapping of guest memory names: the region, as a memfd would be. */
function regionFile(gpa: number): string {
  return `guest-memory@0x${gpa.toString(16)}`;
}

/**
 * The address spaces of one open vhost-vdpa file (`struct vhost_vdpa_as` in drivers/vhost/vdpa.c): one
 * {@link Iotlb} per ASID, created on demand by an `UPDATE` or `BATCH_BEGIN` for an ASID below `nas`,
 * and the batch state. Applies IOTLB messages to the device the way `vhost_vdpa_process_iotlb_msg()`
 * does: each mapping is added to the ASID's IOTLB, then given to the device with `dmaMap` when it has
 * one, else (outside a batch) with `setMap` of the whole IOTLB; `BATCH_END` calls `setMap` once when the
 * device has it.
 *
 * Userspace addresses (`uaddr`) are physical addresses of the stack's `GuestMemory`: in PA mode
 * (`vhost_vdpa_pa_map()`) the range is "pinned" (every page must lie in guest memory: the first page
 * missing is `EFAULT`, a later one `ENOMEM`, as a short `pin_user_pages()`) and mapped page-aligned as one
 * physically contiguous chunk; in VA mode (`useVa`, `vhost_vdpa_va_map()`) each guest-memory region the
 * range crosses is one mapping whose opaque names the region as its file.
 */
export class VhostVdpaAddressSpaces {
  /** A batch is open (`v->in_batch`). */
  private inBatch = false;
  /** The ASID of the open batch (`v->batch_asid`). */
  private batchAsid = 0;
  private readonly spaces = new Map<number, Iotlb>();

  /**
   * @param handle the device
   * @param mem the "process address space" userspace addresses point into
   */
  constructor(
    private readonly handle: DeviceHandle,
    private readonly mem: GuestMemory,
  ) {}

  /** The IOTLB of `asid` as this file keeps it, or undefined when no message created it. */
  iotlb(asid: number): Iotlb | undefined {
    return this.spaces.get(asid);
  }

  /** Whether a batch is open. */
  get batching(): boolean {
    return this.inBatch;
  }

  /** Forgets an open batch (`vhost_vdpa_reset()`: `v->in_batch = 0`). */
  endBatch(): void {
    this.inBatch = false;
  }

  /**
   * `vhost_vdpa_process_iotlb_msg()` after the owner check.
   * @param msg the message (size 0 already refused by the caller)
   * @param range the IOVA range cached at open
   * @throws VdpaError `EINVAL` for an ASID without an address space (or not below `nas`), a message for
   * another ASID than the open batch's, an unknown type or a range outside the IOVA range; `EEXIST` for
   * an overlapping mapping; `EFAULT` / `ENOMEM` when the userspace range is not in guest memory; the
   * device's error from `dmaMap` / `setMap`
   */
  process(msg: VhostIotlbMsg, range: VdpaIovaRange): void {
    const asid = msg.asid ?? 0;
    const creates = msg.type === VHOST_IOTLB_UPDATE || msg.type === VHOST_IOTLB_BATCH_BEGIN;
    const iotlb = creates ? this.findAlloc(asid) : this.spaces.get(asid);
    if (this.inBatch && this.batchAsid !== asid) {
      throw new VdpaError('EINVAL', `message for asid ${asid} inside a batch of asid ${this.batchAsid}`);
    }
    if (iotlb === undefined) throw new VdpaError('EINVAL', `no iotlb for asid ${asid}`);
    switch (msg.type) {
      case VHOST_IOTLB_UPDATE:
        this.update(iotlb, asid, msg, range);
        return;
      case VHOST_IOTLB_INVALIDATE:
        this.unmap(iotlb, asid, msg.iova, msg.size);
        return;
      case VHOST_IOTLB_BATCH_BEGIN:
        this.batchAsid = asid;
        this.inBatch = true;
        return;
      case VHOST_IOTLB_BATCH_END:
        if (this.inBatch && this.handle.has('setMap')) this.handle.setMap(asid, iotlb);
        this.inBatch = false;
        return;
      default:
        throw new VdpaError('EINVAL', `iotlb message type ${msg.type} is not handled`);
    }
  }

  /**
   * `vhost_vdpa_cleanup()`: every address space removed (`vhost_vdpa_remove_as()`: all its mappings
   * unmapped, then the device's `resetMap` when it has one).
   */
  removeAll(): void {
    for (let asid = 0; asid < this.handle.nas; asid++) {
      const iotlb = this.spaces.get(asid);
      if (iotlb === undefined) continue;
      this.spaces.delete(asid);
      this.iotlbUnmap(iotlb, asid, 0n, LAST_U64);
      if (!this.handle.has('resetMap')) continue;
      try {
        this.handle.resetMap(asid);
      } catch {
        // vhost_vdpa_reset_map() is void: the error stays an event on the bus.
      }
    }
  }

  /** `vhost_vdpa_find_alloc_as()`: undefined for an ASID not below `nas`. */
  private findAlloc(asid: number): Iotlb | undefined {
    const found = this.spaces.get(asid);
    if (found !== undefined) return found;
    if (asid >= this.handle.nas) return undefined;
    const iotlb = new Iotlb();
    this.spaces.set(asid, iotlb);
    return iotlb;
  }

  /** `vhost_vdpa_process_iotlb_update()`: range checks, overlap, then the PA or VA path. */
  private update(iotlb: Iotlb, asid: number, msg: VhostIotlbMsg, range: VdpaIovaRange): void {
    const { iova, size } = msg;
    if (iova < range.first || size === 0n || iova > LAST_U64 - size + 1n || iova + size - 1n > range.last) {
      throw new VdpaError(
        'EINVAL',
        `iotlb update 0x${iova.toString(16)}+0x${size.toString(16)} is outside the iova range ` +
          `0x${range.first.toString(16)}-0x${range.last.toString(16)}`,
      );
    }
    const hit = iotlb.first(iova, iova + size - 1n);
    if (hit !== undefined) {
      throw new VdpaError(
        'EEXIST',
        `iotlb update 0x${iova.toString(16)}+0x${size.toString(16)} overlaps the mapping at 0x${hit.start.toString(16)}`,
      );
    }
    if (this.handle.useVa) this.vaMap(iotlb, asid, iova, size, msg.uaddr, msg.perm);
    else this.paMap(iotlb, asid, iova, size, msg.uaddr, msg.perm);
  }

  /** `vhost_vdpa_pa_map()`: pin the pages of `uaddr`, map them page-aligned as one contiguous chunk. */
  private paMap(iotlb: Iotlb, asid: number, iova: bigint, size: bigint, uaddr: bigint, perm: number): void {
    const npages = (size + (iova & PAGE_OFFSET_BITS) + PAGE_OFFSET_BITS) / HOST_PAGE_SIZE;
    if (npages === 0n)
      throw new VdpaError('EINVAL', `iotlb update of 0x${size.toString(16)} bytes maps no page`);
    const base = uaddr & ~PAGE_OFFSET_BITS;
    const bytes = npages * HOST_PAGE_SIZE;
    try {
      this.pin(base, bytes);
      this.map(iotlb, asid, iova & ~PAGE_OFFSET_BITS, bytes, base, perm, undefined);
    } catch (err) {
      this.unmap(iotlb, asid, iova, size);
      throw err;
    }
  }

  /** `pin_user_pages()` over guest memory: every page of `[base, base + bytes)` must be in a region. */
  private pin(base: bigint, bytes: bigint): void {
    const end = base + bytes;
    let at = base;
    while (at < end) {
      const region = at <= BigInt(Number.MAX_SAFE_INTEGER) ? this.mem.findRegion(Number(at)) : undefined;
      if (region === undefined) {
        throw new VdpaError(
          at === base ? 'EFAULT' : 'ENOMEM',
          `userspace address 0x${at.toString(16)} is not in guest memory`,
        );
      }
      at = BigInt(region.gpa + region.size);
    }
  }

  /** `vhost_vdpa_va_map()`: one mapping per guest-memory region, its opaque naming the region. */
  private vaMap(iotlb: Iotlb, asid: number, iova: bigint, size: bigint, uaddr: bigint, perm: number): void {
    let left = size;
    let addr = uaddr;
    let mapIova = iova;
    try {
      while (left > 0n) {
        const region =
          addr <= BigInt(Number.MAX_SAFE_INTEGER) ? this.mem.findRegion(Number(addr)) : undefined;
        if (region === undefined) {
          throw new VdpaError('EINVAL', `userspace address 0x${addr.toString(16)} is in no vma`);
        }
        const regionEnd = BigInt(region.gpa + region.size);
        const mapSize = left < regionEnd - addr ? left : regionEnd - addr;
        const opaque: VdpaMapFile = { file: regionFile(region.gpa), offset: Number(addr) - region.gpa };
        this.map(iotlb, asid, mapIova, mapSize, addr, perm, opaque);
        left -= mapSize;
        addr += mapSize;
        mapIova += mapSize;
      }
    } catch (err) {
      this.unmap(iotlb, asid, iova, mapIova - iova);
      throw err;
    }
  }

  /** `vhost_vdpa_map()`: the IOTLB entry, then `dmaMap`, or `setMap` outside a batch; undone on failure. */
  private map(
    iotlb: Iotlb,
    asid: number,
    iova: bigint,
    size: bigint,
    pa: bigint,
    perm: number,
    opaque: VdpaMapFile | undefined,
  ): void {
    const last = iova + size - 1n;
    try {
      iotlb.addRange(iova, last, pa, perm, opaque);
    } catch (err) {
      throw VdpaError.from(err);
    }
    try {
      if (this.handle.has('dmaMap')) {
        if (opaque === undefined) this.handle.dmaMap(asid, iova, size, pa, perm);
        else this.handle.dmaMap(asid, iova, size, pa, perm, opaque);
      } else if (!this.inBatch) {
        this.handle.setMap(asid, iotlb);
      }
    } catch (err) {
      iotlb.delRange(iova, last);
      throw err;
    }
  }

  /** `vhost_vdpa_unmap()`: every overlapping mapping removed, then `setMap` outside a batch. */
  private unmap(iotlb: Iotlb, asid: number, iova: bigint, size: bigint): void {
    if (size > 0n) this.iotlbUnmap(iotlb, asid, iova, BigInt.asUintN(IOVA_BITS, iova + size - 1n));
    if (this.handle.has('setMap') && !this.inBatch) this.handle.setMap(asid, iotlb);
  }

  /** `vhost_vdpa_iotlb_unmap()`: each overlapping entry freed, with `dmaUnmap` for a `dmaMap` device. */
  private iotlbUnmap(iotlb: Iotlb, asid: number, start: bigint, last: bigint): void {
    for (let m = iotlb.first(start, last); m !== undefined; m = iotlb.first(start, last)) {
      if (this.handle.has('dmaMap')) {
        try {
          this.handle.dmaUnmap(asid, m.start, m.last - m.start + 1n);
        } catch {
          // vhost_vdpa_general_unmap() ignores what dma_unmap returns: the entry goes regardless.
        }
      }
      iotlb.delRange(m.start, m.last);
    }
  }
}
