import { type DeviceHandle, GUEST_MEMORY, LOGGER, type Logger, VdpaError } from '@vdpa-kit/core-bus';
import { VHOST_VDPA_DEV_MAX } from '@vdpa-kit/virtio-spec';
import type { GuestMemory } from '@vdpa-kit/vring';
import { inject, injectable } from 'inversify';
import { BehaviorSubject, type Observable } from 'rxjs';
import { VhostVdpaDevice } from './vhost-vdpa-device.js';

/** What {@link VhostBus.list} tells about one char device. */
export interface VhostVdpaInfo {
  /** The vDPA device name (what {@link VhostBus.open} takes). */
  readonly device: string;
  /** The char device name, `vhost-vdpa-<minor>`. */
  readonly chardev: string;
  /** The minor number (lowest free, reused after removal). */
  readonly minor: number;
  /** The virtio device id read at probe. */
  readonly virtioId: number;
  /** Number of virtqueues. */
  readonly nvqs: number;
  /** Whether a file is open on it. */
  readonly opened: boolean;
}

interface VhostVdpaCdev {
  readonly handle: DeviceHandle;
  readonly minor: number;
  readonly virtioId: number;
  file: VhostVdpaDevice | undefined;
}

/**
 * The `/dev/vhost-vdpa-N` nodes of the devices `vhost_vdpa` bound: the char device registry of
 * drivers/vhost/vdpa.c. A device is opened by its vDPA name, exclusively, as `open()` on the node is
 * (`vhost_vdpa_open()`: a second opener gets `EBUSY` until the first closes).
 *
 * @example
 * const vhostBus = container.get<VhostBus>(TRANSPORT_VHOST_BUS);
 * bus.devAdd('vdpasim_net', 'vdpa0'); // bound by vhost_vdpa → vhost-vdpa-0
 * const vhost = vhostBus.open('vdpa0');
 * vhost.close();
 */
@injectable()
export class VhostBus {
  /**
   * The char devices ({@link list}) now, then after every change: a device bound or removed, a file
   * opened or released. What a server watches to serve devices as `bind`/`unbind` move them.
   */
  readonly devices$: Observable<readonly VhostVdpaInfo[]>;
  private readonly cdevs = new Map<string, VhostVdpaCdev>();
  private readonly minors = new Set<number>();
  private readonly changes = new BehaviorSubject<readonly VhostVdpaInfo[]>([]);

  /**
   * @param mem the "process address space" IOTLB messages' userspace addresses point into
   * @param logger the stack's logger
   */
  constructor(
    @inject(GUEST_MEMORY) private readonly mem: GuestMemory,
    @inject(LOGGER) private readonly logger: Logger,
  ) {
    this.devices$ = this.changes.asObservable();
  }

  /** Every char device, by minor. */
  list(): VhostVdpaInfo[] {
    return [...this.cdevs.values()]
      .sort((a, b) => a.minor - b.minor)
      .map((c) => ({
        device: c.handle.name,
        chardev: `vhost-vdpa-${c.minor}`,
        minor: c.minor,
        virtioId: c.virtioId,
        nvqs: c.handle.nvqs,
        opened: c.file !== undefined,
      }));
  }

  /**
   * `open("/dev/vhost-vdpa-N")` (`vhost_vdpa_open()`): resets the device and returns the file.
   * @param device the vDPA device name
   * @throws VdpaError `ENODEV` when no char device serves `device`; `EBUSY` when it is open already;
   * `EOPNOTSUPP` for a device without `setMap` / `dmaMap` (it would need a platform IOMMU domain,
   * which userspace has not got); the reset's error
   */
  open(device: string): VhostVdpaDevice {
    const cdev = this.cdevs.get(device);
    if (cdev === undefined) throw new VdpaError('ENODEV', `no vhost-vdpa device for ${device}`);
    if (cdev.file !== undefined)
      throw new VdpaError('EBUSY', `vhost-vdpa-${cdev.minor} (${device}) is already open`);
    if (!cdev.handle.has('setMap') && !cdev.handle.has('dmaMap')) {
      throw new VdpaError(
        'EOPNOTSUPP',
        `device ${device} has no on-chip iommu and there is no platform iommu`,
      );
    }
    const file = new VhostVdpaDevice({
      handle: cdev.handle,
      mem: this.mem,
      onRelease: () => {
        cdev.file = undefined;
        this.changed();
      },
    });
    cdev.file = file;
    this.changed();
    this.logger.debug('vhost-vdpa opened', { dev: device, minor: cdev.minor });
    return file;
  }

  /**
   * Adds the char device of a device `vhost_vdpa` probed (internal: `vhost_vdpa_probe()`).
   * @throws VdpaError `ENOSPC` when every minor is taken
   */
  add(handle: DeviceHandle, virtioId: number): VhostVdpaInfo {
    let minor = 0;
    while (this.minors.has(minor)) minor++;
    if (minor >= VHOST_VDPA_DEV_MAX) throw new VdpaError('ENOSPC', 'every vhost-vdpa minor is taken');
    this.minors.add(minor);
    this.cdevs.set(handle.name, { handle, minor, virtioId, file: undefined });
    this.changed();
    return this.list().find((i) => i.device === handle.name) as VhostVdpaInfo;
  }

  /**
   * Removes the char device of `device` (internal: `vhost_vdpa_remove()`); an open file is released
   * now and its later calls are `ENODEV` (the kernel waits for the close instead).
   */
  remove(device: string): void {
    const cdev = this.cdevs.get(device);
    if (cdev === undefined) return;
    this.cdevs.delete(device);
    if (cdev.file !== undefined) {
      this.logger.warn('vhost-vdpa removed while open: file revoked', { dev: device, minor: cdev.minor });
      cdev.file.revoke();
    }
    this.minors.delete(cdev.minor);
    this.changed();
  }

  private changed(): void {
    this.changes.next(this.list());
  }
}
