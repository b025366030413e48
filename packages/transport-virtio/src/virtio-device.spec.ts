import {
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_DEVICE_STATS,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_MTU,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VdpaError } from '@vdpa-kit/core-bus';
import { FakeDevice } from '@vdpa-kit/core-bus/testing';
import { describe, expect, it } from 'vitest';
import { addLoopback, busEvent, driverOps, makeStack } from '../test/harness.js';
import { CONFIG_GENERATION_RETRIES } from './constants.js';
import { VirtioError } from './errors.js';

describe('VirtioDevice feature negotiation', () => {
  it.each([
    ['VERSION_1', VIRTIO_F_VERSION_1],
    ['ACCESS_PLATFORM', VIRTIO_F_ACCESS_PLATFORM],
  ])('refuses a device without %s: ENODEV, FAILED, no features written', (name, n) => {
    const s = makeStack();
    const device = addLoopback(s, { withoutFeatures: bit(n) });
    const failed = busEvent(s.events, 'probe_failed');
    expect(failed).toMatchObject({ err: 'ENODEV' });
    expect(failed && 'message' in failed ? failed.message : '').toContain(name);
    expect(driverOps(s.events).some((e) => e.op === 'setDriverFeatures')).toBe(false);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    expect(s.vbus.devices()).toEqual([]);
  });

  it('accepts only offered features, with EVENT_IDX and INDIRECT_DESC when offered', () => {
    const s = makeStack();
    const extra = bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_DEVICE_STATS);
    const device = addLoopback(s, { withoutFeatures: bit(VIRTIO_NET_F_MTU), setup: () => undefined });
    const offered = device.getDeviceFeatures();
    const net = s.vbus.netDevice('vdpa0');
    expect(net?.features).toBe(device.driverFeatures);
    expect((device.driverFeatures & ~offered) === 0n).toBe(true);
    expect(device.driverFeatures & bit(VIRTIO_NET_F_MTU)).toBe(0n);
    expect(device.driverFeatures & bit(VIRTIO_RING_F_EVENT_IDX)).not.toBe(0n);
    expect(device.driverFeatures & bit(VIRTIO_RING_F_INDIRECT_DESC)).not.toBe(0n);

    const s2 = makeStack();
    const loud = addLoopback(s2, { deviceFeatures: offered | extra });
    expect(loud.driverFeatures & extra).toBe(0n);
  });

  it('works without EVENT_IDX and INDIRECT_DESC', () => {
    const s = makeStack();
    const device = addLoopback(s, { eventIdx: false, indirect: false });
    expect(device.driverFeatures & (bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_RING_F_INDIRECT_DESC))).toBe(
      0n,
    );
    expect(s.vbus.netDevice('vdpa0')?.closed).toBe(false);
  });

  it('fails with ENODEV and sets FAILED when the device clears FEATURES_OK', () => {
    const s = makeStack();
    const device = addLoopback(s, {
      setup: (d) => {
        d.rejectFeaturesOk = true;
      },
    });
    const failed = busEvent(s.events, 'probe_failed');
    expect(failed).toMatchObject({ err: 'ENODEV', args: { driver: 'virtio_vdpa' } });
    expect(failed && 'message' in failed ? failed.message : '').toContain('cleared FEATURES_OK');
    expect(device.status & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    const names = driverOps(s.events).map((e) => e.op);
    // FEATURES_OK written, status re-read, then FAILED: no vq was touched.
    expect(names.slice(names.indexOf('setDriverFeatures'))).toEqual([
      'setDriverFeatures',
      'setStatus',
      'getStatus',
      'setStatus',
    ]);
    expect(device.readyVqs()).toEqual([]);
  });
});

describe('VirtioDevice config generation loop', () => {
  it('retries a config read during which the generation moved', () => {
    const s = makeStack();
    addLoopback(s, {
      setup: (d) => {
        d.generationChurn = 1;
      },
    });
    const names = driverOps(s.events).map((e) => e.op);
    const start = names.indexOf('getStatus') + 1;
    expect(names.slice(start, start + 6)).toEqual([
      'getGeneration',
      'getConfig',
      'getGeneration',
      'getGeneration',
      'getConfig',
      'getGeneration',
    ]);
    expect(s.vbus.netDevice('vdpa0')?.mac).toEqual(Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56));
  });

  it('gives up with EAGAIN after a bounded number of reads when the generation never settles', () => {
    const s = makeStack();
    const device = addLoopback(s, {
      setup: (d) => {
        d.generationChurn = Number.POSITIVE_INFINITY;
      },
    });
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'EAGAIN' });
    expect(driverOps(s.events).filter((e) => e.op === 'getConfig')).toHaveLength(CONFIG_GENERATION_RETRIES);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
  });

  it('reports an unsettled generation after a config change on errors$ and keeps the device', () => {
    const s = makeStack();
    const device = addLoopback(s);
    const vdev = s.vbus.device('vdpa0');
    const errors: VirtioError[] = [];
    vdev?.errors$.subscribe((e) => errors.push(e));
    device.generationChurn = Number.POSITIVE_INFINITY;
    device.setLinkUp(false);
    expect(errors.map((e) => [e.code, e.reason])).toEqual([['EAGAIN', 'config-generation']]);
    expect(vdev?.broken).toBe(false);
  });
});

