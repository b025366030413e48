import { inject, injectable } from 'inversify';
import type { Observable } from 'rxjs';
import { type Clock, SystemClock } from './clock.js';
import { ChannelHandle, ConfigChannel } from './config-channel.js';
import { U32_MAX } from '@vdpa-kit/virtio-spec';
import { VDPA_VQ_NUM_MIN_DEFAULT } from './constants.js';
import { VdpaError, describeValue } from './errors.js';
import { encodeValue } from './event-codec.js';
import { EventStream } from './event-stream.js';
import type { BusEvent, BusOp, JsonObject } from './events.js';
import { IndexAllocator } from './index-allocator.js';
import { type Interceptor, InterceptorChain } from './interceptor.js';
import { type Logger, nullLogger } from './logger.js';
import type {
  MgmtDevInfo,
  MgmtDevice,
  VdpaDevAddRequest,
  VdpaDevConfigInfo,
  VdpaDevInfo,
  VdpaDevVstats,
} from './mgmt-device.js';
import { MgmtRegistry, type VdpaDevSetAttrRequest } from './mgmt-registry.js';
import { CLOCK, LOGGER } from './tokens.js';
import {
  type MutableVdpaDevice,
  type VdpaAllocOptions,
  type VdpaDevice,
  checkAllocOptions,
  isVdpaClassId,
} from './vdpa-device.js';
import type { VdpaDriver } from './vdpa-driver.js';

interface DeviceEntry {
  readonly dev: MutableVdpaDevice;
  readonly channel: ConfigChannel;
  /** `origin: 'bus'` handle for probe checks. */
  readonly busHandle: ChannelHandle;
  registered: boolean;
  driver: VdpaDriver | undefined;
  handle: ChannelHandle | undefined;
  probing: boolean;
}

/**
 * The vDPA bus (`drivers/vdpa/vdpa.c`): devices, drivers (transports), management devices, class-id
 * matching, and the config-ops channel whose every call is an event on {@link VdpaBus.events$}.
 *
 * Matching: a registered device binds to the first registered driver whose `idTable` intersects its
 * `classIds` (a refusing probe passes the device on to the next matching driver), unless its
 * `driverOverride` names a driver: then only that one, and only if the classes intersect (otherwise a
 * `probe_failed` event with `ENODEV`). Registering a driver probes every unbound matching device;
 * unregistering one removes its devices, which stay unbound until `bind` or a new driver (kernel
 * behaviour). Before a driver's `probe` the bus checks `getVqNumMax() >= (getVqNumMin?.() ?? 1)`.
 *
 * Everything is synchronous, like the kernel ops.
 *
 * @example
 * const bus = new VdpaBus();
 * bus.registerDriver(transport);
 * const dev = bus.allocDevice({ ops: myDevice, classIds: ['virtio'] });
 * bus.registerDevice(dev, 2); // binds to `transport`, whose probe gets a DeviceHandle
 * bus.events$.subscribe((e) => console.log(JSON.stringify(e)));
 */
@injectable()
export class VdpaBus {
  /** The one ordered stream of every op, callback, bus and management event. */
  readonly events$: Observable<BusEvent>;
  private readonly stream: EventStream;
  private readonly chain = new InterceptorChain();
  private readonly ida = new IndexAllocator();
  private readonly allocated = new Map<VdpaDevice, DeviceEntry>();
  private readonly registered = new Map<string, DeviceEntry>();
  private readonly driverMap = new Map<string, VdpaDriver>();
  private readonly mgmt: MgmtRegistry;

  /**
   * @param clock stamps events (default `SystemClock`)
   * @param logger (default `nullLogger`)
   */
  constructor(
    @inject(CLOCK) clock: Clock = new SystemClock(),
    @inject(LOGGER) private readonly logger: Logger = nullLogger,
  ) {
    this.stream = new EventStream(clock);
    this.events$ = this.stream.events$;
    this.mgmt = new MgmtRegistry({
      stream: this.stream,
      logger,
      device: (name) => this.registered.get(name)?.dev,
      devices: () => this.devices(),
      mgmtHandle: (dev, raw) => new ChannelHandle(this.entryOf(dev).channel, 'mgmt', 'management', raw),
    });
  }

  // ---- devices ------------------------------------------------------------------------------

