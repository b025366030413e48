import { LogicalClock, VdpaBus } from '@vdpa-kit/core-bus';
import { FakeDevice, FakeTransport, collectEvents } from '@vdpa-kit/core-bus/testing';
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../src/event-decoding.js';

describe('events of a real bus', () => {
  it('are JSON-round-trippable records that parseEvent accepts as they were emitted', () => {
    const bus = new VdpaBus(new LogicalClock());
    const t = new FakeTransport('virtio_vdpa', ['virtio']);
    bus.registerDriver(t);
    new FakeDevice().register(bus, { classIds: ['virtio'] });
    const log = collectEvents(bus);
    const h = t.handle('vdpa0');
    h.setDriverFeatures(0x300000000n);
    h.getDeviceFeatures();
    h.setVqState(0, { kind: 'split', availIndex: 7 });
    h.getVqState(0);
    h.setConfig(0, new Uint8Array([0xaa, 0xbb]));
    expect(log.events.length).toBeGreaterThan(0);
    for (const e of log.events) {
      const copy: unknown = JSON.parse(JSON.stringify(e));
      expect(parseEvent(copy)).toEqual(e);
    }
  });
});
