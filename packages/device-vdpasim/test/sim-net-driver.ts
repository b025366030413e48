// The fake driver side for vdpasim_net tests: virtio_vdpa's bring-up sequence (virtio_dev_probe()) through a
// DeviceHandle, vring's driver-side `Virtqueue` per queue, a TX buffer pool, RX buffers reposted after
// each interrupt, a synchronous control-queue helper, and everything seen collected into arrays.
import {
  ETH_FRAME_LEN,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_HDR_LEGACY_SIZE,
  VIRTIO_NET_HDR_V1_SIZE,
  bit,
} from '@vdpa-kit/virtio-spec';
import { BufferList, DmaAllocator, type GuestMemory, type Virtqueue } from '@vdpa-kit/vring';
import type { DeviceHandle, VdpaDriver } from '@vdpa-kit/core-bus';
import { negotiateTestFeatures, setupTestVq } from '@vdpa-kit/core-bus/testing';

const CTRL_HDR = 2;
const ACK_UNSET = 0xee;

/** A VdpaDriver that only keeps the handles it is given. */
export class HandleCatcher implements VdpaDriver {
  readonly name = 'test_driver';
  readonly idTable = ['virtio', 'vhost'] as const;
  readonly handles = new Map<string, DeviceHandle>();
  probe(handle: DeviceHandle): void {
    this.handles.set(handle.name, handle);
  }
  remove(handle: DeviceHandle): void {
    this.handles.delete(handle.name);
  }
  get(name: string): DeviceHandle {
    const h = this.handles.get(name);
    if (h === undefined) throw new Error(`no handle for ${name}`);
    return h;
  }
}

/** Options of {@link SimNetDriver}. */
export interface SimNetDriverOptions {
  /** Ring size (default 64). */
  readonly num?: number;
  /** Features accepted out of the offer (default: all offered). */
  readonly features?: bigint;
  /** RX buffers posted per receive queue at start (default `num`). */
  readonly rxBuffers?: number;
  /** Bytes per RX buffer, header included (default 12 + 1514). */
  readonly rxBufferSize?: number;
  /** Repost RX buffers after receiving (default true). */
  readonly repost?: boolean;
  /** Added to every address the driver gives the control queue (its IOVAs in another address space). */
  readonly cvqIovaOffset?: number;
  /** Runs after FEATURES_OK, before the queues are set up (e.g. `setGroupAsid`). */
  readonly afterFeatures?: (handle: DeviceHandle) => void;
  /** Stop before DRIVER_OK (default false). */
  readonly noDriverOk?: boolean;
}

/** Driver side of a vdpasim_net device: pair i is RX vq 2i / TX vq 2i+1; the control queue if negotiated. */
export class SimNetDriver {
  readonly rx: Virtqueue<number>[] = [];
  readonly tx: Virtqueue<number>[] = [];
  cvq: Virtqueue<number> | undefined;
  readonly features: bigint;
  readonly hdrLen: number;
  readonly pairs: number;
  /** Frames received per pair, header stripped. */
  readonly received: Uint8Array[][];
  /** Used lengths of RX buffers per pair (header included). */
  readonly rxLens: number[][];
  /** Interrupts per vq index. */
  readonly interrupts: number[];
  configChanges = 0;
  /** Every RX buffer ever posted: address → size (the only memory the device may write besides used rings). */
  readonly rxBufs = new Map<number, number>();
  /** Used length of the last completed control request. */
  ctrlUsedLen = -1;
  readonly dma: DmaAllocator;
  private readonly rxSize: number;
  private readonly repost: boolean;
  private readonly txFree: number[][] = [];
  private readonly out = new BufferList();
  private readonly inb = new BufferList();
  private readonly cvqOffset: number;
  private ctrlBuf = 0;

  constructor(
    readonly handle: DeviceHandle,
    readonly mem: GuestMemory,
    options: SimNetDriverOptions = {},
  ) {
    const num = options.num ?? 64;
    this.rxSize = options.rxBufferSize ?? VIRTIO_NET_HDR_V1_SIZE + ETH_FRAME_LEN;
    this.repost = options.repost ?? true;
    this.cvqOffset = options.cvqIovaOffset ?? 0;
    this.dma = new DmaAllocator(mem);
    this.features = negotiateTestFeatures(handle, options.features);
    options.afterFeatures?.(handle);
    this.hdrLen =
      (this.features & bit(VIRTIO_F_VERSION_1)) !== 0n ? VIRTIO_NET_HDR_V1_SIZE : VIRTIO_NET_HDR_LEGACY_SIZE;
    const mq = (this.features & bit(VIRTIO_NET_F_MQ)) !== 0n;
    this.pairs = mq ? Math.floor((handle.nvqs - 1) / 2) : 1;
    this.received = Array.from({ length: this.pairs }, () => []);
    this.rxLens = Array.from({ length: this.pairs }, () => []);
    this.interrupts = new Array<number>(handle.nvqs).fill(0);
    for (let p = 0; p < this.pairs; p++) {
      this.rx.push(this.setupVq(2 * p, num, 0, (vq) => this.onRx(p, vq)));
      this.tx.push(this.setupVq(2 * p + 1, num, 0, () => undefined));
      this.txFree.push([]);
    }
    if ((this.features & bit(VIRTIO_NET_F_CTRL_VQ)) !== 0n) {
      this.cvq = this.setupVq(mq ? 2 * this.pairs : 2, num, this.cvqOffset, () => undefined);
      this.ctrlBuf = this.dma.alloc(64, 16);
    }
    handle.setConfigCb(() => {
      this.configChanges++;
    });
    if (options.noDriverOk === true) return;
    handle.setStatus(
      VIRTIO_CONFIG_S_ACKNOWLEDGE |
        VIRTIO_CONFIG_S_DRIVER |
        VIRTIO_CONFIG_S_FEATURES_OK |
        VIRTIO_CONFIG_S_DRIVER_OK,
    );
    const rxBuffers = options.rxBuffers ?? num;
    for (let p = 0; p < this.pairs; p++) this.postRx(p, rxBuffers);
  }

