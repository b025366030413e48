import {
  VHOST_ACCESS_RW,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_NET_CTRL_ANNOUNCE,
  VIRTIO_NET_CTRL_ANNOUNCE_ACK,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MAC_TABLE_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLUNI,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_OK,
  bit,
} from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { simStack } from '../test/stack.js';
import { SimNetDriver, ethFrame, statOf } from '../test/sim-net-driver.js';
import { VDPASIM_NET_SUPPORTED_FEATURES } from './constants.js';

const MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const NEW_MAC = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
/** Where the control queue's address space 1 puts guest memory: far above the 8 MiB of the stack. */
const AS1_OFFSET = 0x4000_0000;
const MEMORY_SIZE = 8 * 1024 * 1024;

/** A device with the control-queue features beyond the kernel's default offer (CTRL_RX, MQ) provisioned. */
function stackWith(maxVqPairs = 1) {
  const stack = simStack();
  const deviceFeatures =
    maxVqPairs > 1 ? VDPASIM_NET_SUPPORTED_FEATURES : VDPASIM_NET_SUPPORTED_FEATURES & ~bit(VIRTIO_NET_F_MQ);
  const { handle, sim } = stack.add('vdpa0', {
    deviceFeatures,
    net: { mac: new Uint8Array(MAC), maxVqPairs },
  });
  return { ...stack, handle, sim };
}

describe('vdpasim_net control queue', () => {
  it('MAC_ADDR_SET changes the config MAC and the filter follows it, without a config callback', () => {
    const { handle, mem, sim } = stackWith();
    const drv = new SimNetDriver(handle, mem);
    expect(drv.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, new Uint8Array(NEW_MAC))).toBe(
      VIRTIO_NET_OK,
    );
    expect(drv.ctrlUsedLen).toBe(1);
    expect([...sim.mac]).toEqual(NEW_MAC);
    const cfg = new Uint8Array(6);
    handle.getConfig(0, cfg);
    expect([...cfg]).toEqual(NEW_MAC);
    expect(drv.configChanges).toBe(0);
    drv.send(ethFrame(MAC));
    drv.send(ethFrame(NEW_MAC));
    expect(drv.received[0].map((f) => [...f.subarray(0, 6)])).toEqual([NEW_MAC]);
  });

  it('answers ERR to short data, unknown classes and unsupported commands', () => {
    const { handle, mem, sim } = stackWith(2);
    const drv = new SimNetDriver(handle, mem);
    expect(drv.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, new Uint8Array(4))).toBe(
      VIRTIO_NET_ERR,
    );
    expect([...sim.mac]).toEqual(MAC);
    expect(drv.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, new Uint8Array(8))).toBe(
      VIRTIO_NET_ERR,
    );
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, new Uint8Array([1]))).toBe(VIRTIO_NET_ERR);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC)).toBe(VIRTIO_NET_ERR);
    expect(drv.ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK)).toBe(VIRTIO_NET_ERR);
    expect(drv.ctrl(0x7f, 0)).toBe(VIRTIO_NET_ERR);
    expect(drv.ctrlRaw(new Uint8Array([VIRTIO_NET_CTRL_MAC]))).toBe(VIRTIO_NET_ERR);
    expect(drv.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, new Uint8Array([0, 0]))).toBe(
      VIRTIO_NET_ERR,
    );
    expect(drv.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, new Uint8Array([3, 0]))).toBe(
      VIRTIO_NET_ERR,
    );
    expect(drv.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, new Uint8Array([2]))).toBe(
      VIRTIO_NET_ERR,
    );
    expect(drv.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, new Uint8Array([2, 0]))).toBe(
      VIRTIO_NET_OK,
    );
    expect(sim.activePairs).toBe(2);
    expect(handle.getVendorVqStats(4)).toEqual([
      { name: 'cvq requests', value: 11n },
      { name: 'cvq successes', value: 1n },
      { name: 'cvq errors', value: 10n },
    ]);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
  });

  // vdpa_sim_net.c: vdpasim_handle_ctrl_mac() takes MAC_ADDR_SET whenever CTRL_VQ is negotiated;
  // RX and MQ (beyond the kernel) still need their features
  it('refuses RX and MQ commands whose feature was not negotiated, but takes MAC_ADDR_SET (vdpasim_handle_ctrl_mac())', () => {
    const { handle, mem, sim } = stackWith(2);
    const offered = handle.getDeviceFeatures();
    const features =
      offered & ~(bit(VIRTIO_NET_F_CTRL_MAC_ADDR) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_MQ));
    const drv = new SimNetDriver(handle, mem, { features });
    const generation = handle.getGeneration();
    expect(drv.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, new Uint8Array(NEW_MAC))).toBe(
      VIRTIO_NET_OK,
    );
    expect([...sim.mac]).toEqual(NEW_MAC);
    // The kernel's config generation moves only on reset.
    expect(handle.getGeneration()).toBe(generation);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([1]))).toBe(
      VIRTIO_NET_ERR,
    );
    expect(drv.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, new Uint8Array([2, 0]))).toBe(
      VIRTIO_NET_ERR,
    );
    expect([...sim.mac]).toEqual(NEW_MAC);
    expect(sim.filter.promisc).toBe(false);
    expect(sim.activePairs).toBe(1);
  });

  // vdpa_sim_net.c: vdpasim_handle_cvq() calls the control queue's callback after every request,
  // without asking vringh_need_notify_iotlb()
  it('vdpasim_handle_cvq() calls the callback after each request, even with interrupts disabled', () => {
    const { handle, mem } = stackWith();
    const drv = new SimNetDriver(handle, mem);
    const cvq = drv.cvq;
    if (cvq === undefined) throw new Error('no cvq');
    cvq.disableCb();
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([1]))).toBe(VIRTIO_NET_OK);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([0]))).toBe(VIRTIO_NET_OK);
    expect(drv.interrupts[2]).toBe(2);
  });

  it('answers with used length 0 when the request has no room for the ack', () => {
    const { handle, mem } = stackWith();
    const drv = new SimNetDriver(handle, mem);
    const cvq = drv.cvq;
    if (cvq === undefined) throw new Error('no cvq');
    const at = drv.dma.alloc(16, 16);
    mem.write(at, new Uint8Array([VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1]));
    cvq.addOutbuf(at, 3, 7);
    cvq.kick();
    expect(cvq.getBuf()).toBe(7);
    expect(cvq.lastLen).toBe(0);
    expect(statOf(handle.getVendorVqStats(2), 'cvq successes')).toBe(1n);
  });
});

