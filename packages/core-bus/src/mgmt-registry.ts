import { VDPA_ATTR_DEV_NET_CFG_MACADDR, VIRTIO_ID_NET, bit } from '@vdpa-kit/virtio-spec';
import { devConfig, devShow, devVstats } from './dev-queries.js';
import type { DeviceHandle } from './device-handle.js';
import { VdpaError } from './errors.js';
import { encodeValue } from './event-codec.js';
import type { EventStream } from './event-stream.js';
import type { JsonObject, MgmtOp } from './events.js';
import type { Logger } from './logger.js';
import type {
  MgmtDevInfo,
  MgmtDevice,
  VdpaDevAddRequest,
  VdpaDevConfigInfo,
  VdpaDevInfo,
  VdpaDevVstats,
} from './mgmt-device.js';
import {
  buildDevSetConfig,
  checkMacLength,
  checkMgmtdevAccepts,
  formatMac,
  isValidEtherAddr,
  mgmtdevClasses,
} from './mgmt-validation.js';
import type { VdpaDevice } from './vdpa-device.js';

/** What the registry needs from the bus (internal). */
export interface MgmtHost {
  readonly stream: EventStream;
  readonly logger: Logger;
  /** A registered device by name. */
  device(name: string): VdpaDevice | undefined;
  /** Registered devices, in registration order. */
  devices(): readonly VdpaDevice[];
  /** A handle with `origin: 'mgmt'`; `raw` skips the features-valid wrapper on `getConfig`. */
  mgmtHandle(dev: VdpaDevice, raw: boolean): DeviceHandle;
}

/** Attributes `devSetAttr` accepts (`VDPA_CMD_DEV_ATTR_SET`: net MAC only). */
export interface VdpaDevSetAttrRequest {
  readonly mac?: Uint8Array;
}

/**
 * Management devices and the `vdpa` netlink commands on them (internal; the bus exposes its
 * methods): registration, `dev add|del|set`, and the read-only `mgmtdev show`, `dev show`,
 * `dev config show`, `dev vstats show` data. State-changing commands emit one `mgmt` event when they
 * complete or are refused.
 */
export class MgmtRegistry {
  private readonly mgmtdevs = new Map<string, MgmtDevice>();

  constructor(private readonly host: MgmtHost) {}

  /**
   * `vdpa_mgmtdev_register`.
   * @throws VdpaError `EINVAL` without a name, `devAdd` or `devDel`; `EEXIST` for a duplicate name
   */
  register(mdev: MgmtDevice): void {
    const name = typeof mdev?.name === 'string' ? mdev.name : '';
    this.command('mgmtdev_registered', null, { mgmtdev: name }, () => {
      if (name.length === 0)
        throw new VdpaError('EINVAL', `management device name ${JSON.stringify(mdev?.name)} is empty`);
      if (typeof mdev.devAdd !== 'function' || typeof mdev.devDel !== 'function') {
        throw new VdpaError('EINVAL', `management device ${name} lacks devAdd or devDel`);
      }
      if (!Array.isArray(mdev.idTable))
        throw new VdpaError('EINVAL', `management device ${name} has no id table`);
      if (this.mgmtdevs.has(name)) throw new VdpaError('EEXIST', `management device ${name} already exists`);
      this.mgmtdevs.set(name, mdev);
      return encodeValue(this.info(mdev));
    });
  }

  /**
   * `vdpa_mgmtdev_unregister`: deletes (`devDel`) every device it created, then removes it.
   * @throws VdpaError `ENODEV` if not registered
   */
  unregister(nameOrMdev: string | MgmtDevice): void {
    const name = typeof nameOrMdev === 'string' ? nameOrMdev : nameOrMdev.name;
    this.command('mgmtdev_unregistered', null, { mgmtdev: name }, () => {
      const mdev = this.find(name);
      for (const dev of this.host.devices()) {
        if (dev.mgmtdev !== name) continue;
        try {
          mdev.devDel(dev);
        } catch (err) {
          this.host.logger.error('devDel failed during mgmtdev unregistration', {
            mgmtdev: name,
            dev: dev.name,
            err: VdpaError.from(err).message,
          });
        }
      }
      this.mgmtdevs.delete(name);
      return null;
    });
  }

  /** Registered management devices, in registration order. */
  list(): readonly MgmtDevice[] {
    return [...this.mgmtdevs.values()];
  }

  /**
   * `MGMTDEV_GET` data of one management device.
   * @throws VdpaError `ENODEV` if unknown
   */
  show(name: string): MgmtDevInfo {
    return this.info(this.find(name));
  }

  /**
   * `DEV_NEW` with the kernel's validation order (see `buildDevSetConfig`, `checkMgmtdevAccepts`),
   * then the mgmtdev's `devAdd`.
   * @returns the created device
   * @throws VdpaError `ERANGE` (MTU below 68), `EINVAL`, `ENODEV`, `EOPNOTSUPP` from validation, or
   * whatever `devAdd` throws
   */
  devAdd(mgmtdevName: string, name: string, request: VdpaDevAddRequest = {}): VdpaDevice {
    const args: JsonObject = {
      mgmtdev: mgmtdevName,
      name: typeof name === 'string' ? name : null,
      ...(encodeValue({
        deviceFeatures: request.deviceFeatures,
        mac: request.net?.mac,
        mtu: request.net?.mtu,
        maxVqPairs: request.net?.maxVqPairs,
      }) as JsonObject),
    };
    let created: VdpaDevice | undefined;
    this.command('dev_add', typeof name === 'string' && name.length > 0 ? name : null, args, () => {
      const config = buildDevSetConfig(name, request);
      const mdev = this.find(mgmtdevName);
      checkMgmtdevAccepts(mdev, config);
      const dev = mdev.devAdd(name, config);
      if (this.host.device(dev.name) !== dev) {
        throw new VdpaError(
          'EINVAL',
          `management device ${mgmtdevName} returned device ${dev.name} without registering it`,
        );
      }
      created = dev;
      return encodeValue({ index: dev.index, nvqs: dev.nvqs });
    });
    return created as VdpaDevice;
  }

