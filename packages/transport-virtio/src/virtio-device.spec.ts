// VirtioDevice against core-bus's FakeDevice: the misbehaviour a real device does not produce on
// demand (features refused, a moving config generation, DEVICE_NEEDS_RESET, failing vq setup ops),
// made with interceptors and the fake's public fields.
import { type Interceptor, VdpaError } from '@vdpa-kit/core-bus';
import { FakeDevice } from '@vdpa-kit/core-bus/testing';
import { describe, expect, it } from 'vitest';
import { FAKE_MAC, addFakeNet, busEvent, driverOps, fakeReadyVqs, makeStack } from '../test/harness.js';
import { CONFIG_GENERATION_RETRIES } from './constants.js';
import { VirtioError } from './errors.js';
import {
  bit,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_F_DEVICE_STATS,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_MTU,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '@vdpa-kit/virtio-spec';

const EVENT_IDX_AND_INDIRECT = bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_RING_F_INDIRECT_DESC);

describe('VirtioDevice feature negotiation', () => {
  it.each([
    ['VERSION_1', VIRTIO_F_VERSION_1],
    ['ACCESS_PLATFORM', VIRTIO_F_ACCESS_PLATFORM],
  ])('refuses a device without %s: ENODEV, FAILED, no features written', (name, n) => {
    const s = makeStack();
    const device = addFakeNet(s, { withoutFeatures: bit(n) });
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
    const device = addFakeNet(s, { withoutFeatures: bit(VIRTIO_NET_F_MTU) });
    const offered = device.deviceFeatures;
    const net = s.vbus.netDevice('vdpa0');
    expect(net?.features).toBe(device.driverFeatures);
    expect((device.driverFeatures & ~offered) === 0n).toBe(true);
    expect(device.driverFeatures & bit(VIRTIO_NET_F_MTU)).toBe(0n);
    expect(device.driverFeatures & bit(VIRTIO_RING_F_EVENT_IDX)).not.toBe(0n);
    expect(device.driverFeatures & bit(VIRTIO_RING_F_INDIRECT_DESC)).not.toBe(0n);
    // The negotiated ring features reach the rings the driver set up (no real device offers them).
    expect(s.vbus.device('vdpa0')?.virtqueues.map((vq) => vq.eventIdx)).toEqual([true, true, true]);

    const s2 = makeStack();
    const loud = addFakeNet(s2, { deviceFeatures: offered | extra });
    expect(loud.driverFeatures & extra).toBe(0n);
  });

  it('works without EVENT_IDX and INDIRECT_DESC', () => {
    const s = makeStack();
    const device = addFakeNet(s, { withoutFeatures: EVENT_IDX_AND_INDIRECT });
    expect(device.driverFeatures & EVENT_IDX_AND_INDIRECT).toBe(0n);
    expect(s.vbus.netDevice('vdpa0')?.closed).toBe(false);
    expect(s.vbus.device('vdpa0')?.virtqueues.map((vq) => vq.eventIdx)).toEqual([false, false, false]);
  });

  it('fails with ENODEV and sets FAILED when the device clears FEATURES_OK', () => {
    const s = makeStack();
    // The device drops FEATURES_OK from the status the driver writes, as one refusing the features.
    s.bus.addInterceptor((call, next) =>
      call.op === 'setStatus' ? next([(call.args[0] as number) & ~VIRTIO_CONFIG_S_FEATURES_OK]) : next(),
    );
    const device = addFakeNet(s);
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
    expect(fakeReadyVqs(device)).toEqual([]);
  });
});

/** An interceptor bumping the config generation of `fake()` during the next `reads` config reads. */
function churnGeneration(fake: () => FakeDevice | undefined, reads: number): Interceptor {
  let remaining = reads;
  return (call, next) => {
    const device = fake();
    if (call.op === 'getConfig' && remaining > 0 && device !== undefined) {
      remaining--;
      device.generation++;
    }
    return next();
  };
}

