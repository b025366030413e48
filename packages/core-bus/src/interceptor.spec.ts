import { describe, expect, it } from 'vitest';
import { LogicalClock } from './clock.js';
import { VdpaError } from './errors.js';
import type { CbCall, OpCall, OpOutcome } from './interceptor.js';
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

describe('interceptors', () => {
  it('fail an op with an errno without calling the device; the error event records it', () => {
    const { bus, fake, t } = stack();
    const log = collectEvents(bus);
    bus.addInterceptor({
      before: (c) => (c.op === 'setStatus' ? { error: 'EPERM', message: 'injected' } : undefined),
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
    bus.addInterceptor({
      before: (c) =>
        c.op === 'getDeviceFeatures'
          ? { result: 0x1234n }
          : c.op === 'getConfig'
            ? { result: new Uint8Array([1, 2, 3]) }
            : undefined,
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

  it('run before outermost-first and after innermost-first, skipping layers inside a deciding one', () => {
    const { bus, t } = stack();
    const trace: string[] = [];
    const layer = (name: string, decide?: (c: OpCall) => { error: 'EIO' } | undefined) => ({
      name,
      before: (c: OpCall) => {
        trace.push(`${name}.before:${c.op}`);
        return decide?.(c);
      },
      after: (c: OpCall, o: OpOutcome) => {
        trace.push(`${name}.after:${c.op}:${o.ok ? 'ok' : o.error.code}`);
      },
    });
    bus.addInterceptor(layer('outer'));
    bus.addInterceptor(layer('middle', (c) => (c.op === 'kickVq' ? { error: 'EIO' } : undefined)));
    bus.addInterceptor(layer('inner'));
    t.handle('vdpa0').getStatus();
    expect(thrown(() => t.handle('vdpa0').kickVq(0))?.code).toBe('EIO');
    expect(trace).toEqual([
      'outer.before:getStatus',
      'middle.before:getStatus',
      'inner.before:getStatus',
      'inner.after:getStatus:ok',
      'middle.after:getStatus:ok',
      'outer.after:getStatus:ok',
      'outer.before:kickVq',
      'middle.before:kickVq',
      'middle.after:kickVq:EIO',
      'outer.after:kickVq:EIO',
    ]);
  });

  it('see the call with its seq, device, raw args and origin, and device errors in after', () => {
    const { bus, fake, t } = stack();
    const log = collectEvents(bus);
    const calls: OpCall[] = [];
    const outcomes: OpOutcome[] = [];
    bus.addInterceptor({ before: (c) => void calls.push(c), after: (_c, o) => void outcomes.push(o) });
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
    expect(outcomes[0].ok).toBe(false);
    expect(outcomes[0].ok ? undefined : outcomes[0].error.code).toBe('EINVAL');
  });

  it('stop acting once removed; the remover is idempotent', () => {
    const { bus, t } = stack();
    const remove = bus.addInterceptor({ before: () => ({ error: 'EBUSY' }) });
    expect(thrown(() => t.handle('vdpa0').getStatus())?.code).toBe('EBUSY');
    remove();
    remove();
    expect(thrown(() => t.handle('vdpa0').getStatus())).toBeUndefined();
  });

  it('observe device callbacks before the driver gets them', () => {
    const { bus, fake, t } = stack();
    const seen: CbCall[] = [];
    const order: string[] = [];
    bus.addInterceptor({
      callback: (c) => {
        seen.push(c);
        order.push('interceptor');
      },
    });
    t.handle('vdpa0').setVqCb(1, () => order.push('driver'));
    fake.triggerVq(1);
    expect(seen.map((c) => ({ dev: c.dev, op: c.op, args: c.args }))).toEqual([
      { dev: 'vdpa0', op: 'vqCb', args: [1] },
    ]);
    expect(order).toEqual(['interceptor', 'driver']);
  });

  it('turn a throwing before into the op error and ignore a throwing after', () => {
    const { bus, fake, t } = stack();
    const remove = bus.addInterceptor({
      before: () => {
        throw new VdpaError('ENOMEM', 'interceptor out of memory');
      },
    });
    expect(thrown(() => t.handle('vdpa0').getStatus())?.code).toBe('ENOMEM');
    remove();
    bus.addInterceptor({
      after: () => {
        throw new Error('after failed');
      },
    });
    fake.status = 5;
    expect(t.handle('vdpa0').getStatus()).toBe(5);
  });
});
