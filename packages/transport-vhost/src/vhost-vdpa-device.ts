import { type DeviceHandle, VdpaError, type VdpaIovaRange, type VdpaVqState } from '@vdpa-kit/core-bus';
import {
  U16_MAX,
  U32_MAX,
  U64_LIMIT,
  VHOST_BACKEND_F_DESC_ASID,
  VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_BACKEND_F_IOTLB_PERSIST,
  VHOST_BACKEND_F_RESUME,
  VHOST_BACKEND_F_SUSPEND,
  VHOST_IOTLB_INVALIDATE,
  VHOST_IOTLB_UPDATE,
  VHOST_MSG_V2_SIZE,
  VHOST_VRING_F_LOG,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_RING_PACKED,
  VIRTQ_AVAIL_ALIGN,
  VIRTQ_USED_ALIGN,
  VDPA_RESET_F_CLEAN_MAP,
  bit,
} from '@vdpa-kit/virtio-spec';
import type { GuestMemory, IotlbMap } from '@vdpa-kit/vring';
import { type Observable, Subject, type Subscription } from 'rxjs';
import type { VhostCall, VhostDoorbell } from './vhost-eventfd.js';
import { type VhostIotlbMsg, decodeVhostMsg } from './vhost-msg.js';
import { VhostVdpaAddressSpaces } from './vhost-vdpa-as.js';
import {
  type VhostVdpaSnapshot,
  type VhostVqState,
  type VhostVringAddr,
  type VhostVringState,
  resetVhostVq,
} from './vhost-vring.js';

/** `VHOST_VDPA_BACKEND_FEATURES`: what every vhost-vdpa file offers. */
const BASE_BACKEND_FEATURES =
  bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID);

/** Every backend feature `VHOST_SET_BACKEND_FEATURES` may accept. */
const SETTABLE_BACKEND_FEATURES =
  BASE_BACKEND_FEATURES |
  bit(VHOST_BACKEND_F_DESC_ASID) |
  bit(VHOST_BACKEND_F_IOTLB_PERSIST) |
  bit(VHOST_BACKEND_F_SUSPEND) |
  bit(VHOST_BACKEND_F_RESUME) |
  bit(VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK);

/** Largest u8 (a status byte). */
const LAST_STATUS = 0xff;
/** Packed ring state: the wrap counter sits above 15 index bits (`vhost_vdpa_vring_ioctl()`). */
const PACKED_WRAP_SHIFT = 15;
/** Packed ring state: the 15 index bits. */
const PACKED_IDX_MASK = 0x7fff;
/** `VHOST_SET_VRING_BASE` of a packed ring: the used index sits in the upper 16 bits of `num`. */
const PACKED_USED_SHIFT = 16;

/** Why a {@link VhostVdpaDevice} stopped: closed by its user, or its device left the `vhost_vdpa` driver. */
export type VhostReleaseReason = 'closed' | 'removed';

/** What a {@link VhostVdpaDevice} needs from the char device that opened it (internal). */
export interface VhostVdpaFileContext {
  readonly handle: DeviceHandle;
  /** The "process address space" userspace addresses point into. */
  readonly mem: GuestMemory;
  /** Called once the file is released (clears the char device's `opened`). */
  readonly onRelease: () => void;
}

/**
 * An open `/dev/vhost-vdpa-N` (drivers/vhost/vdpa.c): one method per ioctl, with the kernel's checks and
 * errnos, the `write()` of IOTLB messages, and `close()` (`vhost_vdpa_release()`). Opened exclusively
 * from the {@link VhostBus}; every device op it issues goes through the bus's `DeviceHandle`, so a vhost
 * session is recorded, verified and diffed like a virtio one.
 *
 * Owner: `setOwner()` must come first for the ring ioctls and the IOTLB messages (`EPERM` otherwise,
 * `vhost_dev_check_owner()`); the vhost-vdpa ioctls proper (status, features, config, counts) need no
 * owner, as in the kernel. Per-ring ioctls with an index not below `nvqs` are `ENOBUFS`. 64-bit values
 * are bigints; errors are `VdpaError` with the kernel's errno.
 *
 * @example
 * const vhost = vhostBus.open('vdpa0');
 * vhost.setOwner();
 * vhost.setBackendFeatures(vhost.getBackendFeatures());
 * vhost.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
 * vhost.setFeatures(vhost.getFeatures());
 * vhost.processIotlbMsg({ type: VHOST_IOTLB_UPDATE, iova: 0x1000n, size: 0x10000n, uaddr: 0x1000n, perm: VHOST_ACCESS_RW });
 */
