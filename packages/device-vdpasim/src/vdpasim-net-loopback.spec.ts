import {
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_OK,
  VIRTQ_DESC_F_WRITE,
  bit,
  vringUsedSize,
} from '@vdpa-kit/virtio-spec';
import { BufferList, Iotlb } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { simStack } from '../test/stack.js';
import { SimNetDriver, ethFrame, statOf } from '../test/sim-net-driver.js';
import { VDPASIM_NET_FEATURES, VDPASIM_NET_SUPPORTED_FEATURES } from './constants.js';
import type { VdpasimOptions } from './vdpasim-options.js';

const MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const OTHER = [0x00, 0x11, 0x22, 0x33, 0x44, 0x66];
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const MULTICAST = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
const HDR = 12;
const AVAIL_IDX = 2;
const AVAIL_RING = 4;
const DESC_LEN = 8;
const DESC_FLAGS = 12;

function netStack(net: { maxVqPairs?: number } = {}, module: VdpasimOptions = {}, deviceFeatures?: bigint) {
  const stack = simStack({ module });
  const { handle, sim } = stack.add('vdpa0', {
    ...(deviceFeatures === undefined ? {} : { deviceFeatures }),
    net: { mac: new Uint8Array(MAC), ...net },
  });
  return { ...stack, handle, sim };
}

/** Publishes a raw avail entry `head` on the driver's TX ring of pair 0 behind its back, and kicks. */
function injectHead(drv: SimNetDriver, head: number, vq = drv.tx[0]): void {
  const { availAddr, num } = vq.layout;
  const idx = drv.mem.readU16(availAddr + AVAIL_IDX);
  drv.mem.writeU16(availAddr + AVAIL_RING + 2 * (idx % num), head);
  drv.mem.writeU16(availAddr + AVAIL_IDX, (idx + 1) & 0xffff);
  drv.handle.kickVq(vq.index);
}

