import { describe, expect, it } from 'vitest';
import { LogicalClock, VdpaBus } from '@vdpa-kit/core-bus';
import { FakeDevice, FakeMgmtDevice, FakeTransport } from '@vdpa-kit/core-bus/testing';
import { ReplayAssertionError, expectReplay } from './expect-replay.js';
import { recordSession } from './record-session.js';

const NVQS = 2;
const RING_NUM = 64;
const OTHER_FEATURES = 0x1n;

async function session() {
  const bus = new VdpaBus(new LogicalClock());
  bus.registerMgmtDevice(new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS }));
  bus.registerDriver(
    new FakeTransport('virtio_vdpa', ['virtio'], {
      onProbe: (h) => {
        h.reset();
        h.setDriverFeatures(h.getDeviceFeatures());
        h.setVqNum(0, RING_NUM);
      },
    }),
  );
  return recordSession(bus, () => {
    bus.devAdd('fake_mgmt', 'vdpa0');
    bus.devDel('vdpa0');
  });
}

describe('expectReplay', () => {
  it('returns the report when the trace replays against the factory', async () => {
    const trace = await session();
    const report = expectReplay(trace, () => new FakeDevice({ nvqs: NVQS }));
    expect(report.ok).toBe(true);
    expect(report.compared).toBe(report.replayed);
  });

  it('throws an assertion error with the formatted divergence', async () => {
    const trace = await session();
    const call = trace.records.find(
      (r) => r.kind === 'op' && r.op === 'getDeviceFeatures' && r.phase === 'call',
    );
    let caught: unknown;
    try {
      expectReplay(trace, () => new FakeDevice({ nvqs: NVQS, deviceFeatures: OTHER_FEATURES }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ReplayAssertionError);
    const err = caught as ReplayAssertionError;
    expect(err.name).toBe('AssertionError');
    expect(err.message).toBe(
      `trace replay of device vdpa0 failed: divergence at seq ${call?.seq}: getDeviceFeatures(): expected ${'0x' + new FakeDevice().deviceFeatures.toString(16)}, got 0x1`,
    );
    expect(err.expected).toBe(`0x${new FakeDevice().deviceFeatures.toString(16)}`);
    expect(err.actual).toBe('0x1');
    expect(err.report.ok).toBe(false);
  });

  it('accepts a verify target', async () => {
    const trace = await session();
    const bus = new VdpaBus(new LogicalClock());
    bus.registerMgmtDevice(new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS }));
    expect(expectReplay(trace, { bus, mgmtdev: 'fake_mgmt' }).ok).toBe(true);
    expect(bus.devices()).toEqual([]);
  });
});
