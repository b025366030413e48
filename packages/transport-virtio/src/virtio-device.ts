import { type DeviceHandle, type Logger, nullLogger } from '@vdpa-kit/core-bus';
import {
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  bit,
} from '@vdpa-kit/virtio-spec';
import type { DmaAllocator, GuestMemory, VirtqueueCore } from '@vdpa-kit/vring';
import { type Observable, Subject } from 'rxjs';
import { CONFIG_GENERATION_RETRIES, DEFAULT_QUEUE_SIZE } from './constants.js';
import { VirtioError } from './errors.js';
import { checkTransportFeatures, hasFeature } from './features.js';
import type { VirtioDriver } from './virtio-driver.js';
import {
  type PooledVirtqueueInfo,
  type VirtqueueInfo,
  type VirtqueueOf,
  type VqSetupContext,
  setupVq,
} from './virtio-vq-setup.js';

/** Bytes `virtio_cread16()` and `virtio_cread32()` read. */
const CREAD16_SIZE = 2;
const CREAD32_SIZE = 4;

/** Options of {@link VirtioDevice}. */
export interface VirtioDeviceOptions {
  /** Virtio device id read at probe. */
  readonly deviceId: number;
  /** Virtio vendor id read at probe. */
  readonly vendorId: number;
  /** The memory rings and buffers live in (the stack's `GUEST_MEMORY`). */
  readonly mem: GuestMemory;
  /** The transport's DMA allocator over `mem`. */
  readonly dma: DmaAllocator;
  /** Default ring size of `findVqs` (default 256). */
  readonly queueSize?: number;
  readonly logger?: Logger;
}

/** Options of {@link VirtioDevice.findVqs}. */
export interface FindVqsOptions {
  /** Requested ring size (default: the device's `queueSize` option). */
  readonly queueSize?: number;
}

/**
 * A virtio device on top of a vDPA `DeviceHandle` (the kernel's `virtio_vdpa_device` plus the parts of
 * the virtio core a driver relies on): the status handshake (`virtio_add_status()`: `get_status` before
 * every `set_status`), feature negotiation, the config accessors of `virtio_config.h` (single reads,
 * and per-field reads inside the generation loop), config-change delivery and `findVqs` / `delVqs`
 * (`virtio_vdpa.c`: `virtio_vdpa_find_vqs()`, `virtio_vdpa_del_vqs()`; virtio 1.2 §3.1.1 driver
 * initialization).
 *
 * Misbehaviour seen here (FEATURES_OK cleared, a ring protocol violation reported by a driver,
 * DEVICE_NEEDS_RESET) never throws into the device: the error is a {@link VirtioError} on
 * {@link errors$}, the device is marked {@link broken}, FAILED is written to its status and the driver's
 * `broken` hook runs.
 *
 * @example
 * const vdev = new VirtioDevice(handle, { deviceId: 1, vendorId: 0, mem, dma });
 * vdev.reset();
 * vdev.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
 * vdev.addStatus(VIRTIO_CONFIG_S_DRIVER);
 * vdev.finalizeFeatures(negotiateFeatures(vdev.readDeviceFeatures(), wanted));
 * vdev.featuresOk();
 * const mtu = vdev.cread16(VIRTIO_NET_CONFIG_MTU);
 * const [rx, tx] = vdev.findVqs([{ name: 'rx0', callback: onRx }, { name: 'tx0' }]);
 * vdev.ready();
 */
export class VirtioDevice {
  /** The vdpa device name (`bus_name`). */
  readonly name: string;
  readonly deviceId: number;
  readonly vendorId: number;
  readonly mem: GuestMemory;
  readonly dma: DmaAllocator;
  /** Every error this device reported, fatal ({@link broken}) or not. */
  readonly errors$: Observable<VirtioError>;
  /** The driver bound by the `VirtioBus`, if any. */
  driver: VirtioDriver | undefined;
  /** The driver's per-device object (the `VirtioNet` of a net device). */
  driverData: unknown;

