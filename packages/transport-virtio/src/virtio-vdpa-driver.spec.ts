// VirtioVdpaDriver against core-bus's FakeDevice: the op sequence, addresses, DMA and teardown. The same
// bring-up on the real devices is pinned in test/vdpasim-net.int.spec.ts and test/mvnet.int.spec.ts.
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '@vdpa-kit/virtio-spec';
import { DMA_ALLOCATOR } from '@vdpa-kit/core-bus';
import type { DmaAllocator } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { addFakeNet, busEvent, driverOps, fakeReadyVqs, makeStack } from '../test/harness.js';
import { VirtioNet } from './virtio-net.js';

const ACK_DRIVER_FEATURES_OK =
  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;

/** Per vq, virtio_vdpa_setup_vq on a device with getVqNumMin and without getVqSize. */
const SETUP_VQ = [
  'getVqReady',
  'getVqNumMax',
  'getVqNumMin',
  'getVqAlign',
  'setVqCb',
  'setVqNum',
  'setVqAddress',
  'setVqState',
  'setVqReady',
];

describe('VirtioVdpaDriver bring-up', () => {
  it('issues the canonical virtio_vdpa op sequence up to DRIVER_OK', () => {
    const s = makeStack();
    addFakeNet(s, { without: ['getVqSize'] });
    const ops = driverOps(s.events);
    const names = ops.map((e) => e.op);
    const driverOk = ACK_DRIVER_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
    const end = ops.findIndex((e) => e.op === 'setStatus' && e.args?.[0] === driverOk);
    expect(end).toBeGreaterThan(0);
    // Every status write follows a status read (virtio_add_status, virtio_device_ready).
    expect(names.slice(0, end + 1)).toEqual([
      'getDeviceId',
      'getVendorId',
      'reset',
      'getStatus',
      'setStatus',
      'getStatus',
      'setStatus',
      'getDeviceFeatures',
      'setDriverFeatures',
      // virtnet_validate reads the MTU before FEATURES_OK.
      'getConfig',
      'getStatus',
      'setStatus',
      'getStatus',
      // virtnet_probe reads the MAC byte by byte inside the generation loop, then the MTU.
      'getGeneration',
      ...Array<string>(6).fill('getConfig'),
      'getGeneration',
      'getConfig',
      ...SETUP_VQ, // input.0
      ...SETUP_VQ, // output.0
      ...SETUP_VQ, // control
      'setConfigCb',
      'getStatus',
      'setStatus',
    ]);
    const statuses = ops.filter((e) => e.op === 'setStatus').map((e) => e.args?.[0]);
    expect(statuses.slice(0, 4)).toEqual([
      VIRTIO_CONFIG_S_ACKNOWLEDGE,
      VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
      ACK_DRIVER_FEATURES_OK,
      driverOk,
    ]);
    // Each vq is set up with its own index, in order, and made ready with true.
    const ready = ops.filter((e) => e.op === 'setVqReady').map((e) => e.args);
    expect(ready).toEqual([
      [0, true],
      [1, true],
      [2, true],
    ]);
    expect(busEvent(s.events, 'bind')).toMatchObject({ args: { driver: 'virtio_vdpa' } });
  });

  it('passes desc, avail and used addresses and a zero avail index to the device', () => {
    const s = makeStack();
    const device = addFakeNet(s);
    const vdev = s.vbus.device('vdpa0');
    expect(vdev).toBeDefined();
    const ops = driverOps(s.events);
    for (const vq of vdev?.virtqueues ?? []) {
      const addr = ops.find((e) => e.op === 'setVqAddress' && e.args?.[0] === vq.index);
      expect(addr?.args).toEqual([vq.index, vq.layout.descAddr, vq.layout.availAddr, vq.layout.usedAddr]);
      const num = ops.find((e) => e.op === 'setVqNum' && e.args?.[0] === vq.index);
      expect(num?.args).toEqual([vq.index, vq.num]);
      const state = ops.find((e) => e.op === 'setVqState' && e.args?.[0] === vq.index);
      expect(state?.args).toEqual([vq.index, { kind: 'split', availIndex: 0 }]);
      // What the device stored is what the ops carried.
      expect(device.vqs[vq.index]).toMatchObject({
        descArea: vq.layout.descAddr,
        driverArea: vq.layout.availAddr,
        deviceArea: vq.layout.usedAddr,
        num: vq.num,
        state: { kind: 'split', availIndex: 0 },
      });
    }
  });

  it('adds a net device to the virtio bus with a VirtioNet driver instance', async () => {
    const s = makeStack();
    const seen: string[] = [];
    s.vbus.added$.subscribe((d) => seen.push(d.name));
    addFakeNet(s);
    expect(seen).toEqual(['vdpa0']);
    expect(s.vbus.netDevice('vdpa0')).toBeInstanceOf(VirtioNet);
    expect(s.vbus.devices().map((d) => d.name)).toEqual(['vdpa0']);
    // added$ replays the devices already on the bus to a late subscriber.
    const late: string[] = [];
    s.vbus.added$.subscribe((d) => late.push(d.name)).unsubscribe();
    expect(late).toEqual(['vdpa0']);
  });

  it('refuses device id 0 with EINVAL before touching the device (virtio_vdpa_probe)', () => {
    const s = makeStack();
    const device = addFakeNet(s, { deviceId: 0 });
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'EINVAL' });
    expect(driverOps(s.events).map((e) => e.op)).toEqual(['getDeviceId']);
    expect(device.status).toBe(0);
    expect(s.vbus.devices()).toEqual([]);
  });

  it('leaves a device of an unknown virtio id on the virtio bus, acknowledged, without a driver', () => {
    const s = makeStack();
    const consoleId = 3;
    const device = addFakeNet(s, { deviceId: consoleId });
    expect(busEvent(s.events, 'bind')).toBeDefined();
    expect(device.status).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    expect(s.vbus.device('vdpa0')?.driver).toBeUndefined();
    expect(s.vbus.netDevice('vdpa0')).toBeUndefined();
  });
});