  /**
   * `__vdpa_alloc_device`: allocates an index and the device record (not yet on the bus).
   * @throws VdpaError `EINVAL` for bad options (see `checkAllocOptions`)
   */
  allocDevice(options: VdpaAllocOptions): VdpaDevice {
    checkAllocOptions(options);
    if (options.driverOverride !== undefined) this.checkDriverName(options.driverOverride);
    const index = this.ida.alloc();
    const dev: MutableVdpaDevice = {
      name: options.name ?? `vdpa${index}`,
      index,
      classIds: Object.freeze([...new Set(options.classIds)]),
      nvqs: 0,
      ngroups: options.ngroups ?? 1,
      nas: options.nas ?? 1,
      mgmtdev: options.mgmtdev,
      ops: options.ops,
      useVa: options.useVa ?? false,
      driverOverride: options.driverOverride,
    };
    const channel = new ConfigChannel(dev, this.stream, this.chain, this.logger);
    this.allocated.set(dev, {
      dev,
      channel,
      busHandle: new ChannelHandle(channel, 'bus', 'the bus'),
      registered: false,
      driver: undefined,
      handle: undefined,
      probing: false,
    });
    return dev;
  }

  /**
   * `vdpa_register_device`: sets `nvqs`, adds the device to the bus and matches it with a driver.
   * @throws VdpaError `EINVAL` if `dev` was not allocated here or `nvqs` is not a u32, `EBUSY` if
   * already registered, `EEXIST` if a device with the same name exists
   */
  registerDevice(dev: VdpaDevice, nvqs: number): void {
    const entry = this.entryOf(dev);
    if (entry.registered) throw new VdpaError('EBUSY', `device ${dev.name} is already registered`);
    if (!Number.isInteger(nvqs) || nvqs < 0 || nvqs > U32_MAX)
      throw new VdpaError('EINVAL', `nvqs ${String(nvqs)} is not a u32`);
    if (this.registered.has(dev.name))
      throw new VdpaError('EEXIST', `device name ${dev.name} already exists`);
    entry.dev.nvqs = nvqs;
    entry.registered = true;
    this.registered.set(dev.name, entry);
    this.emitBus('device_registered', dev.name, {
      index: dev.index,
      nvqs,
      classIds: [...dev.classIds],
      ngroups: dev.ngroups,
      nas: dev.nas,
      useVa: dev.useVa,
      ...(dev.mgmtdev === undefined ? {} : { mgmtdev: dev.mgmtdev }),
    });
    this.attach(entry);
  }

  /**
   * `vdpa_unregister_device`: removes the driver (if bound), takes the device off the bus and
   * releases it (`free` op, index freed).
   * @throws VdpaError `ENODEV` if not registered
   */
  unregisterDevice(dev: VdpaDevice): void {
    const entry = this.allocated.get(dev);
    if (entry === undefined || !entry.registered)
      throw new VdpaError('ENODEV', `device ${dev.name} is not registered`);
    if (entry.driver !== undefined) this.detach(entry);
    entry.registered = false;
    this.registered.delete(dev.name);
    this.emitBus('device_unregistered', dev.name, { index: dev.index });
    this.release(entry);
  }

  /**
   * `put_device` of an allocated device that was never registered (a failed `devAdd`): calls `free`
   * and frees the index.
   * @throws VdpaError `EINVAL` if unknown, `EBUSY` if registered
   */
  releaseDevice(dev: VdpaDevice): void {
    const entry = this.entryOf(dev);
    if (entry.registered)
      throw new VdpaError('EBUSY', `device ${dev.name} is registered: unregister it instead`);
    this.release(entry);
  }

  /** Registered devices, in registration order. */
  devices(): readonly VdpaDevice[] {
    return [...this.registered.values()].map((e) => e.dev);
  }

  /** A registered device by name. */
  device(name: string): VdpaDevice | undefined {
    return this.registered.get(name)?.dev;
  }

  /** Name of the driver `devName` is bound to, or undefined. */
  driverOf(devName: string): string | undefined {
    return this.registered.get(devName)?.driver?.name;
  }

  /**
   * Sets (or clears with `undefined`) a device's `driver_override`. Like the sysfs attribute it does
   * not rebind: it decides the next match.
   * @throws VdpaError `ENODEV` for an unknown device, `EINVAL` for an empty name
   */
  setDriverOverride(devName: string, driverName: string | undefined): void {
    const entry = this.find(devName);
    if (driverName !== undefined) this.checkDriverName(driverName);
    entry.dev.driverOverride = driverName;
    this.emitBus('driver_override', devName, { driver: driverName ?? null });
  }

