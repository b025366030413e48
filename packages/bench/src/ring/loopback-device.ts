/**
 * The device side of the ring benchmark's vring loop: vdpasim_net's own datapath, `VdpasimNetLoopback`
 * (vring's one-pass `VringhLoopback`, and per-chain `getdesc` for a chain it declines), on two
 * `VdpasimVirtqueue`s (TX, RX) over the benchmark's memory and IOTLB, configured as vdpasim_net runs
 * them with the virtio-net driver: virtio-net header of 12 bytes (VERSION_1), no EVENT_IDX (the
 * simulator does not offer it: `VDPASIM_FEATURES`), the default work budget. The receive filter is
 * promiscuous, since the benchmark's frames carry a byte pattern rather than an address.
 */
import {
  VDPASIM_DEFAULT_WORK_BUDGET,
  type VdpasimNetDatapath,
  VdpasimNetFilter,
  VdpasimNetLoopback,
  VdpasimNetStats,
  VdpasimVirtqueue,
} from '@vdpa-kit/device-vdpasim';
import { ETH_ALEN, VIRTIO_NET_HDR_V1_SIZE, VIRTIO_RING_F_EVENT_IDX, bit } from '@vdpa-kit/virtio-spec';
import type { GuestMemory, Iotlb, SplitRingLayout } from '@vdpa-kit/vring';
import { BenchError } from '../errors.js';

/** Bytes of a frame vdpasim_net loops back at least: its header and a destination address. */
export const BENCH_MIN_FRAME = VIRTIO_NET_HDR_V1_SIZE + ETH_ALEN;
/** The error of a packet size below {@link BENCH_MIN_FRAME}. */
export function frameTooSmall(size: number): BenchError {
  return new BenchError(
    `--size ${size} is smaller than ${BENCH_MIN_FRAME} bytes (vdpasim_net drops a frame without a ` +
      'virtio-net header and a destination address)',
  );
}

/** The MAC of the benchmark device (its filter is promiscuous: any address passes). */
const BENCH_DEVICE_MAC = Uint8Array.of(0x52, 0x54, 0, 0, 0, 1);

/** Options of {@link BenchLoopbackDevice}. */
export interface BenchLoopbackDeviceOptions {
  /** Whether the driver negotiated `VIRTIO_RING_F_EVENT_IDX` (vdpasim_net does not offer it). */
  readonly eventIdx: boolean;
  /** The TX ring's used-buffer callback (`vring_interrupt` of the driver's queue). */
  readonly txInterrupt: () => void;
  /** The RX ring's used-buffer callback. */
  readonly rxInterrupt: () => void;
}

/** A loopback device on one TX and one RX ring: vdpasim_net's pair work. */
export class BenchLoopbackDevice {
  private readonly work: VdpasimNetLoopback;
  private readonly stats = new VdpasimNetStats(1);
  /** Frames lost so far (overruns, filter drops, too-small RX buffers) at the last {@link drain}. */
  private lost = 0;

  /**
   * Attaches to the rings at the device addresses `txLayout` and `rxLayout`.
   * @param mem the guest memory the IOTLB maps into
   * @param iotlb the device's address space
   */
  constructor(
    mem: GuestMemory,
    iotlb: Iotlb,
    txLayout: SplitRingLayout,
    rxLayout: SplitRingLayout,
    options: BenchLoopbackDeviceOptions,
  ) {
    const features = options.eventIdx ? bit(VIRTIO_RING_F_EVENT_IDX) : 0n;
    const queue = (index: number, l: SplitRingLayout): VdpasimVirtqueue => {
      const vq = new VdpasimVirtqueue(index, iotlb);
      vq.num = l.num;
      vq.descAddr = l.descAddr;
      vq.driverAddr = l.availAddr;
      vq.deviceAddr = l.usedAddr;
      vq.queueReady(features, mem, iotlb);
      vq.ready = true;
      return vq;
    };
    const rx = queue(0, rxLayout);
    const tx = queue(1, txLayout);
    const filter = new VdpasimNetFilter(BENCH_DEVICE_MAC);
    filter.promisc = true;
    const dp: VdpasimNetDatapath = {
      datapathEnabled: () => true,
      pairActive: () => true,
      hdrLen: VIRTIO_NET_HDR_V1_SIZE,
      filter,
      stats: this.stats,
      workBudget: VDPASIM_DEFAULT_WORK_BUDGET,
      // The benchmark's driver is well-behaved: bad guest input here is a bug of the loop.
      guestError: (_vq, err) => {
        throw err;
      },
      callVqCb: (vq) => (vq === tx ? options.txInterrupt() : options.rxInterrupt()),
    };
    this.work = new VdpasimNetLoopback(0, rx, tx, dp);
  }

  /**
   * Runs the pair's work until it has nothing left (vdpasim_net requeues it while a pass ends on its
   * budget), interrupts included. @returns TX frames lost since the last call (the benchmark's byte
   * count then reports the loss)
   */
  drain(): number {
    while (this.work.run());
    const s = this.stats;
    const lost = s.rxOverruns[0] + s.rxDrops[0] + s.rxErrors[0];
    const since = lost - this.lost;
    this.lost = lost;
    return since;
  }
}
