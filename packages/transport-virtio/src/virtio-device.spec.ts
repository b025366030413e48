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
  ETH_ALEN,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_F_DEVICE_STATS,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '@vdpa-kit/virtio-spec';

const EVENT_IDX_AND_INDIRECT = bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_RING_F_INDIRECT_DESC);

describe('VirtioDevice feature negotiation', () => {
  it.each([
    ['VERSION_1', VIRTIO_F_VERSION_1],
    ['ACCESS_PLATFORM', VIRTIO_F_ACCESS_PLATFORM],
  ])(
    'writes the features of a device without %s, then refuses it (virtio_features_ok): ENODEV, FAILED, no FEATURES_OK',
    (name, n) => {
      const s = makeStack();
      const device = addFakeNet(s, { withoutFeatures: bit(n) });
      // virtio_vdpa stays bound; the virtio device keeps no driver and the probe's error.
      expect(busEvent(s.events, 'probe_failed')).toBeUndefined();
      const vdev = s.vbus.device('vdpa0');
      expect(vdev?.probeError).toMatchObject({ code: 'ENODEV', reason: 'features' });
      expect(vdev?.probeError?.message).toContain(name);
      const names = driverOps(s.events).map((e) => e.op);
      // virtnet_validate's MTU read, then FAILED: FEATURES_OK is never written.
      expect(names.slice(names.indexOf('setDriverFeatures'))).toEqual([
        'setDriverFeatures',
        'getConfig',
        'getStatus',
        'setStatus',
      ]);
      expect(device.driverFeatures & bit(n)).toBe(0n);
      expect(device.status & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
      expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
      expect(s.vbus.netDevice('vdpa0')).toBeUndefined();
    },
  );

  it('lets the device refuse the features it is written (set_driver_features EINVAL): FAILED', () => {
    const s = makeStack();
    const device = addFakeNet(s, {
      withoutFeatures: bit(VIRTIO_F_ACCESS_PLATFORM),
      requireAccessPlatform: true,
    });
    expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: 'EINVAL', reason: 'features' });
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    expect(s.bus.driverOf('vdpa0')).toBe('virtio_vdpa');
  });

  it('refuses a control-queue feature without CTRL_VQ with EINVAL (virtnet_validate_features)', () => {
    const s = makeStack();
    const device = addFakeNet(s, { withoutFeatures: bit(VIRTIO_NET_F_CTRL_VQ) });
    expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: 'EINVAL', reason: 'features' });
    expect(s.vbus.device('vdpa0')?.probeError?.message).toContain('CTRL_RX');
    const names = driverOps(s.events).map((e) => e.op);
    // Refused after the features were written, before FEATURES_OK.
    expect(names.slice(names.indexOf('setDriverFeatures'))).toEqual([
      'setDriverFeatures',
      'getStatus',
      'setStatus',
    ]);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
  });

  it('drops VIRTIO_NET_F_MTU below 68 and writes the features again (virtnet_validate)', () => {
    const s = makeStack();
    addFakeNet(s, { mtu: 67 });
    const ops = driverOps(s.events);
    const writes = ops.filter((e) => e.op === 'setDriverFeatures').map((e) => BigInt(String(e.args?.[0])));
    expect(writes).toHaveLength(2);
    expect(writes[0] & bit(VIRTIO_NET_F_MTU)).not.toBe(0n);
    expect(writes[1]).toBe(writes[0] & ~bit(VIRTIO_NET_F_MTU));
    const names = ops.map((e) => [e.op, ...(e.args ?? [])].join(','));
    const first = names.findIndex((n) => n.startsWith('setDriverFeatures'));
    expect(names.slice(first, first + 4)).toEqual([
      expect.stringMatching(/^setDriverFeatures,/),
      'getConfig,10,2',
      expect.stringMatching(/^setDriverFeatures,/),
      'getStatus',
    ]);
    expect(s.vbus.netDevice('vdpa0')?.mtu).toBe(1500);
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
    const error = s.vbus.device('vdpa0')?.probeError;
    expect(error).toMatchObject({ code: 'ENODEV', reason: 'features-ok' });
    expect(error?.message).toContain('cleared FEATURES_OK');
    expect(busEvent(s.events, 'bind')).toMatchObject({ args: { driver: 'virtio_vdpa' } });
    expect(device.status & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    const names = driverOps(s.events).map((e) => e.op);
    // virtnet_validate's MTU read, FEATURES_OK written after a status read, status re-read, then
    // FAILED after a status read: no vq was touched.
    expect(names.slice(names.indexOf('setDriverFeatures'))).toEqual([
      'setDriverFeatures',
      'getConfig',
      'getStatus',
      'setStatus',
      'getStatus',
      'getStatus',
      'setStatus',
    ]);
    expect(fakeReadyVqs(device)).toEqual([]);
  });
});

