import type { GuestMemory, Iotlb } from '@vdpa-kit/vring';

/**
 * A device-to-driver notification (`struct vdpa_callback`): the kernel's `callback(data)` with the
 * `data` pointer captured in the closure. Used for used-buffer interrupts and config changes.
 */
export type VdpaCallback = () => void;

/** Split virtqueue state (`vdpa_vq_state_split`): the next available index the device will read. */
export interface VdpaVqStateSplit {
  readonly kind: 'split';
  /** `avail_index` (u16): the device's `last_avail_idx`. */
  readonly availIndex: number;
}

/** Packed virtqueue state (`vdpa_vq_state_packed`, virtio 1.2 §2.8). */
export interface VdpaVqStatePacked {
  readonly kind: 'packed';
  /** Wrap counter of the last available descriptor (0 or 1). */
  readonly lastAvailCounter: number;
  /** Last available index (15 bits). */
  readonly lastAvailIdx: number;
  /** Wrap counter of the last used descriptor (0 or 1). */
  readonly lastUsedCounter: number;
  /** Last used index (15 bits). */
  readonly lastUsedIdx: number;
}

/** `union vdpa_vq_state` as a tagged union. */
export type VdpaVqState = VdpaVqStateSplit | VdpaVqStatePacked;

/** One vendor statistic (`VDPA_ATTR_DEV_VENDOR_ATTR_NAME` / `_VALUE`). */
export interface VendorStat {
  readonly name: string;
  readonly value: bigint;
}

/** `struct vdpa_notification_area`: doorbell physical address and size. */
export interface VdpaNotificationArea {
  readonly addr: number;
  readonly size: number;
}

/**
 * `struct vdpa_iova_range`: usable IOVA window, both ends inclusive, exact u64s (`vdpasim_get_iova_range()`
 * answers `last = ULLONG_MAX`, which a number cannot hold).
 */
export interface VdpaIovaRange {
  readonly first: bigint;
  readonly last: bigint;
}

/** `struct vdpa_map_file`: the opaque of a VA-mode (`useVa`) mapping: which file, at which offset. */
export interface VdpaMapFile {
  /** Identifier of the mapped file (a memfd or shared-memory region name). */
  readonly file: string;
  readonly offset: number;
}

/**
 * The newest kernel `struct vdpa_config_ops` (include/linux/vdpa.h) in camelCase: what a vDPA device
 * implements. Mandatory ops are required members, optional ops are `?:` exactly as in the kernel.
 * Ops that return `int` in the kernel return `void` here and throw `VdpaError` on failure; addresses
 * and sizes are `number`, 64-bit feature masks `bigint`.
 *
 * A device never sees transports: the bus calls these through a `DeviceHandle` and records every
 * call as an event.
 *
 * @example
 * class MyDevice implements VdpaConfigOps {
 *   getStatus(): number { return this.status; }
 *   // ...
 * }
 */