describe('vdpasim_net loopback, one pair', () => {
  it('loops frames for its own MAC back unchanged and counts them', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem);
    const frames = [ethFrame(MAC, 46, 1), ethFrame(MAC, 100, 2), ethFrame(MAC, 1500, 3)];
    for (const f of frames) drv.send(f);
    expect(drv.received[0]).toEqual(frames);
    expect(drv.rxLens[0]).toEqual(frames.map((f) => HDR + f.length));
    expect(drv.reclaimTx()).toBe(3);
    const bytes = BigInt(frames.reduce((n, f) => n + HDR + f.length, 0));
    const rx = handle.getVendorVqStats(0);
    expect(rx).toEqual([
      { name: 'rx packets', value: 3n },
      { name: 'rx bytes', value: bytes },
      { name: 'rx errors', value: 0n },
      { name: 'rx overruns', value: 0n },
      { name: 'rx drops', value: 0n },
    ]);
    expect(handle.getVendorVqStats(1)).toEqual([
      { name: 'tx packets', value: 3n },
      { name: 'tx bytes', value: bytes },
      { name: 'tx errors', value: 0n },
      { name: 'tx drops', value: 0n },
    ]);
  });

  it('notifies once per batch, not per packet', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem);
    for (let i = 0; i < 8; i++) drv.send(ethFrame(MAC), 0, false);
    drv.tx[0].kick();
    expect(drv.received[0]).toHaveLength(8);
    expect(drv.interrupts[0]).toBe(1);
    expect(drv.interrupts[1]).toBe(1);
  });

  it('accepts broadcast and multicast, drops other unicast and counts the drops', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem);
    drv.send(ethFrame(BROADCAST));
    drv.send(ethFrame(MULTICAST));
    drv.send(ethFrame(OTHER));
    drv.send(ethFrame(OTHER));
    expect(drv.received[0].map((f) => [...f.subarray(0, 6)])).toEqual([BROADCAST, MULTICAST]);
    expect(drv.reclaimTx()).toBe(4);
    expect(statOf(handle.getVendorVqStats(0), 'rx drops')).toBe(2n);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(4n);
  });

  it('loops back frames whose header or destination address span several descriptors', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem);
    const frames = [ethFrame(MAC, 46, 4), ethFrame(MAC, 46, 5), ethFrame(OTHER, 46, 6)];
    // Cuts: header alone; the address split after 2 bytes; the header split after 5 bytes.
    const cuts = [[HDR], [HDR + 2], [5, HDR + 3]];
    frames.forEach((frame, i) => {
      const whole = new Uint8Array(HDR + frame.length);
      whole.set(frame, HDR);
      const out = new BufferList();
      let from = 0;
      for (const to of [...cuts[i], whole.length]) {
        const addr = drv.dma.alloc(to - from, 16);
        mem.write(addr, whole.subarray(from, to));
        out.push(addr, to - from);
        from = to;
      }
      drv.tx[0].add(out, new BufferList(), 1000 + i);
      drv.tx[0].kick();
    });
    expect(drv.received[0]).toEqual(frames.slice(0, 2));
    expect(drv.rxLens[0]).toEqual([HDR + frames[0].length, HDR + frames[1].length]);
    expect(statOf(handle.getVendorVqStats(0), 'rx drops')).toBe(1n);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(3n);
  });

  it('keeps frame order when chains the fast path leaves to the per-chain path come first', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem);
    const split = ethFrame(MAC, 46, 9);
    const whole = new Uint8Array(HDR + split.length);
    whole.set(split, HDR);
    // A frame in two descriptors (header alone), then simple frames, all in one kick.
    const out = new BufferList();
    for (const [from, to] of [
      [0, HDR],
      [HDR, whole.length],
    ]) {
      const addr = drv.dma.alloc(to - from, 16);
      mem.write(addr, whole.subarray(from, to));
      out.push(addr, to - from);
    }
    drv.tx[0].add(out, new BufferList(), 2000);
    const simple = [ethFrame(MAC, 46, 10), ethFrame(MAC, 46, 11)];
    for (const f of simple) drv.send(f, 0, false);
    drv.tx[0].kick();
    expect(drv.received[0]).toEqual([split, ...simple]);
  });

  it('drops a frame too short to hold a destination address', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem);
    drv.send(new Uint8Array(MAC.slice(0, 5)));
    expect(drv.received[0]).toHaveLength(0);
    expect(statOf(handle.getVendorVqStats(0), 'rx drops')).toBe(1n);
  });

  it('filters at the legacy header length without VERSION_1', () => {
    const { handle, mem } = netStack();
    const features = bit(VIRTIO_F_ACCESS_PLATFORM) | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_CTRL_VQ);
    const drv = new SimNetDriver(handle, mem, { features });
    expect(drv.hdrLen).toBe(10);
    drv.send(ethFrame(MAC));
    drv.send(ethFrame(OTHER));
    expect(drv.received[0]).toEqual([ethFrame(MAC)]);
    expect(statOf(handle.getVendorVqStats(0), 'rx drops')).toBe(1n);
  });

  it('counts an overrun when the RX ring is empty and resumes after a refill', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { rxBuffers: 0 });
    drv.send(ethFrame(MAC, 46, 7));
    expect(drv.reclaimTx()).toBe(1);
    expect(statOf(handle.getVendorVqStats(0), 'rx overruns')).toBe(1n);
    expect(drv.received[0]).toHaveLength(0);
    drv.postRx(0, 4);
    drv.send(ethFrame(MAC, 46, 8));
    expect(drv.received[0]).toEqual([ethFrame(MAC, 46, 8)]);
    expect(statOf(handle.getVendorVqStats(0), 'rx packets')).toBe(1n);
  });

  it('gives back the TX frames of a batch after an overrun, and loops them after a refill', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { rxBuffers: 2, repost: false });
    const frames = [1, 2, 3, 4, 5].map((seed) => ethFrame(MAC, 46, seed));
    for (const f of frames) drv.send(f, 0, false);
    handle.kickVq(1);
    expect(drv.received[0]).toEqual(frames.slice(0, 2));
    expect(statOf(handle.getVendorVqStats(0), 'rx overruns')).toBe(1n);
    // Frames 1 and 2 looped, frame 3 overran; 4 and 5 are still in the TX ring.
    expect(drv.reclaimTx()).toBe(3);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(3n);
    drv.postRx(0, 4);
    handle.kickVq(1);
    expect(drv.received[0]).toEqual([...frames.slice(0, 2), ...frames.slice(3)]);
    expect(drv.reclaimTx()).toBe(2);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(5n);
  });

  it('gives back RX buffers taken for frames the filter then dropped', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { rxBuffers: 4, repost: false });
    const batch = [
      ethFrame(OTHER, 46, 1),
      ethFrame(MAC, 46, 2),
      ethFrame(OTHER, 46, 3),
      ethFrame(MAC, 46, 4),
    ];
    for (const f of batch) drv.send(f, 0, false);
    handle.kickVq(1);
    expect(drv.received[0]).toEqual([batch[1], batch[3]]);
    // The two RX buffers left must both still be available.
    drv.send(ethFrame(MAC, 46, 5), 0, false);
    drv.send(ethFrame(MAC, 46, 6), 0, false);
    handle.kickVq(1);
    expect(drv.received[0]).toHaveLength(4);
    expect(statOf(handle.getVendorVqStats(0), 'rx overruns')).toBe(0n);
    expect(statOf(handle.getVendorVqStats(0), 'rx drops')).toBe(2n);
  });

  // vdpa_sim_net.c: vdpasim_net_work() pushes the frame with vringh_iov_push_iotlb(), which writes
  // what fits; the frame counts as received with the bytes written
  it('vdpasim_net_work() fills an RX buffer too small for the frame with what fits and counts it', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { rxBufferSize: 80 });
    const frame = ethFrame(MAC, 200);
    drv.send(frame);
    expect(drv.rxLens[0]).toEqual([80]);
    expect(drv.received[0]).toEqual([frame.subarray(0, 80 - HDR)]);
    expect(handle.getVendorVqStats(0)).toEqual([
      { name: 'rx packets', value: 1n },
      { name: 'rx bytes', value: 80n },
      { name: 'rx errors', value: 0n },
      { name: 'rx overruns', value: 0n },
      { name: 'rx drops', value: 0n },
    ]);
    expect(statOf(handle.getVendorVqStats(1), 'tx bytes')).toBe(BigInt(HDR + frame.length));
    expect(drv.reclaimTx()).toBe(1);
    drv.send(ethFrame(MAC, 40));
    expect(drv.received[0][1]).toEqual(ethFrame(MAC, 40));
  });

  // vdpa_sim_net.c: vdpasim_net_work(): a push that writes nothing counts rx_errors and ends the pass.
  // The kernel then completes neither chain (both heads leak); here both are given back with length 0.
  it('vdpasim_net_work(): an RX buffer that takes no byte is an RX error and ends the pass', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { rxBuffers: 0, repost: false });
    // The driver-side queue refuses an empty buffer: post one of 16 bytes, then empty its descriptor.
    const rx = drv.rx[0];
    rx.addInbuf(drv.dma.alloc(16, 16), 16, 0);
    const { descAddr, availAddr } = rx.layout;
    const head = mem.readU16(availAddr + AVAIL_RING);
    mem.writeU32(descAddr + 16 * head + DESC_LEN, 0);
    rx.kick();
    drv.send(ethFrame(MAC, 46, 1), 0, false);
    drv.send(ethFrame(MAC, 46, 2), 0, false);
    handle.kickVq(1);
    expect(drv.rxLens[0]).toEqual([0]);
    expect(statOf(handle.getVendorVqStats(0), 'rx errors')).toBe(1n);
    expect(statOf(handle.getVendorVqStats(0), 'rx overruns')).toBe(0n);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(1n);
    expect(drv.reclaimTx()).toBe(1);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
    // The second frame waited for the next pass.
    drv.postRx(0, 1);
    expect(drv.received[0]).toEqual([ethFrame(MAC, 46, 2)]);
  });

  // vdpa_sim_net.c: vdpasim_net_work() pulls at most PAGE_SIZE (4096 bytes, header included) into
  // its bounce buffer per frame; tx_bytes counts what it read, rx_bytes what it wrote
  it('vdpasim_net_work() moves at most 4096 bytes of a frame, header included, and counts what it moved', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { rxBufferSize: HDR + 9014 });
    const jumbo = ethFrame(MAC, 9000, 7);
    // One descriptor (the fast path must leave it to the per-chain path), then three.
    drv.send(jumbo);
    const whole = new Uint8Array(HDR + jumbo.length);
    whole.set(jumbo, HDR);
    const out = new BufferList();
    for (const [from, to] of [
      [0, HDR],
      [HDR, 3000],
      [3000, whole.length],
    ]) {
      const addr = drv.dma.alloc(to - from, 16);
      mem.write(addr, whole.subarray(from, to));
      out.push(addr, to - from);
    }
    drv.tx[0].add(out, new BufferList(), 3000);
    drv.tx[0].kick();
    expect(drv.rxLens[0]).toEqual([4096, 4096]);
    expect(drv.received[0]).toEqual([jumbo.subarray(0, 4096 - HDR), jumbo.subarray(0, 4096 - HDR)]);
    expect(statOf(handle.getVendorVqStats(0), 'rx bytes')).toBe(8192n);
    expect(statOf(handle.getVendorVqStats(0), 'rx packets')).toBe(2n);
    expect(statOf(handle.getVendorVqStats(1), 'tx bytes')).toBe(8192n);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(2n);
    // A frame of exactly 4096 bytes is whole, through the fast path too.
    const page = ethFrame(MAC, 4096 - HDR - 14, 8);
    drv.send(page);
    expect(drv.received[0][2]).toEqual(page);
    expect(drv.rxLens[0][2]).toBe(4096);
  });

  it('vdpasim_net_work() never touches a TX buffer past PAGE_SIZE: an unmapped tail there is no error', () => {
    // vringh_getdesc_iotlb() records the addresses; vringh_iov_pull_iotlb() translates only the 4096
    // bytes pulled, so a descriptor beyond them may point anywhere.
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { rxBufferSize: HDR + 9014 });
    const frame = ethFrame(MAC, 4096 - HDR - 14, 9);
    const whole = new Uint8Array(HDR + frame.length);
    whole.set(frame, HDR);
    const addr = drv.dma.alloc(whole.length, 16);
    mem.write(addr, whole);
    const out = new BufferList();
    out.push(addr, whole.length);
    // Outside guest memory: any access would be EFAULT.
    out.push(0xdead_0000_0000, 1000);
    drv.tx[0].add(out, new BufferList(), 0);
    drv.tx[0].kick();
    expect(drv.received[0]).toEqual([frame]);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(1n);
    expect(statOf(handle.getVendorVqStats(1), 'tx bytes')).toBe(4096n);
    expect(statOf(handle.getVendorVqStats(1), 'tx errors')).toBe(0n);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
  });

  it('honours promiscuous and all-multicast modes set on the control queue (CTRL_RX provisioned)', () => {
    const { handle, mem, sim } = netStack({}, {}, VDPASIM_NET_FEATURES | bit(VIRTIO_NET_F_CTRL_RX));
    const drv = new SimNetDriver(handle, mem);
    expect((drv.features & bit(VIRTIO_NET_F_CTRL_RX)) !== 0n).toBe(true);
    drv.send(ethFrame(OTHER));
    expect(drv.received[0]).toHaveLength(0);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([1]))).toBe(VIRTIO_NET_OK);
    expect(sim.filter.promisc).toBe(true);
    drv.send(ethFrame(OTHER));
    expect(drv.received[0]).toHaveLength(1);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([0]))).toBe(VIRTIO_NET_OK);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, new Uint8Array([0]))).toBe(
      VIRTIO_NET_OK,
    );
    drv.send(ethFrame(MULTICAST));
    drv.send(ethFrame(BROADCAST));
    drv.send(ethFrame(OTHER));
    expect(drv.received[0].slice(1).map((f) => [...f.subarray(0, 6)])).toEqual([BROADCAST]);
    expect(statOf(handle.getVendorVqStats(0), 'rx drops')).toBe(3n);
    // Reset restores the default mode.
    handle.reset();
    expect(sim.filter.promisc).toBe(false);
    expect(sim.filter.allmulti).toBe(true);
  });

  it('defers kicks while suspended and processes them on resume', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem);
    handle.suspend();
    drv.send(ethFrame(MAC, 46, 1));
    drv.send(ethFrame(MAC, 46, 2));
    expect(drv.received[0]).toHaveLength(0);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 0 });
    handle.resume();
    expect(drv.received[0]).toEqual([ethFrame(MAC, 46, 1), ethFrame(MAC, 46, 2)]);
  });

  // vdpa_sim.c: vdpasim_set_status() queues no work; vdpasim_kick_vq() does, and the work then finds
  // what the driver made available before DRIVER_OK
  it('vdpasim_set_status() leaves rings filled before DRIVER_OK alone; the next kick processes them', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { noDriverOk: true });
    drv.postRx(0, 4);
    drv.send(ethFrame(MAC));
    expect(drv.received[0]).toHaveLength(0);
    handle.setStatus(handle.getStatus() | VIRTIO_CONFIG_S_DRIVER_OK);
    expect(drv.received[0]).toHaveLength(0);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 0 });
    handle.kickVq(0);
    expect(drv.received[0]).toEqual([ethFrame(MAC)]);
  });
});

