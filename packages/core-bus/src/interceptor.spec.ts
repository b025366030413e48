import { describe, expect, it } from 'vitest';
import { LogicalClock } from './clock.js';
import { VdpaError } from './errors.js';
import type { Interceptor, OpCall, OpNext } from './interceptor.js';
import { FakeDevice } from './testing/fake-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { collectEvents } from './testing/collect-events.js';
import { VdpaBus } from './vdpa-bus.js';
import { thrown } from '../test/thrown.js';

function stack(): { bus: VdpaBus; fake: FakeDevice; t: FakeTransport } {
  const bus = new VdpaBus(new LogicalClock());
  const t = new FakeTransport();
  bus.registerDriver(t);
  const fake = new FakeDevice({ config: new Uint8Array([9, 8, 7, 6]) });
  fake.register(bus, { classIds: ['virtio'] });
  fake.calls.length = 0;
  return { bus, fake, t };
}

describe('interceptors (middleware around every op)', () => {
  it('fail an op by throwing, without calling the device; the error event records it', () => {
    const { bus, fake, t } = stack();
    const log = collectEvents(bus);
    bus.addInterceptor((c, next) => {
      if (c.op === 'setStatus') throw new VdpaError('EPERM', 'injected');
      return next();
    });
    const err = thrown(() => t.handle('vdpa0').setStatus(1));
    expect(err?.code).toBe('EPERM');
    expect(err?.message).toBe('injected');
    expect(fake.callNames()).toEqual([]);
    expect(log.events.map((e) => [e.op, e.kind === 'op' ? e.phase : '', e.err])).toEqual([
      ['setStatus', 'call', undefined],
      ['setStatus', 'error', 'EPERM'],
    ]);
    t.handle('vdpa0').getStatus();
    expect(fake.callNames()).toEqual(['getStatus']);
  });

  it('substitute a result without calling the device, including getConfig bytes', () => {
    const { bus, fake, t } = stack();
    const log = collectEvents(bus);
    bus.addInterceptor((c, next) => {
      if (c.op === 'getDeviceFeatures') return 0x1234n;
      if (c.op === 'getConfig') {
        (c.args[1] as Uint8Array).set([1, 2]);
        return undefined;
      }
      return next();
    });
    const h = t.handle('vdpa0');
    h.setDriverFeatures(0n);
    expect(h.getDeviceFeatures()).toBe(0x1234n);
    const buf = new Uint8Array(2);
    h.getConfig(0, buf);
    expect(buf).toEqual(new Uint8Array([1, 2]));
    expect(fake.callNames()).toEqual(['setDriverFeatures']);
    const rets = log.events
      .filter((e) => e.kind === 'op' && e.phase === 'return')
      .map((e) => (e.kind === 'op' ? e.ret : null));
    expect(rets).toEqual([undefined, '0x1234', '0102']);
  });

  it('nest in registration order: the first added is outermost; a failing layer skips the inner ones', () => {
    const { bus, t } = stack();
    const trace: string[] = [];
    const layer =
      (name: string, fail?: (c: OpCall) => boolean): Interceptor =>
      (c, next) => {
        trace.push(`${name} in:${c.op}`);
        try {
          if (fail?.(c) === true) throw new VdpaError('EIO', `${name} failed ${c.op}`);
          const result = next();
          trace.push(`${name} out:${c.op}:ok`);
          return result;
        } catch (err) {
          trace.push(`${name} out:${c.op}:${VdpaError.from(err).code}`);
          throw err;
        }
      };
    bus.addInterceptor(layer('outer'));
    bus.addInterceptor(layer('middle', (c) => c.op === 'kickVq'));
    bus.addInterceptor(layer('inner'));
    t.handle('vdpa0').getStatus();
    expect(thrown(() => t.handle('vdpa0').kickVq(0))?.code).toBe('EIO');
    expect(trace).toEqual([
      'outer in:getStatus',
      'middle in:getStatus',
      'inner in:getStatus',
      'inner out:getStatus:ok',
      'middle out:getStatus:ok',
      'outer out:getStatus:ok',
      'outer in:kickVq',
      'middle in:kickVq',
      'middle out:kickVq:EIO',
      'outer out:kickVq:EIO',
    ]);
  });

  it('see the call with its seq, device, raw args and origin, and the device errors next() throws', () => {
    const { bus, fake, t } = stack();
    const log = collectEvents(bus);
    const calls: OpCall[] = [];
    const errors: string[] = [];
    bus.addInterceptor((c, next) => {
      calls.push(c);
      try {
        return next();
      } catch (err) {
        errors.push(VdpaError.from(err).code);
        throw err;
      }
    });
    fake.failOp('setVqNum', 'EINVAL', 1);
    expect(thrown(() => t.handle('vdpa0').setVqNum(0, 300))?.code).toBe('EINVAL');
    const buf = new Uint8Array(1);
    t.handle('vdpa0').getConfig(0, buf);
    expect(calls.map((c) => ({ seq: c.seq, dev: c.dev, op: c.op, origin: c.origin }))).toEqual([
      { seq: log.events[0].seq, dev: 'vdpa0', op: 'setVqNum', origin: undefined },
      { seq: log.events[2].seq, dev: 'vdpa0', op: 'setDriverFeatures', origin: 'core' },
      { seq: log.events[4].seq, dev: 'vdpa0', op: 'getConfig', origin: undefined },
    ]);
    expect(calls[0].args).toEqual([0, 300]);
    expect(calls[2].args[1]).toBe(buf);
    expect(errors).toEqual(['EINVAL']);
  });

  it('transform: an outer layer sees the result an inner one replaced; errors become results and back', () => {
    const { bus, fake, t } = stack();
    const seen: string[] = [];
    bus.addInterceptor((c, next) => {
      const result = next();
      if (c.op === 'getVendorId') seen.push(`outer ok ${String(result)}`);
      return result;
    });
    bus.addInterceptor((c, next) => {
      if (c.op === 'getVendorId') return (next() as number) + 42;
      if (c.op === 'getGeneration') {
        try {
          return next();
        } catch {
          return 7;
        }
      }
      if (c.op === 'getVqAlign') {
        next();
        throw new VdpaError('EFAULT', 'bad align');
      }
      return next();
    });
    expect(t.handle('vdpa0').getVendorId()).toBe(42);
    expect(seen).toEqual(['outer ok 42']);
    fake.failOp('getGeneration', 'EIO', 1);
    expect(t.handle('vdpa0').getGeneration()).toBe(7);
    expect(thrown(() => t.handle('vdpa0').getVqAlign())?.code).toBe('EFAULT');
    expect(fake.callNames()).toEqual(['getVendorId', 'getGeneration', 'getVqAlign']);
  });

  it('pass other arguments inward with next(args); the call event keeps what the driver passed', () => {
    const { bus, fake, t } = stack();
    const log = collectEvents(bus);
    const innerSaw: unknown[][] = [];
    bus.addInterceptor((c, next) => (c.op === 'setStatus' ? next([0x0f]) : next()));
    bus.addInterceptor((c, next) => {
      innerSaw.push([...c.args]);
      return next();
    });
    t.handle('vdpa0').setStatus(0x01);
    expect(innerSaw).toEqual([[0x0f]]);
    expect(fake.calls.map((c) => [c.op, ...c.args])).toEqual([['setStatus', 0x0f]]);
    expect(log.events.filter((e) => e.kind === 'op' && e.phase === 'call').map((e) => e.args)).toEqual([
      [0x01],
    ]);
  });

  it('refuse a next() called after its interceptor returned: the device is not reached outside the op', () => {
    const { bus, fake, t } = stack();
    const log = collectEvents(bus);
    let saved: OpNext | undefined;
    bus.addInterceptor((c, next) => {
      if (c.op !== 'setStatus') return next();
      saved = next;
      return undefined;
    });
    t.handle('vdpa0').setStatus(1);
    expect(fake.callNames()).toEqual([]);
    const seen = log.events.length;
    const err = thrown(() => saved?.());
    expect(err?.code).toBe('EINVAL');
    expect(err?.message).toBe('next() of setStatus on vdpa0 called after its interceptor returned');
    // Nothing reached the device, and no op happened that a recorder did not see.
    expect(fake.callNames()).toEqual([]);
    expect(log.events.length).toBe(seen);
  });

  it('stop acting once removed; the remover is idempotent', () => {
    const { bus, t } = stack();
    const remove = bus.addInterceptor(() => {
      throw new VdpaError('EBUSY', 'busy');
    });
    expect(thrown(() => t.handle('vdpa0').getStatus())?.code).toBe('EBUSY');
    remove();
    remove();
    expect(thrown(() => t.handle('vdpa0').getStatus())).toBeUndefined();
  });

  it('wrap any thrown value into a VdpaError', () => {
    const { bus, t } = stack();
    bus.addInterceptor(() => {
      throw new Error('interceptor out of memory');
    });
    const err = thrown(() => t.handle('vdpa0').getStatus());
    expect(err).toBeInstanceOf(VdpaError);
    expect(err?.message).toContain('interceptor out of memory');
  });

  it('turn a thrown value that String() cannot convert into an EIO error event, not a TypeError', () => {
    const { bus, t } = stack();
    const log = collectEvents(bus);
    bus.addInterceptor(() => {
      throw Object.create(null);
    });
    let caught: unknown;
    try {
      t.handle('vdpa0').getStatus();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VdpaError);
    expect((caught as VdpaError).code).toBe('EIO');
    expect(log.events.map((e) => (e.kind === 'op' ? [e.op, e.phase, e.err] : [e.kind]))).toEqual([
      ['getStatus', 'call', undefined],
      ['getStatus', 'error', 'EIO'],
    ]);
  });

  it('leave device callbacks alone: the cb event comes first, then the driver runs', () => {
    const { bus, fake, t } = stack();
    const order: string[] = [];
    bus.addInterceptor((c, next) => {
      order.push(`interceptor ${c.op}`);
      return next();
    });
    bus.events$.subscribe((e) => {
      if (e.kind === 'cb') order.push(`event ${e.op} ${JSON.stringify(e.args)}`);
    });
    t.handle('vdpa0').setVqCb(1, () => order.push('driver'));
    fake.triggerVq(1);
    expect(order).toEqual(['interceptor setVqCb', 'event vqCb [1]', 'driver']);
  });

  it('refuse an interceptor that is not a function', () => {
    const { bus } = stack();
    const notAFunction = { before: () => undefined } as unknown as Interceptor;
    expect(thrown(() => bus.addInterceptor(notAFunction))?.code).toBe('EINVAL');
    // An object without a prototype has no string form: still the EINVAL, not a TypeError.
    let caught: unknown;
    try {
      bus.addInterceptor(Object.create(null) as Interceptor);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VdpaError);
    expect((caught as VdpaError).code).toBe('EINVAL');
  });
});
