import {
  VDPA_RESET_F_CLEAN_MAP,
  VHOST_ACCESS_RW,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_MAC,
  bit,
} from '@vdpa-kit/virtio-spec';
import type { VdpaError } from '@vdpa-kit/core-bus';
import { IOVA_MAX } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { simStack } from '../test/stack.js';
import { SimNetDriver, ethFrame } from '../test/sim-net-driver.js';
import { VDPASIM_NET_SUPPORTED_FEATURES } from './constants.js';

const MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const BASE = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as VdpaError).code;
  }
  return undefined;
}

describe('vdpasim core ops', () => {
  it('reports the simulator constants', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    expect(handle.getVqAlign()).toBe(4096);
    expect(handle.getVqNumMax()).toBe(256);
    expect(handle.getVendorId()).toBe(0);
    expect(handle.getIovaRange()).toEqual({ first: 0, last: IOVA_MAX });
    expect(handle.getBackendFeatures()).toBe(1n << 6n);
    expect(handle.getConfigSize()).toBe(24);
    expect(handle.getVqGroup(0)).toBe(0);
    expect(handle.getVqGroup(1)).toBe(0);
    expect(handle.getVqGroup(2)).toBe(1);
  });

  it('goes through the status and feature handshake', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    handle.reset();
    expect(handle.getStatus()).toBe(0);
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    expect(codeOf(() => handle.setDriverFeatures(bit(VIRTIO_F_VERSION_1)))).toBe('EINVAL');
    handle.setDriverFeatures(BASE | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_CSUM));
    // Only offered features stick.
    expect(handle.getDriverFeatures()).toBe(BASE | bit(VIRTIO_NET_F_MAC));
    const ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    handle.setStatus(ok);
    expect(handle.getStatus()).toBe(ok);
    expect(codeOf(() => handle.setStatus(0x100))).toBe('EINVAL');
  });

  it('reports vq size 256 before DRIVER_OK and the programmed size after', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0');
    expect(handle.getVqSize(0)).toBe(256);
    new SimNetDriver(handle, mem, { num: 32 });
    expect(handle.getVqSize(0)).toBe(32);
    expect(handle.getVqSize(2)).toBe(32);
  });

  it('refuses bad vq indices, sizes and states', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    expect(codeOf(() => handle.kickVq(3))).toBe('EINVAL');
    expect(codeOf(() => handle.getVqReady(-1))).toBe('EINVAL');
    expect(codeOf(() => handle.setVqNum(0, 512))).toBe('EINVAL');
    expect(codeOf(() => handle.setVqState(0, { kind: 'split', availIndex: 0x10000 }))).toBe('EINVAL');
    expect(
      codeOf(() =>
        handle.setVqState(0, {
          kind: 'packed',
          lastAvailCounter: 1,
          lastAvailIdx: 0,
          lastUsedCounter: 1,
          lastUsedIdx: 0,
        }),
      ),
    ).toBe('EOPNOTSUPP');
    expect(codeOf(() => handle.setVqAddress(0, IOVA_MAX + 1, 0, 0))).toBe('ERANGE');
    expect(codeOf(() => handle.setGroupAsid(2, 0))).toBe('EINVAL');
    expect(codeOf(() => handle.setGroupAsid(0, 2))).toBe('EINVAL');
  });

  it('refuses to make a vq ready with a size that is not a power of two', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    handle.setVqNum(0, 100);
    expect(codeOf(() => handle.setVqReady(0, true))).toBe('EINVAL');
    expect(handle.getVqReady(0)).toBe(false);
  });

  it('gets and sets the split vq state', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    handle.setVqState(1, { kind: 'split', availIndex: 0xfffe });
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 0xfffe });
    expect(handle.getVqState(0)).toEqual({ kind: 'split', availIndex: 0 });
  });

  it('starts a queue at the state it was given and reports the state it reached', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const drv = new SimNetDriver(handle, mem, { num: 16 });
    for (let i = 0; i < 5; i++) drv.send(ethFrame(MAC));
    expect(drv.received[0]).toHaveLength(5);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 5 });
    // Five RX chains taken; the reposted ones are still available.
    expect(handle.getVqState(0)).toEqual({ kind: 'split', availIndex: 5 });
  });

  it('reset clears status, features, vqs and callbacks and bumps the generation', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const drv = new SimNetDriver(handle, mem);
    drv.send(ethFrame(MAC));
    const generation = handle.getGeneration();
    handle.reset();
    expect(handle.getStatus()).toBe(0);
    expect(handle.getDriverFeatures()).toBe(0n);
    expect(handle.getGeneration()).toBe(generation + 1);
    for (let idx = 0; idx < 3; idx++) {
      expect(handle.getVqReady(idx)).toBe(false);
      expect(handle.getVqState(idx)).toEqual({ kind: 'split', availIndex: 0 });
    }
    expect(handle.getVqSize(0)).toBe(256);
    // The device is usable again from scratch.
    const again = new SimNetDriver(handle, mem);
    again.send(ethFrame(MAC));
    expect(again.received[0]).toHaveLength(1);
  });

  it('treats status 0 as a reset', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0');
    new SimNetDriver(handle, mem);
    handle.setStatus(0);
    expect(handle.getStatus()).toBe(0);
    expect(handle.getVqReady(0)).toBe(false);
    expect(handle.getDriverFeatures()).toBe(0n);
  });

  it('keeps mappings across reset unless CLEAN_MAP is given', () => {
    const { add } = simStack();
    const { handle, sim } = add('vdpa0');
    handle.dmaMap(1, 0x1000, 0x1000, 0x8000, VHOST_ACCESS_RW);
    handle.reset();
    expect(sim.iommu.isPassthrough(1)).toBe(false);
    expect(sim.iommu.iotlb(1).entries()).toEqual([
      { start: 0x1000n, last: 0x1fffn, addr: 0x8000n, perm: VHOST_ACCESS_RW },
    ]);
    handle.reset(VDPA_RESET_F_CLEAN_MAP);
    expect(sim.iommu.isPassthrough(1)).toBe(true);
    expect(sim.iommu.iotlb(1).isIdentity()).toBe(true);
  });

  it('ignores config reads and writes outside the config space', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const buf = new Uint8Array(8).fill(0x5a);
    handle.getConfig(20, buf);
    expect(buf).toEqual(new Uint8Array(8).fill(0x5a));
    handle.getConfig(-1, buf);
    expect(buf).toEqual(new Uint8Array(8).fill(0x5a));
    const mac = new Uint8Array(6);
    handle.getConfig(0, mac);
    expect([...mac]).toEqual(MAC);
    handle.setConfig(20, new Uint8Array(8));
    handle.getConfig(0, mac);
    expect([...mac]).toEqual(MAC);
  });

  it('lets only a legacy driver write the mac through the config space', () => {
    const { add } = simStack();
    const { handle, sim } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    handle.setDriverFeatures(BASE);
    handle.setConfig(0, new Uint8Array([2, 2, 2, 2, 2, 2]));
    expect([...sim.mac]).toEqual(MAC);
    handle.reset();
    handle.setDriverFeatures(bit(VIRTIO_F_ACCESS_PLATFORM));
    handle.setConfig(2, new Uint8Array([9, 9, 9, 9, 9, 9]));
    expect([...sim.mac]).toEqual([0x00, 0x11, 9, 9, 9, 9]);
    const mtu = new Uint8Array(2);
    handle.getConfig(10, mtu);
    expect(new DataView(mtu.buffer).getUint16(0, true)).toBe(1500);
  });

  it('rewrites the link status on every read and signals link changes', () => {
    const { add, mem } = simStack();
    const { handle, sim } = add('vdpa0');
    const drv = new SimNetDriver(handle, mem);
    const status = new Uint8Array(2);
    handle.getConfig(6, status);
    expect(status[0]).toBe(1);
    sim.setLinkUp(false);
    expect(drv.configChanges).toBe(1);
    handle.getConfig(6, status);
    expect(status[0]).toBe(0);
    sim.setLinkUp(false);
    expect(drv.configChanges).toBe(1);
    sim.setLinkUp(true);
    expect(drv.configChanges).toBe(2);
  });

  it('keeps DEVICE_NEEDS_RESET whatever the driver writes', () => {
    const { add, mem } = simStack();
    const { handle, sim } = add('vdpa0');
    new SimNetDriver(handle, mem);
    const vq = sim.vqs[1];
    sim.guestError(vq, new Error('test'));
    const ok =
      VIRTIO_CONFIG_S_ACKNOWLEDGE |
      VIRTIO_CONFIG_S_DRIVER |
      VIRTIO_CONFIG_S_FEATURES_OK |
      VIRTIO_CONFIG_S_DRIVER_OK;
    expect(handle.getStatus()).toBe(ok | VIRTIO_CONFIG_S_NEEDS_RESET);
    handle.setStatus(ok);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    handle.reset();
    expect(handle.getStatus()).toBe(0);
  });

  it('offers everything supported when MQ is provisioned by max_vqp', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0', { net: { maxVqPairs: 2 } });
    expect(handle.getDeviceFeatures()).toBe(VDPASIM_NET_SUPPORTED_FEATURES);
  });
});
