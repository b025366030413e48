import {
  type DeviceHandle,
  DMA_ALLOCATOR,
  GUEST_MEMORY,
  LOGGER,
  type Logger,
  type VdpaClassId,
  type VdpaDriver,
} from '@vdpa-kit/core-bus';
import { DmaAllocator, type GuestMemory } from '@vdpa-kit/vring';
import { inject, injectable } from 'inversify';
import { VIRTIO_ID_RESERVED } from '@vdpa-kit/virtio-spec';
import { VirtioError } from './errors.js';
import type { ResolvedTransportVirtioOptions } from './options.js';
import { TRANSPORT_VIRTIO_OPTIONS, VIRTIO_BUS } from './tokens.js';
import type { VirtioBus } from './virtio-bus.js';
import { VirtioDevice } from './virtio-device.js';

/** Name of the driver on the vDPA bus. */
export const VIRTIO_VDPA_DRIVER_NAME = 'virtio_vdpa';

/**
 * `virtio_vdpa` (drivers/virtio/virtio_vdpa.c): the vDPA bus driver that turns a vDPA device into a virtio
 * device. `probe` reads the device id (0 → `EINVAL`) and vendor id, creates a {@link VirtioDevice} over the
 * handle and adds it to the {@link VirtioBus}, which probes the virtio driver for that id; the vDPA device
 * stays bound when the virtio driver's probe fails (`register_virtio_device()` succeeds regardless).
 * `remove` runs `virtio_dev_remove()` when a virtio driver is bound: the driver's remove (reset, every vq
 * deactivated, rings freed), then ACKNOWLEDGE put back. Rings and buffers come
 * from the stack's `DMA_ALLOCATOR` (shared with any other transport), or from an allocator of its own over
 * the `dmaBase`/`dmaSize` range when the options give one.
 *
 * @example
 * const { container, bus } = composeStack([transportVirtioModule()]);
 * bus.devAdd('vdpasim_net', 'vdpa0'); // probed by virtio_vdpa, then by virtio_net
 * const net = container.get<VirtioBus>(VIRTIO_BUS).netDevice('vdpa0');
 */
@injectable()
export class VirtioVdpaDriver implements VdpaDriver {
  readonly name = VIRTIO_VDPA_DRIVER_NAME;
  readonly idTable: readonly VdpaClassId[] = ['virtio'];
  /** The allocator rings and buffers of every device of this driver come from. */
  readonly dma: DmaAllocator;
  private readonly bound = new Map<string, VirtioDevice>();

  /**
   * @param virtioBus the virtio bus devices are added to
   * @param mem the stack's guest memory
   * @param sharedDma the stack's DMA allocator
   * @param logger the stack's logger
   * @param options queue size and DMA range
   * @throws VringError when the DMA range does not lie inside one region of `mem`, `EBUSY` when the
   * shared allocator already handed out memory in it
   */
  constructor(
    @inject(VIRTIO_BUS) private readonly virtioBus: VirtioBus,
    @inject(GUEST_MEMORY) private readonly mem: GuestMemory,
    @inject(DMA_ALLOCATOR) sharedDma: DmaAllocator,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(TRANSPORT_VIRTIO_OPTIONS) private readonly options: ResolvedTransportVirtioOptions,
  ) {
    // The stack's allocator, unless the options give this transport a range of its own, which is
    // then taken out of the shared allocator so that nothing else is handed memory in it.
    if (options.dmaBase === undefined && options.dmaSize === undefined) {
      this.dma = sharedDma;
    } else {
      this.dma = new DmaAllocator(mem, {
        ...(options.dmaBase === undefined ? {} : { base: options.dmaBase }),
        ...(options.dmaSize === undefined ? {} : { size: options.dmaSize }),
      });
      const { base, limit } = this.dma.range();
      sharedDma.reserve(base, limit - base);
    }
  }

  /**
   * `virtio_vdpa.c: virtio_vdpa_probe()`: the device id (0 → `EINVAL`) and vendor id, then
   * `register_virtio_device()`. A virtio driver whose probe fails leaves the device FAILED on the virtio
   * bus (`probeError`), and this driver bound.
   * @throws VirtioError `EINVAL` (reason `device-id`) for device id 0; VdpaError from the reset or the
   * ACKNOWLEDGE write
   */
  probe(handle: DeviceHandle): void {
    const deviceId = handle.getDeviceId();
    if (deviceId === VIRTIO_ID_RESERVED) {
      throw new VirtioError(
        'EINVAL',
        'device-id',
        handle.name,
        `device ${handle.name} has reserved virtio device id ${deviceId}`,
      );
    }
    const vendorId = handle.getVendorId();
    const vdev = new VirtioDevice(handle, {
      deviceId,
      vendorId,
      mem: this.mem,
      dma: this.dma,
      queueSize: this.options.queueSize,
      logger: this.logger,
    });
    try {
      this.virtioBus.add(vdev);
    } catch (err) {
      vdev.dispose();
      throw err;
    }
    this.bound.set(handle.name, vdev);
  }

  /**
   * `virtio_vdpa.c: virtio_vdpa_remove()` → `unregister_virtio_device()`: with a virtio driver bound, its
   * remove (reset, `setVqReady(false)` per vq, rings freed), the status read and ACKNOWLEDGE written back.
   */
  remove(handle: DeviceHandle): void {
    const vdev = this.bound.get(handle.name);
    if (vdev === undefined) return;
    this.bound.delete(handle.name);
    this.virtioBus.remove(vdev);
  }
}
