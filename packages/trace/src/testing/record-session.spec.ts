import { describe, expect, it } from 'vitest';
import { LogicalClock, VdpaBus } from '@vdpa-kit/core-bus';
import { collectEvents, FakeMgmtDevice, FakeTransport } from '@vdpa-kit/core-bus/testing';
import { createTraceHeader } from '../trace-format.js';
import { recordSession } from './record-session.js';

const KICKS = 4;
const CREATED_AT = '2020-01-01T00:00:00.000Z';

function stack() {
  const bus = new VdpaBus(new LogicalClock());
  bus.registerMgmtDevice(new FakeMgmtDevice(bus));
  const t = new FakeTransport();
  bus.registerDriver(t);
  return { bus, t };
}

describe('recordSession', () => {
  it('records what the bus emits while the function runs, kicks coalesced by default', async () => {
    const { bus, t } = stack();
    bus.devAdd('fake_mgmt', 'vdpa0');
    const log = collectEvents(bus);
    const trace = await recordSession(
      bus,
      async () => {
        await Promise.resolve();
        for (let k = 0; k < KICKS; k++) t.handle('vdpa0').kickVq(0);
        t.handle('vdpa0').getStatus();
      },
      { header: { stack: { mgmtdev: 'fake_mgmt' }, createdAt: CREATED_AT } },
    );
    t.handle('vdpa0').getStatus();
    log.stop();
    expect(trace.header).toEqual(
      createTraceHeader({ stack: { mgmtdev: 'fake_mgmt' }, createdAt: CREATED_AT }),
    );
    expect(trace.records.map((r) => [r.kind, r.kind === 'dp' ? '' : r.op])).toEqual([
      ['dp', ''],
      ['op', 'getStatus'],
      ['op', 'getStatus'],
    ]);
    expect(trace.records[0]).toMatchObject({ kind: 'dp', dev: 'vdpa0', kicks: { '0': KICKS }, cbs: {} });
    // Nothing after the function is recorded.
    expect(log.events).toHaveLength(2 * (KICKS + 2));
  });

  it('records every event in full mode', async () => {
    const { bus, t } = stack();
    bus.devAdd('fake_mgmt', 'vdpa0');
    const trace = await recordSession(bus, () => t.handle('vdpa0').kickVq(1), { datapath: 'full' });
    expect(trace.header.datapath).toBe('full');
    expect(trace.records.map((r) => (r.kind === 'op' ? r.phase : r.kind))).toEqual(['call', 'return']);
  });

  it('stops recording and rethrows when the function throws', async () => {
    const { bus, t } = stack();
    bus.devAdd('fake_mgmt', 'vdpa0');
    const boom = new Error('session failed');
    await expect(
      recordSession(bus, () => {
        t.handle('vdpa0').getStatus();
        throw boom;
      }),
    ).rejects.toBe(boom);
    const after = await recordSession(bus, () => undefined);
    expect(after.records).toEqual([]);
  });
});
