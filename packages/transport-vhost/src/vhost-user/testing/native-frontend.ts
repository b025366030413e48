import { setTimeout as sleep } from 'node:timers/promises';
import type { NativeVhost } from '@vdpa-kit/native-vhost';
import {
  VHOST_USER_F_PROTOCOL_FEATURES,
  VHOST_USER_GET_FEATURES,
  VHOST_USER_GET_PROTOCOL_FEATURES,
  VHOST_USER_GET_STATUS,
  VHOST_USER_GET_VRING_BASE,
  VHOST_USER_HDR_SIZE,
  VHOST_USER_SET_FEATURES,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_OWNER,
  VHOST_USER_SET_PROTOCOL_FEATURES,
  VHOST_USER_SET_STATUS,
  VHOST_USER_SET_VRING_ADDR,
  VHOST_USER_SET_VRING_BASE,
  VHOST_USER_SET_VRING_CALL,
  VHOST_USER_SET_VRING_ENABLE,
  VHOST_USER_SET_VRING_KICK,
  VHOST_USER_SET_VRING_NUM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_MQ,
  bit,
} from '@vdpa-kit/virtio-spec';
import { DmaAllocator, GuestMemory, Virtqueue } from '@vdpa-kit/vring';
import type { VhostUserPayload, VhostUserRegionWire } from '../codec.js';
import type { VhostUserLayout } from '../requests.js';
import { decodeReply, frontendMessage } from './frontend.js';
import { DPDK_22_11_REGION, QEMU_7_2_UVA } from './recorded-sequences.js';

/** Guest-physical (and front-end virtual) address of the test front-end's RAM: DPDK's recorded one. */
export const FE_GPA = Number(DPDK_22_11_REGION.guestPhysAddr);
/** Size of the test front-end's RAM (a memfd). */
export const FE_SIZE = 2 << 20;
/** QEMU 7.2's hole: guest-physical 0xa0000–0xc0000 is not RAM, so its RAM is two regions. */
const QEMU_HOLE_START = 0xa0000;
const QEMU_HOLE_END = 0xc0000;

/**
 * How the front-end lays out its RAM: `dpdk` = one region, gpa == uva (virtio-user); `qemu` = QEMU
 * 7.2's two regions of one memfd (gpa 0–0xa0000 and 0xc0000–end, different `mmap_offset`s), at a
 * front-end virtual address unlike the guest-physical one, so both translations are exercised.
 */
export type NativeFrontendLayout = 'dpdk' | 'qemu';

/** Ring size the test front-end sets. */
export const FE_RING_NUM = 256;
const NET_HDR_LEN = 12;

/** Waits for `cond` on the event loop (the server runs in this process), failing after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

interface Ring {
  readonly vq: Virtqueue<number>;
  readonly kickFd: number;
  readonly callFd: number;
}

/**
 * A vhost-user front-end written with the native addon, the way DPDK 22.11's virtio-user drives a
 * back-end: a memfd as guest RAM (gpa == uva, as virtio-user maps it), eventfds for kick and call,
 * the recorded start and stop sequences with this memfd in place of DPDK's hugepage file, and the
 * rx/tx rings driven with vring's driver-side `Virtqueue` over the memfd mapping. For tests.
 *
 * @example
 * const fe = NativeFrontend.connect(native, '/tmp/vdpa0.sock');
 * await fe.start();
 * fe.postRx(8);
 * fe.sendFrames(5, 200);
 */
export class NativeFrontend {
  /** The front-end's view of its RAM. */
  readonly mem = new GuestMemory();
  /** Allocates buffers and rings in it. */
  readonly dma: DmaAllocator;
  private readonly memfd: number;
  private readonly buffer: ArrayBuffer;
  private rings: Ring[] = [];
  private pending = new Uint8Array(0);
  private closed = false;

  private readonly regions: readonly VhostUserRegionWire[];
  /** Front-end virtual address minus guest-physical address (0 for `dpdk`). */
  private readonly uvaOffset: bigint;

