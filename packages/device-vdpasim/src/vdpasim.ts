import {
  U16_MASK,
  U16_MAX,
  U32_MAX,
  U64_LIMIT,
  VDPA_RESET_F_CLEAN_MAP,
  VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_STATUS_MAX,
  bit,
} from '@vdpa-kit/virtio-spec';
import {
  VdpaError,
  type Logger,
  type VdpaCallback,
  type VdpaConfigOps,
  type VdpaIovaRange,
  type VdpaMapFile,
  type VdpaVqState,
  type VendorStat,
  type Work,
  type WorkQueue,
} from '@vdpa-kit/core-bus';
import { checkAddress, type GuestMemory, type Iotlb } from '@vdpa-kit/vring';
import { VDPASIM_QUEUE_ALIGN, VDPASIM_QUEUE_MAX, VDPASIM_VENDOR_ID } from './constants.js';
import { checkU64Arg } from './u64-arg.js';
import { VdpasimIommu } from './vdpasim-iommu.js';
import { VdpasimVirtqueue } from './vdpasim-vq.js';

/** The shape of a simulated device (`struct vdpasim_dev_attr`, vdpa_sim.c). */
export interface VdpasimDevAttr {
  /** vDPA device name, used in messages and logs. */
  readonly name: string;
  /** Virtio device id (`VIRTIO_ID_NET`, …). */
  readonly deviceId: number;
  /** Features offered: the provisioned features, or the device type's default. */
  readonly supportedFeatures: bigint;
  /** Number of virtqueues. */
  readonly nvqs: number;
  /** Number of virtqueue groups. */
  readonly ngroups: number;
  /** Number of address spaces. */
  readonly nas: number;
  /** Size of the device-specific config space in bytes. */
  readonly configSize: number;
  /** IOTLB entry limit per address space, 0 = unlimited. */
  readonly maxIotlbEntries: number;
  /**
   * Most bytes of a chain the datapath moves (`vdpasim_dev_attr.buffer_size`, the bounce buffer:
   * PAGE_SIZE for net): each vq's iovec lists translate no more of a chain (`Iov.limit`), so a guest
   * cannot make one `getdesc` cost more than that however many IOTLB entries its buffers span.
   */
  readonly bufferSize: number;
}

/** What a simulated device runs on (injected by its management device). */
export interface VdpasimDeps {
  /** Guest memory the IOTLBs map into (`GUEST_MEMORY`). */
  readonly mem: GuestMemory;
  /** Where the datapath runs (`WORK_QUEUE`). */
  readonly workQueue: WorkQueue;
  /** Where guest errors and callback failures are reported (`LOGGER`). */
  readonly logger: Logger;
}

/**
 * The generic vDPA device simulator (`vdpa_sim.c`): every config op of the bus on top
 * of simulated virtqueues, an on-chip IOMMU with identity-mapped address spaces, status and feature
 * handling, suspend/resume and reset. A device type (net, blk) extends it with its config space, its
 * queue-to-work mapping, its groups and its statistics.
 *
 * Datapath model: `kickVq` queues the device type's work for that vq on the `WorkQueue` (while
 * suspended after DRIVER_OK it only records a pending kick, which `resume` replays); works process
 * rings only while the device is running with DRIVER_OK. `setStatus` only stores the status and the
 * running flag: a ring filled before DRIVER_OK waits for the next kick, and `setStatus(0)` stops the
 * datapath without resetting anything (the reset is the `reset` op, which `vdpa_reset()` calls).
 * Guest errors met by a work go to {@link guestError}: the queue stops until reset, the status gains
 * `DEVICE_NEEDS_RESET` and the config-change callback runs.
 *
 * Beyond the kernel (docs/kernel-differences.md): the config-change callback is stored and used (link
 * changes, NEEDS_RESET, MAC changes by the management device); `DEVICE_NEEDS_RESET` stays set until
 * reset whatever the driver writes; a group or address space out of range is refused.
 *
 * Op errors are `VdpaError`: `EINVAL` for a vq index, group, address space, status or state out of
 * range or a value of the wrong type, and as documented per op.
 */