export interface VdpaConfigOps {
  /** Programs the three ring areas of vq `idx` (IOVAs in the device's address space). */
  setVqAddress(idx: number, descArea: number, driverArea: number, deviceArea: number): void;
  /** Sets the ring size actually used by vq `idx`. */
  setVqNum(idx: number, num: number): void;
  /** Available-buffer notification for vq `idx`. */
  kickVq(idx: number): void;
  /** Notification with VIRTIO_F_NOTIFICATION_DATA: `vqn | next_avail_idx << 16` (split). */
  kickVqWithData?(data: number): void;
  /** Registers (or clears with `null`) the used-buffer callback of vq `idx`. */
  setVqCb(idx: number, cb: VdpaCallback | null): void;
  /** Enables or disables vq `idx`. */
  setVqReady(idx: number, ready: boolean): void;
  /** Whether vq `idx` is enabled. */
  getVqReady(idx: number): boolean;
  /** Sets the next index the device reads (before DRIVER_OK or while suspended). */
  setVqState(idx: number, state: VdpaVqState): void;
  /** Reads back the vq state. */
  getVqState(idx: number): VdpaVqState;
  /** Vendor statistics of vq `idx` (`dev vstats show`). */
  getVendorVqStats?(idx: number): VendorStat[];
  /** Doorbell area of vq `idx`. */
  getVqNotification?(idx: number): VdpaNotificationArea;
  /** Host IRQ of vq `idx` for irq bypass; negative = none. */
  getVqIrq?(idx: number): number;
  /** Per-vq maximum size. */
  getVqSize?(idx: number): number;
  /** Ring alignment the driver uses when allocating a vring. */
  getVqAlign(): number;
  /** Virtqueue group of vq `idx` (< `ngroups`). */
  getVqGroup?(idx: number): number;
  /** Group of the descriptor / driver / device areas of vq `idx`. */
  getVqDescGroup?(idx: number): number;
  /** Features the device offers (after provisioning). */
  getDeviceFeatures(): bigint;
  /** Extra `VHOST_BACKEND_F_*` bits the device supports. */
  getBackendFeatures?(): bigint;
  /** Features the driver accepted; may fail. Called through the core wrapper (`features_valid`). */
  setDriverFeatures(features: bigint): void;
  /** Negotiated features. */
  getDriverFeatures(): bigint;
  /** Registers (or clears with `null`) the config-change callback. */
  setConfigCb(cb: VdpaCallback | null): void;
  /** Largest ring size. */
  getVqNumMax(): number;
  /** Smallest ring size (default 1). */
  getVqNumMin?(): number;
  /** Virtio device id (1 net, 2 blk). */
  getDeviceId(): number;
  /** Virtio vendor id. */
  getVendorId(): number;
  /** Device status byte. */
  getStatus(): number;
  /** Writes the device status byte. */
  setStatus(status: number): void;
  /** Resets the device to its initial state; may fail. */
  reset(): void;
  /** Reset with flags (`VDPA_RESET_F_CLEAN_MAP`); used instead of `reset` when flags are non-zero. */
  compatReset?(flags: number): void;
  /** Stops processing descriptors, keeping vq state. */
  suspend?(): void;
  /** Resumes processing after `suspend`. */
  resume?(): void;
  /** Size of the device-specific config space. */
  getConfigSize(): number;
  /** Reads device config from `offset` into the whole of `buf`. */
  getConfig(offset: number, buf: Uint8Array): void;
  /** Writes `buf` into device config at `offset`. */
  setConfig(offset: number, buf: Uint8Array): void;
  /** Config generation counter. */
  getGeneration?(): number;
  /** Usable IOVA window. */
  getIovaRange?(): VdpaIovaRange;
  /** IRQ / worker affinity hint of vq `idx` as a CPU bit mask. */
  setVqAffinity?(idx: number, cpuMask: bigint): void;
  /** Reads the affinity hint of vq `idx`. */
  getVqAffinity?(idx: number): bigint;
  /** Replaces the whole mapping of address space `asid` with `iotlb` (on-chip IOMMU). */
  setMap?(asid: number, iotlb: Iotlb): void;
  /**
   * Adds one mapping to address space `asid`: u64 `iova`, `size` and `pa`, as `dma_map` takes them.
   * `perm` is `VHOST_ACCESS_RO|WO|RW`.
   */
  dmaMap?(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque?: VdpaMapFile): void;
  /** Removes mappings of `[iova, iova + size)` (u64s, as `dma_unmap` takes them) from address space `asid`. */
  dmaUnmap?(asid: number, iova: bigint, size: bigint): void;
  /** Restores the default mapping of address space `asid`. */
  resetMap?(asid: number): void;
  /** Binds vq group `group` to address space `asid`. */
  setGroupAsid?(group: number, asid: number): void;
  /** Identifier of the memory the DMA of vq `idx` goes to (the kernel's per-vq DMA device). */
  getVqDmaDev?(idx: number): string;
  /** Binds the owner's address space for `useVa` devices. */
  bindMm?(mm: GuestMemory): void;
  /** Unbinds the owner's address space. */
  unbindMm?(): void;
  /** Releases device resources when the bus releases the device. */
  free?(): void;
}

/** Name of a config op: a key of {@link VdpaConfigOps}. */
export type OpName = keyof VdpaConfigOps;