export class VhostVdpaDevice {
  /** Emits the reason once when the file is released, then completes. */
  readonly released$: Observable<VhostReleaseReason>;
  private readonly handle: DeviceHandle;
  private readonly as: VhostVdpaAddressSpaces;
  private readonly vqs: VhostVqState[];
  private readonly kicks: (VhostDoorbell | null)[];
  private readonly kickSubs: (Subscription | undefined)[];
  private readonly calls: (VhostCall | null)[];
  private readonly errs: (VhostCall | null)[];
  private readonly range: VdpaIovaRange;
  private readonly releasedSubject = new Subject<VhostReleaseReason>();
  private configCall: VhostCall | null = null;
  private owner = false;
  private suspended = false;
  private ackedFeatures = 0n;
  private ackedBackendFeatures = 0n;
  private open = true;

  /**
   * `vhost_vdpa_open()` after the exclusivity check: the device reset (without `CLEAN_MAP`), the
   * vqs initialised, the IOVA range read and cached (`vhost_vdpa_set_iova_range()`).
   * @throws VdpaError the reset's error
   */
  constructor(private readonly ctx: VhostVdpaFileContext) {
    this.handle = ctx.handle;
    this.released$ = this.releasedSubject.asObservable();
    this.as = new VhostVdpaAddressSpaces(this.handle, ctx.mem);
    this.handle.reset(0);
    const nvqs = this.handle.nvqs;
    this.vqs = Array.from({ length: nvqs }, resetVhostVq);
    this.kicks = new Array<VhostDoorbell | null>(nvqs).fill(null);
    this.kickSubs = new Array<Subscription | undefined>(nvqs).fill(undefined);
    this.calls = new Array<VhostCall | null>(nvqs).fill(null);
    this.errs = new Array<VhostCall | null>(nvqs).fill(null);
    this.range = this.handle.has('getIovaRange')
      ? this.handle.getIovaRange()
      : { first: 0n, last: U64_LIMIT - 1n };
  }

  /** The vDPA device name. */
  get name(): string {
    return this.handle.name;
  }

  /** False once closed or revoked. */
  get isOpen(): boolean {
    return this.open;
  }

  // ---- generic vhost ------------------------------------------------------------------------

  /**
   * `VHOST_SET_OWNER` (`vhost_dev_set_owner()`), then `vhost_vdpa_bind_mm()`: a VA-mode device gets the
   * owner's address space (`bindMm`); if that fails ownership is given up again.
   * @throws VdpaError `EBUSY` when already owned; the device's `bindMm` error
   */
  setOwner(): void {
    this.check();
    if (this.owner) throw new VdpaError('EBUSY', `vhost-vdpa ${this.name} already has an owner`);
    this.owner = true;
    if (!this.handle.useVa || !this.handle.has('bindMm')) return;
    try {
      this.handle.bindMm(this.ctx.mem);
    } catch (err) {
      this.owner = false;
      throw err;
    }
  }

  /** `VHOST_GET_FEATURES` (`vhost_vdpa_get_features()`): the device's features. */
  getFeatures(): bigint {
    this.check();
    return this.handle.getDeviceFeatures();
  }

  /**
   * `VHOST_SET_FEATURES` (`vhost_vdpa_set_features()`): refused once FEATURES_OK is set; the core
   * wrapper `vdpa_set_features()`; the rings learn the features the device kept.
   * @throws VdpaError `EBUSY` after FEATURES_OK; `EINVAL` when the device refuses them (cause: its error)
   */
  setFeatures(features: bigint): void {
    this.check();
    u64Arg(features, 'features');
    if ((this.handle.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK) !== 0) {
      throw new VdpaError('EBUSY', `features of ${this.name} are already negotiated (FEATURES_OK)`);
    }
    try {
      this.handle.setDriverFeatures(features);
    } catch (err) {
      throw new VdpaError('EINVAL', `device ${this.name} refused features 0x${features.toString(16)}`, {
        cause: err,
      });
    }
    this.ackedFeatures = this.handle.getDriverFeatures();
  }

  /**
   * `VHOST_GET_BACKEND_FEATURES`: `IOTLB_MSG_V2 | IOTLB_BATCH | IOTLB_ASID`, plus `SUSPEND` / `RESUME`
   * when the device has the op, `DESC_ASID` with `getVqDescGroup`, `IOTLB_PERSIST` when mappings survive
   * a reset (`vhost_vdpa_has_persistent_map()`), and the device's own `getBackendFeatures()`.
   */
  getBackendFeatures(): bigint {
    this.check();
    let features = BASE_BACKEND_FEATURES;
    if (this.handle.has('suspend')) features |= bit(VHOST_BACKEND_F_SUSPEND);
    if (this.handle.has('resume')) features |= bit(VHOST_BACKEND_F_RESUME);
    if (this.handle.has('getVqDescGroup')) features |= bit(VHOST_BACKEND_F_DESC_ASID);
    if (this.persistentMap()) features |= bit(VHOST_BACKEND_F_IOTLB_PERSIST);
    return features | this.deviceBackendFeatures();
  }

