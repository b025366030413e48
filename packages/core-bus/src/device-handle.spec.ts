import {
  VDPA_RESET_F_CLEAN_MAP,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
} from '@vdpa-kit/virtio-spec';
import { VringError } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { LogicalClock } from './clock.js';
import { VdpaError } from './errors.js';
import { FakeDevice, type FakeDeviceOptions } from './testing/fake-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { collectEvents } from './testing/collect-events.js';
import { VdpaBus } from './vdpa-bus.js';

function stack(options: FakeDeviceOptions = {}): { bus: VdpaBus; fake: FakeDevice; t: FakeTransport } {
  const bus = new VdpaBus(new LogicalClock());
  const t = new FakeTransport('virtio_vdpa', ['virtio']);
  bus.registerDriver(t);
  const fake = new FakeDevice(options);
  fake.register(bus, { classIds: ['virtio'] });
  fake.calls.length = 0;
  return { bus, fake, t };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof VdpaError ? err.code : 'not a VdpaError';
  }
  return undefined;
}

describe('DeviceHandle events', () => {
  it('records a small session exactly: bus, op call/return/error, core wrapper, callbacks, dead handle', () => {
    const bus = new VdpaBus(new LogicalClock());
    const log = collectEvents(bus);
    const t = new FakeTransport('virtio_vdpa', ['virtio']);
    bus.registerDriver(t);
    const fake = new FakeDevice({ nvqs: 1, vqNumMax: 64, config: new Uint8Array([1, 2, 3, 4]) });
    fake.register(bus, { classIds: ['virtio'] });
    const h = t.handle('vdpa0');

    const buf = new Uint8Array(2);
    h.getConfig(1, buf);
    fake.failOp('setStatus', 'EIO', 1);
    expect(codeOf(() => h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE))).toBe('EIO');
    let interrupts = 0;
    h.setVqCb(0, () => interrupts++);
    fake.triggerVq(0);
    bus.unbind('vdpa0');
    expect(codeOf(() => h.getStatus())).toBe('ENODEV');
    fake.triggerVq(0);

    expect(buf).toEqual(new Uint8Array([2, 3]));
    expect(interrupts).toBe(1);
    const dev = 'vdpa0';
    const expected = [
      {
        kind: 'bus',
        dev: null,
        op: 'driver_registered',
        args: { driver: 'virtio_vdpa', idTable: ['virtio'] },
      },
      {
        kind: 'bus',
        dev,
        op: 'device_registered',
        args: { index: 0, nvqs: 1, classIds: ['virtio'], ngroups: 1, nas: 1, useVa: false },
      },
      { kind: 'bus', dev, op: 'probe', args: { driver: 'virtio_vdpa' } },
      { kind: 'op', dev, op: 'getVqNumMax', phase: 'call', origin: 'bus', args: [] },
      { kind: 'op', dev, op: 'getVqNumMax', phase: 'return', origin: 'bus', ret: 64 },
      { kind: 'op', dev, op: 'getVqNumMin', phase: 'call', origin: 'bus', args: [] },
      { kind: 'op', dev, op: 'getVqNumMin', phase: 'return', origin: 'bus', ret: 1 },
      { kind: 'bus', dev, op: 'bind', args: { driver: 'virtio_vdpa' } },
      { kind: 'op', dev, op: 'setDriverFeatures', phase: 'call', origin: 'core', args: ['0x0'] },
      { kind: 'op', dev, op: 'setDriverFeatures', phase: 'return', origin: 'core' },
      { kind: 'op', dev, op: 'getConfig', phase: 'call', args: [1, 2] },
      { kind: 'op', dev, op: 'getConfig', phase: 'return', ret: '0203' },
      { kind: 'op', dev, op: 'setStatus', phase: 'call', args: [1] },
      {
        kind: 'op',
        dev,
        op: 'setStatus',
        phase: 'error',
        err: 'EIO',
        message: 'fake device: injected EIO on setStatus',
      },
      { kind: 'op', dev, op: 'setVqCb', phase: 'call', args: [0, true] },
      { kind: 'op', dev, op: 'setVqCb', phase: 'return' },
      { kind: 'cb', dev, op: 'vqCb', args: [0] },
      { kind: 'bus', dev, op: 'unbind', args: { driver: 'virtio_vdpa' } },
      {
        kind: 'cb',
        dev,
        op: 'vqCb',
        args: [0],
        err: 'ENODEV',
        message: 'vqCb of vdpa0 dropped: the driver that registered it is unbound',
      },
    ].map((e, seq) => ({ v: 1, seq, ts: seq, ...e }));
    expect(log.events).toStrictEqual(expected);
  });

  it('emits immutable, JSON-round-trippable records', () => {
    const { bus, t } = stack();
    const log = collectEvents(bus);
    const h = t.handle('vdpa0');
    h.setDriverFeatures(0x300000000n);
    h.getDeviceFeatures();
    h.setVqState(0, { kind: 'split', availIndex: 7 });
    h.getVqState(0);
    h.setConfig(0, new Uint8Array([0xaa, 0xbb]));
    expect(log.events.length).toBeGreaterThan(0);
    for (const e of log.events) {
      expect(Object.isFrozen(e)).toBe(true);
      const copy: unknown = JSON.parse(JSON.stringify(e));
      expect(copy).toEqual(e);
    }
    expect(
      log.events.map((e) =>
        e.kind === 'op' && e.phase === 'call' ? e.args : e.kind === 'op' ? e.ret : null,
      ),
    ).toEqual([
      ['0x300000000'],
      undefined,
      [],
      '0x300000000',
      [0, { kind: 'split', availIndex: 7 }],
      undefined,
      [0],
      { kind: 'split', availIndex: 7 },
      [0, 'aabb'],
      undefined,
    ]);
  });

  it('keeps seq strictly increasing across devices and interleaved subscribers', () => {
    const { bus, t } = stack();
    new FakeDevice().register(bus, { classIds: ['virtio'] });
    const log = collectEvents(bus);
    // A subscriber reacting synchronously: its nested events must come after the one it reacts to.
    const reentrant = bus.events$.subscribe((e) => {
      if (e.kind === 'op' && e.op === 'getStatus' && e.phase === 'return' && e.dev === 'vdpa0')
        t.handle('vdpa1').getVendorId();
    });
    t.handle('vdpa0').getStatus();
    t.handle('vdpa1').getStatus();
    reentrant.unsubscribe();
    const seqs = log.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(log.events.map((e) => `${e.dev}:${e.op}`)).toEqual([
      'vdpa0:getStatus',
      'vdpa0:getStatus',
      'vdpa1:getVendorId',
      'vdpa1:getVendorId',
      'vdpa1:getStatus',
      'vdpa1:getStatus',
    ]);
  });
});

