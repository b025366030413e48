import {
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_SIZE,
  U64_LIMIT,
  bit,
} from '@vdpa-kit/virtio-spec';
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
} from '../config-ops.js';
import { VdpaError, type VdpaErrno } from '../errors.js';
import { OP_TABLE } from '../op-table.js';
import type { VdpaBus } from '../vdpa-bus.js';
import type { VdpaAllocOptions, VdpaClassId, VdpaDevice } from '../vdpa-device.js';

/** Options of {@link FakeDevice}. */
export interface FakeDeviceOptions {
  /** Number of virtqueues (default 2). */
  readonly nvqs?: number;
  /** Virtio device id (default `VIRTIO_ID_NET`). */
  readonly deviceId?: number;
  /** Virtio vendor id (default 0). */
  readonly vendorId?: number;
  /** Offered features (default VERSION_1 | ACCESS_PLATFORM). */
  readonly deviceFeatures?: bigint;
  /** `getVqNumMax` (default 256). */
  readonly vqNumMax?: number;
  /** `getVqNumMin` (default 1). */
  readonly vqNumMin?: number;
  /** Per-vq `getVqSize` (default `vqNumMax` for each). */
  readonly vqSizes?: readonly number[];
  /** Initial device config bytes (default 24 zero bytes, a `virtio_net_config`). */
  readonly config?: Uint8Array;
  /** Optional ops this device does not implement. */
  readonly without?: readonly OpName[];
  /** `setDriverFeatures` fails with `EINVAL` unless ACCESS_PLATFORM is set (like vdpa_sim). */
  readonly requireAccessPlatform?: boolean;
}

/** One recorded call on a {@link FakeDevice}. */
export interface FakeCall {
  readonly op: OpName;
  readonly args: readonly unknown[];
}

/** Per-vq state of a {@link FakeDevice}. */
export interface FakeVq {
  ready: boolean;
  num: number;
  descArea: number;
  driverArea: number;
  deviceArea: number;
  cb: VdpaCallback | null;
  state: VdpaVqState;
  kicks: number;
  stats: VendorStat[];
}

const DEFAULT_VQ_NUM_MAX = 256;
const DEFAULT_VQ_ALIGN = 4096;

interface Failure {
  code: VdpaErrno;
  remaining: number;
  message: string | undefined;
}

/**
 * A scriptable `VdpaConfigOps` for tests: configurable shape, records every call in `calls`, can be
 * told to fail any op (`failOp`), and can fire the callbacks a driver registered (`triggerVq`,
 * `triggerConfigChange`). Implements every op; `without` removes optional ones.
 *
 * @example
 * const fake = new FakeDevice({ nvqs: 3, without: ['suspend'] });
 * const dev = fake.register(bus, { classIds: ['virtio'] });
 * fake.failOp('setStatus', 'EIO', 1);
 */
export class FakeDevice implements VdpaConfigOps {
  /** Every call, in order. */
  readonly calls: FakeCall[] = [];
  readonly vqs: FakeVq[];
  readonly config: Uint8Array;
  status = 0;
  driverFeatures = 0n;
  deviceFeatures: bigint;
  configCb: VdpaCallback | null = null;
  generation = 0;
  suspended = false;
  freed = false;
  /** The bus record once {@link FakeDevice.register}ed. */
  vdpa: VdpaDevice | undefined;
  readonly nvqs: number;
  private readonly failures = new Map<OpName, Failure>();
  private readonly options: FakeDeviceOptions;

