import {
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_S_LINK_UP,
  bit,
} from '@vdpa-kit/virtio-spec';
import type { VdpaError } from '@vdpa-kit/core-bus';
import { describe, expect, it } from 'vitest';
import { simStack } from '../test/stack.js';
import { SimNetDriver } from '../test/sim-net-driver.js';
import { VDPASIM_NET_FEATURES } from './constants.js';

const MAC = new Uint8Array([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as VdpaError).code;
  }
  return undefined;
}

describe('vdpasim_net management device', () => {
  it('shows the kernel attributes plus MQ, CTRL_RX and 17 vqs', () => {
    const { bus } = simStack();
    const info = bus.mgmtdevShow('vdpasim_net');
    expect(info.busName).toBeUndefined();
    expect(info.devName).toBe('vdpasim_net');
    expect(info.supportedClasses).toBe(bit(VIRTIO_ID_NET));
    expect(info.maxSupportedVqs).toBe(17);
    expect(VDPASIM_NET_FEATURES).toBe(0x308830028n);
    expect(info.supportedFeatures).toBe(0x308830028n | bit(VIRTIO_NET_F_MQ) | bit(VIRTIO_NET_F_CTRL_RX));
  });

  it('adds a default device with the kernel queue layout and no MQ offered', () => {
    const { bus, add } = simStack();
    const { handle } = add('vdpa0');
    const dev = bus.device('vdpa0');
    expect(dev?.nvqs).toBe(3);
    expect(dev?.ngroups).toBe(2);
    expect(dev?.nas).toBe(2);
    expect(dev?.classIds).toEqual(['virtio', 'vhost']);
    expect(dev?.mgmtdev).toBe('vdpasim_net');
    // vdpa_sim_net.c: a device added without device_features offers VDPASIM_NET_FEATURES
    expect(handle.getDeviceFeatures()).toBe(VDPASIM_NET_FEATURES);
    expect(bus.devShow('vdpa0')).toEqual({
      name: 'vdpa0',
      mgmtdev: 'vdpasim_net',
      deviceId: VIRTIO_ID_NET,
      vendorId: 0,
      maxVqs: 3,
      maxVqSize: 256,
      minVqSize: 1,
    });
    const cfg = bus.devConfig('vdpa0').net;
    expect(cfg?.mac).toEqual(new Uint8Array(6));
    expect(cfg?.mtu).toBe(1500);
    expect(cfg?.status).toBe(VIRTIO_NET_S_LINK_UP);
    expect(cfg?.maxVqPairs).toBeUndefined();
  });

  it('provisions mac, mtu and max_vqp: 2N+1 vqs and MQ offered', () => {
    const { bus, add } = simStack();
    const { handle } = add('vdpa1', { net: { mac: MAC, mtu: 9000, maxVqPairs: 4 } });
    expect(bus.device('vdpa1')?.nvqs).toBe(9);
    expect(handle.getDeviceFeatures()).toBe(VDPASIM_NET_FEATURES | bit(VIRTIO_NET_F_MQ));
    const cfg = bus.devConfig('vdpa1').net;
    expect(cfg?.mac).toEqual(MAC);
    expect(cfg?.mtu).toBe(9000);
    expect(cfg?.maxVqPairs).toBe(4);
  });

  it('offers exactly the provisioned features', () => {
    const { add } = simStack();
    const features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) | bit(VIRTIO_NET_F_MAC);
    const { handle } = add('vdpa0', { deviceFeatures: features, net: { mac: MAC } });
    expect(handle.getDeviceFeatures()).toBe(features);
  });

  it('refuses provisioning it cannot honour with EINVAL', () => {
    const { bus } = simStack();
    const notSupported = VDPASIM_NET_FEATURES | bit(VIRTIO_NET_F_MTU) | 1n; // CSUM is not supported
    expect(codeOf(() => bus.devAdd('vdpasim_net', 'a', { deviceFeatures: notSupported }))).toBe('EINVAL');
    expect(codeOf(() => bus.devAdd('vdpasim_net', 'b', { net: { maxVqPairs: 9 } }))).toBe('EINVAL');
    const mqWithoutCvq = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) | bit(VIRTIO_NET_F_MQ);
    expect(codeOf(() => bus.devAdd('vdpasim_net', 'c', { deviceFeatures: mqWithoutCvq }))).toBe('EINVAL');
    // The bus's own check: max_vqp > 1 needs MQ among provisioned features.
    expect(
      codeOf(() =>
        bus.devAdd('vdpasim_net', 'd', { deviceFeatures: VDPASIM_NET_FEATURES, net: { maxVqPairs: 2 } }),
      ),
    ).toBe('EINVAL');
    expect(bus.devices()).toEqual([]);
    // Nothing leaked: the names and indices are free again.
    bus.devAdd('vdpasim_net', 'a');
    expect(bus.device('a')?.index).toBe(0);
  });

  it('refuses a duplicate name with EEXIST', () => {
    const { bus, add } = simStack();
    add('vdpa0');
    expect(codeOf(() => bus.devAdd('vdpasim_net', 'vdpa0'))).toBe('EEXIST');
    expect(bus.devices().map((d) => d.name)).toEqual(['vdpa0']);
  });

  it('sets the mac on a live device and signals a config change', () => {
    const { bus, add, mem } = simStack();
    const { handle, sim } = add('vdpa0');
    const drv = new SimNetDriver(handle, mem);
    const generation = handle.getGeneration();
    bus.devSetAttr('vdpa0', { mac: MAC });
    expect(sim.mac).toEqual(MAC);
    expect(drv.configChanges).toBe(1);
    expect(handle.getGeneration()).not.toBe(generation);
    expect(bus.devConfig('vdpa0').net?.mac).toEqual(MAC);
  });

  it('refuses devSetAttr without a mac with EOPNOTSUPP', () => {
    const { bus, add, mgmt } = simStack();
    add('vdpa0');
    const dev = bus.device('vdpa0');
    if (dev === undefined) throw new Error('no device');
    expect(codeOf(() => mgmt.devSetAttr(dev, { mask: 0n }))).toBe('EOPNOTSUPP');
    expect(
      codeOf(() => mgmt.devSetAttr(dev, { net: { mac: MAC }, mask: bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) })),
    ).toBeUndefined();
  });

  it('deletes a device: it leaves the bus and its driver is removed', () => {
    const { bus, add, mgmt, catcher } = simStack();
    add('vdpa0');
    bus.devDel('vdpa0');
    expect(bus.device('vdpa0')).toBeUndefined();
    expect(mgmt.device('vdpa0')).toBeUndefined();
    expect(catcher.handles.size).toBe(0);
  });

  it('reports vendor stats through the bus once features are negotiated', () => {
    const { bus, add, mem } = simStack();
    const { handle } = add('vdpa0');
    expect(codeOf(() => bus.devVstats('vdpa0', 0))).toBe('EAGAIN');
    new SimNetDriver(handle, mem);
    const rx = bus.devVstats('vdpa0', 0);
    expect(rx.stats.map((s) => s.name)).toEqual([
      'rx packets',
      'rx bytes',
      'rx errors',
      'rx overruns',
      'rx drops',
    ]);
    expect(bus.devVstats('vdpa0', 1).stats.map((s) => s.name)).toEqual([
      'tx packets',
      'tx bytes',
      'tx errors',
      'tx drops',
    ]);
    expect(bus.devVstats('vdpa0', 2).stats.map((s) => s.name)).toEqual([
      'cvq requests',
      'cvq successes',
      'cvq errors',
    ]);
    expect(codeOf(() => bus.devVstats('vdpa0', 3))).toBe('EINVAL');
    expect(bus.devVstats('vdpa0', 1).negotiatedFeatures & bit(VIRTIO_NET_F_CTRL_VQ)).not.toBe(0n);
  });
});
