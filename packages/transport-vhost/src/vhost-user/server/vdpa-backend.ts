import type { NativeVhost } from '@vdpa-kit/native-vhost';
import {
  bit,
  VHOST_ACCESS_RW,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_BACKEND_F_IOTLB_PERSIST,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_BATCH_END,
  VHOST_IOTLB_INVALIDATE,
  VHOST_IOTLB_UPDATE,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_MQ,
} from '@vdpa-kit/virtio-spec';
import type { GuestMemory } from '@vdpa-kit/vring';
import type { VhostVdpaDevice } from '../../vhost-vdpa-device.js';
import type { VhostUserBackend, VhostUserRingAddresses } from '../backend.js';
import type { VhostUserMemoryTable } from '../memory-table.js';
import { VhostUserMappedMemory } from './mapped-memory.js';
import { NativeEventfd } from './native-eventfd.js';
import { VhostUserShadowCvq } from './shadow-cvq.js';

/** One IOTLB range: guest-physical (IOVA) → `GuestMemory` address. */
interface IotlbRange {
  readonly iova: number;
  readonly size: number;
  readonly uaddr: number;
}

/**
 * Features never offered over vhost-user: `ACCESS_PLATFORM` needs the IOTLB miss channel
 * (`BACKEND_REQ`), which is not offered; the control queue of a net device is the front-end's own
 * (QEMU and DPDK virtio-user handle it themselves, vhost-user.rst "Multiple queue support").
 */
const NOT_OFFERED_NET =
  bit(VIRTIO_NET_F_CTRL_VQ) |
  bit(VIRTIO_NET_F_CTRL_RX) |
  bit(VIRTIO_NET_F_CTRL_VLAN) |
  bit(VIRTIO_NET_F_GUEST_ANNOUNCE) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR) |
  bit(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);

/** What a {@link VhostUserVdpaBackend} needs. */
export interface VhostUserVdpaBackendOptions {
  /** The addon (mmap, eventfds, watches). */
  readonly native: NativeVhost;
  /** The stack's `GuestMemory`: the address space `uaddr`s of IOTLB messages point into. */
  readonly mem: GuestMemory;
  /** Opens the device's vhost-vdpa file (`VhostBus.open(name)`), once now and again after a reset. */
  readonly open: () => VhostVdpaDevice;
  /** Called when the device leaves `vhost_vdpa` under an open file (unbind, `dev del`). */
  readonly onRemoved?: () => void;
}

/**
 * The {@link VhostUserBackend} over a vhost-vdpa file: each vhost-user request becomes the vhost
 * ioctl QEMU's vhost-vdpa back-end would issue (hw/virtio/vhost-vdpa.c), so a vhost-user front-end
 * drives any device bound to `vhost_vdpa`.
 *
 * - The memory table: each region is mmapped and added to `GuestMemory`, then one `VHOST_IOTLB_UPDATE`
 *   per region (iova = guest-physical address, uaddr = where the mapping sits in `GuestMemory`), in one
 *   batch; a new table invalidates the old ranges first.
 * - Kick fds are watched on the event loop (`kickVq` on each wake-up); call fds are written from the
 *   device's vq callback. The device decides whether to call (vdpasim_net asks `vringh_need_notify()`,
 *   which honours `VRING_AVAIL_F_NO_INTERRUPT` and `used_event`), so suppression is the device's.
 * - `ACCESS_PLATFORM` is not offered to the front-end (its addresses are guest-physical, not IOVAs
 *   behind a vIOMMU) but acked towards the device, which sees guest-physical addresses through the
 *   IOTLB as IOVAs.
 * - A net device's config space is the front-end's (QEMU builds it itself), so `configSize` is 0 for
 *   one; other devices own theirs and serve GET_CONFIG / SET_CONFIG.
 *
 * @example
 * const backend = new VhostUserVdpaBackend({ native, mem, open: () => vhostBus.open('vdpa0') });
 * const session = new VhostUserSession(backend);
 */
export class VhostUserVdpaBackend implements VhostUserBackend {
  readonly numVrings: number;
  readonly queueNum: number;
  readonly configSize: number;
  private file: VhostVdpaDevice;
  private mapped: VhostUserMappedMemory | null = null;
  private persistentMap = false;
  private readonly notOffered: bigint;
  /** The device's control queue index, or null (no control queue). */
  private readonly cvqIndex: number | null;
  private cvq: VhostUserShadowCvq | null = null;
  /** True when the front-end acked MQ: the device learns its active pairs through the shadow CVQ. */
  private shadowCvq = false;
  private readonly enabled = new Set<number>();
  private pairsSent = 0;