describe('DeviceHandle core wrappers (include/linux/vdpa.h)', () => {
  for (const observed of [false, true]) {
    describe(observed ? 'with an observer' : 'without observers (fast path)', () => {
      it('sets features to 0 before the first config read, and not after features are set', () => {
        const { bus, fake, t } = stack();
        const log = observed ? collectEvents(bus) : undefined;
        const h = t.handle('vdpa0');
        h.getConfig(0, new Uint8Array(4));
        h.getConfig(0, new Uint8Array(4));
        expect(fake.callNames()).toEqual(['setDriverFeatures', 'getConfig', 'getConfig']);
        expect(fake.calls[0].args).toEqual([0n]);
        fake.calls.length = 0;
        h.reset();
        h.setDriverFeatures(0x100000000n);
        h.getConfig(0, new Uint8Array(4));
        expect(fake.callNames()).toEqual(['reset', 'setDriverFeatures', 'getConfig']);
        fake.calls.length = 0;
        h.reset();
        h.getConfig(0, new Uint8Array(4));
        expect(fake.callNames()).toEqual(['reset', 'setDriverFeatures', 'getConfig']);
        log?.stop();
      });

      it('ignores a failing implicit setDriverFeatures, like the kernel', () => {
        const { fake, t, bus } = stack({ requireAccessPlatform: true });
        const log = observed ? collectEvents(bus) : undefined;
        const buf = new Uint8Array(2);
        t.handle('vdpa0').getConfig(0, buf);
        expect(fake.callNames()).toEqual(['setDriverFeatures', 'getConfig']);
        t.handle('vdpa0').getConfig(0, buf);
        expect(fake.callNames()).toEqual(['setDriverFeatures', 'getConfig', 'getConfig']);
        if (log !== undefined) {
          expect(log.events.filter((e) => e.kind === 'op' && e.phase === 'error').map((e) => e.op)).toEqual([
            'setDriverFeatures',
          ]);
        }
      });

      it('routes reset(flags) to compatReset when flags are non-zero and the op exists', () => {
        const { fake, t } = stack();
        const h = t.handle('vdpa0');
        h.reset(VDPA_RESET_F_CLEAN_MAP);
        h.reset();
        h.compatReset(VDPA_RESET_F_CLEAN_MAP);
        expect(fake.calls).toEqual([
          { op: 'compatReset', args: [VDPA_RESET_F_CLEAN_MAP] },
          { op: 'reset', args: [] },
          { op: 'compatReset', args: [VDPA_RESET_F_CLEAN_MAP] },
        ]);
        const bare = stack({ without: ['compatReset'] });
        bare.t.handle('vdpa0').reset(VDPA_RESET_F_CLEAN_MAP);
        expect(bare.fake.calls).toEqual([{ op: 'reset', args: [] }]);
        expect(codeOf(() => bare.t.handle('vdpa0').compatReset(1))).toBe('EOPNOTSUPP');
      });

      it('offers optional ops the device lacks as methods throwing EOPNOTSUPP', () => {
        const { t } = stack({ without: ['suspend', 'getVqSize'] });
        const h = t.handle('vdpa0');
        expect(h.has('suspend')).toBe(false);
        expect(h.has('resume')).toBe(true);
        expect(codeOf(() => h.suspend())).toBe('EOPNOTSUPP');
        expect(codeOf(() => h.getVqSize(0))).toBe('EOPNOTSUPP');
        expect(codeOf(() => h.resume())).toBeUndefined();
      });

      it('wraps a VringError thrown by the device with the same code and the cause', () => {
        class Faulty extends FakeDevice {
          override kickVq(): void {
            throw new VringError('EFAULT', 'descriptor 0x10 is out of range');
          }
        }
        const bus = new VdpaBus(new LogicalClock());
        const t = new FakeTransport();
        bus.registerDriver(t);
        new Faulty().register(bus, { classIds: ['virtio'] });
        if (observed) collectEvents(bus);
        let caught: unknown;
        try {
          t.handle('vdpa0').kickVq(0);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(VdpaError);
        expect((caught as VdpaError).code).toBe('EFAULT');
        expect((caught as VdpaError).message).toBe('descriptor 0x10 is out of range');
        expect((caught as VdpaError).cause).toBeInstanceOf(VringError);
      });

      it('delivers config callbacks and clears them with null', () => {
        const { fake, t, bus } = stack();
        const log = observed ? collectEvents(bus) : undefined;
        let changes = 0;
        t.handle('vdpa0').setConfigCb(() => changes++);
        fake.triggerConfigChange();
        t.handle('vdpa0').setConfigCb(null);
        fake.triggerConfigChange();
        expect(changes).toBe(1);
        expect(fake.configCb).toBeNull();
        if (log !== undefined)
          expect(log.events.filter((e) => e.kind === 'cb').map((e) => e.op)).toEqual(['configCb']);
      });
    });
  }

  it('exposes device metadata and the status handshake through the handle', () => {
    const bus = new VdpaBus(new LogicalClock());
    const t = new FakeTransport('t', ['vhost']);
    bus.registerDriver(t);
    new FakeDevice({ nvqs: 3 }).register(bus, { name: 'net0', classIds: ['vhost'], ngroups: 2, nas: 2 });
    const h = t.handle('net0');
    expect({
      name: h.name,
      index: h.index,
      nvqs: h.nvqs,
      ngroups: h.ngroups,
      nas: h.nas,
      classIds: h.classIds,
    }).toEqual({
      name: 'net0',
      index: 0,
      nvqs: 3,
      ngroups: 2,
      nas: 2,
      classIds: ['vhost'],
    });
    expect(h.mgmtdev).toBeUndefined();
    expect(h.useVa).toBe(false);
    h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    expect(h.getStatus()).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  });

  it('kills the handle of a refused probe', () => {
    const bus = new VdpaBus(new LogicalClock());
    let kept: { alive: boolean; getStatus(): number } | undefined;
    const t = new FakeTransport('t', ['virtio'], {
      onProbe: (h) => {
        kept = h;
        throw new VdpaError('EINVAL', 'device id 0');
      },
    });
    bus.registerDriver(t);
    new FakeDevice().register(bus);
    expect(kept?.alive).toBe(false);
    expect(codeOf(() => kept?.getStatus())).toBe('ENODEV');
  });
});
