import type { VdpaCallback } from '@vdpa-kit/core-bus';
import { VIRTIO_RING_F_EVENT_IDX, bit } from '@vdpa-kit/virtio-spec';
import { GuestMemory, type Iotlb, Iov, Vringh, VringError } from '@vdpa-kit/vring';
import { VDPASIM_QUEUE_MAX } from './constants.js';

/** The ring areas a reset vq points at (`vdpasim_vq_reset()` passes NULL for all three). */
const NO_AREA = 0;

/**
 * One simulated virtqueue (`struct vdpasim_virtqueue`, vdpa_sim.c): the device side of the ring
 * (a {@link Vringh} over the vq's address space), the two reusable iovec lists its datapath fills,
 * and the state the config ops program (size, ring areas, callback, ready, address space).
 *
 * `broken` is this implementation's addition: set when the guest handed the queue bad input, it stops
 * the datapath from touching the queue until the device is reset.
 *
 * @example
 * const vq = new VdpasimVirtqueue(0, iotlb, mem);
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
  /** Ring size from `set_vq_num`, any u32 (0 until programmed; a reset keeps it). */
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
  /** Guest memory the ring lives in (the last one {@link queueReady} was given). */
  private mem: GuestMemory;

  /**
   * @param index the vq index on its device
   * @param iotlb the IOTLB of address space 0, which every vq starts on
   * @param mem guest memory the IOTLBs map into (default: an empty one, until {@link queueReady})
   */
  constructor(
    readonly index: number,
    iotlb: Iotlb,
    mem: GuestMemory = new GuestMemory(),
  ) {
    this.mem = mem;
    this.reset(iotlb);
  }

  /**
   * `vdpasim_queue_ready`: initialises the ring from the programmed size and areas
   * (`vringh_init_iotlb`), keeps the next available index and sets the used index equal to it (no
   * in-flight buffers survive).
   *
   * The kernel ignores what `vringh_init_iotlb` returns, and `vringh_init_kern` refuses a size that is
   * 0, above 0xffff or not a power of two before it touches the vring: the vring then keeps the size,
   * areas and EVENT_IDX mode it had (those of the last successful init, or of the reset), and the used
   * index is still set to the available index. The same happens here, and this returns false.
   *
   * @param features negotiated features (`EVENT_IDX` selects the suppression scheme)
   * @param mem guest memory the IOTLB maps into
   * @param iotlb the IOTLB of the vq's address space
   * @returns undefined, or what the vring refused (the size, or an area it cannot address: its state
   * is then kept)
   */
  queueReady(features: bigint, mem: GuestMemory, iotlb: Iotlb): VringError | undefined {
    this.mem = mem;
    const last = this.vring.lastAvailIdx;
    let refused: VringError | undefined;
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
      if (!(err instanceof VringError)) throw err;
      refused = err;
    }
    this.vring.lastAvailIdx = last;
    this.vring.lastUsedIdx = last;
    return refused;
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
   * Back to the state after reset (`vdpasim_vq_reset`): not ready, not broken, no areas or callback,
   * the vring re-initialised with 256 entries at address 0 and indices 0, address space 0. The size
   * `set_vq_num` gave is kept, as the kernel keeps `vq->num`.
   * @param iotlb the IOTLB of address space 0
   */
  reset(iotlb: Iotlb): void {
    this.ready = false;
    this.broken = false;
    this.descAddr = 0;
    this.driverAddr = 0;
    this.deviceAddr = 0;
    this.cb = null;
    // vdpasim_vq_reset() inits with the device's supported features, which never include EVENT_IDX.
    this.vring.init({
      num: VDPASIM_QUEUE_MAX,
      descAddr: NO_AREA,
      availAddr: NO_AREA,
      usedAddr: NO_AREA,
      eventIdx: false,
      mem: this.mem,
      iotlb,
    });
    this.setAddressSpace(0, iotlb);
    this.riov.reset();
    this.wiov.reset();
  }
}
