import { VdpaError, type VdpaCallback } from '@vdpa-kit/core-bus';
import { VIRTIO_RING_F_EVENT_IDX, bit } from '@vdpa-kit/virtio-spec';
import { type GuestMemory, type Iotlb, Iov, Vringh } from '@vdpa-kit/vring';

/**
 * One simulated virtqueue (`struct vdpasim_virtqueue`, vdpa_sim.c): the device side of the ring
 * (a {@link Vringh} over the vq's address space), the two reusable iovec lists its datapath fills,
 * and the state the config ops program (size, ring areas, callback, ready, address space).
 *
 * `broken` is this implementation's addition: set when the guest handed the queue bad input, it stops
 * the datapath from touching the queue until the device is reset.
 *
 * @example
 * const vq = new VdpasimVirtqueue(0, iotlb);
 * vq.num = 256;
 * vq.descAddr = desc; vq.driverAddr = avail; vq.deviceAddr = used;
 * vq.queueReady(features, mem, iotlb);
 */
export class VdpasimVirtqueue {
  /** The device side of the split ring. */
  readonly vring = new Vringh();
  /** Device-readable buffers of the chain being processed (the kernel's `out_iov`). */
  readonly riov = new Iov();
  /** Device-writable buffers of the chain being processed (the kernel's `in_iov`). */
  readonly wiov = new Iov();
  /** `set_vq_ready` state. */
  ready = false;
  /** The guest gave this queue bad input; it is not processed until reset. */
  broken = false;
  /** Ring size from `set_vq_num` (0 until programmed). */
  num = 0;
  /** IOVA of the descriptor table. */
  descAddr = 0;
  /** IOVA of the driver area (available ring). */
  driverAddr = 0;
  /** IOVA of the device area (used ring). */
  deviceAddr = 0;
  /** Used-buffer callback (`set_vq_cb`), or null. */
  cb: VdpaCallback | null = null;
  /** Address space the ring and its buffers are translated through. */
  asid = 0;

  /**
   * @param index the vq index on its device
   * @param iotlb the IOTLB of address space 0, which every vq starts on
   */
  constructor(
    readonly index: number,
    iotlb: Iotlb,
  ) {
    this.vring.setIotlb(iotlb);
  }

  /**
   * `vdpasim_queue_ready`: initialises the ring from the programmed size and areas, keeps the next
   * available index and sets the used index equal to it (no in-flight buffers survive).
   *
   * @param features negotiated features (`EVENT_IDX` selects the suppression scheme)
   * @param mem guest memory the IOTLB maps into
   * @param iotlb the IOTLB of the vq's address space
   * @throws VdpaError `EINVAL` for a ring size that is not a power of two in 1..32768, `ERANGE` for
   * an area beyond `IOVA_MAX`
   */
  queueReady(features: bigint, mem: GuestMemory, iotlb: Iotlb): void {
    const last = this.vring.lastAvailIdx;
    try {
      this.vring.init({
        num: this.num,
        descAddr: this.descAddr,
        availAddr: this.driverAddr,
        usedAddr: this.deviceAddr,
        eventIdx: (features & bit(VIRTIO_RING_F_EVENT_IDX)) !== 0n,
        mem,
        iotlb,
      });
    } catch (err) {
      throw VdpaError.from(err);
    }
    this.vring.lastAvailIdx = last;
    this.vring.lastUsedIdx = last;
  }

  /**
   * Moves the vq to another address space (`vringh_set_iotlb`).
   * @param asid the address space id
   * @param iotlb its IOTLB
   */
  setAddressSpace(asid: number, iotlb: Iotlb): void {
    this.asid = asid;
    this.vring.setIotlb(iotlb);
  }

  /**
   * Back to the state after creation (`vdpasim_vq_reset`): not ready, not broken, no size, areas or
   * callback, indices 0, address space 0.
   * @param iotlb the IOTLB of address space 0
   */
  reset(iotlb: Iotlb): void {
    this.ready = false;
    this.broken = false;
    this.num = 0;
    this.descAddr = 0;
    this.driverAddr = 0;
    this.deviceAddr = 0;
    this.cb = null;
    this.vring.lastAvailIdx = 0;
    this.vring.lastUsedIdx = 0;
    this.setAddressSpace(0, iotlb);
    this.riov.reset();
    this.wiov.reset();
  }
}
