import { describe, expect, it } from 'vitest';
import { LogicalClock } from './clock.js';
import { VdpaError } from './errors.js';
import type { BusLifecycleEvent } from './events.js';
import { FakeDevice } from './testing/fake-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { collectEvents } from './testing/collect-events.js';
import { VdpaBus } from './vdpa-bus.js';
import type { VdpaClassId } from './vdpa-device.js';

function newBus(): VdpaBus {
  return new VdpaBus(new LogicalClock());
}

function busOps(bus: VdpaBus): { run: () => void; ops: () => string[] } {
  const log = collectEvents(bus);
  return {
    run: () => log.clear(),
    ops: () =>
      log.events
        .filter((e): e is BusLifecycleEvent => e.kind === 'bus')
        .map((e) => `${e.op}:${e.dev ?? ''}:${String(e.args?.driver ?? '')}`),
  };
}

function expectCode(fn: () => unknown, code: string): VdpaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VdpaError);
    expect((err as VdpaError).code).toBe(code);
    return err as VdpaError;
  }
  throw new Error(`expected ${code}, nothing thrown`);
}

describe('VdpaBus allocation and registration', () => {
  it('names devices vdpa<index> from the lowest free index and reuses freed indices', () => {
    const bus = newBus();
    const a = new FakeDevice().register(bus);
    const b = new FakeDevice().register(bus);
    const c = new FakeDevice().register(bus);
    expect([a.name, b.name, c.name]).toEqual(['vdpa0', 'vdpa1', 'vdpa2']);
    bus.unregisterDevice(b);
    const d = new FakeDevice().register(bus);
    expect(d.name).toBe('vdpa1');
    expect(d.index).toBe(1);
    expect(bus.devices().map((x) => x.name)).toEqual(['vdpa0', 'vdpa2', 'vdpa1']);
  });

  it('allocates an index for a named device too, and frees it on release of an unregistered device', () => {
    const bus = newBus();
    const named = bus.allocDevice({ ops: new FakeDevice(), name: 'net0', classIds: ['virtio'] });
    expect(named.index).toBe(0);
    bus.releaseDevice(named);
    expect(bus.allocDevice({ ops: new FakeDevice(), classIds: ['virtio'] }).name).toBe('vdpa0');
  });

  it('refuses a duplicate name with EEXIST', () => {
    const bus = newBus();
    new FakeDevice().register(bus, { name: 'net0' });
    const err = expectCode(() => new FakeDevice().register(bus, { name: 'net0' }), 'EEXIST');
    expect(err.message).toContain('net0');
  });

  it('refuses a default name that collides with a given name', () => {
    const bus = newBus();
    new FakeDevice().register(bus, { name: 'vdpa1' });
    expectCode(() => new FakeDevice().register(bus), 'EEXIST');
    // The failed registration released its index 1: the next device gets it again.
    expect(bus.allocDevice({ ops: new FakeDevice(), classIds: ['virtio'] }).index).toBe(1);
  });

  it('checks allocation options like __vdpa_alloc_device', () => {
    const bus = newBus();
    const onlyMap = new FakeDevice({ without: ['dmaUnmap'] });
    expect(
      expectCode(() => bus.allocDevice({ ops: onlyMap, classIds: ['vhost'] }), 'EINVAL').message,
    ).toContain('dmaMap');
    const onlyUnmap = new FakeDevice({ without: ['dmaMap'] });
    expectCode(() => bus.allocDevice({ ops: onlyUnmap, classIds: ['vhost'] }), 'EINVAL');
    const noMaps = new FakeDevice({ without: ['dmaMap', 'dmaUnmap', 'setMap'] });
    expectCode(() => bus.allocDevice({ ops: noMaps, classIds: ['vhost'], useVa: true }), 'EINVAL');
    expect(bus.allocDevice({ ops: noMaps, classIds: ['vhost'] }).useVa).toBe(false);
    expectCode(() => bus.allocDevice({ ops: new FakeDevice(), classIds: [] }), 'EINVAL');
    expectCode(() => bus.allocDevice({ ops: new FakeDevice(), classIds: ['pci' as VdpaClassId] }), 'EINVAL');
    expectCode(() => bus.allocDevice({ ops: new FakeDevice(), classIds: ['virtio'], nas: 0 }), 'EINVAL');
    const partial = { getStatus: () => 0 } as unknown as FakeDevice;
    expect(
      expectCode(() => bus.allocDevice({ ops: partial, classIds: ['virtio'] }), 'EINVAL').message,
    ).toContain('setVqAddress');
  });

  it('refuses to register twice (EBUSY) and to unregister an unknown device (ENODEV)', () => {
    const bus = newBus();
    const fake = new FakeDevice();
    const dev = fake.register(bus);
    expectCode(() => bus.registerDevice(dev, 2), 'EBUSY');
    bus.unregisterDevice(dev);
    expectCode(() => bus.unregisterDevice(dev), 'ENODEV');
    expect(fake.freed).toBe(true);
  });
});