  private constructor(
    private readonly native: NativeVhost,
    readonly fd: number,
    layout: NativeFrontendLayout,
  ) {
    this.memfd = native.memfd('vhost-user-test-guest', FE_SIZE);
    this.buffer = native.mmap(this.memfd, 0, FE_SIZE);
    if (layout === 'dpdk') {
      this.uvaOffset = 0n;
      this.mem.addRegion(FE_GPA, this.buffer);
      this.dma = new DmaAllocator(this.mem, { base: FE_GPA, size: FE_SIZE });
      this.regions = [
        {
          guestPhysAddr: BigInt(FE_GPA),
          memorySize: BigInt(FE_SIZE),
          userspaceAddr: BigInt(FE_GPA),
          mmapOffset: 0n,
        },
      ];
    } else {
      this.uvaOffset = QEMU_7_2_UVA;
      this.mem.addRegion(0, this.buffer, 0, QEMU_HOLE_START);
      this.mem.addRegion(QEMU_HOLE_END, this.buffer, QEMU_HOLE_END, FE_SIZE - QEMU_HOLE_END);
      this.dma = new DmaAllocator(this.mem, { base: QEMU_HOLE_END, size: FE_SIZE - QEMU_HOLE_END });
      this.regions = [
        {
          guestPhysAddr: 0n,
          memorySize: BigInt(QEMU_HOLE_START),
          userspaceAddr: QEMU_7_2_UVA,
          mmapOffset: 0n,
        },
        {
          guestPhysAddr: BigInt(QEMU_HOLE_END),
          memorySize: BigInt(FE_SIZE - QEMU_HOLE_END),
          userspaceAddr: QEMU_7_2_UVA + BigInt(QEMU_HOLE_END),
          mmapOffset: BigInt(QEMU_HOLE_END),
        },
      ];
    }
  }

  /** Connects to a listening back-end. */
  static connect(native: NativeVhost, path: string, layout: NativeFrontendLayout = 'dpdk'): NativeFrontend {
    return new NativeFrontend(native, native.connect(path), layout);
  }

  /** Wraps an accepted connection (the back-end connected to us: `--client`). */
  static over(native: NativeVhost, fd: number, layout: NativeFrontendLayout = 'dpdk'): NativeFrontend {
    return new NativeFrontend(native, fd, layout);
  }

  /** Sends one message (header, payload and fds in one sendmsg, as DPDK does). */
  send(
    request: number,
    payload: VhostUserPayload = { kind: 'none' },
    opts: { needReply?: boolean; fds?: number[] } = {},
  ): void {
    const msg = frontendMessage(request, payload, opts);
    this.native.sendmsg(this.fd, msg.bytes, [...msg.fds]);
  }

  /** Reads one reply (waiting for it on the event loop). */
  async reply(layout: VhostUserLayout): Promise<VhostUserPayload> {
    for (const end = Date.now() + 5000; ;) {
      if (this.pending.byteLength >= VHOST_USER_HDR_SIZE) {
        const size = new DataView(this.pending.buffer, this.pending.byteOffset).getUint32(8, true);
        if (this.pending.byteLength >= VHOST_USER_HDR_SIZE + size) {
          const bytes = this.pending.slice(0, VHOST_USER_HDR_SIZE + size);
          this.pending = this.pending.slice(VHOST_USER_HDR_SIZE + size);
          const r = decodeReply(bytes, layout);
          if (r.header.flags !== 0x5) throw new Error(`reply flags 0x${r.header.flags.toString(16)}`);
          return r.payload;
        }
      }
      const m = this.native.recvmsg(this.fd, 4096, 0);
      if (m?.eof === true) throw new Error('back-end closed the connection');
      if (m !== null) {
        const joined = new Uint8Array(this.pending.byteLength + m.bytes.byteLength);
        joined.set(this.pending);
        joined.set(m.bytes, this.pending.byteLength);
        this.pending = joined;
        continue;
      }
      if (Date.now() > end) throw new Error('timed out waiting for a reply');
      await sleep(1);
    }
  }

  /** Sends a request and reads its `u64` reply. */
  async u64(request: number, payload?: VhostUserPayload, needReply = false): Promise<bigint> {
    this.send(request, payload, { needReply });
    const r = await this.reply('u64');
    if (r.kind !== 'u64') throw new Error('not a u64 reply');
    return r.value;
  }

  /** True once the back-end closed the connection (drains what is pending). */
  peerClosed(): boolean {
    for (;;) {
      let m;
      try {
        m = this.native.recvmsg(this.fd, 4096, 0);
      } catch {
        return true;
      }
      if (m === null) return false;
      if (m.eof) return true;
    }
  }