  // ---- drivers ------------------------------------------------------------------------------

  /**
   * `vdpa_register_driver`: adds a driver and probes every unbound registered device it matches.
   * @throws VdpaError `EINVAL` for a malformed driver, `EEXIST` for a duplicate name
   */
  registerDriver(driver: VdpaDriver): void {
    this.checkDriverName(driver?.name);
    if (typeof driver.probe !== 'function' || typeof driver.remove !== 'function') {
      throw new VdpaError('EINVAL', `driver ${driver.name} lacks probe or remove`);
    }
    if (
      !Array.isArray(driver.idTable) ||
      driver.idTable.length === 0 ||
      !driver.idTable.every(isVdpaClassId)
    ) {
      throw new VdpaError(
        'EINVAL',
        `driver ${driver.name} id table ${JSON.stringify(driver.idTable)} is not a list of class ids`,
      );
    }
    if (this.driverMap.has(driver.name))
      throw new VdpaError('EEXIST', `driver ${driver.name} already exists`);
    this.driverMap.set(driver.name, driver);
    this.emitBus('driver_registered', null, { driver: driver.name, idTable: [...driver.idTable] });
    for (const entry of [...this.registered.values()]) {
      if (entry.driver !== undefined || !entry.registered) continue;
      const override = entry.dev.driverOverride;
      if (override !== undefined && override !== driver.name) continue;
      if (!this.classMatch(entry.dev, driver)) {
        if (override !== undefined) this.refuse(entry, driver);
        continue;
      }
      this.probe(entry, driver);
    }
  }

  /**
   * `vdpa_unregister_driver`: removes it from every device it drives (they stay unbound) and from
   * the bus.
   * @throws VdpaError `ENODEV` if not registered
   */
  unregisterDriver(driver: VdpaDriver | string): void {
    const name = typeof driver === 'string' ? driver : driver.name;
    const drv = this.driverMap.get(name);
    if (drv === undefined) throw new VdpaError('ENODEV', `driver ${name} not found`);
    for (const entry of [...this.registered.values()]) if (entry.driver === drv) this.detach(entry);
    this.driverMap.delete(name);
    this.emitBus('driver_unregistered', null, { driver: name });
  }

  /** Registered drivers, in registration order. */
  drivers(): readonly VdpaDriver[] {
    return [...this.driverMap.values()];
  }

  /** A registered driver by name. */
  driver(name: string): VdpaDriver | undefined {
    return this.driverMap.get(name);
  }

  /**
   * Binds `devName` to `drvName` (sysfs `bind`).
   * @throws VdpaError `ENODEV` for an unknown device or driver, a class mismatch or a
   * `driverOverride` naming another driver (with a `probe_failed` event); `EBUSY` if already bound;
   * the probe's error if the driver refuses
   */
  bind(devName: string, drvName: string): void {
    const entry = this.find(devName);
    const drv = this.driverMap.get(drvName);
    if (drv === undefined) throw new VdpaError('ENODEV', `driver ${drvName} not found`);
    if (entry.driver !== undefined) {
      throw new VdpaError('EBUSY', `device ${devName} is already bound to driver ${entry.driver.name}`);
    }
    const override = entry.dev.driverOverride;
    if (override !== undefined && override !== drvName) {
      throw this.refuse(
        entry,
        drv,
        `device ${devName} driver_override ${override} excludes driver ${drvName}`,
      );
    }
    if (!this.classMatch(entry.dev, drv)) throw this.refuse(entry, drv);
    const err = this.probe(entry, drv);
    if (err !== undefined) throw err;
  }

  /**
   * Removes the driver of `devName` (sysfs `unbind`); the device stays unbound.
   * @throws VdpaError `ENODEV` for an unknown or unbound device, `EBUSY` while it is being probed
   */
  unbind(devName: string): void {
    const entry = this.find(devName);
    if (entry.driver === undefined)
      throw new VdpaError('ENODEV', `device ${devName} is not bound to a driver`);
    if (entry.probing)
      throw new VdpaError('EBUSY', `device ${devName} is being probed by ${entry.driver.name}`);
    this.detach(entry);
  }

  // ---- interceptors -------------------------------------------------------------------------