describe('vdpasim_net loopback, several pairs', () => {
  it('loops each active pair back on itself and only processes active pairs', () => {
    const { handle, mem, sim } = netStack({ maxVqPairs: 3 });
    const drv = new SimNetDriver(handle, mem);
    expect(drv.pairs).toBe(3);
    expect(drv.cvq?.index).toBe(6);
    expect(handle.getVqGroup(6)).toBe(1);
    expect(handle.getVqGroup(2)).toBe(0);
    drv.send(ethFrame(MAC, 46, 0x21), 1);
    expect(drv.received[1]).toHaveLength(0);
    expect(sim.activePairs).toBe(1);
    expect(drv.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, new Uint8Array([3, 0]))).toBe(
      VIRTIO_NET_OK,
    );
    expect(sim.activePairs).toBe(3);
    // The frame waiting on pair 1 went through as soon as the pair became active.
    expect(drv.received[1]).toEqual([ethFrame(MAC, 46, 0x21)]);
    drv.send(ethFrame(MAC, 46, 0x00), 0);
    drv.send(ethFrame(MAC, 46, 0x22), 2);
    expect(drv.received.map((r) => r.map((f) => f[14]))).toEqual([[0x00], [0x21], [0x22]]);
    expect(statOf(handle.getVendorVqStats(5), 'tx packets')).toBe(1n);
    expect(statOf(handle.getVendorVqStats(4), 'rx packets')).toBe(1n);
    expect(handle.getVendorVqStats(6).map((s) => s.name)).toEqual([
      'cvq requests',
      'cvq successes',
      'cvq errors',
    ]);
    // Back to one pair: pair 2 is no longer processed.
    expect(drv.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, new Uint8Array([1, 0]))).toBe(
      VIRTIO_NET_OK,
    );
    drv.send(ethFrame(MAC, 46, 0x23), 2);
    expect(drv.received[2]).toHaveLength(1);
  });

  it('uses the control queue at vq 2 when the driver does not negotiate MQ', () => {
    const { handle, mem } = netStack({ maxVqPairs: 2 }, {}, VDPASIM_NET_SUPPORTED_FEATURES);
    const offered = handle.getDeviceFeatures();
    const drv = new SimNetDriver(handle, mem, { features: offered & ~bit(VIRTIO_NET_F_MQ) });
    expect(drv.cvq?.index).toBe(2);
    expect(handle.getVqGroup(2)).toBe(1);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([1]))).toBe(VIRTIO_NET_OK);
    drv.send(ethFrame(OTHER));
    expect(drv.received[0]).toHaveLength(1);
  });
});