describe('VdpaBus class-id matching', () => {
  const cases: Array<{
    dev: VdpaClassId[];
    drivers: Array<[string, VdpaClassId[]]>;
    bound: string | undefined;
  }> = [
    { dev: ['virtio'], drivers: [['vhost_vdpa', ['vhost']]], bound: undefined },
    { dev: ['vhost'], drivers: [['virtio_vdpa', ['virtio']]], bound: undefined },
    {
      dev: ['virtio'],
      drivers: [
        ['vhost_vdpa', ['vhost']],
        ['virtio_vdpa', ['virtio']],
      ],
      bound: 'virtio_vdpa',
    },
    {
      dev: ['virtio', 'vhost'],
      drivers: [
        ['vhost_vdpa', ['vhost']],
        ['virtio_vdpa', ['virtio']],
      ],
      bound: 'vhost_vdpa',
    },
    {
      dev: ['virtio', 'vhost'],
      drivers: [
        ['virtio_vdpa', ['virtio']],
        ['vhost_vdpa', ['vhost']],
      ],
      bound: 'virtio_vdpa',
    },
    { dev: ['vhost'], drivers: [['both', ['virtio', 'vhost']]], bound: 'both' },
  ];
  for (const c of cases) {
    it(`device ${c.dev.join('+')} with drivers ${c.drivers.map((d) => d[0]).join(', ')} binds to ${String(c.bound)}`, () => {
      const bus = newBus();
      const transports = c.drivers.map(([name, ids]) => new FakeTransport(name, ids));
      for (const t of transports) bus.registerDriver(t);
      new FakeDevice().register(bus, { classIds: c.dev });
      expect(bus.driverOf('vdpa0')).toBe(c.bound);
      for (const t of transports) expect(t.bound).toEqual(t.name === c.bound ? ['vdpa0'] : []);
    });
  }

  it('probes unbound matching devices when a driver registers after them', () => {
    const bus = newBus();
    new FakeDevice().register(bus, { classIds: ['virtio'] });
    new FakeDevice().register(bus, { classIds: ['vhost'] });
    new FakeDevice().register(bus, { classIds: ['virtio', 'vhost'] });
    const vhost = new FakeTransport('vhost_vdpa', ['vhost']);
    bus.registerDriver(vhost);
    expect(vhost.bound).toEqual(['vdpa1', 'vdpa2']);
    const virtio = new FakeTransport('virtio_vdpa', ['virtio']);
    bus.registerDriver(virtio);
    expect(virtio.bound).toEqual(['vdpa0']);
  });

  it('passes a device refused by one driver on to the next matching driver', () => {
    const bus = newBus();
    const first = new FakeTransport('first', ['virtio']);
    first.failProbeWith = 'EINVAL';
    const second = new FakeTransport('second', ['virtio']);
    bus.registerDriver(first);
    bus.registerDriver(second);
    const events = busOps(bus);
    new FakeDevice().register(bus);
    expect(bus.driverOf('vdpa0')).toBe('second');
    expect(events.ops()).toEqual([
      'device_registered:vdpa0:',
      'probe:vdpa0:first',
      'probe_failed:vdpa0:first',
      'probe:vdpa0:second',
      'bind:vdpa0:second',
    ]);
  });

  it('rejects a device whose vq num max is below its min before the driver probes (EINVAL)', () => {
    const bus = newBus();
    const t = new FakeTransport();
    bus.registerDriver(t);
    const log = collectEvents(bus);
    new FakeDevice({ vqNumMax: 4, vqNumMin: 8 }).register(bus);
    expect(t.log).toEqual([]);
    expect(bus.driverOf('vdpa0')).toBeUndefined();
    const failed = log.events.find((e) => e.op === 'probe_failed');
    expect(failed).toMatchObject({
      kind: 'bus',
      dev: 'vdpa0',
      err: 'EINVAL',
      args: { driver: 'fake_transport' },
    });
    expect(failed?.message).toContain('4');
    expect(expectCode(() => bus.bind('vdpa0', 'fake_transport'), 'EINVAL').message).toContain('below min 8');
  });

  it('accepts max == min and a device without getVqNumMin (min 1)', () => {
    const bus = newBus();
    bus.registerDriver(new FakeTransport());
    new FakeDevice({ vqNumMax: 8, vqNumMin: 8 }).register(bus);
    new FakeDevice({ vqNumMax: 1, without: ['getVqNumMin'] }).register(bus);
    new FakeDevice({ vqNumMax: 0, without: ['getVqNumMin'] }).register(bus);
    expect(bus.devices().map((d) => bus.driverOf(d.name))).toEqual([
      'fake_transport',
      'fake_transport',
      undefined,
    ]);
  });
});