  /**
   * Adds an interceptor (middleware around every op) as the innermost layer (see {@link Interceptor}).
   * @returns a function removing it
   */
  addInterceptor(interceptor: Interceptor): () => void {
    if (typeof interceptor !== 'function') {
      throw new VdpaError('EINVAL', `interceptor ${describeValue(interceptor)} is not a function`);
    }
    return this.chain.add(interceptor);
  }

  // ---- management ---------------------------------------------------------------------------

  /**
   * `vdpa_mgmtdev_register`.
   * @throws VdpaError `EINVAL` without name/devAdd/devDel, `EEXIST` for a duplicate
   */
  registerMgmtDevice(mdev: MgmtDevice): void {
    this.mgmt.register(mdev);
  }

  /**
   * `vdpa_mgmtdev_unregister`: deletes its devices, then removes it.
   * @throws VdpaError `ENODEV` if unknown
   */
  unregisterMgmtDevice(mdev: MgmtDevice | string): void {
    this.mgmt.unregister(mdev);
  }

  /** Registered management devices, in registration order. */
  mgmtdevs(): readonly MgmtDevice[] {
    return this.mgmt.list();
  }

  /**
   * `vdpa mgmtdev show NAME` data.
   * @throws VdpaError `ENODEV` if unknown
   */
  mgmtdevShow(name: string): MgmtDevInfo {
    return this.mgmt.show(name);
  }

  /**
   * `vdpa dev add name NAME mgmtdev MGMTDEV [attrs]`, validated like the kernel's `DEV_NEW` (reference
   * §2.6, same order and errnos).
   * @throws VdpaError see `MgmtRegistry.devAdd`
   * @example
   * bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac: new Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x55]), mtu:
   * 9000 } });
   */
  devAdd(mgmtdevName: string, name: string, request: VdpaDevAddRequest = {}): VdpaDevice {
    return this.mgmt.devAdd(mgmtdevName, name, request);
  }

  /**
   * `vdpa dev del NAME`.
   * @throws VdpaError `ENODEV` if unknown, `EINVAL` if not created by a management device
   */
  devDel(name: string): void {
    this.mgmt.devDel(name);
  }

  /**
   * `vdpa dev set name NAME mac MAC`. On a device whose mgmtdev lacks the net class it succeeds and sets
   * nothing, as the kernel does (vdpa_nl_cmd_dev_attr_set_doit() only warns).
   * @throws VdpaError `EINVAL`, `ENODEV`, `EOPNOTSUPP` (see `MgmtRegistry.devSetAttr`)
   */
  devSetAttr(name: string, request: VdpaDevSetAttrRequest): void {
    this.mgmt.devSetAttr(name, request);
  }

  /**
   * `vdpa dev show NAME` data (reads are op events with `origin: 'mgmt'`).
   * @throws VdpaError `ENODEV`, `EINVAL` (unmanaged)
   */
  devShow(name: string): VdpaDevInfo {
    return this.mgmt.devShow(name);
  }

  /** `vdpa dev show` data for every managed device. */
  devList(): VdpaDevInfo[] {
    return this.mgmt.devList();
  }

  /**
   * `vdpa dev config show NAME` data.
   * @throws VdpaError `ENODEV`, `EINVAL`, `EOPNOTSUPP`
   */
  devConfig(name: string): VdpaDevConfigInfo {
    return this.mgmt.devConfig(name);
  }

  /**
   * `vdpa dev vstats show NAME qidx Q` data.
   * @throws VdpaError `ENODEV`, `EINVAL`, `EOPNOTSUPP`, `ERANGE`, `EAGAIN`
   */
  devVstats(name: string, queueIndex: number): VdpaDevVstats {
    return this.mgmt.devVstats(name, queueIndex);
  }

  /** Completes `events$`. The bus must not be used afterwards. */
  dispose(): void {
    this.stream.complete();
  }

  // ---- internals ----------------------------------------------------------------------------

  private entryOf(dev: VdpaDevice): DeviceEntry {
    const entry = this.allocated.get(dev);
    if (entry === undefined)
      throw new VdpaError('EINVAL', `device ${String(dev?.name)} was not allocated by this bus`);
    return entry;
  }

  private find(devName: string): DeviceEntry {
    const entry = this.registered.get(devName);
    if (entry === undefined) throw new VdpaError('ENODEV', `device ${devName} not found`);
    return entry;
  }

