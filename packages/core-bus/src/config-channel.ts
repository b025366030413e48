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
import type { DeviceHandle } from './device-handle.js';
import { VdpaError } from './errors.js';
import { NO_ARGS, encodeOpArgs, indexArgs } from './event-args.js';
import { encodeResult } from './event-codec.js';
import type { EventStream } from './event-stream.js';
import type { CbName, OpOrigin } from './events.js';
import type { Interceptor, InterceptorChain, OpCall } from './interceptor.js';
import type { Logger } from './logger.js';
import type { VdpaClassId, VdpaDevice } from './vdpa-device.js';

type OpFn = (this: VdpaConfigOps, ...args: unknown[]) => unknown;

/** Something whose liveness decides whether a wrapped callback is still delivered. */
export interface Liveness {
  readonly alive: boolean;
}

/**
 * The config-ops channel of one device (internal): every op a driver's handle, the bus or a
 * management query issues goes through {@link ConfigChannel.call}. Also holds the bus-side wrapper
 * state of `struct vdpa_device` (`features_valid`).
 */
export class ConfigChannel {
  /** `vdpa_device.features_valid`: set by `setDriverFeatures`, cleared by `reset`. */
  featuresValid = false;
  private readonly ops: VdpaConfigOps;
  private readonly table: Readonly<Record<string, OpFn | undefined>>;

  constructor(
    readonly device: VdpaDevice,
    private readonly events: EventStream,
    private readonly chain: InterceptorChain,
    private readonly logger: Logger,
  ) {
    this.ops = device.ops;
    this.table = device.ops as unknown as Readonly<Record<string, OpFn | undefined>>;
  }

  /** True when the device implements `op`. */
  has(op: OpName): boolean {
    return typeof this.table[op] === 'function';
  }

  /**
   * Calls `op` on the device, synchronously like a kernel op: the `call` event, the interceptors
   * (outermost first), the device, then the `return` or `error` event. While nobody observes
   * `events$` and no interceptor is installed, it calls the device directly and builds no event.
   * @throws VdpaError the device's error (any thrown value is wrapped), an interceptor's, or
   * `EOPNOTSUPP` when the device lacks `op`
   */
  call(origin: OpOrigin | undefined, op: OpName, args: readonly unknown[]): unknown {
    if (this.chain.size === 0 && !this.events.observed) {
      try {
        return this.device0(op, args);
      } catch (err) {
        throw VdpaError.from(err);
      }
    }
    const dev = this.device.name;
    const seq = this.events.emitOpCall(dev, op, origin, encodeOpArgs(op, args));
    let result: unknown;
    try {
      // Read after the call event: a subscriber that added an interceptor meanwhile sees this op.
      const layers = this.chain.current;
      result =
        layers.length === 0 ? this.device0(op, args) : this.layer(layers, 0, { seq, dev, op, args, origin });
    } catch (err) {
      const error = VdpaError.from(err);
      this.events.emitOpError(dev, op, origin, error.code, error.message);
      throw error;
    }
    this.events.emitOpReturn(dev, op, origin, encodeResult(op, result, args));
    return result;
  }

  /** `vdpa_set_features()`: marks features valid, then `setDriverFeatures`. */
  setFeatures(origin: OpOrigin | undefined, features: bigint): void {
    this.featuresValid = true;
    this.call(origin, 'setDriverFeatures', [features]);
  }

  /**
   * `vdpa_get_config()`: a config read before any feature negotiation first sets features to 0 (a
   * legacy guest), as its own `origin: 'core'` op whose failure is ignored like the kernel does.
   */
  getConfig(origin: OpOrigin | undefined, offset: number, buf: Uint8Array): void {
    if (!this.featuresValid) {
      try {
        this.setFeatures('core', 0n);
      } catch (err) {
        this.logger.debug('implicit setDriverFeatures(0) failed', {
          dev: this.device.name,
          err: VdpaError.from(err).code,
        });
      }
    }
    this.call(origin, 'getConfig', [offset, buf]);
  }