describe('VdpaBus driverOverride', () => {
  it('binds only the named driver', () => {
    const bus = newBus();
    const a = new FakeTransport('a', ['virtio']);
    const b = new FakeTransport('b', ['virtio']);
    bus.registerDriver(a);
    bus.registerDriver(b);
    new FakeDevice().register(bus, { classIds: ['virtio'], driverOverride: 'b' });
    expect(bus.driverOf('vdpa0')).toBe('b');
    expect(a.log).toEqual([]);
  });

  it('waits for the named driver to register', () => {
    const bus = newBus();
    const a = new FakeTransport('a', ['virtio']);
    bus.registerDriver(a);
    new FakeDevice().register(bus, { classIds: ['virtio'], driverOverride: 'b' });
    expect(bus.driverOf('vdpa0')).toBeUndefined();
    const b = new FakeTransport('b', ['virtio']);
    bus.registerDriver(b);
    expect(bus.driverOf('vdpa0')).toBe('b');
  });

  it('never gives a virtio-only device to a vhost-only driver, even when named (ENODEV + event)', () => {
    const bus = newBus();
    const vhost = new FakeTransport('vhost_vdpa', ['vhost']);
    bus.registerDriver(vhost);
    const log = collectEvents(bus);
    new FakeDevice().register(bus, { classIds: ['virtio'], driverOverride: 'vhost_vdpa' });
    expect(vhost.log).toEqual([]);
    expect(bus.driverOf('vdpa0')).toBeUndefined();
    expect(log.events.filter((e) => e.op === 'probe_failed')).toHaveLength(1);
    expect(log.events.find((e) => e.op === 'probe_failed')).toMatchObject({
      err: 'ENODEV',
      args: { driver: 'vhost_vdpa' },
    });
    expectCode(() => bus.bind('vdpa0', 'vhost_vdpa'), 'ENODEV');
    expect(vhost.log).toEqual([]);
  });

  it('a mismatched override also refuses when the driver registers later', () => {
    const bus = newBus();
    new FakeDevice().register(bus, { classIds: ['virtio'], driverOverride: 'vhost_vdpa' });
    const log = collectEvents(bus);
    const vhost = new FakeTransport('vhost_vdpa', ['vhost']);
    bus.registerDriver(vhost);
    expect(vhost.log).toEqual([]);
    expect(log.events.map((e) => `${e.op}:${String(e.err)}`)).toEqual([
      'driver_registered:undefined',
      'probe_failed:ENODEV',
    ]);
  });

  it('setDriverOverride decides the next bind and refuses other drivers', () => {
    const bus = newBus();
    const a = new FakeTransport('a', ['virtio']);
    const b = new FakeTransport('b', ['virtio']);
    bus.registerDriver(a);
    bus.registerDriver(b);
    new FakeDevice().register(bus, { classIds: ['virtio'] });
    expect(bus.driverOf('vdpa0')).toBe('a');
    bus.setDriverOverride('vdpa0', 'b');
    expect(bus.device('vdpa0')?.driverOverride).toBe('b');
    expect(bus.driverOf('vdpa0')).toBe('a');
    bus.unbind('vdpa0');
    expectCode(() => bus.bind('vdpa0', 'a'), 'ENODEV');
    bus.bind('vdpa0', 'b');
    expect(bus.driverOf('vdpa0')).toBe('b');
    expectCode(() => bus.setDriverOverride('vdpa9', 'a'), 'ENODEV');
  });
});

