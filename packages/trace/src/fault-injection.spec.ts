import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { type BusEvent, type DeviceHandle, LogicalClock, VdpaBus, VdpaError } from '@vdpa-kit/core-bus';
import { FakeDevice, FakeTransport, collectEvents } from '@vdpa-kit/core-bus/testing';
import { corruptResult, failNth, flipLowBit, parseInjectSpec } from './fault-injection.js';

const FEATURES_OK_STATUS = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;

/** A transport whose probe negotiates features and refuses the device when that fails (virtio_vdpa-like). */
function negotiatingTransport(): FakeTransport {
  return new FakeTransport('virtio_vdpa', ['virtio'], {
    onProbe: (h: DeviceHandle) => {
      h.reset();
      h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
      h.setDriverFeatures(h.getDeviceFeatures());
      h.setStatus(FEATURES_OK_STATUS);
      if ((h.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK) === 0)
        throw new VdpaError('ENODEV', `device ${h.name} refused the features`);
    },
  });
}

function stack(devices = 1): { bus: VdpaBus; fakes: FakeDevice[]; t: FakeTransport } {
  const bus = new VdpaBus(new LogicalClock());
  const t = new FakeTransport();
  bus.registerDriver(t);
  const fakes: FakeDevice[] = [];
  for (let i = 0; i < devices; i++) {
    const fake = new FakeDevice({ config: new Uint8Array([1, 2, 3, 4, 5, 6]) });
    fake.register(bus, { classIds: ['virtio'] });
    fake.calls.length = 0;
    fakes.push(fake);
  }
  return { bus, fakes, t };
}

function errnoOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return VdpaError.from(err).code;
  }
  return undefined;
}

function opEnds(events: readonly BusEvent[], op: string): BusEvent[] {
  return events.filter((e) => e.kind === 'op' && e.op === op && e.phase !== 'call');
}

describe('failNth', () => {
  it('fails only the nth call, without calling the device, and records the errno', () => {
    const { bus, fakes, t } = stack();
    const log = collectEvents(bus);
    bus.addInterceptor(failNth('setStatus', 2, 'EIO'));
    const h = t.handle('vdpa0');
    expect(errnoOf(() => h.setStatus(1))).toBeUndefined();
    expect(errnoOf(() => h.setStatus(3))).toBe('EIO');
    expect(errnoOf(() => h.setStatus(3))).toBeUndefined();
    expect(fakes[0].calls.map((c) => c.args[0])).toEqual([1, 3]);
    const ends = opEnds(log.events, 'setStatus');
    expect(ends.map((e) => e.err)).toEqual([undefined, 'EIO', undefined]);
    expect(ends[1]).toMatchObject({ message: 'setStatus call 2 on vdpa0 failed by fault injection (EIO)' });
  });

  it('with every, fails each call from the nth on', () => {
    const { bus, t } = stack();
    bus.addInterceptor(failNth('kickVq', 3, 'EAGAIN', { every: true }));
    const h = t.handle('vdpa0');
    expect([1, 2, 3, 4, 5].map(() => errnoOf(() => h.kickVq(0)))).toEqual([
      undefined,
      undefined,
      'EAGAIN',
      'EAGAIN',
      'EAGAIN',
    ]);
  });

  it('counts only the calls on the named device', () => {
    const { bus, t } = stack(2);
    bus.addInterceptor(failNth('getStatus', 1, 'ENODEV', { dev: 'vdpa1' }));
    expect(errnoOf(() => t.handle('vdpa0').getStatus())).toBeUndefined();
    expect(errnoOf(() => t.handle('vdpa1').getStatus())).toBe('ENODEV');
    expect(errnoOf(() => t.handle('vdpa1').getStatus())).toBeUndefined();
  });

  it('drives a transport error path: a failed feature negotiation makes the probe fail', () => {
    const bus = new VdpaBus(new LogicalClock());
    const log = collectEvents(bus);
    const remove = bus.addInterceptor(failNth('setDriverFeatures', 1, 'EIO'));
    bus.registerDriver(negotiatingTransport());
    new FakeDevice().register(bus, { classIds: ['virtio'] });
    const failed = log.events.find((e) => e.kind === 'bus' && e.op === 'probe_failed');
    expect(failed).toMatchObject({ dev: 'vdpa0', err: 'EIO' });
    expect(log.events.some((e) => e.kind === 'bus' && e.op === 'bind')).toBe(false);
    // The second attempt (call 2) goes through.
    remove();
    bus.addInterceptor(failNth('setDriverFeatures', 2, 'EIO'));
    bus.bind('vdpa0', 'virtio_vdpa');
    expect(log.events.at(-1)).toMatchObject({ kind: 'bus', op: 'bind', dev: 'vdpa0' });
  });

  it('rejects an unknown op, a bad call number and an unknown errno', () => {
    expect(() => failNth('kickVqq' as 'kickVq', 1, 'EIO')).toThrow('op "kickVqq" is not a config op');
    expect(() => failNth('kickVq', 0, 'EIO')).toThrow('call number 0 is not a positive integer');
    expect(() => failNth('kickVq', 1.5, 'EIO')).toThrow('call number 1.5 is not a positive integer');
    expect(() => failNth('kickVq', 1, 'EWHAT' as 'EIO')).toThrow('errno "EWHAT" is not known');
  });
});