export abstract class Vdpasim implements VdpaConfigOps {
  /** The simulated virtqueues, by index. */
  readonly vqs: readonly VdpasimVirtqueue[];
  /** The on-chip IOMMU. */
  readonly iommu: VdpasimIommu;
  /** The device-specific config space. */
  protected readonly config: Uint8Array;
  /** A little-endian view of {@link config}. */
  protected readonly configView: DataView;
  protected readonly mem: GuestMemory;
  protected readonly workQueue: WorkQueue;
  protected readonly logger: Logger;
  private status_ = 0;
  private features_ = 0n;
  private generation_ = 0;
  private running = false;
  private pendingKick = false;
  private configCb: VdpaCallback | null = null;
  private readonly groupAsid: number[];
  private lastError_: VdpaError | undefined;
  private boundMm_: GuestMemory | null | undefined;
  private freed = false;

  /**
   * @param attr the device's shape
   * @param deps memory, work queue and logger
   */
  constructor(
    readonly attr: VdpasimDevAttr,
    deps: VdpasimDeps,
  ) {
    this.mem = deps.mem;
    this.workQueue = deps.workQueue;
    this.logger = deps.logger;
    this.iommu = new VdpasimIommu(attr.nas, attr.maxIotlbEntries);
    const as0 = this.iommu.iotlb(0);
    this.vqs = Array.from({ length: attr.nvqs }, (_, idx) => {
      const vq = new VdpasimVirtqueue(idx, as0, deps.mem);
      vq.riov.limit = attr.bufferSize;
      vq.wiov.limit = attr.bufferSize;
      return vq;
    });
    this.config = new Uint8Array(attr.configSize);
    this.configView = new DataView(this.config.buffer);
    this.groupAsid = new Array<number>(attr.ngroups).fill(0);
  }

  // ---- for device types -------------------------------------------------------------------

  /** The work that processes vq `idx`, or undefined when nothing processes it. */
  protected abstract workOf(idx: number): Work | undefined;

  /** Every work of the device (cancelled on reset and free). */
  protected abstract works(): readonly Work[];

  /** The group of vq `idx` (< `ngroups`). */
  protected abstract vqGroup(idx: number): number;

  /** Vendor statistics of vq `idx` (`dev_attr.get_stats`). @throws VdpaError `EINVAL` for an index without statistics */
  protected abstract vqStats(idx: number): VendorStat[];

  /** Brings the config space up to date before a read (`dev_attr.get_config`). */
  protected abstract refreshConfig(): void;

  /**
   * Runs after a driver write was copied into the config space (`dev_attr.set_config`, which
   * `vdpasim_set_config()` calls when the device type has one). Default: nothing, as `vdpa_sim_net`.
   */
  protected configWritten(): void {
    // a device type without dev_attr.set_config has nothing to do
  }

  /** Resets device-type state on a device reset (after the core state). Default: nothing. */
  protected onReset(): void {
    // a device type without reset state has nothing to do
  }

  /** Negotiated features. */
  get features(): bigint {
    return this.features_;
  }

  /** Device status byte. */
  get status(): number {
    return this.status_;
  }

  /** The last guest error the datapath met (also logged), or undefined. Cleared by reset. */
  get lastError(): VdpaError | undefined {
    return this.lastError_;
  }

  /**
   * The address space `bindMm` bound (`mm_bound`), or undefined when none is. The datapath reads
   * `GUEST_MEMORY` whatever is bound: this simulator has one memory, the kernel's worker switches mm.
   */
  get boundMm(): GuestMemory | null | undefined {
    return this.boundMm_;
  }

