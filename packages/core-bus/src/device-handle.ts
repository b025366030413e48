import type { GuestMemory, Iotlb } from '@vdpa-kit/vring';
import type {
  OpName,
  VdpaCallback,
  VdpaConfigOps,
  VdpaIovaRange,
  VdpaMapFile,
  VdpaNotificationArea,
  VdpaVqState,
  VendorStat,
} from './config-ops.js';
import type { ConfigChannel } from './config-channel.js';
import { VdpaError } from './errors.js';
import type { OpOrigin } from './events.js';
import type { VdpaClassId } from './vdpa-device.js';

/**
 * What a transport holds instead of a device (reference §2.4 wrappers included): every op of
 * `VdpaConfigOps` except `free` (the bus releases devices), plus device metadata. Optional ops the
 * device lacks are present and throw `EOPNOTSUPP`; `has(op)` tells which exist. Every call is an op
 * event on `bus.events$` and passes the bus interceptors.
 *
 * Core wrappers: `getConfig` first calls `setDriverFeatures(0n)` while features are not valid;
 * `setDriverFeatures` marks them valid; `reset(flags)` clears them and calls `compatReset(flags)` when
 * flags are non-zero and the device has it; callbacks given to `setVqCb` / `setConfigCb` are wrapped so
 * that their invocation is a `cb` event.
 *
 * A handle dies when its driver is removed (unbind, driver or device unregistration): every call then
 * throws `VdpaError('ENODEV')` and callbacks it registered are no longer delivered.
 *
 * @example
 * probe(handle: DeviceHandle) {
 *   handle.reset();
 *   handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
 *   const features = handle.getDeviceFeatures();
 * }
 */
export interface DeviceHandle extends Omit<Required<VdpaConfigOps>, 'free' | 'reset'> {
  /** Device name. */
  readonly name: string;
  /** Device index. */
  readonly index: number;
  /** Number of virtqueues. */
  readonly nvqs: number;
  /** Number of virtqueue groups. */
  readonly ngroups: number;
  /** Number of address spaces. */
  readonly nas: number;
  /** Transport classes the device can be served by. */
  readonly classIds: readonly VdpaClassId[];
  /** Creating management device, if any. */
  readonly mgmtdev: string | undefined;
  /** VA mode. */
  readonly useVa: boolean;
  /** False once the driver holding this handle was removed. */
  readonly alive: boolean;
  /** True when the device implements `op`. */
  has(op: OpName): boolean;
  /**
   * `vdpa_reset`: clears features valid; `compatReset(flags)` if `flags` ≠ 0 and supported, else `reset()`.
   * @param flags `VDPA_RESET_F_*` (default 0)
   */
  reset(flags?: number): void;
}

/**
 * The channel-backed {@link DeviceHandle} (internal; created by the bus per binding).
 */
export class ChannelHandle implements DeviceHandle {
  private dead = false;

  /**
   * @param ch the device's channel
   * @param origin recorded on every op event of this handle (undefined for a driver's handle)
   * @param holder who holds it, for the dead-handle message
   * @param rawConfig `getConfig` calls the op without the features-valid wrapper (management reads)
   */
  constructor(
    private readonly ch: ConfigChannel,
    private readonly origin: OpOrigin | undefined,
    private readonly holder: string,
    private readonly rawConfig = false,
  ) {}

  get alive(): boolean {
    return !this.dead;
  }
  get name(): string {
    return this.ch.device.name;
  }
  get index(): number {
    return this.ch.device.index;
  }
  get nvqs(): number {
    return this.ch.device.nvqs;
  }
  get ngroups(): number {
    return this.ch.device.ngroups;
  }
  get nas(): number {
    return this.ch.device.nas;
  }
  get classIds(): readonly VdpaClassId[] {
    return this.ch.device.classIds;
  }
  get mgmtdev(): string | undefined {
    return this.ch.device.mgmtdev;
  }
  get useVa(): boolean {
    return this.ch.device.useVa;
  }

  /** Makes every later call throw `ENODEV`. */
  kill(): void {
    this.dead = true;
  }

  has(op: OpName): boolean {
    return this.ch.has(op);
  }

  private live(): ConfigChannel {
    if (this.dead) {
      throw new VdpaError(
        'ENODEV',
        `handle of device ${this.ch.device.name} held by ${this.holder} is dead: the driver was removed`,
      );
    }
    return this.ch;
  }