  /**
   * `VHOST_SET_BACKEND_FEATURES` (handled before the device mutex, no owner needed).
   * @throws VdpaError `EOPNOTSUPP` for a bit outside the settable ones, `SUSPEND` / `RESUME` / `DESC_ASID`
   * / `IOTLB_PERSIST` the device cannot back; `EINVAL` for `DESC_ASID` without `IOTLB_ASID`
   */
  setBackendFeatures(features: bigint): void {
    this.check();
    u64Arg(features, 'backend features');
    const has = (b: number): boolean => (features & bit(b)) !== 0n;
    if ((features & ~SETTABLE_BACKEND_FEATURES) !== 0n) {
      throw new VdpaError('EOPNOTSUPP', `backend features 0x${features.toString(16)} have unknown bits`);
    }
    if (has(VHOST_BACKEND_F_SUSPEND) && !this.handle.has('suspend'))
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} cannot suspend`);
    if (has(VHOST_BACKEND_F_RESUME) && !this.handle.has('resume'))
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} cannot resume`);
    if (has(VHOST_BACKEND_F_DESC_ASID) && !has(VHOST_BACKEND_F_IOTLB_ASID))
      throw new VdpaError('EINVAL', 'backend feature DESC_ASID needs IOTLB_ASID');
    if (has(VHOST_BACKEND_F_DESC_ASID) && !this.handle.has('getVqDescGroup'))
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} has no descriptor groups`);
    if (has(VHOST_BACKEND_F_IOTLB_PERSIST) && !this.persistentMap())
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} cannot keep mappings across a reset`);
    this.ackedBackendFeatures = features;
  }

  // ---- vhost-vdpa ---------------------------------------------------------------------------

  /** `VHOST_VDPA_GET_DEVICE_ID`: the virtio device id. */
  getDeviceId(): number {
    this.check();
    return this.handle.getDeviceId();
  }

  /** `VHOST_VDPA_GET_STATUS`. */
  getStatus(): number {
    this.check();
    return this.handle.getStatus();
  }

  /**
   * `VHOST_VDPA_SET_STATUS` (`vhost_vdpa_set_status()`): a non-zero status may not clear a bit that is
   * set; 0 resets the device (`VDPA_RESET_F_CLEAN_MAP` unless `IOTLB_PERSIST` was negotiated); else the
   * core `vdpa_set_status()`. The rising DRIVER_OK edge asks each vq's IRQ (`getVqIrq`) for irq bypass.
   * @throws VdpaError `EINVAL` for a value that is not a byte or that clears a bit; the reset's error
   */
  setStatus(status: number): void {
    this.check();
    if (!Number.isInteger(status) || status < 0 || status > LAST_STATUS)
      throw new VdpaError('EINVAL', `status ${String(status)} is not a byte`);
    const old = this.handle.getStatus();
    if (status !== 0 && (old & ~status) !== 0) {
      throw new VdpaError('EINVAL', `status 0x${status.toString(16)} clears bits of 0x${old.toString(16)}`);
    }
    if (status === 0) this.compatReset();
    else this.handle.setStatus(status);
    const driverOk = (s: number): boolean => (s & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
    if (driverOk(status) && !driverOk(old)) for (let i = 0; i < this.vqs.length; i++) this.setupVqIrq(i);
  }

  /**
   * `VHOST_VDPA_GET_CONFIG`: `len` bytes of config space from `offset` (`vdpa_get_config()`).
   * @throws VdpaError `EINVAL` for `len` 0, `offset` past the config size, or a range running past it
   * (`-E2BIG` from `vhost_vdpa_config_validate()`, answered as `-EINVAL`)
   */
  getConfig(offset: number, len: number): Uint8Array {
    this.check();
    this.validateConfig(offset, len);
    const buf = new Uint8Array(len);
    this.handle.getConfig(offset, buf);
    return buf;
  }

  /**
   * `VHOST_VDPA_SET_CONFIG`: writes `bytes` at `offset` (`vdpa_set_config()`).
   * @throws VdpaError `EINVAL` as {@link getConfig}
   */
  setConfig(offset: number, bytes: Uint8Array): void {
    this.check();
    if (!(bytes instanceof Uint8Array)) throw new VdpaError('EINVAL', 'config bytes are not a Uint8Array');
    this.validateConfig(offset, bytes.length);
    this.handle.setConfig(offset, bytes.slice());
  }

  /** `VHOST_VDPA_GET_VRING_NUM`: `getVqNumMax()` as the u16 the ioctl returns. */
  getVringNum(): number {
    this.check();
    return this.handle.getVqNumMax() & U16_MAX;
  }

  /**
   * `VHOST_VDPA_SET_CONFIG_CALL`: the config eventfd (null = `VHOST_FILE_UNBIND`); the device's config
   * callback is (re)installed either way, and signals the eventfd when there is one.
   */
  setConfigCall(call: VhostCall | null): void {
    this.check();
    this.configCall = call;
    this.handle.setConfigCb(() => this.configCall?.signal());
  }

  /** `VHOST_VDPA_GET_IOVA_RANGE`: the range cached at open. */
  getIovaRange(): VdpaIovaRange {
    this.check();
    return { first: this.range.first, last: this.range.last };
  }

  /** `VHOST_VDPA_GET_CONFIG_SIZE`. */
  getConfigSize(): number {
    this.check();
    return this.handle.getConfigSize();
  }

  /** `VHOST_VDPA_GET_AS_NUM`: `nas`. */
  getAsNum(): number {
    this.check();
    return this.handle.nas;
  }

  /** `VHOST_VDPA_GET_VQS_COUNT`: `nvqs`. */
  getVqsCount(): number {
    this.check();
    return this.handle.nvqs;
  }

  /** `VHOST_VDPA_GET_GROUP_NUM`: `ngroups`. */
  getGroupNum(): number {
    this.check();
    return this.handle.ngroups;
  }

  /**
   * `VHOST_VDPA_SUSPEND` (`vhost_vdpa_suspend()`): nothing before DRIVER_OK; else the device's `suspend`.
   * @throws VdpaError `EOPNOTSUPP` without the op; the device's error
   */
  suspend(): void {
    this.check();
    if ((this.handle.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) === 0) return;
    if (!this.handle.has('suspend')) throw new VdpaError('EOPNOTSUPP', `device ${this.name} cannot suspend`);
    this.handle.suspend();
    this.suspended = true;
  }

  /**
   * `VHOST_VDPA_RESUME` (`vhost_vdpa_resume()`): nothing before DRIVER_OK; else the device's `resume`.
   * @throws VdpaError `EOPNOTSUPP` without the op; the device's error
   */
  resume(): void {
    this.check();
    if ((this.handle.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) === 0) return;
    if (!this.handle.has('resume')) throw new VdpaError('EOPNOTSUPP', `device ${this.name} cannot resume`);
    this.handle.resume();
    this.suspended = false;
  }

  // ---- per-ring ioctls (owner needed) -------------------------------------------------------

  /**
   * `VHOST_SET_VRING_NUM`: a power of two in 1..65535 (`vhost_vring_set_num()`), then `setVqNum`.
   * @throws VdpaError `EPERM`, `ENOBUFS`, `EINVAL`
   */
  setVringNum(s: VhostVringState): void {
    const idx = this.ringIndex(s.index);
    const num = s.num;
    if (!Number.isInteger(num) || num < 1 || num > U16_MAX || (num & (num - 1)) !== 0) {
      throw new VdpaError('EINVAL', `ring size ${String(num)} is not a power of two in 1..65535`);
    }
    this.vqs[idx].num = num;
    this.handle.setVqNum(idx, num);
  }

  /**
   * `VHOST_SET_VRING_ADDR`: `vhost_vring_set_addr()` (only the LOG flag; avail 2-aligned, used and log
   * 4-aligned), stored; then refused while DRIVER_OK and not suspended; then `setVqAddress(desc, avail,
   * used)`. Addresses above 2^53 - 1 are `ERANGE` (ring addresses are numbers on the hot path).
   * @throws VdpaError `EPERM`, `ENOBUFS`, `EOPNOTSUPP` (flags), `EINVAL` (alignment, DRIVER_OK, device
   * refusal), `ERANGE`
   */
  setVringAddr(a: VhostVringAddr): void {
    const idx = this.ringIndex(a.index);
    for (const [what, v] of [
      ['desc', a.desc],
      ['used', a.used],
      ['avail', a.avail],
      ['log', a.log],
    ] as const)
      u64Arg(v, `${what} address`);
    if (!Number.isInteger(a.flags) || (a.flags & ~(1 << VHOST_VRING_F_LOG)) !== 0)
      throw new VdpaError('EOPNOTSUPP', `ring address flags ${String(a.flags)} are not supported`);
    const misaligned = (v: bigint, align: number): boolean => v % BigInt(align) !== 0n;
    if (
      misaligned(a.avail, VIRTQ_AVAIL_ALIGN) ||
      misaligned(a.used, VIRTQ_USED_ALIGN) ||
      misaligned(a.log, VIRTQ_USED_ALIGN)
    ) {
      throw new VdpaError('EINVAL', `ring ${idx} addresses are misaligned`);
    }
    const vq = this.vqs[idx];
    vq.desc = a.desc;
    vq.avail = a.avail;
    vq.used = a.used;
    vq.log = a.log;
    this.refuseWhileRunning(`ring ${idx} addresses`);
    const n = (v: bigint): number => {
      if (v > BigInt(Number.MAX_SAFE_INTEGER))
        throw new VdpaError('ERANGE', `ring address 0x${v.toString(16)} is above 2^53 - 1`);
      return Number(v);
    };
    const desc = n(a.desc);
    const avail = n(a.avail);
    const used = n(a.used);
    try {
      this.handle.setVqAddress(idx, desc, avail, used);
    } catch (err) {
      throw new VdpaError('EINVAL', `device ${this.name} refused ring ${idx} addresses`, { cause: err });
    }
  }

  /**
   * `VHOST_SET_VRING_BASE`: split rings take a u16 (`EINVAL` above), packed rings the avail index in
   * the low and the used index in the high 16 bits; stored; refused while DRIVER_OK and not suspended;
   * then `setVqState`.
   * @throws VdpaError `EPERM`, `ENOBUFS`, `EINVAL`; the device's error
   */
  setVringBase(s: VhostVringState): void {
    const idx = this.ringIndex(s.index);
    u32Arg(s.num, 'ring base');
    const vq = this.vqs[idx];
    if (this.packed()) {
      vq.lastAvailIdx = s.num & U16_MAX;
      vq.lastUsedIdx = (s.num >>> PACKED_USED_SHIFT) & U16_MAX;
    } else {
      if (s.num > U16_MAX) throw new VdpaError('EINVAL', `ring base ${s.num} is not a u16`);
      vq.lastAvailIdx = s.num;
    }
    this.refuseWhileRunning(`ring ${idx} base`);
    const state: VdpaVqState = this.packed()
      ? {
          kind: 'packed',
          lastAvailIdx: vq.lastAvailIdx & PACKED_IDX_MASK,
          lastAvailCounter: vq.lastAvailIdx >>> PACKED_WRAP_SHIFT,
          lastUsedIdx: vq.lastUsedIdx & PACKED_IDX_MASK,
          lastUsedCounter: vq.lastUsedIdx >>> PACKED_WRAP_SHIFT,
        }
      : { kind: 'split', availIndex: vq.lastAvailIdx };
    this.handle.setVqState(idx, state);
  }

  /**
   * `VHOST_GET_VRING_BASE`: the device's `getVqState` first, then the stored index (packed: avail | used
   * << 16, each with its wrap counter in bit 15).
   * @throws VdpaError `EPERM`, `ENOBUFS`; the device's error
   */
  getVringBase(index: number): VhostVringState {
    const idx = this.ringIndex(index);
    const state = this.handle.getVqState(idx);
    const vq = this.vqs[idx];
    if (this.packed() && state.kind === 'packed') {
      vq.lastAvailIdx = state.lastAvailIdx | (state.lastAvailCounter << PACKED_WRAP_SHIFT);
      vq.lastUsedIdx = state.lastUsedIdx | (state.lastUsedCounter << PACKED_WRAP_SHIFT);
      return { index: idx, num: (vq.lastAvailIdx | (vq.lastUsedIdx << PACKED_USED_SHIFT)) >>> 0 };
    }
    if (state.kind === 'split') vq.lastAvailIdx = state.availIndex;
    return { index: idx, num: vq.lastAvailIdx };
  }

  /**
   * `VHOST_SET_VRING_KICK`: the ring's kick eventfd (null = unbind). Each signal runs the device's
   * `kickVq(index)` (`handle_vq_kick()`); an eventfd already signalled kicks at once
   * (`vhost_poll_start()`).
   * @throws VdpaError `EPERM`, `ENOBUFS`
   */
  setVringKick(index: number, kick: VhostDoorbell | null): void {
    const idx = this.ringIndex(index);
    if (kick === this.kicks[idx]) return;
    this.kickSubs[idx]?.unsubscribe();
    this.kickSubs[idx] = undefined;
    this.kicks[idx] = kick;
    if (kick !== null) this.kickSubs[idx] = kick.signals$.subscribe(() => this.kickVq(idx));
  }

  /**
   * `VHOST_SET_VRING_CALL`: the ring's call eventfd (null = unbind); the device's vq callback signals it
   * (`vhost_vdpa_virtqueue_cb()`), or is cleared.
   * @throws VdpaError `EPERM`, `ENOBUFS`
   */
  setVringCall(index: number, call: VhostCall | null): void {
    const idx = this.ringIndex(index);
    // The irq-bypass producer follows the eventfd; its teardown and setup read the status.
    if (this.calls[idx] !== null) this.handle.getStatus();
    this.calls[idx] = call;
    if (call === null) {
      this.handle.setVqCb(idx, null);
      return;
    }
    if ((this.handle.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) this.setupVqIrq(idx);
    this.handle.setVqCb(idx, () => this.calls[idx]?.signal());
  }

  /**
   * `VHOST_SET_VRING_ERR`: the ring's error eventfd (null = unbind), kept as `vhost_vring_ioctl()` keeps
   * it; vhost-vdpa never signals it.
   * @throws VdpaError `EPERM`, `ENOBUFS`
   */
  setVringErr(index: number, err: VhostCall | null): void {
    const idx = this.ringIndex(index);
    this.errs[idx] = err;
  }

  /**
   * `VHOST_VDPA_SET_VRING_ENABLE`: `setVqReady(index, num != 0)`.
   * @throws VdpaError `EPERM`, `ENOBUFS`
   */
  setVringEnable(s: VhostVringState): void {
    const idx = this.ringIndex(s.index);
    u32Arg(s.num, 'ring enable');
    this.handle.setVqReady(idx, s.num !== 0);
  }

  /**
   * `VHOST_VDPA_GET_VRING_GROUP`: the vq's group.
   * @throws VdpaError `EPERM`, `ENOBUFS`, `EOPNOTSUPP` without `getVqGroup`, `EIO` for a group not below
   * `ngroups`
   */
  getVringGroup(index: number): VhostVringState {
    const idx = this.ringIndex(index);
    if (!this.handle.has('getVqGroup'))
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} has no vq groups`);
    return { index: idx, num: this.checkGroup(this.handle.getVqGroup(idx)) };
  }

  /**
   * `VHOST_VDPA_GET_VRING_DESC_GROUP`: the group of the vq's descriptor areas.
   * @throws VdpaError `EPERM`, `ENOBUFS`, `EOPNOTSUPP` without `getVqDescGroup`, `EIO`
   */
  getVringDescGroup(index: number): VhostVringState {
    const idx = this.ringIndex(index);
    if (!this.handle.has('getVqDescGroup'))
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} has no descriptor groups`);
    return { index: idx, num: this.checkGroup(this.handle.getVqDescGroup(idx)) };
  }

  /**
   * `VHOST_VDPA_GET_VRING_SIZE`: the vq's size (`getVqSize`).
   * @throws VdpaError `EPERM`, `ENOBUFS`, `EOPNOTSUPP` without `getVqSize`
   */
  getVringSize(index: number): VhostVringState {
    const idx = this.ringIndex(index);
    if (!this.handle.has('getVqSize'))
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} has no vq sizes`);
    return { index: idx, num: this.handle.getVqSize(idx) };
  }

  /**
   * `VHOST_VDPA_SET_GROUP_ASID` (`index` = group, `num` = ASID): the group goes through the per-ring
   * index check first (`ENOBUFS` at or above `nvqs`), then both ranges (`EINVAL`), the op
   * (`EOPNOTSUPP`), and no change while DRIVER_OK (`EBUSY`).
   * @throws VdpaError `EPERM`, `ENOBUFS`, `EINVAL`, `EOPNOTSUPP`, `EBUSY`
   */
  setGroupAsid(s: VhostVringState): void {
    const group = this.ringIndex(s.index);
    u32Arg(s.num, 'asid');
    if (group >= this.handle.ngroups || s.num >= this.handle.nas) {
      throw new VdpaError(
        'EINVAL',
        `group ${group} / asid ${s.num} out of range (ngroups ${this.handle.ngroups}, nas ${this.handle.nas})`,
      );
    }
    if (!this.handle.has('setGroupAsid'))
      throw new VdpaError('EOPNOTSUPP', `device ${this.name} cannot move groups between address spaces`);
    if ((this.handle.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) !== 0)
      throw new VdpaError('EBUSY', `group ${group} cannot change address space after DRIVER_OK`);
    this.handle.setGroupAsid(group, s.num);
  }

  // ---- IOTLB messages -----------------------------------------------------------------------

  /**
   * One IOTLB message (`vhost_chr_write_iter()` after decoding, then `vhost_vdpa_process_iotlb_msg()`):
   * `UPDATE` / `INVALIDATE` of size 0 are `EINVAL`; the caller must be the owner; `asid` counts only
   * when `VHOST_BACKEND_F_IOTLB_ASID` was negotiated (else 0). Errors keep their errno here; `write()`
   * turns the handler's into `EFAULT`.
   * @throws VdpaError `EINVAL` for a malformed message or see `VhostVdpaAddressSpaces.process`; `EPERM`
   * without an owner
   */
  processIotlbMsg(msg: VhostIotlbMsg): void {
    this.check();
    checkMsg(msg);
    this.checkZeroSize(msg);
    this.handleMsg(msg);
  }

  /**
   * `write()` of one `struct vhost_msg` / `struct vhost_msg_v2` (72 bytes).
   * @returns 72, the bytes consumed
   * @throws VdpaError `EINVAL` for a short buffer, an unknown header type or an UPDATE / INVALIDATE of
   * size 0; `EFAULT` (cause: the handler's error) for anything the message handler refused
   */
  write(bytes: Uint8Array): number {
    this.check();
    const readAsid = (this.ackedBackendFeatures & bit(VHOST_BACKEND_F_IOTLB_ASID)) !== 0n;
    const { msg } = decodeVhostMsg(bytes, readAsid);
    this.checkZeroSize(msg);
    try {
      this.handleMsg(msg);
    } catch (err) {
      throw new VdpaError('EFAULT', `iotlb message refused: ${VdpaError.from(err).message}`, { cause: err });
    }
    return VHOST_MSG_V2_SIZE;
  }

  /** What this file holds: owner, negotiated features, each ring's size, addresses, base and eventfds. */
  snapshot(): VhostVdpaSnapshot {
    this.check();
    return {
      device: this.name,
      owner: this.owner,
      features: this.ackedFeatures,
      backendFeatures: this.ackedBackendFeatures,
      suspended: this.suspended,
      configCall: this.configCall !== null,
      rings: this.vqs.map((vq, index) => ({
        index,
        num: vq.num,
        desc: vq.desc,
        avail: vq.avail,
        used: vq.used,
        base: vq.lastAvailIdx,
        kick: this.kicks[index] !== null,
        call: this.calls[index] !== null,
      })),
    };
  }

  /**
   * The mappings this file keeps for address space `asid` (its `vhost_iotlb`), in address order; empty
   * when no message created the address space. What the device was given is on the bus as events.
   */
  iotlbEntries(asid: number): IotlbMap[] {
    this.check();
    return [...(this.as.iotlb(asid)?.entries() ?? [])];
  }

  // ---- release ------------------------------------------------------------------------------

  /**
   * `close()` (`vhost_vdpa_release()`): the device reset (`VDPA_RESET_F_CLEAN_MAP` unless `IOTLB_PERSIST`
   * was negotiated), kicks no longer polled, a VA-mode device's `unbindMm`, the config eventfd dropped,
   * every address space unmapped and its `resetMap` called; then the file is free to open again.
   * Closing twice does nothing.
   */
  close(): void {
    this.release('closed');
  }

  /**
   * The device leaves `vhost_vdpa` while this file is open. The kernel's `vhost_vdpa_remove()` waits
   * until the file is closed; a synchronous bus cannot wait, so the release runs now and every later
   * call is `ENODEV` (internal, called by the driver's `remove`).
   */
  revoke(): void {
    this.release('removed');
  }

  private release(reason: VhostReleaseReason): void {
    if (!this.open) return;
    // vhost_vdpa_release() ignores what each step returns: a device error in one step (an error event
    // on the bus) does not keep the others from running or the file from being released.
    this.as.endBatch();
    bestEffort(() => this.compatReset());
    for (let i = 0; i < this.vqs.length; i++) this.setVringKickUnchecked(i, null);
    if (this.handle.useVa && this.handle.has('unbindMm')) bestEffort(() => this.handle.unbindMm());
    this.configCall = null;
    bestEffort(() => this.as.removeAll());
    this.calls.fill(null);
    this.errs.fill(null);
    this.owner = false;
    this.open = false;
    this.ctx.onRelease();
    this.releasedSubject.next(reason);
    this.releasedSubject.complete();
  }

  // ---- internals ----------------------------------------------------------------------------

  private check(): void {
    if (!this.open) throw new VdpaError('ENODEV', `vhost-vdpa file of ${this.name} is closed`);
  }

  /** The owner check and the ring index check of every per-ring ioctl. */
  private ringIndex(index: number): number {
    this.check();
    if (!this.owner) throw new VdpaError('EPERM', `vhost-vdpa ${this.name} has no owner`);
    if (!Number.isInteger(index) || index < 0 || index > U32_MAX)
      throw new VdpaError('EINVAL', `ring index ${String(index)} is not a u32`);
    if (index >= this.vqs.length)
      throw new VdpaError('ENOBUFS', `ring index ${index} is out of range (nvqs ${this.vqs.length})`);
    return index;
  }

  /**
   * `handle_vq_kick()`: `kick_vq` returns nothing in the kernel, so a device error (already an error
   * event on the bus) must not escape into whoever signalled the eventfd.
   */
  private kickVq(idx: number): void {
    try {
      this.handle.kickVq(idx);
    } catch {
      // Recorded by the bus as the op's error event; the kick itself is fire-and-forget.
    }
  }

  private setVringKickUnchecked(idx: number, kick: VhostDoorbell | null): void {
    this.kickSubs[idx]?.unsubscribe();
    this.kickSubs[idx] = undefined;
    this.kicks[idx] = kick;
  }

  private checkGroup(group: number): number {
    if (group >= this.handle.ngroups)
      throw new VdpaError(
        'EIO',
        `device ${this.name} answered group ${group} (ngroups ${this.handle.ngroups})`,
      );
    return group;
  }

  private refuseWhileRunning(what: string): void {
    if ((this.handle.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && !this.suspended)
      throw new VdpaError('EINVAL', `${what} cannot change after DRIVER_OK unless suspended`);
  }

  private packed(): boolean {
    return (this.ackedFeatures & bit(VIRTIO_F_RING_PACKED)) !== 0n;
  }

  /** `vhost_vdpa_setup_vq_irq()`: the IRQ for irq bypass, which has no userspace analogue. */
  private setupVqIrq(idx: number): void {
    if (this.handle.has('getVqIrq')) this.handle.getVqIrq(idx);
  }

  /** `_compat_vdpa_reset()`: `vdpa_reset()` with `CLEAN_MAP` unless `IOTLB_PERSIST` was negotiated. */
  private compatReset(): void {
    this.suspended = false;
    const persist = (this.ackedBackendFeatures & bit(VHOST_BACKEND_F_IOTLB_PERSIST)) !== 0n;
    this.handle.reset(persist ? 0 : VDPA_RESET_F_CLEAN_MAP);
  }

  private deviceBackendFeatures(): bigint {
    return this.handle.has('getBackendFeatures') ? this.handle.getBackendFeatures() : 0n;
  }

  /** `vhost_vdpa_has_persistent_map()`. */
  private persistentMap(): boolean {
    const h = this.handle;
    return (
      (!h.has('setMap') && !h.has('dmaMap')) ||
      h.has('resetMap') ||
      (this.deviceBackendFeatures() & bit(VHOST_BACKEND_F_IOTLB_PERSIST)) !== 0n
    );
  }

  private validateConfig(offset: number, len: number): void {
    u32Arg(offset, 'config offset');
    u32Arg(len, 'config length');
    const size = this.handle.getConfigSize();
    if (len === 0 || offset > size)
      throw new VdpaError('EINVAL', `config range ${offset}+${len} is empty or starts past ${size}`);
    if (len > size - offset)
      throw new VdpaError('EINVAL', `config range ${offset}+${len} runs past ${size} (E2BIG)`);
  }

  private checkZeroSize(msg: VhostIotlbMsg): void {
    if ((msg.type === VHOST_IOTLB_UPDATE || msg.type === VHOST_IOTLB_INVALIDATE) && msg.size === 0n)
      throw new VdpaError('EINVAL', `iotlb message type ${msg.type} of size 0`);
  }

  /** The message handler (`vhost_vdpa_process_iotlb_msg()`). */
  private handleMsg(msg: VhostIotlbMsg): void {
    if (!this.owner) throw new VdpaError('EPERM', `vhost-vdpa ${this.name} has no owner`);
    const asidOn = (this.ackedBackendFeatures & bit(VHOST_BACKEND_F_IOTLB_ASID)) !== 0n;
    this.as.process(asidOn ? msg : { ...msg, asid: 0 }, this.range);
  }
}

/** Runs a release step whose failure the kernel ignores. */
function bestEffort(step: () => void): void {
  try {
    step();
  } catch {
    // The failure is already an error event on the bus.
  }
}

function u64Arg(value: bigint, what: string): void {
  if (typeof value !== 'bigint' || value < 0n || value >= U64_LIMIT)
    throw new VdpaError('EINVAL', `${what} ${String(value)} is not a u64 bigint`);
}

function u32Arg(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX)
    throw new VdpaError('EINVAL', `${what} ${String(value)} is not a u32`);
}

/** Refuses a message whose fields do not fit their C types. */
function checkMsg(msg: VhostIotlbMsg): void {
  if (typeof msg !== 'object' || msg === null)
    throw new VdpaError('EINVAL', 'iotlb message is not an object');
  u32Arg(msg.asid ?? 0, 'asid');
  if (!Number.isInteger(msg.type) || msg.type < 0 || msg.type > LAST_STATUS)
    throw new VdpaError('EINVAL', `iotlb message type ${String(msg.type)} is not a u8`);
  if (!Number.isInteger(msg.perm) || msg.perm < 0 || msg.perm > LAST_STATUS)
    throw new VdpaError('EINVAL', `iotlb permission ${String(msg.perm)} is not a u8`);
  u64Arg(msg.iova, 'iova');
  u64Arg(msg.size, 'size');
  u64Arg(msg.uaddr, 'uaddr');
}
