import { VIRTIO_ID_NET } from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { LogicalClock, VdpaBus } from '@vdpa-kit/core-bus';
import { FakeDevice, FakeMgmtDevice, FakeTransport } from '@vdpa-kit/core-bus/testing';
import { recordSession } from './testing/record-session.js';
import { REPLAY_MGMTDEV_NAME, replayMgmtDevice } from './replay-mgmt-device.js';
import type { Trace, TraceRecord } from './trace-format.js';
import { thrown } from '../test/thrown.js';

const NVQS = 3;
const RING_NUM = 64;

function transport(): FakeTransport {
  return new FakeTransport('virtio_vdpa', ['virtio'], {
    onProbe: (h) => {
      h.reset();
      h.setDriverFeatures(h.getDeviceFeatures());
      h.setVqNum(0, RING_NUM);
    },
    onRemove: (h) => h.reset(),
  });
}

/** dev add, a small probe, dev del of `vdpa0`. */
async function record(): Promise<Trace> {
  const bus = new VdpaBus(new LogicalClock());
  bus.registerMgmtDevice(new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS }));
  bus.registerDriver(transport());
  return recordSession(bus, () => {
    bus.devAdd('fake_mgmt', 'vdpa0');
    bus.devDel('vdpa0');
  });
}

describe('replayMgmtDevice', () => {
  it('registers a replay mgmtdev shaped like the recorded one, one incarnation per dev add', async () => {
    const trace = await record();
    const bus = new VdpaBus(new LogicalClock());
    const mgmt = replayMgmtDevice(bus, trace);
    expect(mgmt.name).toBe(REPLAY_MGMTDEV_NAME);
    const info = bus.mgmtdevShow('replay');
    expect(info.classIds).toEqual([VIRTIO_ID_NET]);
    expect(info.maxSupportedVqs).toBe(NVQS);
    expect(info.supportedFeatures).toBe(new FakeDevice().deviceFeatures);
    const t = transport();
    bus.registerDriver(t);
    bus.devAdd('replay', 'vdpa0');
    expect(bus.device('vdpa0')?.nvqs).toBe(NVQS);
    expect(bus.driverOf('vdpa0')).toBe('virtio_vdpa');
    bus.devDel('vdpa0');
    const mock = mgmt.devices.get('vdpa0');
    expect(mock?.divergence).toBeUndefined();
    expect(mock?.done).toBe(true);
    const again = thrown(() => bus.devAdd('replay', 'vdpa0'));
    expect(again?.code).toBe('EINVAL');
    expect(again?.message).toContain('trace has no incarnation 1 of device vdpa0');
    expect(bus.devices()).toEqual([]);
  });

  it('replays the only recorded device under any name, and refuses unknown names when there are several', async () => {
    const trace = await record();
    const bus = new VdpaBus(new LogicalClock());
    const mgmt = replayMgmtDevice(bus, trace, { name: 'mock' });
    bus.devAdd('mock', 'other');
    expect(mgmt.devices.get('other')?.dev).toBe('vdpa0');
    const two: Trace = {
      header: trace.header,
      records: [
        ...trace.records,
        ...trace.records.map((r): TraceRecord =>
          r.dev === 'vdpa0' ? ({ ...r, dev: 'vdpa1' } as TraceRecord) : r,
        ),
      ],
    };
    const b2 = new VdpaBus(new LogicalClock());
    replayMgmtDevice(b2, two);
    const err = thrown(() => b2.devAdd('replay', 'vdpa5'));
    expect(err?.code).toBe('ENODEV');
    expect(err?.message).toBe('trace has no device vdpa5 (recorded: vdpa0, vdpa1)');
  });
});
