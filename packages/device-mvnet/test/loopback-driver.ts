// A minimal virtio-net driver side for the device tests, built from vring's driver-side `Virtqueue`: bring-up
// through a DeviceHandle (virtio_vdpa's sequence, virtio_vdpa.c: virtio_vdpa_probe() and virtio_dev_probe()),
// a TX buffer pool, posted RX buffers that are reposted after each interrupt, and everything it saw collected
// into arrays.
import { ETH_FRAME_LEN, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_NET_HDR_V1_SIZE } from '@vdpa-kit/virtio-spec';
import { type BufferList, DmaAllocator, type GuestMemory, type Virtqueue } from '@vdpa-kit/vring';
import type { DeviceHandle } from '@vdpa-kit/core-bus';
import { negotiateTestFeatures, setupTestVq } from '@vdpa-kit/core-bus/testing';

/** Options of {@link LoopbackDriver}. */
export interface LoopbackDriverOptions {
  /** Ring size of both queues (default 256). */
  readonly num?: number;
  /** RX buffers posted at start (default `num`; 0 = none). */
  readonly rxBuffers?: number;
  /** Bytes per RX buffer, header included (default 12 + 1514). */
  readonly rxBufferSize?: number;
  /** Features accepted out of the offer (default: all offered). */
  readonly features?: bigint;
  /** Repost RX buffers after receiving (default true). */
  readonly repost?: boolean;
  /** Set DRIVER_OK at the end of bring-up (default true); otherwise call `setDriverOk()`. */
  readonly driverOk?: boolean;
}

/** Driver side of an mvnet device: RX is vq 0, TX vq 1. */
export class LoopbackDriver {
  readonly rxq: Virtqueue<number>;
  readonly txq: Virtqueue<number>;
  /** Frames received, virtio-net header stripped, in order. */
  readonly received: Uint8Array[] = [];
  /** Used lengths of received buffers (header included). */
  readonly rxLens: number[] = [];
  /** Device callbacks received per vq (each may find nothing new: see the interrupt counts). */
  readonly vqCallbacks = [0, 0];
  rxInterrupts = 0;
  txInterrupts = 0;
  configChanges = 0;
  private readonly dma: DmaAllocator;
  private readonly rxAddrs: number[] = [];
  private readonly rxSize: number;
  private readonly txAddrs: number[] = [];
  private readonly txFree: number[] = [];
  private readonly repost: boolean;

  constructor(
    readonly handle: DeviceHandle,
    readonly mem: GuestMemory,
    options: LoopbackDriverOptions = {},
  ) {
    const num = options.num ?? 256;
    this.rxSize = options.rxBufferSize ?? VIRTIO_NET_HDR_V1_SIZE + ETH_FRAME_LEN;
    this.repost = options.repost ?? true;
    this.dma = new DmaAllocator(mem);
    negotiateTestFeatures(handle, options.features);
    const align = handle.getVqAlign();
    const make = (index: number, onUsed: () => void): Virtqueue<number> =>
      setupTestVq(handle, {
        index,
        num,
        align,
        mem,
        dma: this.dma,
        onUsed,
        onCallback: () => this.vqCallbacks[index]++,
      });
    this.rxq = make(0, () => this.onRx());
    this.txq = make(1, () => this.onTx());
    handle.setConfigCb(() => this.configChanges++);
    for (let i = 0; i < num; i++) {
      this.txAddrs.push(this.dma.alloc(VIRTIO_NET_HDR_V1_SIZE + ETH_FRAME_LEN * 2));
      this.txFree.push(i);
    }
    const rxCount = options.rxBuffers ?? num;
    for (let i = 0; i < rxCount; i++) {
      this.rxAddrs.push(this.dma.alloc(this.rxSize));
      this.rxq.addInbuf(this.rxAddrs[i], this.rxSize, i);
    }
    if (options.driverOk ?? true) this.setDriverOk();
  }

  /** Sets DRIVER_OK: the device goes live. */
  setDriverOk(): void {
    this.handle.setStatus(this.handle.getStatus() | VIRTIO_CONFIG_S_DRIVER_OK);
  }

  /** Queues `frame` (header added) without kicking. @returns false when no TX buffer is free */
  send(frame: Uint8Array): boolean {
    const slot = this.txFree.pop();
    if (slot === undefined) return false;
    const addr = this.txAddrs[slot];
    this.mem.fill(addr, VIRTIO_NET_HDR_V1_SIZE);
    this.mem.write(addr + VIRTIO_NET_HDR_V1_SIZE, frame);
    this.txq.addOutbuf(addr, VIRTIO_NET_HDR_V1_SIZE + frame.length, slot);
    return true;
  }

  /** Queues a raw TX chain of `out` readable and `inb` writable buffers (for malformed chains). */
  sendChain(out: BufferList, inb: BufferList): void {
    this.txq.add(out, inb, this.txAddrs.length);
  }

  /** Kicks TX (virtqueue_kick). */
  flush(): void {
    this.txq.kick();
  }

  /** Posts `count` more RX buffers and kicks RX. */
  postRx(count: number): void {
    for (let i = 0; i < count; i++) {
      const token = this.rxAddrs.length;
      this.rxAddrs.push(this.dma.alloc(this.rxSize));
      this.rxq.addInbuf(this.rxAddrs[token], this.rxSize, token);
    }
    this.rxq.kick();
  }

  /** Free TX buffers. */
  get txAvailable(): number {
    return this.txFree.length;
  }

  private onRx(): void {
    this.rxInterrupts++;
    let reposted = 0;
    for (let token = this.rxq.getBuf(); token !== undefined; token = this.rxq.getBuf()) {
      const len = this.rxq.lastLen;
      const frame = new Uint8Array(len - VIRTIO_NET_HDR_V1_SIZE);
      this.mem.read(this.rxAddrs[token] + VIRTIO_NET_HDR_V1_SIZE, frame);
      this.received.push(frame);
      this.rxLens.push(len);
      if (this.repost) {
        this.rxq.addInbuf(this.rxAddrs[token], this.rxSize, token);
        reposted++;
      }
    }
    if (reposted > 0) this.rxq.kick();
  }

  private onTx(): void {
    this.txInterrupts++;
    for (let slot = this.txq.getBuf(); slot !== undefined; slot = this.txq.getBuf()) {
      if (slot < this.txAddrs.length) this.txFree.push(slot);
    }
  }
}

/** A frame of `len` bytes whose content encodes `seq` (to check order and integrity). */
export function testFrame(seq: number, len: number): Uint8Array {
  const frame = new Uint8Array(len);
  for (let i = 0; i < len; i++) frame[i] = (seq * 31 + i * 7) & 0xff;
  return frame;
}