  /** Posts `count` RX buffers on pair `pair` and kicks. */
  postRx(pair: number, count: number): void {
    const vq = this.rx[pair];
    for (let i = 0; i < count; i++) {
      const addr = this.dma.alloc(this.rxSize, 16);
      this.rxBufs.set(addr, this.rxSize);
      vq.addInbuf(addr, this.rxSize, addr);
    }
    if (count > 0) vq.kick();
  }

  /**
   * Queues `frame` (Ethernet, no header) with a zeroed virtio-net header on TX of `pair`.
   * @param kick notify the device now (default true)
   */
  send(frame: Uint8Array, pair = 0, kick = true): void {
    if (this.tx[pair].numFree === 0) this.reclaimTx(pair);
    const free = this.txFree[pair];
    const size = this.hdrLen + frame.length;
    const slot = this.hdrLen + ETH_FRAME_LEN;
    // Pooled buffers hold a standard frame; a longer one (a jumbo frame) gets its own buffer.
    const addr =
      size <= slot
        ? free.length > 0
          ? (free.pop() as number)
          : this.dma.alloc(slot, 16)
        : this.dma.alloc(size, 16);
    this.mem.fill(addr, this.hdrLen, 0);
    this.mem.write(addr + this.hdrLen, frame);
    this.tx[pair].addOutbuf(addr, size, addr);
    if (kick) this.tx[pair].kick();
  }

  /** Reclaims completed TX buffers of `pair`. @returns how many */
  reclaimTx(pair = 0): number {
    let n = 0;
    for (let a = this.tx[pair].getBuf(); a !== undefined; a = this.tx[pair].getBuf()) {
      this.txFree[pair].push(a);
      n++;
    }
    return n;
  }

  /**
   * Sends a control command and returns the ack byte the device wrote, or undefined if the request
   * was not used (the device did not process it).
   */
  ctrl(cls: number, cmd: number, data: Uint8Array = new Uint8Array(0)): number | undefined {
    const request = new Uint8Array(CTRL_HDR + data.length);
    request[0] = cls;
    request[1] = cmd;
    request.set(data, CTRL_HDR);
    return this.ctrlRaw(request);
  }

  /** Sends `request` (header and data, as given) plus a 1-byte ack buffer; returns the ack or undefined. */
  ctrlRaw(request: Uint8Array): number | undefined {
    const vq = this.cvq;
    if (vq === undefined) throw new Error('control queue not negotiated');
    const base = this.ctrlBuf;
    this.mem.write(base, request);
    const ackAt = base + request.length;
    this.mem.writeU8(ackAt, ACK_UNSET);
    this.out.clear().push(base + this.cvqOffset, request.length);
    this.inb.clear().push(ackAt + this.cvqOffset, 1);
    vq.add(this.out, this.inb, 1);
    vq.kick();
    const token = vq.getBuf();
    if (token === undefined) return undefined;
    this.ctrlUsedLen = vq.lastLen;
    return this.mem.readU8(ackAt);
  }

  private setupVq(
    index: number,
    num: number,
    offset: number,
    onUsed: (vq: Virtqueue<number>) => void,
  ): Virtqueue<number> {
    return setupTestVq(this.handle, {
      index,
      num,
      align: this.handle.getVqAlign(),
      mem: this.mem,
      dma: this.dma,
      onUsed,
      onCallback: () => this.interrupts[index]++,
      iovaOffset: offset,
      setState: true,
    });
  }

  private onRx(pair: number, vq: Virtqueue<number>): void {
    let reposted = 0;
    for (let addr = vq.getBuf(); addr !== undefined; addr = vq.getBuf()) {
      const len = vq.lastLen;
      this.rxLens[pair].push(len);
      if (len >= this.hdrLen)
        this.received[pair].push(this.mem.view(addr + this.hdrLen, len - this.hdrLen).slice());
      if (this.repost) {
        vq.addInbuf(addr, this.rxSize, addr);
        reposted++;
      }
    }
    if (reposted > 0) vq.kick();
  }
}

/** An Ethernet frame: destination, source, EtherType 0x0800, then `payloadLen` bytes of `fill`. */
export function ethFrame(dst: ArrayLike<number>, payloadLen = 46, fill = 0xab): Uint8Array {
  const f = new Uint8Array(14 + payloadLen);
  f.set(dst, 0);
  f.set([0x02, 0, 0, 0, 0, 0x01], 6);
  f[12] = 0x08;
  f.fill(fill, 14);
  return f;
}

/** A stat value by name from a vendor stats list. */
export function statOf(stats: readonly { name: string; value: bigint }[], name: string): bigint {
  const s = stats.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no stat ${name}`);
  return s.value;
}