  private readonly handle: DeviceHandle;
  private readonly logger: Logger;
  private readonly queueSize: number;
  private readonly errors = new Subject<VirtioError>();
  /** Buffer of the single-field config reads (`cread8/16/32`), and a little-endian view of it. */
  private readonly scratch = new Uint8Array(CREAD32_SIZE);
  private readonly scratchView = new DataView(this.scratch.buffer);
  private status_ = 0;
  private features_ = 0n;
  private broken_ = false;
  private probeError_: VirtioError | undefined;
  private vqs: VirtqueueCore[] = [];
  private configCoreEnabled = false;
  private configDriverDisabled = false;
  private configPending = false;
  private readonly configCb = (): void => this.deviceConfigInterrupt();
  private readonly notifyVq = (vq: VirtqueueCore): void => this.handle.kickVq(vq.index);

  /**
   * @param handle the bus handle of the vdpa device
   * @param options ids read at probe, memory, DMA allocator, defaults
   */
  constructor(handle: DeviceHandle, options: VirtioDeviceOptions) {
    this.handle = handle;
    this.name = handle.name;
    this.deviceId = options.deviceId;
    this.vendorId = options.vendorId;
    this.mem = options.mem;
    this.dma = options.dma;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.logger = options.logger ?? nullLogger;
    this.errors$ = this.errors.asObservable();
  }

  /** The status this driver last wrote (read from the device and ORed with the new bits). */
  get status(): number {
    return this.status_;
  }

  /** Why the virtio driver's probe failed (the device is then FAILED and has no driver). */
  get probeError(): VirtioError | undefined {
    return this.probeError_;
  }

  /** Records the virtio driver's probe failure (the bus calls this; see {@link probeError}). */
  set probeError(error: VirtioError | undefined) {
    this.probeError_ = error;
  }

  /** Negotiated features (0 before {@link finalizeFeatures}). */
  get features(): bigint {
    return this.features_;
  }

  /** True once the device misbehaved or failed; it is then FAILED and unusable until removed. */
  get broken(): boolean {
    return this.broken_;
  }

  /** Number of virtqueues the vdpa device has (`nvqs`). */
  get nvqs(): number {
    return this.handle.nvqs;
  }

  /** The virtqueues set up by {@link findVqs}, in index order. */
  get virtqueues(): readonly VirtqueueCore[] {
    return this.vqs;
  }

  /** True when feature bit `n` was negotiated. */
  hasFeature(n: number): boolean {
    return hasFeature(this.features_, n);
  }

  /** Reads the device's status byte (`get_status`). */
  readStatus(): number {
    return this.handle.getStatus();
  }

  /**
   * `virtio.c: virtio_add_status()`: reads the device status and writes it back with `bits` ORed in
   * (`get_status` before every `set_status`, as the kernel does).
   * @throws VdpaError from either op
   */
  addStatus(bits: number): void {
    const status = this.handle.getStatus() | bits;
    this.status_ = status;
    this.handle.setStatus(status);
  }

  /**
   * `vdpa_reset`: resets the device; the status and negotiated features return to 0. Virtqueues are
   * not freed: call {@link delVqs}.
   */
  reset(): void {
    this.handle.reset();
    this.status_ = 0;
    this.features_ = 0n;
  }

  /** Features the device offers (`get_device_features`). */
  readDeviceFeatures(): bigint {
    return this.handle.getDeviceFeatures();
  }

  /**
   * `virtio_vdpa.c: virtio_vdpa_finalize_features()`: writes the features (`set_driver_features`
   * through `vdpa_set_features()`); the device may refuse them. They are the device's features from
   * now on (see {@link features}).
   *
   * @param features the accepted set (see `negotiateFeatures`)
   * @throws VirtioError reason `features` with the device's errno when it refuses the features
   */
  finalizeFeatures(features: bigint): void {
    this.features_ = features;
    try {
      this.handle.setDriverFeatures(features);
    } catch (err) {
      throw VirtioError.wrap(
        err,
        'features',
        this.name,
        `device ${this.name} refused features 0x${features.toString(16)}`,
      );
    }
  }

  /**
   * `__virtio_clear_bit()`: drops feature `n` from the negotiated set (a driver's `validate` does
   * this); the bus writes the features again when `validate` changed them.
   */
  clearFeature(n: number): void {
    this.features_ &= ~bit(n);
  }