  /** Whether works may process rings: running (not suspended) with DRIVER_OK. */
  datapathEnabled(): boolean {
    return this.running && (this.status_ & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
  }

  /** Queues the work of vq `idx`, if it has one. */
  protected schedule(idx: number): void {
    const work = this.workOf(idx);
    if (work !== undefined) this.workQueue.queue(work);
  }

  /**
   * Reports bad guest input met on `vq` by the datapath: the queue stops until reset, the error is
   * kept as {@link lastError} and logged, and the first one sets `DEVICE_NEEDS_RESET` and calls the
   * config-change callback. The caller counts it in the queue's statistics.
   * @param vq the queue whose ring or buffers were bad
   * @param err what was thrown (a `VringError` normally)
   */
  guestError(vq: VdpasimVirtqueue, err: unknown): void {
    vq.broken = true;
    const cause = VdpaError.from(err);
    const error = new VdpaError(cause.code, `device ${this.attr.name} vq ${vq.index}: ${cause.message}`, {
      cause: err,
    });
    this.lastError_ = error;
    this.logger.warn('guest error: queue stopped until reset', {
      dev: this.attr.name,
      vq: vq.index,
      err: error.code,
      message: error.message,
    });
    if ((this.status_ & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) return;
    this.status_ |= VIRTIO_CONFIG_S_NEEDS_RESET;
    this.configChanged();
  }

  /** Calls the used-buffer callback of `vq`; a throwing callback is logged, never propagated. */
  callVqCb(vq: VdpasimVirtqueue): void {
    const cb = vq.cb;
    if (cb === null) return;
    try {
      cb();
    } catch (err) {
      this.logger.error('vq callback threw', {
        dev: this.attr.name,
        vq: vq.index,
        message: VdpaError.from(err).message,
      });
    }
  }

  /** Calls the config-change callback, if any; a throwing callback is logged, never propagated. */
  protected configChanged(): void {
    const cb = this.configCb;
    if (cb === null) return;
    try {
      cb();
    } catch (err) {
      this.logger.error('config callback threw', {
        dev: this.attr.name,
        message: VdpaError.from(err).message,
      });
    }
  }

  /** Bumps the config generation (a config field changed). */
  protected bumpGeneration(): void {
    this.generation_ = (this.generation_ + 1) >>> 0;
  }

  // ---- vq ops -----------------------------------------------------------------------------

  /** @inheritdoc @throws VdpaError `EINVAL` for a bad index, `ERANGE` for an address beyond `IOVA_MAX` */
  setVqAddress(idx: number, descArea: number, driverArea: number, deviceArea: number): void {
    const vq = this.vq(idx);
    try {
      checkAddress(descArea, 'descriptor area');
      checkAddress(driverArea, 'driver area');
      checkAddress(deviceArea, 'device area');
    } catch (err) {
      throw VdpaError.from(err);
    }
    vq.descAddr = descArea;
    vq.driverAddr = driverArea;
    vq.deviceAddr = deviceArea;
  }

  /**
   * `set_vq_num`: stores the size, whatever it is (`vdpasim_set_vq_num()`); the ring takes it when the
   * vq becomes ready, if `vringh_init` accepts it (see {@link setVqReady}).
   * @throws VdpaError `EINVAL` for a bad index or a value that is not a u32
   */
  setVqNum(idx: number, num: number): void {
    const vq = this.vq(idx);
    if (!Number.isInteger(num) || num < 0 || num > U32_MAX) {
      throw new VdpaError('EINVAL', `vq ${idx} size ${String(num)} is not a u32`);
    }
    vq.num = num;
  }

  /**
   * `kick_vq`: while suspended after DRIVER_OK records a pending kick; otherwise queues the vq's work
   * if the vq is ready.
   * @throws VdpaError `EINVAL` for a bad index
   */
  kickVq(idx: number): void {
    const vq = this.vq(idx);
    if (!this.running && (this.status_ & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) {
      this.pendingKick = true;
      return;
    }
    if (vq.ready) this.schedule(idx);
  }

  /** @inheritdoc @throws VdpaError `EINVAL` for a bad index */
  setVqCb(idx: number, cb: VdpaCallback | null): void {
    this.vq(idx).cb = cb;
  }

  /**
   * `set_vq_ready`: on the 0→1 edge initialises the ring (`vdpasim_queue_ready()`) on the address space
   * of the vq's group. A size `vringh_init` refuses (0, above 0xffff, not a power of two) is ignored as
   * the kernel ignores it: the vq is ready on the ring it had (see {@link VdpasimVirtqueue.queueReady});
   * a warning is logged, as `vringh_bad()` logs one. An area that ends beyond 2^53 (`ERANGE`: ring
   * addresses are numbers here, see docs/kernel-differences.md) is a guest error instead: the vq must
   * not run on the old ring, so it is stopped and the device needs a reset.
   * @throws VdpaError `EINVAL` for a bad index
   */
  setVqReady(idx: number, ready: boolean): void {
    const vq = this.vq(idx);
    const wasReady = vq.ready;
    vq.ready = ready === true;
    if (vq.ready && !wasReady) {
      const asid = this.groupAsid[this.vqGroup(idx)] ?? 0;
      const iotlb = this.iommu.iotlb(asid);
      vq.asid = asid;
      const refused = vq.queueReady(this.features_, this.mem, iotlb);
      if (refused?.code === 'ERANGE') {
        this.guestError(vq, refused);
      } else if (refused !== undefined) {
        this.logger.warn('vringh refused the ring: vq kept its previous ring', {
          dev: this.attr.name,
          vq: idx,
          num: vq.num,
        });
      }
    }
  }

  /** @inheritdoc @throws VdpaError `EINVAL` for a bad index */
  getVqReady(idx: number): boolean {
    return this.vq(idx).ready;
  }

  /**
   * `set_vq_state`, split only: sets the next available index the device reads.
   * @throws VdpaError `EINVAL` for a bad index or an index that is not a u16, `EOPNOTSUPP` for a
   * packed state (packed rings are not offered)
   */
  setVqState(idx: number, state: VdpaVqState): void {
    const vq = this.vq(idx);
    if (state?.kind !== 'split')
      throw new VdpaError('EOPNOTSUPP', `vq ${idx} state kind ${String(state?.kind)} is not split`);
    const avail = state.availIndex;
    if (!Number.isInteger(avail) || avail < 0 || avail > U16_MAX) {
      throw new VdpaError('EINVAL', `vq ${idx} avail index ${String(avail)} is not a u16`);
    }
    vq.vring.lastAvailIdx = avail;
  }

  /** `get_vq_state`, split: the next available index the device reads. @throws VdpaError `EINVAL` for a bad index */
  getVqState(idx: number): VdpaVqState {
    return { kind: 'split', availIndex: this.vq(idx).vring.lastAvailIdx };
  }

  /** @inheritdoc @throws VdpaError `EINVAL` for an index without statistics */
  getVendorVqStats(idx: number): VendorStat[] {
    this.vq(idx);
    return this.vqStats(idx);
  }

  /**
   * `get_vq_size`: the programmed size after DRIVER_OK, else 256; `vdpasim_get_vq_size()` returns a u16,
   * so a stored size above 0xffff reads back truncated.
   * @throws VdpaError `EINVAL` for a bad index
   */
  getVqSize(idx: number): number {
    const vq = this.vq(idx);
    return (this.status_ & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 ? vq.num & U16_MASK : VDPASIM_QUEUE_MAX;
  }

  /** `get_vq_align`: PAGE_SIZE. */
  getVqAlign(): number {
    return VDPASIM_QUEUE_ALIGN;
  }

  /** @inheritdoc @throws VdpaError `EINVAL` for a bad index */
  getVqGroup(idx: number): number {
    this.vq(idx);
    return this.vqGroup(idx);
  }

  // ---- features, status, config -----------------------------------------------------------

  /** Offered features. */
  getDeviceFeatures(): bigint {
    return this.attr.supportedFeatures;
  }

  /** `get_backend_features`: `VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK`. */
  getBackendFeatures(): bigint {
    return bit(VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK);
  }

  /**
   * `set_driver_features`: stores `features & offered`.
   * @throws VdpaError `EINVAL` without `VIRTIO_F_ACCESS_PLATFORM` or for a value that is not a bigint,
   * `ERANGE` for a bigint no u64 holds (the kernel's argument is a u64; nothing is masked into one)
   */
  setDriverFeatures(features: bigint): void {
    if (typeof features !== 'bigint')
      throw new VdpaError('EINVAL', `driver features ${String(features)} are not a bigint`);
    checkU64Arg(features, 'driver features');
    if ((features & bit(VIRTIO_F_ACCESS_PLATFORM)) === 0n) {
      throw new VdpaError('EINVAL', `driver features 0x${features.toString(16)} lack ACCESS_PLATFORM`);
    }
    this.features_ = features & this.attr.supportedFeatures;
  }

  /** Negotiated features. */
  getDriverFeatures(): bigint {
    return this.features_;
  }

  /** Stores the config-change callback (the kernel's simulator ignores it; this one uses it). */
  setConfigCb(cb: VdpaCallback | null): void {
    this.configCb = cb;
  }

  /** `get_vq_num_max`: 256. */
  getVqNumMax(): number {
    return VDPASIM_QUEUE_MAX;
  }

  /** Virtio device id. */
  getDeviceId(): number {
    return this.attr.deviceId;
  }

  /** Virtio vendor id (0). */
  getVendorId(): number {
    return VDPASIM_VENDOR_ID;
  }

  /** Device status. */
  getStatus(): number {
    return this.status_;
  }

  /**
   * `set_status` (`vdpasim_set_status()`): stores the status (keeping `DEVICE_NEEDS_RESET`) and runs
   * while DRIVER_OK is set. Nothing else: 0 stops the datapath but resets nothing (the `reset` op
   * does), and the DRIVER_OK edge queues no work (rings filled before it wait for the next kick).
   * @throws VdpaError `EINVAL` unless a byte
   */
  setStatus(status: number): void {
    if (!Number.isInteger(status) || status < 0 || status > VIRTIO_STATUS_MAX) {
      throw new VdpaError('EINVAL', `status ${String(status)} is not a byte`);
    }
    this.status_ = status | (this.status_ & VIRTIO_CONFIG_S_NEEDS_RESET);
    this.running = (status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
  }

  /** `reset` (`vdpasim_reset()`) = `compatReset(0)`; `vdpa_reset()` calls it. */
  reset(): void {
    this.compatReset(0);
  }

  /**
   * `compat_reset` (`vdpasim_do_reset()`): status 0, every vq reset (not ready, no areas, no callback,
   * the vring back to 256 entries at 0 with indices 0, address space 0, not broken; the size
   * `set_vq_num` gave is kept), groups back on address space 0, not running, no pending kick, features
   * 0, config callback cleared, generation bumped, pending work cancelled; the config space is left as
   * it is; with `VDPA_RESET_F_CLEAN_MAP` every address space is identity-mapped again, otherwise
   * mappings survive.
   * @param flags `VDPA_RESET_F_*`
   */
  compatReset(flags: number): void {
    for (const work of this.works()) this.workQueue.cancel(work);
    this.status_ = 0;
    this.running = false;
    this.pendingKick = false;
    this.features_ = 0n;
    this.configCb = null;
    this.lastError_ = undefined;
    this.groupAsid.fill(0);
    if ((flags & VDPA_RESET_F_CLEAN_MAP) !== 0) this.iommu.resetAll();
    const as0 = this.iommu.iotlb(0);
    for (const vq of this.vqs) vq.reset(as0);
    this.bumpGeneration();
    this.onReset();
  }

  /** `suspend`: stops processing; kicks after DRIVER_OK are remembered. */
  suspend(): void {
    this.running = false;
  }

  /** `resume`: processes again and, if a kick came while suspended, kicks every vq. */
  resume(): void {
    this.running = true;
    if (!this.pendingKick) return;
    this.pendingKick = false;
    for (let idx = 0; idx < this.vqs.length; idx++) this.kickVq(idx);
  }

  /** Size of the config space. */
  getConfigSize(): number {
    return this.attr.configSize;
  }

  /**
   * `get_config`: refreshes and copies `[offset, offset + buf.length)` into `buf`; a range outside the
   * config space is ignored (`buf` untouched), as the kernel does.
   */
  getConfig(offset: number, buf: Uint8Array): void {
    if (!this.inConfig(offset, buf)) return;
    this.refreshConfig();
    for (let i = 0; i < buf.length; i++) buf[i] = this.config[offset + i];
  }

  /**
   * `set_config` (`vdpasim_set_config()`): copies an in-range write into the config space, whatever
   * the negotiated features, then runs the device type's hook; a range outside is ignored. The
   * generation does not move.
   */
  setConfig(offset: number, buf: Uint8Array): void {
    if (!this.inConfig(offset, buf)) return;
    this.config.set(buf, offset);
    this.configWritten();
  }

  /** Config generation, bumped on reset and on device-initiated config changes. */
  getGeneration(): number {
    return this.generation_;
  }

  /** `get_iova_range` (`vdpasim_get_iova_range()`): the whole u64 space, `[0, ULLONG_MAX]`. */
  getIovaRange(): VdpaIovaRange {
    return { first: 0n, last: U64_LIMIT - 1n };
  }

  // ---- address spaces ---------------------------------------------------------------------

  /** @inheritdoc @throws VdpaError see {@link VdpasimIommu.setMap} */
  setMap(asid: number, iotlb: Iotlb): void {
    this.iommu.setMap(asid, iotlb);
  }

  /** @inheritdoc @throws VdpaError see {@link VdpasimIommu.dmaMap} */
  dmaMap(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque?: VdpaMapFile): void {
    this.iommu.dmaMap(asid, iova, size, pa, perm, opaque);
  }

  /** @inheritdoc @throws VdpaError see {@link VdpasimIommu.dmaUnmap} */
  dmaUnmap(asid: number, iova: bigint, size: bigint): void {
    this.iommu.dmaUnmap(asid, iova, size);
  }

  /** @inheritdoc @throws VdpaError `EINVAL` for a bad address space */
  resetMap(asid: number): void {
    this.iommu.resetMap(asid);
  }

  /**
   * `set_group_asid`: binds group `group` to address space `asid`: every vq now in the group moves
   * there, and vqs of the group made ready later start there. Both ranges are checked here; the
   * kernel's `vdpasim_set_group_asid()` let `group == ngroups` through (`group > ngroups`) until both
   * checks moved to `vhost_vdpa` (docs/kernel-differences.md).
   * @throws VdpaError `EINVAL` for a group not below `ngroups` or an address space not below `nas`
   */
  setGroupAsid(group: number, asid: number): void {
    if (!Number.isInteger(group) || group < 0 || group >= this.attr.ngroups) {
      throw new VdpaError('EINVAL', `group ${String(group)} is out of range (ngroups ${this.attr.ngroups})`);
    }
    const iotlb = this.iommu.iotlb(asid);
    this.groupAsid[group] = asid;
    for (const vq of this.vqs) if (this.vqGroup(vq.index) === group) vq.setAddressSpace(asid, iotlb);
  }

  /**
   * `bind_mm` (`vdpasim_bind_mm()`): the worker adopts the owner's address space (`mm_bound`) and the
   * op succeeds; `vhost_vdpa` calls it after `VHOST_SET_OWNER` on a `use_va` device. A reset keeps it.
   */
  bindMm(mm: GuestMemory): void {
    this.boundMm_ = mm;
  }

  /** `unbind_mm` (`vdpasim_unbind_mm()`): drops the bound address space; `vhost_vdpa_release()` calls it. */
  unbindMm(): void {
    this.boundMm_ = undefined;
  }

  /** `free`: cancels pending work. The device must not be used afterwards. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.running = false;
    for (const work of this.works()) this.workQueue.cancel(work);
  }

  // ---- internals --------------------------------------------------------------------------

  /**
   * The vq at `idx`.
   * @throws VdpaError `EINVAL` for an index not below `nvqs`
   */
  protected vq(idx: number): VdpasimVirtqueue {
    const vq = Number.isInteger(idx) ? this.vqs[idx] : undefined;
    if (vq === undefined)
      throw new VdpaError('EINVAL', `vq index ${String(idx)} is out of range (nvqs ${this.vqs.length})`);
    return vq;
  }

  private inConfig(offset: number, buf: Uint8Array): boolean {
    return (
      Number.isInteger(offset) &&
      offset >= 0 &&
      buf instanceof Uint8Array &&
      offset + buf.length <= this.attr.configSize
    );
  }
}