describe('VirtioVdpaDriver DMA', () => {
  it("allocates rings and buffers from the stack's shared DMA allocator", () => {
    const s = makeStack();
    const shared = s.container.get<DmaAllocator>(DMA_ALLOCATOR);
    expect(s.driver.dma).toBe(shared);
    const before = shared.available();
    addFakeNet(s);
    expect(shared.available()).toBeLessThan(before);
  });

  it('uses an allocator of its own over the range the options give', () => {
    const s = makeStack({ dmaBase: 0x80_0000, dmaSize: 0x40_0000 });
    const shared = s.container.get<DmaAllocator>(DMA_ALLOCATOR);
    expect(s.driver.dma).not.toBe(shared);
    expect(s.driver.dma.range()).toEqual({ base: 0x80_0000, limit: 0xc0_0000 });
    // The range is no longer the shared allocator's to hand out.
    expect(() => shared.reserve(0x80_0000, 16)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    const before = shared.available();
    addFakeNet(s);
    expect(shared.available()).toBe(before);
    for (let n = 0; n < 64; n++) {
      const a = shared.alloc(0x1000, 0x1000);
      expect(a >= 0x80_0000 && a < 0xc0_0000).toBe(false);
    }
  });
});

describe('VirtioVdpaDriver remove', () => {
  it('tears down on device unregistration', () => {
    const s = makeStack();
    const freeBefore = s.driver.dma.available();
    const device = addFakeNet(s);
    expect(fakeReadyVqs(device)).toEqual([0, 1, 2]);
    s.bus.unregisterDevice(device.vdpa as NonNullable<typeof device.vdpa>);
    expect(fakeReadyVqs(device)).toEqual([]);
    expect(s.driver.dma.available()).toBe(freeBefore);
    expect(s.vbus.devices()).toEqual([]);
  });
});
