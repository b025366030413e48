import type { Observable } from 'rxjs';

/**
 * One batch of received frames. Frame `i` (0 ≤ i < `count`) is
 * `data[i].subarray(offsets[i], offsets[i] + lengths[i])`, the virtio-net header already stripped.
 * The object, its arrays and the memory they point to are reused: valid only during the call that
 * delivered the batch; the buffers are reposted to the device after it returns.
 */
export interface RxBatch {
  /** Queue pair the frames arrived on (receiveq `queue`). */
  readonly queue: number;
  /** Number of frames in the batch. */
  count: number;
  /** Byte view holding each frame (the guest-memory region of the receive buffers). */
  data: Uint8Array[];
  /** Offset of each frame in `data[i]`. */
  offsets: Uint32Array;
  /** Length of each frame. */
  lengths: Uint32Array;
}

/** Device configuration as the driver sees it, emitted on `config$` (JSON-serialisable). */
export interface NetConfigSnapshot {
  /** The interface's MAC address, `aa:bb:cc:dd:ee:ff`. */
  readonly mac: string;
  /** Link status (`VIRTIO_NET_S_LINK_UP`; true without `VIRTIO_NET_F_STATUS`). */
  readonly linkUp: boolean;
  /** The device asks for a gratuitous announcement (`VIRTIO_NET_S_ANNOUNCE`). */
  readonly announce: boolean;
  /** MTU (from config with `VIRTIO_NET_F_MTU`, else 1500). */
  readonly mtu: number;
  /** `max_virtqueue_pairs` (1 without `VIRTIO_NET_F_MQ`). */
  readonly maxQueuePairs: number;
}

/** Counters of one virtqueue of a net interface. */
export interface NetQueueStats {
  /** Virtqueue index: receiveq N is 2N, transmitq N is 2N+1, the control queue comes last (§5.1.2). */
  readonly queue: number;
  readonly kind: 'rx' | 'tx' | 'cvq';
  /** Frames received, frames transmitted (completed), or control commands completed. */
  readonly packets: number;
  /** Frame bytes (virtio-net header excluded). */
  readonly bytes: number;
  /** Short receive buffers, control commands the device answered with an error or not at all. */
  readonly errors: number;
  /** Frames received with no receiver registered; sends refused because the ring was full. */
  readonly drops: number;
  /** Notifications sent to the device. */
  readonly kicks: number;
  /** Used-buffer callbacks with used buffers pending. */
  readonly interrupts: number;
}

/**
 * What a user of a virtio-net device touches (implemented by `VirtioNet`): send and receive frames,
 * watch the link, drive the control queue, read counters.
 *
 * @example
 * const off = net.onReceive((b) => { for (let i = 0; i < b.count; i++) handle(b.data[i], b.offsets[i], b.lengths[i]); });
 * if (!net.send(frame)) net.reclaim();
 * net.flush();
 */
export interface NetInterface {
  /** The vdpa device name, e.g. `vdpa0`. */
  readonly name: string;
  /** From config space (or generated when `VIRTIO_NET_F_MAC` is absent); a copy. */
  readonly mac: Uint8Array;
  /** Config status LINK_UP (true without `VIRTIO_NET_F_STATUS`). */
  readonly linkUp: boolean;
  readonly mtu: number;
  readonly maxQueuePairs: number;
  /** Currently active queue pairs. */
  readonly queuePairs: number;
  /** Negotiated features. */
  readonly features: bigint;
  /**
   * Copies `frame` (an Ethernet frame, no virtio header) into a TX buffer of queue pair `queue`.
   * Returns false when the TX ring is full (backpressure). Kicks are deferred to `flush()`.
   */
  send(frame: Uint8Array, queue?: number): boolean;
  /** Publishes pending TX to the device (one kick decision per call). */
  flush(queue?: number): void;
  /** Reclaims completed TX buffers; returns how many. */
  reclaim(queue?: number): number;
  /**
   * Registers a batch receiver; returns an unsubscribe function. The batch object and its views are
   * reused and valid only during the call; buffers are reposted after it returns.
   */
  onReceive(handler: (batch: RxBatch) => void): () => void;
  /** The same batches, for RxJS users. */
  readonly receive$: Observable<RxBatch>;
  /** Link/mac/mtu after every config change. */
  readonly config$: Observable<NetConfigSnapshot>;
  /** Processes used RX buffers now (normally driven by the RX vq callback). */
  poll(queue?: number): number;
  /** CVQ `MAC_ADDR_SET` (rejects with `VdpaError` on ERR). */
  setMac(mac: Uint8Array): Promise<void>;
  /** CVQ RX class. */
  setRxMode(mode: 'promisc' | 'allmulti', on: boolean): Promise<void>;
  /** CVQ MQ `VQ_PAIRS_SET`. */
  setQueuePairs(n: number): Promise<void>;
  /** Per queue counters. */
  stats(): NetQueueStats[];
  close(): void;
}