  /**
   * Opens the file, takes ownership and negotiates the IOTLB backend features.
   * @throws VdpaError the open's (`ENODEV`, `EBUSY`) or an ioctl's
   */
  constructor(private readonly options: VhostUserVdpaBackendOptions) {
    this.file = this.openFile();
    const net = this.file.getDeviceId() === VIRTIO_ID_NET;
    const nvqs = this.file.getVqsCount();
    // A net device's control queue (the odd last one) stays with the front-end.
    this.numVrings = net ? nvqs - (nvqs % 2) : nvqs;
    this.queueNum = net ? Math.max(1, Math.floor(nvqs / 2)) : nvqs;
    this.configSize = net ? 0 : this.file.getConfigSize();
    this.notOffered = bit(VIRTIO_F_ACCESS_PLATFORM) | (net ? NOT_OFFERED_NET : 0n);
    this.cvqIndex = net && nvqs % 2 === 1 ? nvqs - 1 : null;
  }

  /** The open vhost-vdpa file (for status lines). */
  get device(): VhostVdpaDevice {
    return this.file;
  }

  /** The mapped memory regions, or none before SET_MEM_TABLE. */
  get memory(): VhostUserMappedMemory | null {
    return this.mapped;
  }

  getFeatures(): bigint {
    return this.file.getFeatures() & ~this.notOffered;
  }

  setFeatures(features: bigint): void {
    // The device reaches the front-end's memory through the IOTLB this adapter programs, i.e. behind
    // an IOMMU, whatever the front-end acked: ACCESS_PLATFORM is acked for it when offered
    // (vdpasim_set_driver_features() refuses a driver without it).
    const offered = this.file.getFeatures();
    const platform = offered & bit(VIRTIO_F_ACCESS_PLATFORM);
    // With MQ the front-end's pair count reaches the device through a control queue of our own.
    this.shadowCvq =
      this.cvqIndex !== null &&
      (features & bit(VIRTIO_NET_F_MQ)) !== 0n &&
      (offered & bit(VIRTIO_NET_F_CTRL_VQ)) !== 0n;
    this.file.setFeatures(features | platform | (this.shadowCvq ? bit(VIRTIO_NET_F_CTRL_VQ) : 0n));
  }

  getStatus(): number {
    return this.file.getStatus();
  }