/**
 * An interceptor bumping the config generation of `fake()` during the next `reads` one-byte config
 * reads (the MAC, which `virtio_cread_bytes()` reads byte by byte inside the generation loop).
 */
function churnGeneration(fake: () => FakeDevice | undefined, reads: number): Interceptor {
  let remaining = reads;
  return (call, next) => {
    const device = fake();
    const buf = call.args[1];
    if (
      call.op === 'getConfig' &&
      buf instanceof Uint8Array &&
      buf.length === 1 &&
      remaining > 0 &&
      device !== undefined
    ) {
      remaining--;
      device.generation++;
    }
    return next();
  };
}

describe('VirtioDevice config generation loop (__virtio_cread_many)', () => {
  it('reads the MAC byte by byte between two generation reads, and again when the generation moved', () => {
    const s = makeStack();
    let fake: FakeDevice | undefined;
    s.bus.addInterceptor(churnGeneration(() => fake, 1));
    addFakeNet(s, {
      setup: (d) => {
        fake = d;
      },
    });
    const ops = driverOps(s.events).map((e) => [e.op, ...(e.args ?? [])]);
    const start = ops.findIndex((o) => o[0] === 'getGeneration');
    const bytes = [0, 1, 2, 3, 4, 5].map((i) => ['getConfig', i, 1]);
    expect(ops.slice(start, start + 15)).toEqual([
      ['getGeneration'],
      ...bytes,
      ['getGeneration'],
      ...bytes,
      ['getGeneration'],
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
    expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: 'EAGAIN', reason: 'config-generation' });
    const byteReads = driverOps(s.events).filter((e) => e.op === 'getConfig' && e.args?.[1] === 1);
    expect(byteReads).toHaveLength(CONFIG_GENERATION_RETRIES * ETH_ALEN);
    expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
  });

  it('reads the link status after a config change with one read outside the loop (virtio_cread16)', () => {
    const s = makeStack();
    const device = addFakeNet(s);
    const vdev = s.vbus.device('vdpa0');
    const errors: VirtioError[] = [];
    vdev?.errors$.subscribe((e) => errors.push(e));
    s.bus.addInterceptor(churnGeneration(() => device, Number.POSITIVE_INFINITY));
    // Link down, then the config-change interrupt.
    new DataView(device.config.buffer).setUint16(VIRTIO_NET_CONFIG_STATUS, 0, true);
    device.generation++;
    const mark = s.events.length;
    device.triggerConfigChange();
    const ops = driverOps(s.events.slice(mark)).map((e) => [e.op, ...(e.args ?? [])]);
    // The NEEDS_RESET check of this transport, then virtnet_config_changed_work()'s status read.
    expect(ops).toEqual([['getStatus'], ['getConfig', VIRTIO_NET_CONFIG_STATUS, 2]]);
    expect(errors).toEqual([]);
    expect(s.vbus.netDevice('vdpa0')?.linkUp).toBe(false);
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
    expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: 'EINVAL' });
    const ops = driverOps(s.events).map((e) => [e.op, ...(e.args ?? [])].slice(0, 3));
    const at = ops.findIndex((o) => o[0] === 'setVqAddress' && o[1] === failingVq);
    expect(ops.slice(at + 1)).toEqual([
      ['setVqReady', failingVq, false],
      ['getVqReady', failingVq],
      ['setVqReady', 0, false],
      ['getStatus'],
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
    expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: 'EIO' });
    expect(fakeReadyVqs(device)).toEqual([]);
  });

  it('refuses a vq that is already ready with ENOENT, without deactivating it', () => {
    const s = makeStack();
    s.bus.addInterceptor((call, next) => (call.op === 'getVqReady' && call.args[0] === 0 ? true : next()));
    addFakeNet(s);
    expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: 'ENOENT' });
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
    expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: 'ENOENT' });
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