  /**
   * `DEV_DEL`: only devices created by a management device.
   * @throws VdpaError `ENODEV` if unknown, `EINVAL` if not mgmt-created
   */
  devDel(name: string): void {
    this.command('dev_del', name, { name }, () => {
      const dev = this.managed(name);
      this.find(dev.mgmtdev as string).devDel(dev);
      return null;
    });
  }

  /**
   * `DEV_ATTR_SET` in the order of vdpa.c: vdpa_nl_cmd_dev_attr_set_doit(): the device, managed; a
   * mgmtdev without the net class only gets the kernel's warning and the command succeeds (its `err`
   * stays 0), nothing set; then vdpa_dev_net_device_attr_set(): a MAC, a valid unicast one, the mgmtdev's
   * `devSetAttr`.
   * @throws VdpaError `ENODEV` (unknown device), `EINVAL` (MAC not 6 bytes, unmanaged device),
   * `EOPNOTSUPP` (no MAC, an invalid MAC, no `devSetAttr`), or whatever `devSetAttr` throws
   */
  devSetAttr(name: string, request: VdpaDevSetAttrRequest): void {
    this.command('dev_set_attr', name, { name, ...(encodeValue({ mac: request.mac }) as JsonObject) }, () => {
      const mac = request.mac === undefined ? undefined : checkMacLength(request.mac);
      const dev = this.managed(name);
      const mdev = this.find(dev.mgmtdev as string);
      if ((mgmtdevClasses(mdev).classes & bit(VIRTIO_ID_NET)) === 0n) return null;
      if (mac === undefined) throw new VdpaError('EOPNOTSUPP', `no attribute to set on device ${name}`);
      if (!isValidEtherAddr(mac)) {
        throw new VdpaError('EOPNOTSUPP', `mac address ${formatMac(mac)} is not a valid unicast address`);
      }
      if (typeof mdev.devSetAttr !== 'function') {
        throw new VdpaError('EOPNOTSUPP', `operation not supported by management device ${mdev.name}`);
      }
      mdev.devSetAttr(dev, { net: { mac }, mask: bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) });
      return null;
    });
  }

  /**
   * `DEV_GET` of one managed device (reads are op events with `origin: 'mgmt'`).
   * @throws VdpaError `ENODEV` if unknown, `EINVAL` if not mgmt-created
   */
  devShow(name: string): VdpaDevInfo {
    const dev = this.managed(name);
    return devShow(this.host.mgmtHandle(dev, false), dev.mgmtdev as string);
  }

  /** `DEV_GET` dump: every managed device, in registration order. */
  devList(): VdpaDevInfo[] {
    return this.host
      .devices()
      .filter((d) => d.mgmtdev !== undefined)
      .map((d) => devShow(this.host.mgmtHandle(d, false), d.mgmtdev as string));
  }

  /**
   * `DEV_CONFIG_GET` of a managed device.
   * @throws VdpaError `ENODEV`, `EINVAL` (unmanaged), `EOPNOTSUPP` (class without config show)
   */
  devConfig(name: string): VdpaDevConfigInfo {
    return devConfig(this.host.mgmtHandle(this.managed(name), true));
  }

  /**
   * `DEV_VSTATS_GET` of a managed device's queue.
   * @throws VdpaError `ENODEV`, `EINVAL`, `EOPNOTSUPP`, `ERANGE`, `EAGAIN` (see `devVstats`)
   */
  devVstats(name: string, queueIndex: number): VdpaDevVstats {
    return devVstats(this.host.mgmtHandle(this.managed(name), false), queueIndex);
  }

  private find(name: string): MgmtDevice {
    const mdev = this.mgmtdevs.get(name);
    if (mdev === undefined) throw new VdpaError('ENODEV', `management device ${name} not found`);
    return mdev;
  }

  private managed(name: string): VdpaDevice {
    const dev = this.host.device(name);
    if (dev === undefined) throw new VdpaError('ENODEV', `vdpa device ${name} not found`);
    if (dev.mgmtdev === undefined)
      throw new VdpaError('EINVAL', `vdpa device ${name} is not managed by a management device`);
    return dev;
  }

  private info(mdev: MgmtDevice): MgmtDevInfo {
    const slash = mdev.name.indexOf('/');
    const { classes } = mgmtdevClasses(mdev);
    return {
      name: mdev.name,
      busName: slash < 0 ? undefined : mdev.name.slice(0, slash),
      devName: slash < 0 ? mdev.name : mdev.name.slice(slash + 1),
      supportedClasses: classes,
      classIds: [...mdev.idTable],
      maxSupportedVqs: mdev.maxSupportedVqs,
      supportedFeatures: mdev.supportedFeatures,
    };
  }

  private command(
    op: MgmtOp,
    dev: string | null,
    args: JsonObject,
    run: () => ReturnType<typeof encodeValue>,
  ): void {
    let ret: ReturnType<typeof encodeValue>;
    try {
      ret = run();
    } catch (e) {
      const err = VdpaError.from(e);
      this.host.stream.emit({
        kind: 'mgmt',
        dev,
        op,
        phase: 'error',
        args,
        err: err.code,
        message: err.message,
      });
      throw err;
    }
    this.host.stream.emit(
      ret === null
        ? { kind: 'mgmt', dev, op, phase: 'return', args }
        : { kind: 'mgmt', dev, op, phase: 'return', args, ret },
    );
  }
}
