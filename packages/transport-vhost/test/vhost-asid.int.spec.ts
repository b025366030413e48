// ASID isolation through the datapath: vdpasim_net's data vqs are group 0 and its control vq group 1;
// VHOST_VDPA_SET_GROUP_ASID binds a group to an address space, and a buffer mapped only in ASID 1 is
// refused to a group on ASID 0 (the device's IOTLB has a hole there) and accepted by one on ASID 1.
import { VIRTIO_CONFIG_S_NEEDS_RESET } from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import {
  type VhostTestStack,
  addVdpasim,
  bringUp,
  driverRegion,
  mapRegion,
  vhostStack,
  writeFrame,
} from './harness.js';

const RINGS_IOVA = 0x1_0000_0000;
const FRAME_IOVA = 0x3_0000_0000;

/** Brings vdpasim_net up with its rings in `ringsAsid` and the data group on `dataAsid`; sends one frame
 * from a buffer mapped only in ASID 1. */
function sendFromAsid1(
  s: VhostTestStack,
  ringsAsid: number,
  dataAsid: number,
): { received: number; status: number } {
  addVdpasim(s);
  const vhost = s.vhostBus.open('vdpa0');
  const rings = driverRegion(s, RINGS_IOVA);
  const frames = driverRegion(s, FRAME_IOVA, 0x10000);
  const [rx, tx] = bringUp(vhost, s.mem, rings, {
    asid: ringsAsid,
    beforeRings: (v) => {
      expect([0, 1, 2].map((i) => v.getVringGroup(i).num)).toEqual([0, 0, 1]);
      v.setGroupAsid({ index: 1, num: 1 });
      v.setGroupAsid({ index: 0, num: dataAsid });
    },
  });
  mapRegion(vhost, frames, 1);
  const rxBuf = rings.dma.alloc(2048, 64);
  rx.vq.addInbuf(rings.dma.dmaAddress(rxBuf), 2048, 0);
  rx.vq.kick();
  const txBuf = frames.dma.alloc(2048, 64);
  const frame = writeFrame(s.mem, txBuf, 80, 3);
  tx.vq.addOutbuf(frames.dma.dmaAddress(txBuf), frame.length, 1);
  tx.vq.kick();
  let received = 0;
  while (rx.vq.getBuf() !== undefined) received++;
  return { received, status: vhost.getStatus() };
}

describe('ASID isolation (VHOST_VDPA_SET_GROUP_ASID, per-ASID IOTLBs)', () => {
  it('a buffer mapped only in ASID 1 is refused to the data group on ASID 0', () => {
    const s = vhostStack();
    const { received, status } = sendFromAsid1(s, 0, 0);
    expect(received).toBe(0);
    expect(status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });

  it('the same buffer goes through once the data group is on ASID 1 with its rings', () => {
    const s = vhostStack();
    const { received, status } = sendFromAsid1(s, 1, 1);
    expect(received).toBe(1);
    expect(status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
  });
});
