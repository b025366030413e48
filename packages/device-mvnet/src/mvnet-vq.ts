import { type GuestMemory, type Iotlb, Iov, Vringh } from '@vdpa-kit/vring';
import type { VdpaCallback } from '@vdpa-kit/core-bus';

/**
 * One virtqueue (the kernel's `vdpasim_virtqueue`): what the driver programmed through the vq ops,
 * the device side of the ring (`vringh`) and the reusable list its chains are gathered into.
 */
export class MvnetVq {
  readonly vring = new Vringh();
  readonly iov = new Iov();
  ready = false;
  num = 0;
  descArea = 0;
  driverArea = 0;
  deviceArea = 0;
  cb: VdpaCallback | null = null;

  /**
   * `vdpasim_queue_ready`: sets the ring up from size and areas, keeping the avail index that
   * `set_vq_state` stored (the used index starts there: nothing is in flight).
   * @throws VringError `EINVAL` for a size that is not a power of two, `ERANGE` for a bad area
   */
  start(mem: GuestMemory, iotlb: Iotlb): void {
    const last = this.vring.lastAvailIdx;
    const { num, descArea: descAddr, driverArea: availAddr, deviceArea: usedAddr } = this;
    this.vring.init({ num, descAddr, availAddr, usedAddr, eventIdx: false, mem, iotlb });
    this.vring.lastAvailIdx = this.vring.lastUsedIdx = last;
  }

  /** Back to the state after creation: not ready, nothing programmed, indices 0. */
  reset(): void {
    this.ready = false;
    this.num = this.descArea = this.driverArea = this.deviceArea = 0;
    this.cb = null;
    this.vring.lastAvailIdx = this.vring.lastUsedIdx = 0;
  }
}