describe('vdpasim_net work budget', () => {
  it('requeues a pass that used its budget (inline queue)', () => {
    const { handle, mem } = netStack({}, { workBudget: 4 });
    const drv = new SimNetDriver(handle, mem);
    for (let i = 0; i < 10; i++) drv.send(ethFrame(MAC, 46, i), 0, false);
    drv.tx[0].kick();
    expect(drv.received[0]).toHaveLength(10);
    // Three passes of at most 4 frames, one TX notification each.
    expect(drv.interrupts[1]).toBe(3);
  });

  it('requeues a pass that used its budget (microtask queue)', async () => {
    const stack = simStack({ module: { workBudget: 4 }, workQueue: 'microtask' });
    const { handle } = stack.add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const drv = new SimNetDriver(handle, stack.mem);
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < 10; i++) drv.send(ethFrame(MAC, 46, i), 0, false);
    drv.tx[0].kick();
    expect(drv.received[0]).toHaveLength(0);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(drv.received[0].map((f) => f[14])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(drv.interrupts[1]).toBe(3);
  });
});

describe('vdpasim_net guest errors', () => {
  it('a head out of range sets NEEDS_RESET, calls the config callback, counts a TX error and stops the queue', () => {
    const { handle, mem, sim } = netStack();
    const drv = new SimNetDriver(handle, mem, { num: 16 });
    drv.send(ethFrame(MAC, 46, 1));
    injectHead(drv, 300);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(drv.configChanges).toBe(1);
    expect(statOf(handle.getVendorVqStats(1), 'tx errors')).toBe(1n);
    expect(sim.lastError?.code).toBe('EINVAL');
    expect(sim.lastError?.message).toContain('vq 1');
    // The queue is stopped: later frames stay in the ring.
    drv.send(ethFrame(MAC, 46, 2));
    expect(drv.received[0]).toEqual([ethFrame(MAC, 46, 1)]);
    expect(statOf(handle.getVendorVqStats(1), 'tx packets')).toBe(1n);
    // Reset recovers.
    const again = new SimNetDriver(handle, mem, { num: 16 });
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
    expect(sim.lastError).toBeUndefined();
    again.send(ethFrame(MAC, 46, 3));
    expect(again.received[0]).toEqual([ethFrame(MAC, 46, 3)]);
  });

  it('a bad TX chain behind good ones: the good frames are looped and completed, then NEEDS_RESET', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { num: 16 });
    drv.send(ethFrame(MAC, 46, 1), 0, false);
    drv.send(ethFrame(MAC, 46, 2), 0, false);
    injectHead(drv, 300);
    expect(drv.received[0]).toEqual([ethFrame(MAC, 46, 1), ethFrame(MAC, 46, 2)]);
    expect(drv.reclaimTx()).toBe(2);
    expect(statOf(handle.getVendorVqStats(1), 'tx errors')).toBe(1n);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });

  it('a pass that completes nothing on RX leaves its used ring alone (unmapped or read-only)', () => {
    for (const perm of [undefined, VHOST_ACCESS_RO] as const) {
      const { handle, mem } = netStack();
      const drv = new SimNetDriver(handle, mem, { num: 16 });
      // Everything mapped read-write but the RX used ring: a hole, or read-only.
      const used = drv.rx[0].deviceLayout.usedAddr;
      const size = vringUsedSize(16);
      const end = mem.regions()[0].size;
      const tlb = new Iotlb();
      tlb.addRange(0n, BigInt(used - 1), 0n, VHOST_ACCESS_RW);
      if (perm !== undefined) tlb.addRange(BigInt(used), BigInt(used + size - 1), BigInt(used), perm);
      tlb.addRange(BigInt(used + size), BigInt(end - 1), BigInt(used + size), VHOST_ACCESS_RW);
      handle.setMap(0, tlb);
      handle.kickVq(1); // nothing to send
      drv.send(ethFrame(OTHER)); // dropped by the filter: no RX chain needed
      expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
      expect(statOf(handle.getVendorVqStats(0), 'rx errors')).toBe(0n);
      expect(statOf(handle.getVendorVqStats(0), 'rx drops')).toBe(1n);
      expect(drv.reclaimTx()).toBe(1);
    }
  });

  // vdpa_sim_net.c: vdpasim_net_work() counts a failed RX getdesc as rx_overruns, as an empty ring
  it('a readable RX buffer fails the RX getdesc: an overrun (vdpasim_net_work()); the TX chain is given back', () => {
    const { handle, mem } = netStack();
    const drv = new SimNetDriver(handle, mem, { num: 16, rxBuffers: 0 });
    // A readable descriptor on the receive queue (driver bug): EPROTO.
    drv.rx[0].addOutbuf(drv.dma.alloc(64, 16), 64, 0);
    drv.rx[0].kick();
    drv.send(ethFrame(MAC));
    expect(statOf(handle.getVendorVqStats(0), 'rx overruns')).toBe(1n);
    expect(statOf(handle.getVendorVqStats(0), 'rx errors')).toBe(0n);
    expect(statOf(handle.getVendorVqStats(1), 'tx errors')).toBe(0n);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(drv.reclaimTx()).toBe(1);
  });

  it('a device-writable TX descriptor is a TX error (EPROTO)', () => {
    const { handle, mem, sim } = netStack();
    const drv = new SimNetDriver(handle, mem, { num: 16 });
    const { descAddr } = drv.tx[0].layout;
    const buf = drv.dma.alloc(64, 16);
    mem.writeU32(descAddr, buf);
    mem.writeU32(descAddr + DESC_LEN, 64);
    mem.writeU16(descAddr + DESC_FLAGS, VIRTQ_DESC_F_WRITE);
    injectHead(drv, 0);
    expect(sim.lastError?.code).toBe('EPROTO');
    expect(statOf(handle.getVendorVqStats(1), 'tx errors')).toBe(1n);
  });
});