  /**
   * `virtio.c: virtio_features_ok()`: checks the transport features (as a platform that restricts memory
   * access does), sets FEATURES_OK and re-reads the status.
   * @throws VirtioError `ENODEV` reason `features` without VERSION_1 or ACCESS_PLATFORM; `ENODEV` reason
   * `features-ok` when FEATURES_OK does not stick
   */
  featuresOk(): void {
    const features = this.features_;
    checkTransportFeatures(this.name, features);
    this.addStatus(VIRTIO_CONFIG_S_FEATURES_OK);
    const status = this.handle.getStatus();
    if ((status & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      throw new VirtioError(
        'ENODEV',
        'features-ok',
        this.name,
        `device ${this.name} cleared FEATURES_OK (status 0x${status.toString(16)}) for features 0x${features.toString(16)}`,
      );
    }
  }

  /**
   * `virtio_cread8()`: one config read of a byte, outside the generation loop.
   * @throws VirtioError reason `device-op` with the op's errno
   */
  cread8(offset: number): number {
    const buf = this.scratch.subarray(0, 1);
    this.configGet(offset, buf);
    return buf[0];
  }

  /**
   * `virtio_cread16()`: one config read of a little-endian u16 (VERSION_1), outside the generation loop.
   * @throws VirtioError reason `device-op` with the op's errno
   */
  cread16(offset: number): number {
    this.configGet(offset, this.scratch.subarray(0, CREAD16_SIZE));
    return this.scratchView.getUint16(0, true);
  }

  /**
   * `virtio_cread32()`: one config read of a little-endian u32 (VERSION_1), outside the generation loop.
   * @throws VirtioError reason `device-op` with the op's errno
   */
  cread32(offset: number): number {
    this.configGet(offset, this.scratch.subarray(0, CREAD32_SIZE));
    return this.scratchView.getUint32(0, true);
  }

  /**
   * `virtio_cread_bytes()`: `buf.length` config reads of one byte each, inside the generation loop.
   * @throws VirtioError as {@link readConfigMany}
   */
  creadBytes(offset: number, buf: Uint8Array): void {
    this.readConfigMany(offset, buf, buf.length, 1);
  }

  /**
   * Reads the whole of `buf` as one field inside the generation loop (`__virtio_cread_many()` with a
   * count of 1, as `virtio_cread64()` reads).
   * @throws VirtioError as {@link readConfigMany}
   */
  readConfig(offset: number, buf: Uint8Array): void {
    this.readConfigMany(offset, buf, 1, buf.length);
  }

  /**
   * `virtio_config.h: __virtio_cread_many()`: reads `count` fields of `bytes` bytes each into `buf` —
   * one config read per field — between two reads of the config generation (the first before the loop),
   * and reads them all again while the generation moved (virtio 1.2 §2.5.1). The kernel loops for ever;
   * this gives up after 16 rounds.
   *
   * @throws VirtioError `EAGAIN` (reason `config-generation`) when the generation never settles; reason
   * `device-op` with the op's errno when a read fails
   */
  readConfigMany(offset: number, buf: Uint8Array, count: number, bytes: number): void {
    const hasGeneration = this.handle.has('getGeneration');
    let gen = hasGeneration ? this.generation() : 0;
    for (let round = 0; round < CONFIG_GENERATION_RETRIES; round++) {
      const old = gen;
      for (let i = 0; i < count; i++) {
        this.configGet(offset + bytes * i, buf.subarray(bytes * i, bytes * (i + 1)));
      }
      gen = hasGeneration ? this.generation() : 0;
      if (gen === old) return;
    }
    throw new VirtioError(
      'EAGAIN',
      'config-generation',
      this.name,
      `config generation of device ${this.name} did not settle after ${CONFIG_GENERATION_RETRIES} reads`,
    );
  }

  /**
   * Writes device config (`vdpa_set_config`).
   * @throws VirtioError reason `device-op` with the op's errno
   */
  writeConfig(offset: number, buf: Uint8Array): void {
    try {
      this.handle.setConfig(offset, buf);
    } catch (err) {
      throw VirtioError.wrap(
        err,
        'device-op',
        this.name,
        `config write of ${buf.length} bytes at ${offset} failed`,
      );
    }
  }

  /**
   * `virtio_vdpa_find_vqs()`: sets up one virtqueue per named entry, in order (a `null` entry gets
   * `null` and uses no index), then registers the config-change callback. An entry with a `pool` gets
   * a `PooledVirtqueue` with its buffers (a NIC's receive or transmit ring), any other a general
   * `Virtqueue`. On failure every vq set up so far is deleted (`setVqReady(false)`, rings and pools
   * freed) and the error is thrown.
   *
   * @param infos names and callbacks (and pools), one per queue
   * @param options requested ring size
   * @returns the virtqueues, `null` for `null` entries
   * @throws VirtioError reason `vq-setup` (see `setupVq`); `EBUSY` when vqs already exist
   */
  findVqs<const I extends readonly (VirtqueueInfo | PooledVirtqueueInfo | null)[]>(
    infos: I,
    options: FindVqsOptions = {},
  ): { -readonly [K in keyof I]: VirtqueueOf<I[K]> } {
    if (this.vqs.length > 0)
      throw new VirtioError(
        'EBUSY',
        'vq-setup',
        this.name,
        `device ${this.name} already has ${this.vqs.length} vqs`,
      );
    const ctx: VqSetupContext = {
      dev: this.name,
      handle: this.handle,
      mem: this.mem,
      dma: this.dma,
      logger: this.logger,
      eventIdx: this.hasFeature(VIRTIO_RING_F_EVENT_IDX),
      indirect: this.hasFeature(VIRTIO_RING_F_INDIRECT_DESC),
      notify: this.notifyVq,
      interrupt: (vq) => () => this.vqInterrupt(vq),
    };
    const requested = options.queueSize ?? this.queueSize;
    const out: (VirtqueueCore | null)[] = [];
    let queueIdx = 0;
    try {
      for (const info of infos) {
        if (info === null) {
          out.push(null);
          continue;
        }
        const vq = setupVq(ctx, queueIdx++, info, requested);
        this.vqs.push(vq);
        out.push(vq);
      }
      this.handle.setConfigCb(this.configCb);
    } catch (err) {
      this.delVqs();
      throw VirtioError.wrap(err, 'vq-setup', this.name, 'set config callback failed');
    }
    // setupVq made each entry's kind of queue (see VirtqueueOf).
    return out as { -readonly [K in keyof I]: VirtqueueOf<I[K]> };
  }

  /**
   * `virtio_vdpa_del_vqs`: per vq `setVqReady(false)` (best effort) and the rings freed. Call after
   * {@link reset}.
   */
  delVqs(): void {
    const vqs = this.vqs;
    this.vqs = [];
    for (const vq of vqs) {
      if (this.handle.alive) {
        try {
          this.handle.setVqReady(vq.index, false);
        } catch (err) {
          this.logger.warn('deactivating vq failed', { dev: this.name, vq: vq.index, message: String(err) });
        }
      }
      vq.destroy();
    }
  }

  /**
   * `virtio_config.h: virtio_device_ready()`: reads the status and writes it with DRIVER_OK.
   * @throws VdpaError from either op
   */
  ready(): void {
    this.addStatus(VIRTIO_CONFIG_S_DRIVER_OK);
  }

  /**
   * `virtio.c: virtio_config_changed()`: hands a config change to the driver's `configChanged`, or keeps
   * it pending while config changes are disabled (before the probe completed, or while the driver
   * disabled them). Never throws: a failing hook is reported on {@link errors$}.
   */
  configChanged(): void {
    if (!this.configCoreEnabled || this.configDriverDisabled) {
      this.configPending = true;
      return;
    }
    this.configPending = false;
    this.deliverConfigChange();
  }

  /** `virtio_config_driver_disable()`: the driver defers config changes (until {@link configDriverEnable}). */
  configDriverDisable(): void {
    this.configDriverDisabled = true;
  }

  /** `virtio_config_driver_enable()`: config changes reach the driver again; a pending one now. */
  configDriverEnable(): void {
    this.configDriverDisabled = false;
    if (this.configPending) this.configChanged();
  }

  /** `virtio_config_core_enable()`: the bus enables config changes after the driver's probe. */
  configCoreEnable(): void {
    this.configCoreEnabled = true;
    if (this.configPending) this.configChanged();
  }

  /** `virtio_config_core_disable()`: the bus disables config changes before the driver's remove. */
  configCoreDisable(): void {
    this.configCoreEnabled = false;
  }

  /**
   * Leaves the device quiet: resets it (when it was touched since the last reset) and deletes its
   * virtqueues. Safe to call more than once and on a device whose handle is dead.
   */
  teardown(): void {
    if (this.handle.alive && (this.status_ !== 0 || this.vqs.length > 0)) {
      try {
        this.reset();
      } catch (err) {
        this.logger.warn('reset at teardown failed', { dev: this.name, message: String(err) });
      }
    }
    this.delVqs();
  }

  /**
   * Marks the device broken (first error only): the error goes to {@link errors$}, FAILED is written to
   * the status and the driver's `broken` hook runs. Never throws.
   */
  fail(error: VirtioError): void {
    if (this.broken_) {
      this.logger.debug('virtio device already broken', { dev: this.name, message: error.message });
      return;
    }
    this.broken_ = true;
    this.logger.error('virtio device failed', {
      dev: this.name,
      reason: error.reason,
      err: error.code,
      message: error.message,
    });
    this.errors.next(error);
    if (this.handle.alive) {
      try {
        this.addStatus(VIRTIO_CONFIG_S_FAILED);
      } catch (err) {
        this.logger.warn('setting FAILED failed', { dev: this.name, message: String(err) });
      }
    }
    try {
      this.driver?.broken?.(this, error);
    } catch (err) {
      this.logger.error('driver broken hook threw', { dev: this.name, message: String(err) });
    }
  }

  /** Reports a non-fatal error on {@link errors$} (the device stays usable). Never throws. */
  report(error: VirtioError): void {
    this.logger.warn('virtio device error', {
      dev: this.name,
      reason: error.reason,
      err: error.code,
      message: error.message,
    });
    this.errors.next(error);
  }

  /** Completes {@link errors$}; called when the device leaves the virtio bus. */
  dispose(): void {
    this.errors.complete();
  }

  /** The used-buffer callback: `vring_interrupt`, with every throw turned into {@link fail}. */
  private vqInterrupt(vq: VirtqueueCore): void {
    if (this.broken_) return;
    try {
      vq.interrupt();
    } catch (err) {
      this.fail(VirtioError.wrap(err, 'ring', this.name, `interrupt of vq ${vq.index} failed`));
    }
  }

  /** The device's config-change callback: NEEDS_RESET check, then {@link configChanged}. */
  private deviceConfigInterrupt(): void {
    if (!this.handle.alive || this.broken_) return;
    let status: number;
    try {
      status = this.handle.getStatus();
    } catch (err) {
      this.report(VirtioError.wrap(err, 'device-op', this.name, 'status read after config change failed'));
      return;
    }
    if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) {
      this.fail(
        new VirtioError(
          'EIO',
          'needs-reset',
          this.name,
          `device ${this.name} needs reset (status 0x${status.toString(16)})`,
        ),
      );
      return;
    }
    this.configChanged();
  }

  /** One config read (`virtio_vdpa.c: virtio_vdpa_get()`), errors wrapped. */
  private configGet(offset: number, buf: Uint8Array): void {
    try {
      this.handle.getConfig(offset, buf);
    } catch (err) {
      throw VirtioError.wrap(
        err,
        'device-op',
        this.name,
        `config read of ${buf.length} bytes at ${offset} failed`,
      );
    }
  }

  /** `virtio_vdpa.c: virtio_vdpa_generation()`, errors wrapped. */
  private generation(): number {
    try {
      return this.handle.getGeneration();
    } catch (err) {
      throw VirtioError.wrap(err, 'device-op', this.name, 'config generation read failed');
    }
  }

  private deliverConfigChange(): void {
    try {
      this.driver?.configChanged?.(this);
    } catch (err) {
      this.report(VirtioError.wrap(err, 'device-op', this.name, 'config change handling failed'));
    }
  }
}