describe('vdpasim_net groups and address spaces', () => {
  it('serves the control queue from address space 1 while the data queues stay on address space 0', () => {
    const { handle, mem, sim } = stackWith();
    const drv = new SimNetDriver(handle, mem, {
      cvqIovaOffset: AS1_OFFSET,
      afterFeatures: (h) => {
        h.setGroupAsid(1, 1);
        h.dmaMap(1, BigInt(AS1_OFFSET), BigInt(MEMORY_SIZE), 0n, VHOST_ACCESS_RW);
      },
    });
    expect(sim.vqs[2].asid).toBe(1);
    expect(sim.vqs[0].asid).toBe(0);
    expect(sim.vqs[1].asid).toBe(0);
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([1]))).toBe(VIRTIO_NET_OK);
    // Data queues use guest-physical addresses, which address space 1 does not map: they work only
    // because they are translated by the identity address space 0.
    drv.send(ethFrame([0x02, 0, 0, 0, 0, 0x09]));
    expect(drv.received[0]).toHaveLength(1);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
  });

  it('fails the control queue when its group is left on address space 0 with the offset addresses', () => {
    const { handle, mem, sim } = stackWith();
    const drv = new SimNetDriver(handle, mem, { cvqIovaOffset: AS1_OFFSET });
    expect(drv.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array([1]))).toBeUndefined();
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(statOf(handle.getVendorVqStats(2), 'cvq errors')).toBe(1n);
    expect(sim.lastError?.code).toBe('EFAULT');
    expect(drv.configChanges).toBe(1);
  });

  it('moves only the vqs of the group and resets them to address space 0', () => {
    const { handle, sim } = stackWith(2);
    handle.setGroupAsid(0, 1);
    expect(sim.vqs.map((vq) => vq.asid)).toEqual([1, 1, 0, 1, 1]);
    handle.reset();
    expect(sim.vqs.map((vq) => vq.asid)).toEqual([0, 0, 0, 0, 0]);
  });
});