describe('VirtioDevice vq setup roll-back', () => {
  it('rolls back with setVqReady(false) when setVqAddress fails (EINVAL, as the kernel)', () => {
    const s = makeStack();
    const freeBefore = s.driver.dma.available();
    const failingVq = 1;
    s.bus.addInterceptor((call, next) => {
      if (call.op === 'setVqAddress' && call.args[0] === failingVq) throw new VdpaError('EIO', 'injected');
      return next();
    });
    const device = addLoopback(s);
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'EINVAL' });
    const ops = driverOps(s.events).map((e) => [e.op, ...(e.args ?? [])].slice(0, 3));
    const at = ops.findIndex((o) => o[0] === 'setVqAddress' && o[1] === failingVq);
    expect(ops.slice(at + 1)).toEqual([
      ['setVqReady', failingVq, false],
      ['getVqReady', failingVq],
      ['setVqReady', 0, false],
      ['setStatus', expect.any(Number)],
    ]);
    expect(device.readyVqs()).toEqual([]);
    expect(s.driver.dma.available()).toBe(freeBefore);
  });

  it('keeps the errno of other failing steps (setVqState EIO) and rolls back', () => {
    const s = makeStack();
    s.bus.addInterceptor((call, next) => {
      if (call.op === 'setVqState' && call.args[0] === 2) throw new VdpaError('EIO', 'injected');
      return next();
    });
    const device = addLoopback(s);
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'EIO' });
    expect(device.readyVqs()).toEqual([]);
  });

  it('refuses a vq that is already ready with ENOENT, without deactivating it', () => {
    const s = makeStack();
    s.bus.addInterceptor((call, next) => (call.op === 'getVqReady' && call.args[0] === 0 ? true : next()));
    addLoopback(s);
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'ENOENT' });
    const names = driverOps(s.events).map((e) => e.op);
    expect(names.filter((n) => n === 'setVqReady')).toEqual([]);
  });

  it('refuses a device with maximum vq size 0 with ENOENT', () => {
    const s = makeStack();
    s.bus.addInterceptor((call, next) =>
      call.op === 'getVqNumMax' && call.origin === undefined ? 0 : next(),
    );
    addLoopback(s);
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'ENOENT' });
  });

  it('sizes each vq from getVqSize when the device has it', () => {
    const s = makeStack();
    const fake = new FakeDevice({ nvqs: 2, vqSizes: [64, 32] });
    fake.register(s.bus, { name: 'vdpa0', classIds: ['virtio'] });
    const names = driverOps(s.events).map((e) => e.op);
    expect(names.filter((n) => n === 'getVqSize')).toHaveLength(2);
    expect(names).not.toContain('getVqNumMax');
    expect(s.vbus.device('vdpa0')?.virtqueues.map((vq) => vq.num)).toEqual([64, 32]);
    expect(fake.vqs.map((vq) => [vq.ready, vq.num])).toEqual([
      [true, 64],
      [true, 32],
    ]);
  });

  it('uses the requested queue size capped at the device maximum', () => {
    const s = makeStack({ queueSize: 64 });
    addLoopback(s);
    expect(s.vbus.device('vdpa0')?.virtqueues.map((vq) => vq.num)).toEqual([64, 64, 64]);
    const small = makeStack({ queueSize: 1024 });
    addLoopback(small, { vqNumMax: 32 });
    expect(small.vbus.device('vdpa0')?.virtqueues.map((vq) => vq.num)).toEqual([32, 32, 32]);
  });
});

describe('VirtioDevice DEVICE_NEEDS_RESET', () => {
  it('marks the device broken and FAILED, reports needs-reset and stops the interface', () => {
    const s = makeStack();
    const device = addLoopback(s);
    const vdev = s.vbus.device('vdpa0');
    const net = s.vbus.netDevice('vdpa0');
    const errors: VirtioError[] = [];
    vdev?.errors$.subscribe((e) => errors.push(e));
    device.raiseNeedsReset();
    expect(errors.map((e) => [e.code, e.reason])).toEqual([['EIO', 'needs-reset']]);
    expect(vdev?.broken).toBe(true);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    expect(net?.broken).toBe(true);
    expect(() => net?.send(new Uint8Array(60))).toThrow(VirtioError);
    expect(net?.poll()).toBe(0);
    // Removing the broken device still leaves it quiet.
    s.bus.unbind('vdpa0');
    expect(device.readyVqs()).toEqual([]);
  });
});