  setStatus(status: number): void {
    const driverOk = (s: number): boolean => (s & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
    const rising = driverOk(status) && !driverOk(this.file.getStatus());
    // Ring addresses are frozen at DRIVER_OK: the shadow control queue is set up just before.
    if (rising && this.shadowCvq && this.cvqIndex !== null) {
      this.cvq ??= new VhostUserShadowCvq(this.file, this.options.mem, this.cvqIndex);
      this.cvq.start();
    }
    this.file.setStatus(status);
    if (status === 0) {
      this.pairsSent = 0;
      // A reset without IOTLB_PERSIST cleaned the device's maps (VDPA_RESET_F_CLEAN_MAP); the file
      // still holds the entries, so they are invalidated and sent again, as QEMU re-sends its maps.
      const ranges = this.ranges();
      if (!this.persistentMap && ranges.length > 0) {
        this.invalidate(ranges);
        this.update(ranges);
      }
    }
    if (rising) this.syncPairs();
  }

  getConfig(offset: number, size: number): Uint8Array {
    return this.file.getConfig(offset, size);
  }

  setConfig(offset: number, data: Uint8Array): void {
    this.file.setConfig(offset, data);
  }

  setMemTable(table: VhostUserMemoryTable): void {
    const next = VhostUserMappedMemory.map(this.options.native, this.options.mem, table);
    const old = this.mapped;
    try {
      if (old !== null) this.invalidate(regionRanges(old));
      this.update(regionRanges(next));
    } catch (err) {
      next.unmap();
      throw err;
    }
    old?.unmap();
    this.mapped = next;
  }

  setVringNum(index: number, num: number): void {
    this.file.setVringNum({ index, num });
  }

  setVringAddr(index: number, addresses: VhostUserRingAddresses): void {
    this.file.setVringAddr({
      index,
      flags: 0,
      desc: BigInt(addresses.desc),
      avail: BigInt(addresses.avail),
      used: BigInt(addresses.used),
      log: 0n,
    });
  }

  setVringBase(index: number, base: number): void {
    this.file.setVringBase({ index, num: base });
  }

  getVringBase(index: number): number {
    return this.file.getVringBase(index).num;
  }

  setVringKick(index: number, fd: number | null): void {
    // Without a kick fd the front-end expects polling, which nothing here does: the ring then runs
    // only when another ring's kick or a call reaches the device.
    this.file.setVringKick(index, fd === null ? null : new NativeEventfd(this.options.native, fd));
  }

  setVringCall(index: number, fd: number | null): void {
    this.file.setVringCall(index, fd === null ? null : new NativeEventfd(this.options.native, fd));
  }

  setVringEnable(index: number, enabled: boolean): void {
    this.file.setVringEnable({ index, num: enabled ? 1 : 0 });
    if (enabled) this.enabled.add(index);
    else this.enabled.delete(index);
    if ((this.file.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) this.syncPairs();
  }

  /** Closes the file (`vhost_vdpa_release()`: device reset, maps cleared) and opens it afresh. */
  reset(): void {
    this.release();
    this.file = this.openFile();
  }

  /**
   * Releases everything for good (the connection is gone): the file closed, the regions unmapped.
   * The fds stay the session's to close.
   */
  dispose(): void {
    this.release();
  }

  private release(): void {
    if (this.file.isOpen) this.file.close();
    this.cvq?.release();
    this.cvq = null;
    this.shadowCvq = false;
    this.enabled.clear();
    this.pairsSent = 0;
    this.mapped?.unmap();
    this.mapped = null;
  }

  private openFile(): VhostVdpaDevice {
    const file = this.options.open();
    const onRemoved = this.options.onRemoved;
    if (onRemoved !== undefined) {
      file.released$.subscribe((reason) => {
        if (reason === 'removed') onRemoved();
      });
    }
    try {
      file.setOwner();
      const offered = file.getBackendFeatures();
      const wanted =
        bit(VHOST_BACKEND_F_IOTLB_MSG_V2) |
        bit(VHOST_BACKEND_F_IOTLB_BATCH) |
        bit(VHOST_BACKEND_F_IOTLB_PERSIST);
      const acked = offered & wanted;
      file.setBackendFeatures(acked);
      this.persistentMap = (acked & bit(VHOST_BACKEND_F_IOTLB_PERSIST)) !== 0n;
    } catch (err) {
      file.close();
      throw err;
    }
    return file;
  }

  /** Every range mapped now: the front-end's regions and the shadow control queue's memory. */
  private ranges(): IotlbRange[] {
    const out = this.mapped === null ? [] : regionRanges(this.mapped);
    const cvq = this.cvq;
    if (cvq !== null) out.push({ ...cvq.iovaRange, uaddr: cvq.uaddrBase });
    return out;
  }

  /**
   * The front-end's active pairs, as the rings it enabled tell (a pair counts from its first enabled
   * ring), sent with `VQ_PAIRS_SET` when it changed (QEMU sends them from the guest's own command).
   */
  private syncPairs(): void {
    if (this.cvq === null) return;
    let pairs = 1;
    for (const index of this.enabled) pairs = Math.max(pairs, Math.floor(index / 2) + 1);
    pairs = Math.min(pairs, this.queueNum);
    if (pairs === this.pairsSent) return;
    this.cvq.setPairs(pairs);
    this.pairsSent = pairs;
  }

  /** One batch of `VHOST_IOTLB_UPDATE`s: each guest-physical range → its `GuestMemory` range. */
  private update(ranges: readonly IotlbRange[]): void {
    const file = this.file;
    file.processIotlbMsg({ type: VHOST_IOTLB_BATCH_BEGIN, iova: 0n, size: 0n, uaddr: 0n, perm: 0 });
    try {
      for (const r of ranges) {
        file.processIotlbMsg({
          type: VHOST_IOTLB_UPDATE,
          iova: BigInt(r.iova),
          size: BigInt(r.size),
          uaddr: BigInt(r.uaddr),
          perm: VHOST_ACCESS_RW,
        });
      }
    } finally {
      file.processIotlbMsg({ type: VHOST_IOTLB_BATCH_END, iova: 0n, size: 0n, uaddr: 0n, perm: 0 });
    }
  }

  /** One batch of `VHOST_IOTLB_INVALIDATE`s over `ranges`. */
  private invalidate(ranges: readonly IotlbRange[]): void {
    const file = this.file;
    file.processIotlbMsg({ type: VHOST_IOTLB_BATCH_BEGIN, iova: 0n, size: 0n, uaddr: 0n, perm: 0 });
    try {
      for (const r of ranges) {
        file.processIotlbMsg({
          type: VHOST_IOTLB_INVALIDATE,
          iova: BigInt(r.iova),
          size: BigInt(r.size),
          uaddr: 0n,
          perm: 0,
        });
      }
    } finally {
      file.processIotlbMsg({ type: VHOST_IOTLB_BATCH_END, iova: 0n, size: 0n, uaddr: 0n, perm: 0 });
    }
  }
}

/** The IOTLB ranges of mapped front-end regions. */
function regionRanges(mapped: VhostUserMappedMemory): IotlbRange[] {
  return mapped.regions.map(({ region, uaddr }) => ({
    iova: region.guestPhysAddr,
    size: region.memorySize,
    uaddr,
  }));
}