describe('corruptResult', () => {
  it('substitutes the corrupted result for the caller and in the return event', () => {
    const { bus, fakes, t } = stack();
    const log = collectEvents(bus);
    bus.addInterceptor(corruptResult('getDeviceFeatures', flipLowBit));
    const real = fakes[0].deviceFeatures;
    expect(t.handle('vdpa0').getDeviceFeatures()).toBe(real ^ 1n);
    expect(fakes[0].callNames()).toEqual(['getDeviceFeatures']);
    expect(opEnds(log.events, 'getDeviceFeatures')[0]).toMatchObject({
      ret: `0x${(real ^ 1n).toString(16)}`,
    });
  });

  it('corrupts only the nth call when asked, and leaves failed calls alone', () => {
    const { bus, fakes, t } = stack();
    bus.addInterceptor(corruptResult('getStatus', (s) => (s as number) | 0x80, { nth: 2 }));
    const h = t.handle('vdpa0');
    fakes[0].status = 1;
    expect([h.getStatus(), h.getStatus(), h.getStatus()]).toEqual([1, 0x81, 1]);

    const s2 = stack();
    s2.bus.addInterceptor(corruptResult('getStatus', () => 0x40));
    s2.fakes[0].failOp('getStatus', 'EIO', 1);
    expect(errnoOf(() => s2.t.handle('vdpa0').getStatus())).toBe('EIO');
    expect(s2.t.handle('vdpa0').getStatus()).toBe(0x40);
  });

  it('corrupts getConfig bytes into the caller buffer', () => {
    const { bus, t } = stack();
    const log = collectEvents(bus);
    bus.addInterceptor(corruptResult('getConfig', flipLowBit, { dev: 'vdpa0' }));
    const buf = new Uint8Array(6);
    t.handle('vdpa0').getConfig(0, buf);
    expect([...buf]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(opEnds(log.events, 'getConfig')[0]).toMatchObject({ ret: '000000000000' });
    // A corruption that does not return bytes fails the op.
    bus.addInterceptor(corruptResult('getConfig', () => 7));
    expect(errnoOf(() => t.handle('vdpa0').getConfig(0, buf))).toBe('EINVAL');
  });

  it('rejects a void op', () => {
    expect(() => corruptResult('setStatus', flipLowBit)).toThrow('op setStatus returns nothing to corrupt');
  });
});

describe('flipLowBit', () => {
  it('flips the low bit of numbers and bigints, negates booleans, zeroes bytes', () => {
    expect(flipLowBit(0x0f)).toBe(0x0e);
    expect(flipLowBit(0x300000020n)).toBe(0x300000021n);
    expect(flipLowBit(true)).toBe(false);
    const bytes = new Uint8Array([1, 2]);
    expect([...(flipLowBit(bytes) as Uint8Array)]).toEqual([0, 0]);
    expect([...bytes]).toEqual([1, 2]);
    expect(flipLowBit('x')).toBe('x');
  });
});

describe('parseInjectSpec', () => {
  it('parses the three forms into working interceptors', () => {
    const { bus, fakes, t } = stack();
    bus.addInterceptor(parseInjectSpec('setStatus:2:EIO'));
    bus.addInterceptor(parseInjectSpec('kickVq:2+:EAGAIN'));
    bus.addInterceptor(parseInjectSpec('getVendorId:1:corrupt'));
    const h = t.handle('vdpa0');
    expect([
      errnoOf(() => h.setStatus(1)),
      errnoOf(() => h.setStatus(1)),
      errnoOf(() => h.setStatus(1)),
    ]).toEqual([undefined, 'EIO', undefined]);
    expect([1, 2, 3].map(() => errnoOf(() => h.kickVq(0)))).toEqual([undefined, 'EAGAIN', 'EAGAIN']);
    expect(h.getVendorId()).toBe(1);
    expect(h.getVendorId()).toBe(0);
    expect(fakes[0].vqs[0].kicks).toBe(1);
    expect(parseInjectSpec('getStatus:1:EIO').name).toBe('failNth(getStatus, 1, EIO)');
  });

  it.each([
    ['kickVq', 'expected OP:N:ERRNO, OP:N+:ERRNO or OP:N:corrupt'],
    ['kickVq:1:EIO:x', 'expected OP:N:ERRNO, OP:N+:ERRNO or OP:N:corrupt'],
    ['kickVqq:1:EIO', 'unknown op "kickVqq"'],
    ['kickVq:0:EIO', 'call number "0" is not a positive integer (optionally followed by +)'],
    ['kickVq:x:EIO', 'call number "x" is not a positive integer (optionally followed by +)'],
    ['kickVq:1:EWHAT', 'unknown errno "EWHAT"'],
    ['getStatus:1+:corrupt', 'corrupt takes one call number, not N+'],
    ['setStatus:1:corrupt', 'op setStatus returns nothing, which cannot be corrupted'],
    ['getVqState:1:corrupt', 'op getVqState returns a vqState, which cannot be corrupted'],
  ])('rejects %s', (spec, why) => {
    let err: VdpaError | undefined;
    try {
      parseInjectSpec(spec);
    } catch (e) {
      err = VdpaError.from(e);
    }
    expect(err?.code).toBe('EINVAL');
    expect(err?.message).toBe(`inject spec ${JSON.stringify(spec)}: ${why}`);
  });
});