  /**
   * `vdpa_reset()`: clears features valid, then `compatReset(flags)` when flags are non-zero and the
   * device has it, else `reset()`.
   */
  reset(origin: OpOrigin | undefined, flags: number): void {
    this.featuresValid = false;
    if (flags !== 0 && this.has('compatReset')) this.call(origin, 'compatReset', [flags]);
    else this.call(origin, 'reset', NO_ARGS);
  }

  /** `compatReset` called directly: a reset too, so it clears features valid. */
  compatReset(origin: OpOrigin | undefined, flags: number): void {
    this.featuresValid = false;
    this.call(origin, 'compatReset', [flags]);
  }

  /**
   * Wraps a driver callback so that the device invoking it emits a `cb` event and then calls the
   * driver; once `owner` is dead the callback is dropped (with an `ENODEV` cb event when observed).
   */
  wrapCallback(owner: Liveness, op: CbName, idx: number | undefined, cb: VdpaCallback): VdpaCallback {
    const dev = this.device.name;
    // Built once per registration: a callback event allocates no argument list.
    const args = idx === undefined ? NO_ARGS : indexArgs(idx);
    const events = this.events;
    return () => {
      if (!owner.alive) {
        if (events.observed) {
          const message = `${op} of ${dev} dropped: the driver that registered it is unbound`;
          events.emitCb(dev, op, args, 'ENODEV', message);
        }
        return;
      }
      if (events.observed) events.emitCb(dev, op, args);
      cb();
    };
  }

  /**
   * Layer `k` of `layers` around the device; `call` is the op as this layer receives it. Its `next`
   * works only while the layer runs: called later, it would reach the device outside the op's events.
   */
  private layer(layers: readonly Interceptor[], k: number, call: OpCall): unknown {
    if (k === layers.length) return this.device0(call.op, call.args);
    let open = true;
    try {
      return layers[k](call, (args) => {
        if (!open) {
          throw new VdpaError(
            'EINVAL',
            `next() of ${call.op} on ${call.dev} called after its interceptor returned`,
          );
        }
        return this.layer(layers, k + 1, args === undefined ? call : { ...call, args: [...args] });
      });
    } finally {
      open = false;
    }
  }

  /** The device's op itself. */
  private device0(op: OpName, args: readonly unknown[]): unknown {
    const fn = this.table[op];
    if (typeof fn !== 'function') {
      throw new VdpaError('EOPNOTSUPP', `op ${op} is not supported by device ${this.device.name}`);
    }
    // Direct calls for the common arities: `apply` cost about as much as building one event record.
    switch (args.length) {
      case 0:
        return fn.call(this.ops);
      case 1:
        return fn.call(this.ops, args[0]);
      case 2:
        return fn.call(this.ops, args[0], args[1]);
      default:
        return fn.apply(this.ops, args as unknown[]);
    }
  }
}