  /**
   * DPDK 22.11 virtio-user's observed start sequence with `pairs` queue pairs (MQ acked when more than
   * one), this front-end's memfd, eventfds and ring addresses.
   * @returns the features offered
   */
  async start(pairs = 1): Promise<bigint> {
    const n = this.native;
    this.send(VHOST_USER_SET_OWNER);
    const offered = await this.u64(VHOST_USER_GET_FEATURES);
    const protocol = await this.u64(VHOST_USER_GET_PROTOCOL_FEATURES);
    this.send(VHOST_USER_SET_PROTOCOL_FEATURES, { kind: 'u64', value: protocol & 0x10009n });
    const rings = Array.from({ length: 2 * pairs }, (_, index) => {
      const vq = Virtqueue.create<number>(this.mem, this.dma, {
        index,
        num: FE_RING_NUM,
        eventIdx: false,
        indirect: false,
        notify: () => n.eventfdWrite(ring.kickFd, 1n),
      });
      const ring: Ring = { vq, kickFd: n.eventfd(), callFd: n.eventfd() };
      return ring;
    });
    this.rings = rings;
    for (const [index, r] of rings.entries()) {
      this.send(VHOST_USER_SET_VRING_CALL, { kind: 'vring-file', index, noFd: false }, { fds: [r.callFd] });
    }
    if (pairs > 1 && (offered & bit(VIRTIO_NET_F_MQ)) === 0n)
      throw new Error('the back-end does not offer MQ');
    const acked =
      offered &
      (bit(VIRTIO_F_VERSION_1) |
        bit(VHOST_USER_F_PROTOCOL_FEATURES) |
        (pairs > 1 ? bit(VIRTIO_NET_F_MQ) : 0n));
    this.send(VHOST_USER_SET_FEATURES, { kind: 'u64', value: acked });
    expectZero(await this.u64(VHOST_USER_SET_STATUS, { kind: 'u64', value: 0xbn }, true), 'SET_STATUS 0xb');
    await this.u64(VHOST_USER_GET_STATUS);
    await this.u64(VHOST_USER_GET_STATUS);
    this.send(
      VHOST_USER_SET_MEM_TABLE,
      { kind: 'memory-table', regions: [...this.regions] },
      { needReply: true, fds: this.regions.map(() => this.memfd) },
    );
    expectZero(await this.reply('u64').then(asU64), 'SET_MEM_TABLE');
    for (const [index, r] of rings.entries()) {
      this.programRing(index, r, 0);
    }
    for (const index of rings.keys())
      this.send(VHOST_USER_SET_VRING_ENABLE, { kind: 'vring-state', index, num: 1 });
    expectZero(await this.u64(VHOST_USER_SET_STATUS, { kind: 'u64', value: 0xfn }, true), 'SET_STATUS 0xf');
    return offered;
  }

  /** Posts `count` receive buffers of `size` bytes on the RX ring of `pair` and kicks. */
  postRx(count: number, size = 2048, pair = 0): void {
    const rx = this.rings[2 * pair]!.vq;
    for (let i = 0; i < count; i++) {
      const gpa = this.dma.alloc(size, 16);
      rx.addInbuf(gpa, size, gpa);
    }
    rx.kick();
  }

