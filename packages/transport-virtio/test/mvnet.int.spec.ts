// What the transport relies on from mvnet, the teaching device (the kernel's mvnet sample): a probe and
// bind with its fixed feature set, a bring-up without a control queue, and a driver that knows there
// is none.
import { MVNET_FEATURES, mvnetMac } from '@vdpa-kit/device-mvnet';
import { describe, expect, it } from 'vitest';
import type { VirtioNet } from '../src/index.js';
import { addMvnet, deviceStack, readyVqs } from './devices.js';
import { type TestStack, busEvent, driverOps } from './harness.js';
import {
  bit,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
} from '@vdpa-kit/virtio-spec';

function netOf(s: TestStack): VirtioNet {
  const net = s.vbus.netDevice('vdpa0');
  if (net === undefined) throw new Error('no net device vdpa0');
  return net;
}

/** virtio_vdpa_setup_vq on mvnet: no getVqSize (so getVqNumMax) and no getVqNumMin. */
const SETUP_VQ = [
  'getVqReady',
  'getVqNumMax',
  'getVqAlign',
  'setVqCb',
  'setVqNum',
  'setVqAddress',
  'setVqState',
  'setVqReady',
];

describe('transport-virtio on mvnet', () => {
  it('probes, binds and negotiates its fixed feature set, not ANY_LAYOUT', () => {
    const s = deviceStack();
    addMvnet(s);
    expect(busEvent(s.events, 'bind')).toMatchObject({ args: { driver: 'virtio_vdpa' } });
    const net = netOf(s);
    const expected =
      bit(VIRTIO_F_VERSION_1) |
      bit(VIRTIO_F_ACCESS_PLATFORM) |
      bit(VIRTIO_NET_F_MAC) |
      bit(VIRTIO_NET_F_MTU) |
      bit(VIRTIO_NET_F_STATUS);
    expect(MVNET_FEATURES).toBe(expected | bit(VIRTIO_F_ANY_LAYOUT));
    expect(net.features).toBe(expected);
    expect(s.bus.devConfig('vdpa0').negotiatedFeatures).toBe(expected);
    expect(net.mac).toEqual(mvnetMac('vdpa0'));
  });

  it('is brought up with two vqs and no control queue, then gets its receive buffers', () => {
    const s = deviceStack();
    const ops = addMvnet(s);
    const names = driverOps(s.events).map((e) => e.op);
    const setupAt = names.indexOf('getVqReady');
    // find_vqs, virtio_device_ready (status read, DRIVER_OK), virtio_dev_probe's DRIVER_OK check, then
    // virtnet_open: the receive queue filled and kicked, and the link status (VIRTIO_NET_F_STATUS) read.
    expect(names.slice(setupAt)).toEqual([
      ...SETUP_VQ,
      ...SETUP_VQ,
      'setConfigCb',
      'getStatus',
      'setStatus',
      'getStatus',
      'kickVq',
      'getConfig',
    ]);
    expect(ops.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
    expect(readyVqs(ops, 2)).toEqual([0, 1]);
    expect(
      netOf(s)
        .stats()
        .map((st) => st.kind),
    ).toEqual(['rx', 'tx']);
  });

  it('refuses control commands: the device has no control queue', async () => {
    const s = deviceStack();
    addMvnet(s);
    const net = netOf(s);
    const mac = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
    await expect(net.setMac(mac)).rejects.toMatchObject({ code: 'EOPNOTSUPP', reason: 'unsupported' });
    await expect(net.setRxMode('promisc', true)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await expect(net.setQueuePairs(1)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await expect(net.setQueuePairs(2)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(driverOps(s.events).filter((e) => e.op === 'kickVq')).toHaveLength(1);
  });
});
