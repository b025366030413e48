import { type DeviceHandle, VdpaError, type VdpaClassId, type VdpaDriver } from '@vdpa-kit/core-bus';
import { inject, injectable } from 'inversify';
import { TRANSPORT_VHOST_BUS } from './tokens.js';
import type { VhostBus } from './vhost-bus.js';

/** Name of the driver on the vDPA bus. */
export const VDPA_VHOST_DRIVER_NAME = 'vhost_vdpa';

/**
 * `vhost_vdpa` (drivers/vhost/vdpa.c) on the vDPA bus: claims devices whose class ids include `vhost`,
 * whatever their virtio id, and gives each a char device on the {@link VhostBus}.
 *
 * @example
 * const { container, bus } = composeStack([vdpasimModule(), transportVhostModule()]);
 * bus.devAdd('vdpasim_net', 'vdpa0'); // probed by vhost_vdpa
 * const vhost = container.get<VhostBus>(TRANSPORT_VHOST_BUS).open('vdpa0');
 */
@injectable()
export class VhostVdpaDriver implements VdpaDriver {
  readonly name = VDPA_VHOST_DRIVER_NAME;
  readonly idTable: readonly VdpaClassId[] = ['vhost'];

  /** @param vhostBus the char device registry */
  constructor(@inject(TRANSPORT_VHOST_BUS) private readonly vhostBus: VhostBus) {}

  /**
   * `vhost_vdpa_probe()`: a device without `setMap` / `dmaMap` (platform IOMMU) and more than one
   * group or address space is refused; the virtio id is read; the char device is added.
   * @throws VdpaError `EOPNOTSUPP` for the refused device, `ENOSPC` without a free minor
   */
  probe(handle: DeviceHandle): void {
    if (!handle.has('setMap') && !handle.has('dmaMap') && (handle.ngroups > 1 || handle.nas > 1)) {
      throw new VdpaError(
        'EOPNOTSUPP',
        `device ${handle.name} has ${handle.ngroups} groups and ${handle.nas} address spaces but no on-chip iommu`,
      );
    }
    this.vhostBus.add(handle, handle.getDeviceId());
  }

  /** `vhost_vdpa_remove()`: the char device goes; an open file is released (see `VhostBus.remove`). */
  remove(handle: DeviceHandle): void {
    this.vhostBus.remove(handle.name);
  }
}