describe('VirtioDevice config generation loop', () => {
  it('retries a config read during which the generation moved', () => {
    const s = makeStack();
    let fake: FakeDevice | undefined;
    s.bus.addInterceptor(churnGeneration(() => fake, 1));
    addFakeNet(s, {
      setup: (d) => {
        fake = d;
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
    expect(s.vbus.netDevice('vdpa0')?.mac).toEqual(FAKE_MAC);
  });

  it('gives up with EAGAIN after a bounded number of reads when the generation never settles', () => {
    const s = makeStack();
    let fake: FakeDevice | undefined;
    s.bus.addInterceptor(churnGeneration(() => fake, Number.POSITIVE_INFINITY));
    const device = addFakeNet(s, {
      setup: (d) => {
        fake = d;
      },
    });
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'EAGAIN' });
    expect(driverOps(s.events).filter((e) => e.op === 'getConfig')).toHaveLength(CONFIG_GENERATION_RETRIES);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
  });

  it('reports an unsettled generation after a config change on errors$ and keeps the device', () => {
    const s = makeStack();
    const device = addFakeNet(s);
    const vdev = s.vbus.device('vdpa0');
    const errors: VirtioError[] = [];
    vdev?.errors$.subscribe((e) => errors.push(e));
    s.bus.addInterceptor(churnGeneration(() => device, Number.POSITIVE_INFINITY));
    // Link down, then the config-change interrupt.
    new DataView(device.config.buffer).setUint16(VIRTIO_NET_CONFIG_STATUS, 0, true);
    device.generation++;
    device.triggerConfigChange();
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
    const device = addFakeNet(s);
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'EINVAL' });
    const ops = driverOps(s.events).map((e) => [e.op, ...(e.args ?? [])].slice(0, 3));
    const at = ops.findIndex((o) => o[0] === 'setVqAddress' && o[1] === failingVq);
    expect(ops.slice(at + 1)).toEqual([
      ['setVqReady', failingVq, false],
      ['getVqReady', failingVq],
      ['setVqReady', 0, false],
      ['setStatus', expect.any(Number)],
    ]);
    expect(fakeReadyVqs(device)).toEqual([]);
    expect(s.driver.dma.available()).toBe(freeBefore);
  });

  it('keeps the errno of other failing steps (setVqState EIO) and rolls back', () => {
    const s = makeStack();
    s.bus.addInterceptor((call, next) => {
      if (call.op === 'setVqState' && call.args[0] === 2) throw new VdpaError('EIO', 'injected');
      return next();
    });
    const device = addFakeNet(s);
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'EIO' });
    expect(fakeReadyVqs(device)).toEqual([]);
  });

  it('refuses a vq that is already ready with ENOENT, without deactivating it', () => {
    const s = makeStack();
    s.bus.addInterceptor((call, next) => (call.op === 'getVqReady' && call.args[0] === 0 ? true : next()));
    addFakeNet(s);
    expect(busEvent(s.events, 'probe_failed')).toMatchObject({ err: 'ENOENT' });
    const names = driverOps(s.events).map((e) => e.op);
    expect(names.filter((n) => n === 'setVqReady')).toEqual([]);
  });

  it('refuses a device with maximum vq size 0 with ENOENT', () => {
    const s = makeStack();
    s.bus.addInterceptor((call, next) =>
      call.op === 'getVqNumMax' && call.origin === undefined ? 0 : next(),
    );
    // Without getVqSize the driver sizes the rings from getVqNumMax.
    addFakeNet(s, { without: ['getVqSize'] });
    expect(driverOps(s.events).some((e) => e.op === 'getVqNumMax')).toBe(true);
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
    addFakeNet(s, { without: ['getVqSize'] });
    expect(s.vbus.device('vdpa0')?.virtqueues.map((vq) => vq.num)).toEqual([64, 64, 64]);
    const small = makeStack({ queueSize: 1024 });
    addFakeNet(small, { without: ['getVqSize'], vqNumMax: 32 });
    expect(small.vbus.device('vdpa0')?.virtqueues.map((vq) => vq.num)).toEqual([32, 32, 32]);
  });
});

describe('VirtioDevice DEVICE_NEEDS_RESET', () => {
  it('marks the device broken and FAILED, reports needs-reset and stops the interface', () => {
    const s = makeStack();
    const device = addFakeNet(s);
    const vdev = s.vbus.device('vdpa0');
    const net = s.vbus.netDevice('vdpa0');
    const errors: VirtioError[] = [];
    vdev?.errors$.subscribe((e) => errors.push(e));
    // The device raises NEEDS_RESET after an internal error and interrupts (virtio 1.2 §2.1.1).
    device.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    device.triggerConfigChange();
    expect(errors.map((e) => [e.code, e.reason])).toEqual([['EIO', 'needs-reset']]);
    expect(vdev?.broken).toBe(true);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    expect(net?.broken).toBe(true);
    expect(() => net?.send(new Uint8Array(60))).toThrow(VirtioError);
    expect(net?.poll()).toBe(0);
    // Removing the broken device still leaves it quiet.
    s.bus.unbind('vdpa0');
    expect(fakeReadyVqs(device)).toEqual([]);
  });
});