  private checkDriverName(name: unknown): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new VdpaError('EINVAL', `driver name ${JSON.stringify(name)} is empty`);
    }
  }

  private classMatch(dev: VdpaDevice, drv: VdpaDriver): boolean {
    return drv.idTable.some((id) => dev.classIds.includes(id));
  }

  private emitBus(op: BusOp, dev: string | null, args: object, err?: VdpaError): void {
    const encoded = encodeValue(args) as JsonObject;
    this.stream.emit(
      err === undefined
        ? { kind: 'bus', dev, op, args: encoded }
        : { kind: 'bus', dev, op, args: encoded, err: err.code, message: err.message },
    );
  }

  /** `device_attach`: first matching driver in registration order, or the override. */
  private attach(entry: DeviceEntry): void {
    const override = entry.dev.driverOverride;
    if (override !== undefined) {
      const drv = this.driverMap.get(override);
      if (drv === undefined) return;
      if (!this.classMatch(entry.dev, drv)) this.refuse(entry, drv);
      else this.probe(entry, drv);
      return;
    }
    for (const drv of [...this.driverMap.values()]) {
      if (entry.driver !== undefined || !entry.registered) return;
      if (this.classMatch(entry.dev, drv) && this.probe(entry, drv) === undefined) return;
    }
  }

  /** Records a refused match as `probe_failed` (`ENODEV`) and returns the error. */
  private refuse(entry: DeviceEntry, drv: VdpaDriver, message?: string): VdpaError {
    const err = new VdpaError(
      'ENODEV',
      message ??
        `driver ${drv.name} serves ${drv.idTable.join(',')} but device ${entry.dev.name} is ${entry.dev.classIds.join(',')}`,
    );
    this.emitBus('probe_failed', entry.dev.name, { driver: drv.name }, err);
    return err;
  }

  /** `vdpa_dev_probe` + `drv->probe`. Returns the error when the probe failed. */
  private probe(entry: DeviceEntry, drv: VdpaDriver): VdpaError | undefined {
    const name = entry.dev.name;
    this.emitBus('probe', name, { driver: drv.name });
    const handle = new ChannelHandle(entry.channel, undefined, `driver ${drv.name}`);
    entry.driver = drv;
    entry.handle = handle;
    entry.probing = true;
    try {
      const max = entry.busHandle.getVqNumMax();
      const min = entry.busHandle.has('getVqNumMin')
        ? entry.busHandle.getVqNumMin()
        : VDPA_VQ_NUM_MIN_DEFAULT;
      if (max < min) throw new VdpaError('EINVAL', `device ${name} vq num max ${max} is below min ${min}`);
      drv.probe(handle);
    } catch (e) {
      const err = VdpaError.from(e);
      handle.kill();
      entry.driver = undefined;
      entry.handle = undefined;
      entry.probing = false;
      this.logger.warn('probe failed', { dev: name, driver: drv.name, err: err.code, message: err.message });
      this.emitBus('probe_failed', name, { driver: drv.name }, err);
      return err;
    }
    entry.probing = false;
    this.logger.debug('device bound', { dev: name, driver: drv.name });
    this.emitBus('bind', name, { driver: drv.name });
    return undefined;
  }

  /** `device_release_driver`: `remove`, then the handle dies. */
  private detach(entry: DeviceEntry): void {
    const drv = entry.driver as VdpaDriver;
    const handle = entry.handle as ChannelHandle;
    let err: VdpaError | undefined;
    try {
      drv.remove(handle);
    } catch (e) {
      err = VdpaError.from(e);
      this.logger.error('driver remove threw', {
        dev: entry.dev.name,
        driver: drv.name,
        message: err.message,
      });
    }
    handle.kill();
    entry.driver = undefined;
    entry.handle = undefined;
    this.emitBus('unbind', entry.dev.name, { driver: drv.name }, err);
  }

  /** `vdpa_release_dev`: `free`, then the index is reusable. */
  private release(entry: DeviceEntry): void {
    if (entry.channel.has('free')) {
      try {
        entry.channel.call('bus', 'free', []);
      } catch (e) {
        this.logger.error('device free threw', { dev: entry.dev.name, message: VdpaError.from(e).message });
      }
    }
    entry.busHandle.kill();
    this.allocated.delete(entry.dev);
    this.ida.free(entry.dev.index);
  }
}