  /** Sends frames of `len` bytes on the TX ring of `pair` (one kick each); returns them (header included). */
  sendFrames(count: number, len: number, pair = 0): Uint8Array[] {
    const tx = this.rings[2 * pair + 1]!.vq;
    const sent: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const frame = new Uint8Array(NET_HDR_LEN + len);
      frame.fill(0xff, NET_HDR_LEN, NET_HDR_LEN + 6);
      for (let j = NET_HDR_LEN + 6; j < frame.length; j++) frame[j] = (i * 7 + j) & 0xff;
      const gpa = this.dma.alloc(frame.length, 16);
      this.mem.write(gpa, frame);
      tx.addOutbuf(gpa, frame.length, 100 + i);
      tx.kick();
      sent.push(frame);
    }
    return sent;
  }

  /** Completed TX buffers of `pair` (their tokens). */
  txDone(pair = 0): number[] {
    const tx = this.rings[2 * pair + 1]!.vq;
    const out: number[] = [];
    for (let t = tx.getBuf(); t !== undefined; t = tx.getBuf()) out.push(t);
    return out;
  }

  /** Used RX buffers of `pair`: the frames received (header included, `used.len` bytes). */
  receive(pair = 0): Uint8Array[] {
    const rx = this.rings[2 * pair]!.vq;
    const out: Uint8Array[] = [];
    for (let gpa = rx.getBuf(); gpa !== undefined; gpa = rx.getBuf()) {
      const bytes = new Uint8Array(rx.lastLen);
      this.mem.read(gpa, bytes);
      out.push(bytes);
    }
    return out;
  }

  /** Sets `VRING_AVAIL_F_NO_INTERRUPT` on ring `index` (a polling driver such as DPDK's PMD). */
  disableCalls(index: number): void {
    this.rings[index]!.vq.disableCb();
  }

  /** Call signals received on ring `index` so far (reads the eventfd). */
  calls(index: number): number {
    return this.native.eventfdReadNumber(this.rings[index]!.callFd);
  }

  /** DPDK 22.11's stop: every ring disabled, then their bases read. */
  async stop(): Promise<number[]> {
    for (const index of this.rings.keys())
      this.send(VHOST_USER_SET_VRING_ENABLE, { kind: 'vring-state', index, num: 0 });
    const bases: number[] = [];
    for (const index of this.rings.keys()) {
      this.send(VHOST_USER_GET_VRING_BASE, { kind: 'vring-state', index, num: 0 });
      const r = await this.reply('vring-state');
      if (r.kind !== 'vring-state') throw new Error('not a vring state');
      bases.push(r.num);
    }
    return bases;
  }

  /**
   * QEMU 7.2's stop: status 0 (the device reset), then every ring's base read.
   * @returns the bases
   */
  async resetStop(): Promise<number[]> {
    this.send(VHOST_USER_SET_STATUS, { kind: 'u64', value: 0n });
    const bases: number[] = [];
    for (const index of this.rings.keys()) {
      this.send(VHOST_USER_GET_VRING_BASE, { kind: 'vring-state', index, num: 0 });
      const r = await this.reply('vring-state');
      if (r.kind !== 'vring-state') throw new Error('not a vring state');
      bases.push(r.num);
    }
    return bases;
  }

  /**
   * Starts the device again on the same connection after {@link resetStop} (QEMU's `vhost_dev_start()`
   * after a guest reset): features, status, then each ring from `bases` with the same memory and
   * eventfds, enabled, DRIVER_OK.
   * @param features the features to ack again
   * @param bases each ring's base (what {@link resetStop} returned)
   */
  async restart(features: bigint, bases: readonly number[]): Promise<void> {
    this.send(VHOST_USER_SET_FEATURES, { kind: 'u64', value: features });
    expectZero(await this.u64(VHOST_USER_SET_STATUS, { kind: 'u64', value: 0xbn }, true), 'SET_STATUS 0xb');
    for (const [index, r] of this.rings.entries()) {
      this.programRing(index, r, bases[index] ?? 0);
      this.send(VHOST_USER_SET_VRING_ENABLE, { kind: 'vring-state', index, num: 1 });
    }
    expectZero(await this.u64(VHOST_USER_SET_STATUS, { kind: 'u64', value: 0xfn }, true), 'SET_STATUS 0xf');
  }

  /**
   * Sends one ring's size, base, addresses (as front-end UVAs) and kick fd, the per-ring part of
   * both `start()` and `restart()` (vhost-user spec: ring setup before `SET_VRING_ENABLE`).
   */
  private programRing(index: number, r: Ring, base: number): void {
    const l = r.vq.deviceLayout;
    this.send(VHOST_USER_SET_VRING_NUM, { kind: 'vring-state', index, num: FE_RING_NUM });
    this.send(VHOST_USER_SET_VRING_BASE, { kind: 'vring-state', index, num: base });
    this.send(VHOST_USER_SET_VRING_ADDR, {
      kind: 'vring-addr',
      index,
      flags: 0,
      desc: BigInt(l.descAddr) + this.uvaOffset,
      avail: BigInt(l.availAddr) + this.uvaOffset,
      used: BigInt(l.usedAddr) + this.uvaOffset,
      log: 0n,
    });
    this.send(VHOST_USER_SET_VRING_KICK, { kind: 'vring-file', index, noFd: false }, { fds: [r.kickFd] });
  }

  /** Closes the socket, the eventfds and the memfd, and unmaps the memory. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.fd);
    for (const r of this.rings) {
      this.native.close(r.kickFd);
      this.native.close(r.callFd);
    }
    this.native.close(this.memfd);
    this.native.munmap(this.buffer);
  }
}

function asU64(p: VhostUserPayload): bigint {
  if (p.kind !== 'u64') throw new Error('not a u64 reply');
  return p.value;
}

function expectZero(v: bigint, what: string): void {
  if (v !== 0n) throw new Error(`${what} answered ${v}`);
}
