// The control vq on its own address space, as QEMU's shadow CVQ uses it: vdpasim_net's group 1 (the CVQ)
// moved to ASID 1 where only the control ring and its buffers are mapped, the data vqs on ASID 0. A
// MAC_ADDR_SET command through the CVQ changes the MAC; the same command with its buffers mapped only
// in ASID 0 is refused by the device.
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_OK,
  bit,
} from '@vdpa-kit/virtio-spec';
import { BufferList, Virtqueue } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { InProcessEventfd, type VhostVdpaDevice } from '../src/index.js';
import {
  type DriverRegion,
  TEST_BACKEND_FEATURES,
  type VhostTestStack,
  addVdpasim,
  driverRegion,
  mapRegion,
  vhostStack,
} from './harness.js';

const FEATURES =
  bit(VIRTIO_F_VERSION_1) |
  bit(VIRTIO_F_ACCESS_PLATFORM) |
  bit(VIRTIO_NET_F_MAC) |
  bit(VIRTIO_NET_F_CTRL_VQ) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR);
const CVQ = 2;
const NEW_MAC = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);

/** Brings up only the control vq, its ring in `cvq` (mapped in ASID 1), the CVQ group on ASID 1. */
function bringUpCvq(s: VhostTestStack, vhost: VhostVdpaDevice, cvq: DriverRegion): Virtqueue<number> {
  const ackDriver = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
  vhost.setOwner();
  vhost.setBackendFeatures(TEST_BACKEND_FEATURES);
  vhost.setStatus(ackDriver);
  vhost.setFeatures(FEATURES);
  vhost.setStatus(ackDriver | VIRTIO_CONFIG_S_FEATURES_OK);
  expect(vhost.getVringGroup(CVQ)).toEqual({ index: CVQ, num: 1 });
  vhost.setGroupAsid({ index: 1, num: 1 });
  const kick = new InProcessEventfd();
  const vq = Virtqueue.create<number>(s.mem, cvq.dma, {
    index: CVQ,
    num: 16,
    eventIdx: false,
    indirect: false,
    notify: () => kick.signal(),
  });
  const l = vq.deviceLayout;
  vhost.setVringNum({ index: CVQ, num: 16 });
  vhost.setVringAddr({
    index: CVQ,
    flags: 0,
    desc: BigInt(l.descAddr),
    avail: BigInt(l.availAddr),
    used: BigInt(l.usedAddr),
    log: 0n,
  });
  vhost.setVringKick(CVQ, kick);
  mapRegion(vhost, cvq, 1);
  vhost.setVringEnable({ index: CVQ, num: 1 });
  vhost.setStatus(ackDriver | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
  return vq;
}

/** Queues MAC_ADDR_SET with its buffers in `bufs`, kicks, and returns the ack byte's address. */
function macAddrSet(s: VhostTestStack, vq: Virtqueue<number>, bufs: DriverRegion): number {
  const hdr = bufs.dma.alloc(2, 8);
  const mac = bufs.dma.alloc(6, 8);
  const ack = bufs.dma.alloc(1, 8);
  s.mem.write(hdr, Uint8Array.of(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET));
  s.mem.write(mac, NEW_MAC);
  s.mem.write(ack, Uint8Array.of(0xff));
  const out = new BufferList().push(bufs.dma.dmaAddress(hdr), 2).push(bufs.dma.dmaAddress(mac), 6);
  const inb = new BufferList().push(bufs.dma.dmaAddress(ack), 1);
  vq.add(out, inb, 1);
  vq.kick();
  return ack;
}

describe('the control vq on ASID 1 (VHOST_VDPA_SET_GROUP_ASID for group 1)', () => {
  it('executes a MAC_ADDR_SET whose ring and buffers are mapped only in ASID 1', () => {
    const s = vhostStack();
    addVdpasim(s);
    const vhost = s.vhostBus.open('vdpa0');
    const cvq = driverRegion(s, 0x5_0000_0000, 0x10000);
    const vq = bringUpCvq(s, vhost, cvq);
    const ack = macAddrSet(s, vq, cvq);
    expect(vq.getBuf()).toBe(1);
    expect(s.mem.readU8(ack)).toBe(VIRTIO_NET_OK);
    expect(vhost.getConfig(0, 6)).toEqual(NEW_MAC);
  });

  it('refuses the command when its buffers are mapped only in ASID 0: the CVQ group cannot reach them', () => {
    const s = vhostStack();
    addVdpasim(s);
    const vhost = s.vhostBus.open('vdpa0');
    const cvq = driverRegion(s, 0x5_0000_0000, 0x10000);
    const data = driverRegion(s, 0x6_0000_0000, 0x10000);
    const vq = bringUpCvq(s, vhost, cvq);
    mapRegion(vhost, data, 0);
    const before = vhost.getConfig(0, 6);
    macAddrSet(s, vq, data);
    expect(vq.getBuf()).toBeUndefined();
    expect(vhost.getConfig(0, 6)).toEqual(before);
    expect(vhost.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });
});