describe('VdpaBus bind / unbind', () => {
  it('moves a dual-class device between transports at run time', () => {
    const bus = newBus();
    const virtio = new FakeTransport('virtio_vdpa', ['virtio']);
    const vhost = new FakeTransport('vhost_vdpa', ['vhost']);
    bus.registerDriver(virtio);
    bus.registerDriver(vhost);
    new FakeDevice().register(bus, { classIds: ['virtio', 'vhost'] });
    const first = virtio.handle('vdpa0');
    const events = busOps(bus);
    bus.unbind('vdpa0');
    expect(bus.driverOf('vdpa0')).toBeUndefined();
    expect(first.alive).toBe(false);
    bus.bind('vdpa0', 'vhost_vdpa');
    expect(vhost.handle('vdpa0').alive).toBe(true);
    expect(virtio.log).toEqual([
      { event: 'probe', dev: 'vdpa0' },
      { event: 'remove', dev: 'vdpa0' },
    ]);
    bus.unbind('vdpa0');
    bus.bind('vdpa0', 'virtio_vdpa');
    expect(bus.driverOf('vdpa0')).toBe('virtio_vdpa');
    expect(events.ops()).toEqual([
      'unbind:vdpa0:virtio_vdpa',
      'probe:vdpa0:vhost_vdpa',
      'bind:vdpa0:vhost_vdpa',
      'unbind:vdpa0:vhost_vdpa',
      'probe:vdpa0:virtio_vdpa',
      'bind:vdpa0:virtio_vdpa',
    ]);
  });

  it('reports errors with kernel errnos', () => {
    const bus = newBus();
    const t = new FakeTransport();
    bus.registerDriver(t);
    new FakeDevice().register(bus);
    expectCode(() => bus.bind('vdpa0', 'fake_transport'), 'EBUSY');
    expectCode(() => bus.bind('nope', 'fake_transport'), 'ENODEV');
    expectCode(() => bus.bind('vdpa0', 'nope'), 'ENODEV');
    bus.unbind('vdpa0');
    expectCode(() => bus.unbind('vdpa0'), 'ENODEV');
    t.failProbeWith = 'EIO';
    expectCode(() => bus.bind('vdpa0', 'fake_transport'), 'EIO');
    expect(bus.driverOf('vdpa0')).toBeUndefined();
  });

  it('keeps devices unbound after their driver unregisters, until a new driver registers', () => {
    const bus = newBus();
    const a = new FakeTransport('a', ['virtio']);
    const b = new FakeTransport('b', ['virtio']);
    bus.registerDriver(a);
    bus.registerDriver(b);
    new FakeDevice().register(bus);
    new FakeDevice().register(bus);
    const handle = a.handle('vdpa0');
    bus.unregisterDriver('a');
    expect(handle.alive).toBe(false);
    expect(bus.devices().map((d) => bus.driverOf(d.name))).toEqual([undefined, undefined]);
    expect(b.log).toEqual([]);
    expect(bus.drivers().map((d) => d.name)).toEqual(['b']);
    const c = new FakeTransport('c', ['virtio']);
    bus.registerDriver(c);
    expect(c.bound).toEqual(['vdpa0', 'vdpa1']);
    expectCode(() => bus.unregisterDriver('a'), 'ENODEV');
  });

  it('removes the driver before a device unregisters and releases it', () => {
    const bus = newBus();
    const t = new FakeTransport();
    bus.registerDriver(t);
    const fake = new FakeDevice();
    const dev = fake.register(bus);
    const events = busOps(bus);
    bus.unregisterDevice(dev);
    expect(t.log.at(-1)).toEqual({ event: 'remove', dev: 'vdpa0' });
    expect(events.ops()).toEqual(['unbind:vdpa0:fake_transport', 'device_unregistered:vdpa0:']);
    expect(fake.callNames().at(-1)).toBe('free');
    expect(bus.device('vdpa0')).toBeUndefined();
  });

  it('validates drivers on registration', () => {
    const bus = newBus();
    bus.registerDriver(new FakeTransport('x'));
    expectCode(() => bus.registerDriver(new FakeTransport('x')), 'EEXIST');
    expectCode(() => bus.registerDriver(new FakeTransport('')), 'EINVAL');
    expectCode(() => bus.registerDriver(new FakeTransport('y', [])), 'EINVAL');
    expectCode(() => bus.registerDriver(new FakeTransport('z', ['pci' as VdpaClassId])), 'EINVAL');
  });

  it('records a remove that throws in the unbind event and still kills the handle', () => {
    const bus = newBus();
    const t = new FakeTransport('t', ['virtio'], {
      onRemove: () => {
        throw new VdpaError('EIO', 'remove failed');
      },
    });
    bus.registerDriver(t);
    new FakeDevice().register(bus);
    const handle = t.handle('vdpa0');
    const log = collectEvents(bus);
    bus.unbind('vdpa0');
    expect(handle.alive).toBe(false);
    expect(log.events).toEqual([
      expect.objectContaining({ op: 'unbind', err: 'EIO', message: 'remove failed' }),
    ]);
  });
});