  constructor(options: FakeDeviceOptions = {}) {
    this.options = options;
    this.nvqs = options.nvqs ?? 2;
    this.deviceFeatures = options.deviceFeatures ?? bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);
    this.config =
      options.config === undefined ? new Uint8Array(VIRTIO_NET_CONFIG_SIZE) : Uint8Array.from(options.config);
    this.vqs = Array.from({ length: this.nvqs }, () => this.freshVq());
    for (const op of options.without ?? []) {
      if (OP_TABLE[op].mandatory) throw new VdpaError('EINVAL', `fake device cannot omit mandatory op ${op}`);
      Object.defineProperty(this, op, { value: undefined, enumerable: false });
    }
  }

  /**
   * Allocates and registers this device on `bus` (`ops: this`, `nvqs` from the options, class ids
   * default virtio and vhost); a failed registration releases the allocation.
   * @returns the bus record
   */
  register(
    bus: VdpaBus,
    options: Omit<VdpaAllocOptions, 'ops' | 'classIds'> & { classIds?: readonly VdpaClassId[] } = {},
  ): VdpaDevice {
    const dev = bus.allocDevice({ classIds: ['virtio', 'vhost'], ...options, ops: this });
    try {
      bus.registerDevice(dev, this.nvqs);
    } catch (err) {
      bus.releaseDevice(dev);
      throw err;
    }
    this.vdpa = dev;
    return dev;
  }

  /**
   * Makes the next `times` calls of `op` throw `VdpaError(code)` (after recording them).
   * @param times how many calls fail (default: all)
   */
  failOp(op: OpName, code: VdpaErrno, times = Number.POSITIVE_INFINITY, message?: string): void {
    this.failures.set(op, { code, remaining: times, message });
  }

  /** Stops every injected failure. */
  clearFailures(): void {
    this.failures.clear();
  }

  /** Names of the recorded calls, in order. */
  callNames(): OpName[] {
    return this.calls.map((c) => c.op);
  }

  /** Invokes the used-buffer callback of vq `idx`, as the device would after using buffers. */
  triggerVq(idx: number): void {
    this.vqs[idx]?.cb?.();
  }

  /** Invokes the config-change callback. */
  triggerConfigChange(): void {
    this.configCb?.();
  }

  private freshVq(): FakeVq {
    return {
      ready: false,
      num: 0,
      descArea: 0,
      driverArea: 0,
      deviceArea: 0,
      cb: null,
      state: { kind: 'split', availIndex: 0 },
      kicks: 0,
      stats: [],
    };
  }

  private enter(op: OpName, ...args: unknown[]): void {
    this.calls.push({ op, args });
    const f = this.failures.get(op);
    if (f === undefined || f.remaining <= 0) return;
    f.remaining--;
    throw new VdpaError(f.code, f.message ?? `fake device: injected ${f.code} on ${op}`);
  }

  private vq(idx: number): FakeVq {
    const vq = this.vqs[idx];
    if (vq === undefined)
      throw new VdpaError('EINVAL', `vq index ${idx} is out of range (nvqs ${this.nvqs})`);
    return vq;
  }

  setVqAddress(idx: number, descArea: number, driverArea: number, deviceArea: number): void {
    this.enter('setVqAddress', idx, descArea, driverArea, deviceArea);
    Object.assign(this.vq(idx), { descArea, driverArea, deviceArea });
  }
  setVqNum(idx: number, num: number): void {
    this.enter('setVqNum', idx, num);
    this.vq(idx).num = num;
  }
  kickVq(idx: number): void {
    this.enter('kickVq', idx);
    this.vq(idx).kicks++;
  }
  kickVqWithData(data: number): void {
    this.enter('kickVqWithData', data);
  }
  setVqCb(idx: number, cb: VdpaCallback | null): void {
    this.enter('setVqCb', idx, cb);
    this.vq(idx).cb = cb;
  }
  setVqReady(idx: number, ready: boolean): void {
    this.enter('setVqReady', idx, ready);
    this.vq(idx).ready = ready;
  }
  getVqReady(idx: number): boolean {
    this.enter('getVqReady', idx);
    return this.vq(idx).ready;
  }
  setVqState(idx: number, state: VdpaVqState): void {
    this.enter('setVqState', idx, state);
    this.vq(idx).state = state;
  }
  getVqState(idx: number): VdpaVqState {
    this.enter('getVqState', idx);
    return this.vq(idx).state;
  }
  getVendorVqStats(idx: number): VendorStat[] {
    this.enter('getVendorVqStats', idx);
    return [...this.vq(idx).stats];
  }
  getVqNotification(idx: number): VdpaNotificationArea {
    this.enter('getVqNotification', idx);
    return { addr: 0, size: 0 };
  }
  getVqIrq(idx: number): number {
    this.enter('getVqIrq', idx);
    return -1;
  }
  getVqSize(idx: number): number {
    this.enter('getVqSize', idx);
    return this.options.vqSizes?.[idx] ?? this.options.vqNumMax ?? DEFAULT_VQ_NUM_MAX;
  }
  getVqAlign(): number {
    this.enter('getVqAlign');
    return DEFAULT_VQ_ALIGN;
  }
  getVqGroup(idx: number): number {
    this.enter('getVqGroup', idx);
    return 0;
  }
  getVqDescGroup(idx: number): number {
    this.enter('getVqDescGroup', idx);
    return 0;
  }
  getDeviceFeatures(): bigint {
    this.enter('getDeviceFeatures');
    return this.deviceFeatures;
  }
  getBackendFeatures(): bigint {
    this.enter('getBackendFeatures');
    return 0n;
  }
  setDriverFeatures(features: bigint): void {
    this.enter('setDriverFeatures', features);
    if (this.options.requireAccessPlatform === true && (features & bit(VIRTIO_F_ACCESS_PLATFORM)) === 0n) {
      throw new VdpaError('EINVAL', `features 0x${features.toString(16)} lack ACCESS_PLATFORM`);
    }
    this.driverFeatures = features & this.deviceFeatures;
  }
  getDriverFeatures(): bigint {
    this.enter('getDriverFeatures');
    return this.driverFeatures;
  }
  setConfigCb(cb: VdpaCallback | null): void {
    this.enter('setConfigCb', cb);
    this.configCb = cb;
  }
  getVqNumMax(): number {
    this.enter('getVqNumMax');
    return this.options.vqNumMax ?? DEFAULT_VQ_NUM_MAX;
  }
  getVqNumMin(): number {
    this.enter('getVqNumMin');
    return this.options.vqNumMin ?? 1;
  }
  getDeviceId(): number {
    this.enter('getDeviceId');
    return this.options.deviceId ?? VIRTIO_ID_NET;
  }
  getVendorId(): number {
    this.enter('getVendorId');
    return this.options.vendorId ?? 0;
  }
  getStatus(): number {
    this.enter('getStatus');
    return this.status;
  }
  setStatus(status: number): void {
    this.enter('setStatus', status);
    this.status = status;
  }
  reset(): void {
    this.enter('reset');
    this.doReset();
  }
  compatReset(flags: number): void {
    this.enter('compatReset', flags);
    this.doReset();
  }
  suspend(): void {
    this.enter('suspend');
    this.suspended = true;
  }
  resume(): void {
    this.enter('resume');
    this.suspended = false;
  }
  getConfigSize(): number {
    this.enter('getConfigSize');
    return this.config.length;
  }
  getConfig(offset: number, buf: Uint8Array): void {
    this.enter('getConfig', offset, buf);
    // Out-of-range reads are ignored, like vdpa_sim.
    if (offset + buf.length > this.config.length) return;
    buf.set(this.config.subarray(offset, offset + buf.length));
  }
  setConfig(offset: number, buf: Uint8Array): void {
    this.enter('setConfig', offset, buf);
    if (offset + buf.length > this.config.length) return;
    this.config.set(buf, offset);
  }
  getGeneration(): number {
    this.enter('getGeneration');
    return this.generation;
  }
  getIovaRange(): VdpaIovaRange {
    this.enter('getIovaRange');
    // vdpa_sim.c: vdpasim_get_iova_range() answers the whole u64 space.
    return { first: 0n, last: U64_LIMIT - 1n };
  }
  setVqAffinity(idx: number, cpuMask: bigint): void {
    this.enter('setVqAffinity', idx, cpuMask);
  }
  getVqAffinity(idx: number): bigint {
    this.enter('getVqAffinity', idx);
    return 0n;
  }
  setMap(asid: number, iotlb: Iotlb): void {
    this.enter('setMap', asid, iotlb);
  }
  dmaMap(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque?: VdpaMapFile): void {
    this.enter('dmaMap', asid, iova, size, pa, perm, opaque);
  }
  dmaUnmap(asid: number, iova: bigint, size: bigint): void {
    this.enter('dmaUnmap', asid, iova, size);
  }
  resetMap(asid: number): void {
    this.enter('resetMap', asid);
  }
  setGroupAsid(group: number, asid: number): void {
    this.enter('setGroupAsid', group, asid);
  }
  getVqDmaDev(idx: number): string {
    this.enter('getVqDmaDev', idx);
    return 'guest-memory';
  }
  bindMm(mm: GuestMemory): void {
    this.enter('bindMm', mm);
  }
  unbindMm(): void {
    this.enter('unbindMm');
  }
  free(): void {
    this.enter('free');
    this.freed = true;
  }

  private doReset(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.configCb = null;
    this.suspended = false;
    this.generation++;
    for (let i = 0; i < this.vqs.length; i++) this.vqs[i] = { ...this.freshVq(), stats: this.vqs[i].stats };
  }

  /** True once the status has FEATURES_OK. */
  get featuresOk(): boolean {
    return (this.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0;
  }
}
