import {
  VHOST_ACCESS_RW,
  VHOST_IOTLB_UPDATE,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_OK,
} from '@vdpa-kit/virtio-spec';
import { BufferList, DmaAllocator, type GuestMemory, Virtqueue } from '@vdpa-kit/vring';
import { VdpaError } from '@vdpa-kit/core-bus';
import { InProcessEventfd } from '../../vhost-eventfd.js';
import type { VhostVdpaDevice } from '../../vhost-vdpa-device.js';
import { placeRegion } from './mapped-memory.js';

/** Bytes of the shadow control queue's memory: the ring and one command. */
const CVQ_MEMORY_SIZE = 0x10000;
/** Entries of the shadow control queue. */
const CVQ_NUM = 16;
/** Where the shadow control queue's memory sits in IOVA space, unless the device's range ends lower. */
const CVQ_IOVA = 2 ** 52;
/** Bytes of a `VQ_PAIRS_SET` command: class, command, le16 pairs (virtio 1.2 §5.1.6.5.5). */
const MQ_COMMAND_SIZE = 4;
/** Offset of the ack byte after the command in the command buffer. */
const ACK_OFFSET = 8;
/** An ack value the device never writes, to tell "no answer" from an answer. */
const ACK_UNSET = 0xff;

/**
 * A control queue the back-end drives itself, behind the front-end's back (QEMU's vhost-vdpa shadow
 * CVQ, net/vhost-vdpa.c `vhost_vdpa_net_load_mq()`): over vhost-user the front-end keeps its control
 * queue to itself and only enables the queue pairs it wants, so the device learns the number of active
 * pairs from `VQ_PAIRS_SET` commands sent here. Its memory is private (a buffer in `GuestMemory`, mapped
 * at an IOVA of its own), so no front-end address can reach it.
 *
 * @example
 * const cvq = new VhostUserShadowCvq(file, mem, 4);
 * cvq.start(); // before DRIVER_OK
 * cvq.setPairs(2); // after DRIVER_OK
 */
export class VhostUserShadowCvq {
  private readonly uaddr: number;
  private readonly iova: number;
  private readonly kick = new InProcessEventfd();
  private vq: Virtqueue<number> | null = null;
  private command = 0;
  private released = false;

  /**
   * Adds the queue's memory to `GuestMemory` and maps it (`VHOST_IOTLB_UPDATE`).
   * @param file the vhost-vdpa file (owner taken)
   * @param mem the stack's `GuestMemory`
   * @param index the control queue's index (2 · max pairs)
   * @throws VdpaError the mapping's
   */
  constructor(
    private readonly file: VhostVdpaDevice,
    private readonly mem: GuestMemory,
    readonly index: number,
  ) {
    const range = file.getIovaRange();
    const top = range.last + 1n - BigInt(CVQ_MEMORY_SIZE);
    this.iova = top < BigInt(CVQ_IOVA) ? Number(top) : CVQ_IOVA;
    this.uaddr = placeRegion(mem, CVQ_MEMORY_SIZE);
    mem.addRegion(this.uaddr, new ArrayBuffer(CVQ_MEMORY_SIZE));
    try {
      this.map();
    } catch (err) {
      mem.removeRegion(this.uaddr);
      throw err;
    }
  }

  /** The mapping again, after a reset without `IOTLB_PERSIST` cleaned the device's. */
  map(): void {
    this.file.processIotlbMsg({
      type: VHOST_IOTLB_UPDATE,
      iova: BigInt(this.iova),
      size: BigInt(CVQ_MEMORY_SIZE),
      uaddr: BigInt(this.uaddr),
      perm: VHOST_ACCESS_RW,
    });
  }

  /** Where the queue's memory sits in `GuestMemory` (the mapping's uaddr). */
  get uaddrBase(): number {
    return this.uaddr;
  }

  /** The IOVA range this queue's memory occupies (for the invalidation before a remap). */
  get iovaRange(): { readonly iova: number; readonly size: number } {
    return { iova: this.iova, size: CVQ_MEMORY_SIZE };
  }

  /**
   * Sets the queue up on the device from scratch (size, addresses, base 0, kick, enabled): before
   * DRIVER_OK, which freezes ring addresses.
   * @throws VdpaError the ioctls'
   */
  start(): void {
    const dma = new DmaAllocator(this.mem, {
      base: this.uaddr,
      size: CVQ_MEMORY_SIZE,
      dmaOffset: this.iova - this.uaddr,
    });
    const vq = Virtqueue.create<number>(this.mem, dma, {
      index: this.index,
      num: CVQ_NUM,
      eventIdx: false,
      indirect: false,
      notify: () => this.kick.signal(),
    });
    this.command = dma.alloc(ACK_OFFSET + 1, ACK_OFFSET);
    const l = vq.deviceLayout;
    this.file.setVringNum({ index: this.index, num: CVQ_NUM });
    this.file.setVringAddr({
      index: this.index,
      flags: 0,
      desc: BigInt(l.descAddr),
      avail: BigInt(l.availAddr),
      used: BigInt(l.usedAddr),
      log: 0n,
    });
    this.file.setVringBase({ index: this.index, num: 0 });
    this.file.setVringKick(this.index, this.kick);
    this.file.setVringEnable({ index: this.index, num: 1 });
    this.vq = vq;
  }

  /**
   * Sends `VQ_PAIRS_SET(pairs)` and reads the device's ack (the device answers while the kick runs).
   * @throws VdpaError `EIO` when the queue was not started, the device did not answer or refused
   */
  setPairs(pairs: number): void {
    const vq = this.vq;
    if (vq === null) throw new VdpaError('EIO', 'the shadow control queue is not started');
    const cmd = new Uint8Array(MQ_COMMAND_SIZE);
    cmd[0] = VIRTIO_NET_CTRL_MQ;
    cmd[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
    new DataView(cmd.buffer).setUint16(2, pairs, true);
    this.mem.write(this.command, cmd);
    this.mem.writeU8(this.command + ACK_OFFSET, ACK_UNSET);
    const offset = this.iova - this.uaddr;
    vq.add(
      new BufferList().push(this.command + offset, MQ_COMMAND_SIZE),
      new BufferList().push(this.command + ACK_OFFSET + offset, 1),
      pairs,
    );
    vq.kick();
    const done = vq.getBuf();
    const ack = this.mem.readU8(this.command + ACK_OFFSET);
    if (done === undefined) throw new VdpaError('EIO', `the device did not answer VQ_PAIRS_SET ${pairs}`);
    if (ack !== VIRTIO_NET_OK)
      throw new VdpaError('EIO', `the device refused VQ_PAIRS_SET ${pairs} (ack ${ack})`);
  }

  /** Removes the queue's memory from `GuestMemory` (the file's close drops the mapping). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.vq = null;
    this.mem.removeRegion(this.uaddr);
  }
}
