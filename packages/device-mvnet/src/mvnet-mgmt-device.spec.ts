import { VIRTIO_ID_NET, VIRTIO_NET_S_LINK_UP, bit } from '@vdpa-kit/virtio-spec';
import { MGMT_DEVICE, VdpaError, composeStack } from '@vdpa-kit/core-bus';
import { FakeTransport, collectEvents } from '@vdpa-kit/core-bus/testing';
import { describe, expect, it } from 'vitest';
import { mvnetStack } from '../test/mvnet-stack.js';
import { MVNET_FEATURES } from './constants.js';
import { mvnetModule } from './module.js';
import { mvnetMac } from './mvnet-config.js';
import { MvnetMgmtDevice } from './mvnet-mgmt-device.js';
import { MVNET_MGMT_DEVICE } from './tokens.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof VdpaError ? err.code : `not a VdpaError: ${String(err)}`;
  }
  return undefined;
}

describe('mvnetModule', () => {
  it('binds one mvnet management device that composeStack registers on the bus', () => {
    const { bus, container } = composeStack([mvnetModule()]);
    const mgmt = container.get(MVNET_MGMT_DEVICE);
    expect(mgmt).toBeInstanceOf(MvnetMgmtDevice);
    expect(container.getAll(MGMT_DEVICE)).toEqual([mgmt]);
    expect(bus.mgmtdevs()).toEqual([mgmt]);
  });
});

describe('MvnetMgmtDevice', () => {
  it('shows the net class, 2 vqs and the offered features', () => {
    const { bus } = mvnetStack();
    expect(bus.mgmtdevShow('mvnet')).toEqual({
      name: 'mvnet',
      busName: undefined,
      devName: 'mvnet',
      supportedClasses: bit(VIRTIO_ID_NET),
      classIds: [VIRTIO_ID_NET],
      maxSupportedVqs: 2,
      supportedFeatures: MVNET_FEATURES,
    });
  });

  it('adds a device with a generated MAC, MTU 1500 and link up', () => {
    const { bus } = mvnetStack();
    const dev = bus.devAdd('mvnet', 'vdpa0');
    expect(dev.classIds).toEqual(['virtio']);
    expect(bus.devShow('vdpa0')).toMatchObject({
      mgmtdev: 'mvnet',
      deviceId: 1,
      vendorId: 0,
      maxVqs: 2,
      maxVqSize: 256,
    });
    expect(bus.devConfig('vdpa0').net).toEqual({
      deviceFeatures: MVNET_FEATURES,
      mac: mvnetMac('vdpa0'),
      mtu: 1500,
      status: VIRTIO_NET_S_LINK_UP,
    });
  });

  it('puts a provided MAC and MTU in the config space', () => {
    const { bus } = mvnetStack();
    const mac = new Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    bus.devAdd('mvnet', 'vdpa1', { net: { mac, mtu: 9000 } });
    expect(bus.devConfig('vdpa1').net).toMatchObject({ mac, mtu: 9000 });
  });

  it('refuses attributes it does not accept', () => {
    const { bus } = mvnetStack();
    expect(codeOf(() => bus.devAdd('mvnet', 'vdpa0', { net: { maxVqPairs: 2 } }))).toBe('EOPNOTSUPP');
    expect(codeOf(() => bus.devAdd('mvnet', 'vdpa0', { deviceFeatures: MVNET_FEATURES }))).toBe('EOPNOTSUPP');
    expect(bus.devices()).toEqual([]);
  });

  it('refuses a taken name with EEXIST and releases the allocation', () => {
    const { bus } = mvnetStack();
    bus.devAdd('mvnet', 'vdpa0');
    expect(codeOf(() => bus.devAdd('mvnet', 'vdpa0'))).toBe('EEXIST');
    expect(bus.devices().map((d) => d.name)).toEqual(['vdpa0']);
    expect(bus.devAdd('mvnet', 'other').index).toBe(1);
  });

  it('deletes a device: the driver is removed and the name is gone', () => {
    const { bus, virtio } = mvnetStack();
    bus.devAdd('mvnet', 'vdpa0');
    bus.devDel('vdpa0');
    expect(virtio.log).toEqual([
      { event: 'probe', dev: 'vdpa0' },
      { event: 'remove', dev: 'vdpa0' },
    ]);
    expect(codeOf(() => bus.devShow('vdpa0'))).toBe('ENODEV');
    expect(bus.devices()).toEqual([]);
  });
});

describe('class-id matching', () => {
  it('never binds mvnet to a vhost-only driver', () => {
    const { bus } = composeStack([mvnetModule()]);
    const vhost = new FakeTransport('vhost_vdpa', ['vhost']);
    bus.registerDriver(vhost);
    const log = collectEvents(bus);
    bus.devAdd('mvnet', 'vdpa0');
    expect(bus.driverOf('vdpa0')).toBeUndefined();
    expect(vhost.log).toEqual([]);
    expect(codeOf(() => bus.bind('vdpa0', 'vhost_vdpa'))).toBe('ENODEV');
    expect(log.events.filter((e) => e.kind === 'bus' && e.op === 'probe_failed').map((e) => e.dev)).toEqual([
      'vdpa0',
    ]);
    log.stop();
  });

  it('binds mvnet to a virtio driver, also one registered later', () => {
    const { bus } = composeStack([mvnetModule()]);
    bus.registerDriver(new FakeTransport('vhost_vdpa', ['vhost']));
    bus.devAdd('mvnet', 'vdpa0');
    const virtio = new FakeTransport('virtio_vdpa', ['virtio']);
    bus.registerDriver(virtio);
    expect(bus.driverOf('vdpa0')).toBe('virtio_vdpa');
    expect(virtio.bound).toEqual(['vdpa0']);
  });
});