  setVqAddress(idx: number, descArea: number, driverArea: number, deviceArea: number): void {
    this.live().call4(this.origin, 'setVqAddress', idx, descArea, driverArea, deviceArea);
  }
  setVqNum(idx: number, num: number): void {
    this.live().call2(this.origin, 'setVqNum', idx, num);
  }
  kickVq(idx: number): void {
    this.live().call1(this.origin, 'kickVq', idx);
  }
  kickVqWithData(data: number): void {
    this.live().call1(this.origin, 'kickVqWithData', data);
  }
  setVqCb(idx: number, cb: VdpaCallback | null): void {
    const ch = this.live();
    ch.call2(this.origin, 'setVqCb', idx, cb === null ? null : ch.wrapCallback(this, 'vqCb', idx, cb));
  }
  setVqReady(idx: number, ready: boolean): void {
    this.live().call2(this.origin, 'setVqReady', idx, ready);
  }
  getVqReady(idx: number): boolean {
    return this.live().call1(this.origin, 'getVqReady', idx) as boolean;
  }
  setVqState(idx: number, state: VdpaVqState): void {
    this.live().call2(this.origin, 'setVqState', idx, state);
  }
  getVqState(idx: number): VdpaVqState {
    return this.live().call1(this.origin, 'getVqState', idx) as VdpaVqState;
  }
  getVendorVqStats(idx: number): VendorStat[] {
    return this.live().call1(this.origin, 'getVendorVqStats', idx) as VendorStat[];
  }
  getVqNotification(idx: number): VdpaNotificationArea {
    return this.live().call1(this.origin, 'getVqNotification', idx) as VdpaNotificationArea;
  }
  getVqIrq(idx: number): number {
    return this.live().call1(this.origin, 'getVqIrq', idx) as number;
  }
  getVqSize(idx: number): number {
    return this.live().call1(this.origin, 'getVqSize', idx) as number;
  }
  getVqAlign(): number {
    return this.live().call0(this.origin, 'getVqAlign') as number;
  }
  getVqGroup(idx: number): number {
    return this.live().call1(this.origin, 'getVqGroup', idx) as number;
  }
  getVqDescGroup(idx: number): number {
    return this.live().call1(this.origin, 'getVqDescGroup', idx) as number;
  }
  getDeviceFeatures(): bigint {
    return this.live().call0(this.origin, 'getDeviceFeatures') as bigint;
  }
  getBackendFeatures(): bigint {
    return this.live().call0(this.origin, 'getBackendFeatures') as bigint;
  }
  setDriverFeatures(features: bigint): void {
    this.live().setFeatures(this.origin, features);
  }
  getDriverFeatures(): bigint {
    return this.live().call0(this.origin, 'getDriverFeatures') as bigint;
  }
  setConfigCb(cb: VdpaCallback | null): void {
    const ch = this.live();
    ch.call1(
      this.origin,
      'setConfigCb',
      cb === null ? null : ch.wrapCallback(this, 'configCb', undefined, cb),
    );
  }
  getVqNumMax(): number {
    return this.live().call0(this.origin, 'getVqNumMax') as number;
  }
  getVqNumMin(): number {
    return this.live().call0(this.origin, 'getVqNumMin') as number;
  }
  getDeviceId(): number {
    return this.live().call0(this.origin, 'getDeviceId') as number;
  }
  getVendorId(): number {
    return this.live().call0(this.origin, 'getVendorId') as number;
  }
  getStatus(): number {
    return this.live().call0(this.origin, 'getStatus') as number;
  }
  setStatus(status: number): void {
    this.live().call1(this.origin, 'setStatus', status);
  }
  reset(flags = 0): void {
    this.live().reset(this.origin, flags);
  }
  compatReset(flags: number): void {
    this.live().compatReset(this.origin, flags);
  }
  suspend(): void {
    this.live().call0(this.origin, 'suspend');
  }
  resume(): void {
    this.live().call0(this.origin, 'resume');
  }
  getConfigSize(): number {
    return this.live().call0(this.origin, 'getConfigSize') as number;
  }
  getConfig(offset: number, buf: Uint8Array): void {
    if (this.rawConfig) this.live().call2(this.origin, 'getConfig', offset, buf);
    else this.live().getConfig(this.origin, offset, buf);
  }
  setConfig(offset: number, buf: Uint8Array): void {
    this.live().call2(this.origin, 'setConfig', offset, buf);
  }
  getGeneration(): number {
    return this.live().call0(this.origin, 'getGeneration') as number;
  }
  getIovaRange(): VdpaIovaRange {
    return this.live().call0(this.origin, 'getIovaRange') as VdpaIovaRange;
  }
  setVqAffinity(idx: number, cpuMask: bigint): void {
    this.live().call2(this.origin, 'setVqAffinity', idx, cpuMask);
  }
  getVqAffinity(idx: number): bigint {
    return this.live().call1(this.origin, 'getVqAffinity', idx) as bigint;
  }
  setMap(asid: number, iotlb: Iotlb): void {
    this.live().call2(this.origin, 'setMap', asid, iotlb);
  }
  dmaMap(asid: number, iova: number, size: number, pa: number, perm: number, opaque?: VdpaMapFile): void {
    const args: unknown[] =
      opaque === undefined ? [asid, iova, size, pa, perm] : [asid, iova, size, pa, perm, opaque];
    this.live().callN(this.origin, 'dmaMap', args);
  }
  dmaUnmap(asid: number, iova: number, size: number): void {
    this.live().call3(this.origin, 'dmaUnmap', asid, iova, size);
  }
  resetMap(asid: number): void {
    this.live().call1(this.origin, 'resetMap', asid);
  }
  setGroupAsid(group: number, asid: number): void {
    this.live().call2(this.origin, 'setGroupAsid', group, asid);
  }
  getVqDmaDev(idx: number): string {
    return this.live().call1(this.origin, 'getVqDmaDev', idx) as string;
  }
  bindMm(mm: GuestMemory): void {
    this.live().call1(this.origin, 'bindMm', mm);
  }
  unbindMm(): void {
    this.live().call0(this.origin, 'unbindMm');
  }
}
