import { config, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { LogicalClock } from './clock.js';
import type { BusEvent } from './events.js';
import { FakeDevice } from './testing/fake-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { collectEvents } from './testing/collect-events.js';
import { VdpaBus } from './vdpa-bus.js';

function stack(): { bus: VdpaBus; t: FakeTransport } {
  const bus = new VdpaBus(new LogicalClock());
  const t = new FakeTransport('virtio_vdpa', ['virtio']);
  bus.registerDriver(t);
  new FakeDevice({ nvqs: 2 }).register(bus, { classIds: ['virtio'] });
  return { bus, t };
}

function describeEvent(e: BusEvent): string {
  return e.kind === 'op' ? `${e.op}:${e.phase}` : e.op;
}

describe('bus.events$ (a multicast with Subject semantics)', () => {
  afterEach(() => {
    config.onUnhandledError = null;
  });

  it('delivers every event to every subscriber, in seq order', () => {
    const { bus, t } = stack();
    const a = collectEvents(bus);
    const b = collectEvents(bus);
    t.handle('vdpa0').kickVq(1);
    t.handle('vdpa0').getStatus();
    expect(a.events.map(describeEvent)).toEqual([
      'kickVq:call',
      'kickVq:return',
      'getStatus:call',
      'getStatus:return',
    ]);
    expect(b.events).toStrictEqual(a.events);
    expect(a.events.map((e) => e.seq)).toEqual([0, 1, 2, 3].map((k) => a.events[0].seq + k));
  });

  it('resolves firstValueFrom and stops a take(1) subscriber without disturbing the others', async () => {
    const { bus, t } = stack();
    const all = collectEvents(bus);
    const first = firstValueFrom(bus.events$);
    const two = lastValueFrom(bus.events$.pipe(take(2), toArray()));
    t.handle('vdpa0').kickVq(0);
    t.handle('vdpa0').kickVq(1);
    expect(await first).toBe(all.events[0]);
    expect(await two).toEqual(all.events.slice(0, 2));
    expect(all.events.map(describeEvent)).toEqual([
      'kickVq:call',
      'kickVq:return',
      'kickVq:call',
      'kickVq:return',
    ]);
  });

  it('gives a subscriber added during a delivery the later events only', () => {
    const { bus, t } = stack();
    const late: BusEvent[] = [];
    let added = false;
    const adder = bus.events$.subscribe(() => {
      if (added) return;
      added = true;
      bus.events$.subscribe((e) => late.push(e));
    });
    t.handle('vdpa0').kickVq(0);
    adder.unsubscribe();
    expect(late.map(describeEvent)).toEqual(['kickVq:return']);
  });

  it('completes subscribers on dispose, and completes a later subscriber at once', async () => {
    const { bus, t } = stack();
    const before = lastValueFrom(bus.events$.pipe(toArray()));
    t.handle('vdpa0').getStatus();
    bus.dispose();
    expect((await before).map(describeEvent)).toEqual(['getStatus:call', 'getStatus:return']);
    const after = lastValueFrom(bus.events$.pipe(toArray()));
    t.handle('vdpa0').getStatus();
    expect(await after).toEqual([]);
  });

  it('keeps delivering to the other subscribers when one throws; RxJS reports the error', async () => {
    const { bus, t } = stack();
    const reported: unknown[] = [];
    const errorReported = new Promise<void>((resolve) => {
      config.onUnhandledError = (err: unknown) => {
        reported.push(err);
        resolve();
      };
    });
    let throws = 1;
    const thrower = bus.events$.subscribe(() => {
      if (throws-- > 0) throw new Error('subscriber bug');
    });
    const log = collectEvents(bus);
    t.handle('vdpa0').getStatus();
    await errorReported;
    thrower.unsubscribe();
    expect(log.events.map(describeEvent)).toEqual(['getStatus:call', 'getStatus:return']);
    expect(reported.map((err) => (err as Error).message)).toEqual(['subscriber bug']);
  });
});