/**
 * The channel-backed {@link DeviceHandle} (internal; the bus creates one per binding, one for its own
 * calls and one per management query). Each method is one {@link ConfigChannel.call}.
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

  setVqAddress(idx: number, descArea: number, driverArea: number, deviceArea: number): void {
    this.call('setVqAddress', [idx, descArea, driverArea, deviceArea]);
  }
  setVqNum(idx: number, num: number): void {
    this.call('setVqNum', [idx, num]);
  }
  kickVq(idx: number): void {
    this.call('kickVq', [idx]);
  }
  kickVqWithData(data: number): void {
    this.call('kickVqWithData', [data]);
  }
  setVqCb(idx: number, cb: VdpaCallback | null): void {
    const wrapped = cb === null ? null : this.live().wrapCallback(this, 'vqCb', idx, cb);
    this.call('setVqCb', [idx, wrapped]);
  }
  setVqReady(idx: number, ready: boolean): void {
    this.call('setVqReady', [idx, ready]);
  }
  getVqReady(idx: number): boolean {
    return this.call('getVqReady', [idx]) as boolean;
  }
  setVqState(idx: number, state: VdpaVqState): void {
    this.call('setVqState', [idx, state]);
  }
  getVqState(idx: number): VdpaVqState {
    return this.call('getVqState', [idx]) as VdpaVqState;
  }
  getVendorVqStats(idx: number): VendorStat[] {
    return this.call('getVendorVqStats', [idx]) as VendorStat[];
  }
  getVqNotification(idx: number): VdpaNotificationArea {
    return this.call('getVqNotification', [idx]) as VdpaNotificationArea;
  }
  getVqIrq(idx: number): number {
    return this.call('getVqIrq', [idx]) as number;
  }
  getVqSize(idx: number): number {
    return this.call('getVqSize', [idx]) as number;
  }
  getVqAlign(): number {
    return this.call('getVqAlign', NO_ARGS) as number;
  }
  getVqGroup(idx: number): number {
    return this.call('getVqGroup', [idx]) as number;
  }
  getVqDescGroup(idx: number): number {
    return this.call('getVqDescGroup', [idx]) as number;
  }
  getDeviceFeatures(): bigint {
    return this.call('getDeviceFeatures', NO_ARGS) as bigint;
  }
  getBackendFeatures(): bigint {
    return this.call('getBackendFeatures', NO_ARGS) as bigint;
  }
  setDriverFeatures(features: bigint): void {
    this.live().setFeatures(this.origin, features);
  }
  getDriverFeatures(): bigint {
    return this.call('getDriverFeatures', NO_ARGS) as bigint;
  }
  setConfigCb(cb: VdpaCallback | null): void {
    const wrapped = cb === null ? null : this.live().wrapCallback(this, 'configCb', undefined, cb);
    this.call('setConfigCb', [wrapped]);
  }
  getVqNumMax(): number {
    return this.call('getVqNumMax', NO_ARGS) as number;
  }
  getVqNumMin(): number {
    return this.call('getVqNumMin', NO_ARGS) as number;
  }
  getDeviceId(): number {
    return this.call('getDeviceId', NO_ARGS) as number;
  }
  getVendorId(): number {
    return this.call('getVendorId', NO_ARGS) as number;
  }
  getStatus(): number {
    return this.call('getStatus', NO_ARGS) as number;
  }
  setStatus(status: number): void {
    this.call('setStatus', [status]);
  }
  reset(flags = 0): void {
    this.live().reset(this.origin, flags);
  }
  compatReset(flags: number): void {
    this.live().compatReset(this.origin, flags);
  }
  suspend(): void {
    this.call('suspend', NO_ARGS);
  }
  resume(): void {
    this.call('resume', NO_ARGS);
  }
  getConfigSize(): number {
    return this.call('getConfigSize', NO_ARGS) as number;
  }
  getConfig(offset: number, buf: Uint8Array): void {
    if (this.rawConfig) this.call('getConfig', [offset, buf]);
    else this.live().getConfig(this.origin, offset, buf);
  }
  setConfig(offset: number, buf: Uint8Array): void {
    this.call('setConfig', [offset, buf]);
  }
  getGeneration(): number {
    return this.call('getGeneration', NO_ARGS) as number;
  }
  getIovaRange(): VdpaIovaRange {
    return this.call('getIovaRange', NO_ARGS) as VdpaIovaRange;
  }
  setVqAffinity(idx: number, cpuMask: bigint): void {
    this.call('setVqAffinity', [idx, cpuMask]);
  }
  getVqAffinity(idx: number): bigint {
    return this.call('getVqAffinity', [idx]) as bigint;
  }
  setMap(asid: number, iotlb: Iotlb): void {
    this.call('setMap', [asid, iotlb]);
  }
  dmaMap(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque?: VdpaMapFile): void {
    this.call(
      'dmaMap',
      opaque === undefined ? [asid, iova, size, pa, perm] : [asid, iova, size, pa, perm, opaque],
    );
  }
  dmaUnmap(asid: number, iova: bigint, size: bigint): void {
    this.call('dmaUnmap', [asid, iova, size]);
  }
  resetMap(asid: number): void {
    this.call('resetMap', [asid]);
  }
  setGroupAsid(group: number, asid: number): void {
    this.call('setGroupAsid', [group, asid]);
  }
  getVqDmaDev(idx: number): string {
    return this.call('getVqDmaDev', [idx]) as string;
  }
  bindMm(mm: GuestMemory): void {
    this.call('bindMm', [mm]);
  }
  unbindMm(): void {
    this.call('unbindMm', NO_ARGS);
  }

  private call(op: OpName, args: readonly unknown[]): unknown {
    return this.live().call(this.origin, op, args);
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
}
