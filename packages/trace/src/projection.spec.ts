import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { LogicalClock, VdpaBus } from '@vdpa-kit/core-bus';
import { FakeMgmtDevice, FakeTransport } from '@vdpa-kit/core-bus/testing';
import { projectTrace } from './projection.js';
import { formatTimeline } from './timeline.js';
import type { TraceRecord } from './trace-format.js';
import { startRecording } from './trace-recorder.js';

const ACK_DRIVER = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
const FEATURES_OK = ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
const DRIVER_OK = FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
const MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];

/** Records a whole session: mgmtdev, driver, dev add, bring-up, config read, traffic, reset, dev del. */
function session(): TraceRecord[] {
  const bus = new VdpaBus(new LogicalClock());
  const records: TraceRecord[] = [];
  const rec = startRecording(bus, { write: (r) => records.push(r) });
  const mgmt = new FakeMgmtDevice(bus, { name: 'fake_mgmt' });
  bus.registerMgmtDevice(mgmt);
  const t = new FakeTransport('virtio_vdpa', ['virtio']);
  bus.registerDriver(t);
  bus.devAdd('fake_mgmt', 'vdpa0', { net: { mac: new Uint8Array(MAC), mtu: 1500 } });
  const h = t.handle('vdpa0');
  h.reset();
  h.getDeviceId();
  h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  h.setStatus(ACK_DRIVER);
  h.setDriverFeatures(h.getDeviceFeatures());
  h.setStatus(FEATURES_OK);
  h.getStatus();
  h.getConfig(0, new Uint8Array(6));
  h.getGeneration();
  for (let q = 0; q < 2; q++) {
    h.setVqNum(q, 256);
    h.setVqAddress(q, 0x1000 * (q + 1), 0x1100 * (q + 1), 0x1200 * (q + 1));
    h.setVqCb(q, () => undefined);
    h.setVqReady(q, true);
  }
  h.setStatus(DRIVER_OK);
  for (let i = 0; i < 5; i++) h.kickVq(1);
  mgmt.devices.get('vdpa0')?.triggerVq(0);
  h.getStatus();
  h.reset();
  bus.devDel('vdpa0');
  rec.stop();
  return records;
}

/** seq of the first record matching `pred` (the end event of an op, when it names an op). */
function seqOf(records: readonly TraceRecord[], pred: (r: TraceRecord) => boolean): number {
  const r = records.find(pred);
  if (r === undefined) throw new Error('no such record');
  return r.seq;
}

function opReturn(op: string, arg?: number): (r: TraceRecord) => boolean {
  let armed = arg === undefined;
  return (r) => {
    if (r.kind !== 'op' || r.op !== op) return false;
    if (r.phase === 'call') armed = arg === undefined || r.args?.[0] === arg;
    return r.phase === 'return' && armed;
  };
}

describe('projectTrace', () => {
  const records = session();

  it('after dev add: bus membership, mgmtdev, binding, nothing negotiated', () => {
    const p = projectTrace(records, {
      atSeq: seqOf(records, (r) => r.kind === 'mgmt' && r.op === 'dev_add'),
    });
    expect(p.mgmtdevs).toEqual(['fake_mgmt']);
    expect(p.drivers).toEqual(['virtio_vdpa']);
    expect(p.devices.vdpa0).toMatchObject({
      name: 'vdpa0',
      mgmtdev: 'fake_mgmt',
      driver: 'virtio_vdpa',
      status: 0,
      statusNames: [],
      deviceFeatureNames: [],
      featuresOk: false,
      resets: 0,
      errors: 0,
    });
  });

  it('during negotiation: status decoded, device features by name, not yet FEATURES_OK', () => {
    const at = seqOf(records, opReturn('setStatus', ACK_DRIVER));
    const d = projectTrace(records, { atSeq: at }).devices.vdpa0;
    expect(d.status).toBe(ACK_DRIVER);
    expect(d.statusNames).toEqual(['ACKNOWLEDGE', 'DRIVER']);
    expect(d.deviceId).toBe(1);
    expect(d.featuresOk).toBe(false);
    expect(d.driverFeatures).toBeUndefined();
    expect(d.resets).toBe(1);
  });

  it('after DRIVER_OK: features, vq configuration, config bytes and generation', () => {
    const at = seqOf(records, opReturn('setStatus', DRIVER_OK));
    const p = projectTrace(records, { atSeq: at });
    expect(p.seq).toBe(at);
    const d = p.devices.vdpa0;
    expect(d.statusNames).toEqual(['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK']);
    expect(d.featuresOk).toBe(true);
    expect(d.deviceFeatures).toBe('0x300000000');
    expect(d.deviceFeatureNames).toEqual(['VERSION_1', 'ACCESS_PLATFORM']);
    expect(d.driverFeatures).toBe('0x300000000');
    expect(d.driverFeatureNames).toEqual(['VERSION_1', 'ACCESS_PLATFORM']);
    expect(d.config).toBe('001122334455');
    const generation = records.find(
      (r) => r.kind === 'op' && r.op === 'getGeneration' && r.phase === 'return',
    );
    expect(d.configGeneration).toBe(generation?.kind === 'op' ? generation.ret : 'missing');
    expect(d.vqs).toEqual({
      '0': {
        num: 256,
        descArea: 0x1000,
        driverArea: 0x1100,
        deviceArea: 0x1200,
        ready: true,
        cb: true,
        kicks: 0,
        callbacks: 0,
      },
      '1': {
        num: 256,
        descArea: 0x2000,
        driverArea: 0x2200,
        deviceArea: 0x2400,
        ready: true,
        cb: true,
        kicks: 0,
        callbacks: 0,
      },
    });
  });

  it('after traffic: coalesced kicks and callbacks per queue', () => {
    const at = seqOf(records, (r) => r.kind === 'dp');
    const d = projectTrace(records, { atSeq: at }).devices.vdpa0;
    expect(d.vqs['1'].kicks).toBe(5);
    expect(d.vqs['0'].callbacks).toBe(1);
  });

  it('after the reset: status, driver features and vq configuration cleared; counts kept', () => {
    const resets = records.filter((r) => r.kind === 'op' && r.op === 'reset' && r.phase === 'return');
    const d = projectTrace(records, { atSeq: resets[1].seq }).devices.vdpa0;
    expect(d).toMatchObject({ status: 0, statusNames: [], featuresOk: false, resets: 2 });
    expect(d.driverFeatures).toBeUndefined();
    expect(d.vqs['0']).toEqual({ ready: false, cb: false, kicks: 0, callbacks: 1 });
    expect(d.vqs['1'].kicks).toBe(5);
  });

  it('setStatus(0) writes the status only; the features and queues stay until the reset op', () => {
    // vdpa_sim.c: vdpasim_set_status() stores 0 like any status; vdpasim_reset() clears the device.
    const at = seqOf(records, opReturn('setStatus', DRIVER_OK));
    const zero: TraceRecord[] = [
      { v: 1, seq: at + 1, ts: 0, dev: 'vdpa0', kind: 'op', op: 'setStatus', phase: 'call', args: [0] },
      { v: 1, seq: at + 2, ts: 0, dev: 'vdpa0', kind: 'op', op: 'setStatus', phase: 'return' },
    ];
    const upTo = records.filter((r) => r.seq <= at);
    const before = projectTrace(upTo).devices.vdpa0;
    const d = projectTrace([...upTo, ...zero]).devices.vdpa0;
    expect(d).toMatchObject({ status: 0, statusNames: [], resets: before.resets });
    expect(d.driverFeatures).toBe(before.driverFeatures);
    expect(d.driverFeatures).toBeDefined();
    expect(d.vqs['0']).toEqual(before.vqs['0']);
    expect(d.vqs['0'].ready).toBe(true);
  });

  it('at the end: the deleted device is gone; a seq before everything projects an empty bus', () => {
    const p = projectTrace(records);
    expect(p.seq).toBe(records.at(-1)?.seq);
    expect(p.devices).toEqual({});
    expect(p.mgmtdevs).toEqual(['fake_mgmt']);
    expect(projectTrace(records, { atSeq: -1 })).toEqual({ seq: -1, devices: {}, drivers: [], mgmtdevs: [] });
  });

  it('counts failed ops and keeps state unchanged by them', () => {
    const extra: TraceRecord[] = [
      { v: 1, seq: 0, ts: 0, dev: 'vdpa7', kind: 'op', op: 'setStatus', phase: 'call', args: [1] },
      {
        v: 1,
        seq: 1,
        ts: 1,
        dev: 'vdpa7',
        kind: 'op',
        op: 'setStatus',
        phase: 'error',
        err: 'EIO',
        message: 'x',
      },
    ];
    expect(projectTrace(extra).devices.vdpa7).toMatchObject({ status: 0, errors: 1 });
  });
});

describe('formatTimeline', () => {
  it('prints one line per event, an op call and its outcome on one line', () => {
    const lines = formatTimeline(session());
    expect(lines.find((l) => l.includes('getDeviceFeatures'))).toMatch(
      /^\s*\d+\s+\d+\s+vdpa0\s+getDeviceFeatures\(\) -> 0x300000000$/,
    );
    expect(lines.find((l) => l.includes('setVqNum(0, 256)'))).toMatch(/vdpa0\s+setVqNum\(0, 256\)$/);
    expect(lines.find((l) => l.includes('setVqCb(1'))).toMatch(/setVqCb\(1, true\)$/);
    expect(lines.find((l) => l.includes('kicks'))).toMatch(/vdpa0\s+kicks \{1: 5\} callbacks \{0: 1\}$/);
    expect(lines.find((l) => l.includes('driver_registered'))).toMatch(
      /\s-\s+driver_registered \{driver: "virtio_vdpa", idTable: \["virtio"\]\}$/,
    );
    expect(lines.find((l) => l.includes('dev_add'))).toMatch(
      /dev_add \{mgmtdev: "fake_mgmt", name: "vdpa0", mac: "001122334455", mtu: 1500\} -> \{index: 0, nvqs: 3\}$/,
    );
    expect(lines.find((l) => l.includes('getConfig(0, 6)'))).toMatch(/getConfig\(0, 6\) -> "001122334455"$/);
    expect(
      lines.some((l) => / (?:getStatus|setStatus|reset) \[?\w*\]?$/.test(l) && l.includes('return')),
    ).toBe(false);
    // Every line starts with the right-aligned seq.
    const widths = new Set(lines.map((l) => l.indexOf('  ')));
    expect(widths.size).toBe(1);
  });

  it('shows errors, origins, dropped callbacks and ends without a call', () => {
    const lines = formatTimeline([
      {
        v: 1,
        seq: 3,
        ts: 30,
        dev: 'vdpa0',
        kind: 'op',
        op: 'setDriverFeatures',
        phase: 'call',
        origin: 'core',
        args: ['0x0'],
      },
      {
        v: 1,
        seq: 4,
        ts: 31,
        dev: 'vdpa0',
        kind: 'op',
        op: 'setDriverFeatures',
        phase: 'error',
        origin: 'core',
        err: 'EINVAL',
        message: 'no',
      },
      { v: 1, seq: 5, ts: 32, dev: 'vdpa0', kind: 'cb', op: 'vqCb', args: [1], err: 'ENODEV' },
      { v: 1, seq: 6, ts: 33, dev: 'vdpa0', kind: 'op', op: 'getStatus', phase: 'return', ret: 15 },
      { v: 1, seq: 17, ts: 34, dev: 'vdpa0', kind: 'op', op: 'kickVq', phase: 'call', args: [0] },
    ]);
    expect(lines).toEqual([
      ' 3  30  vdpa0  setDriverFeatures(0x0) -> !EINVAL no [core]',
      ' 5  32  vdpa0  vqCb(1) !ENODEV',
      ' 6  33  vdpa0  getStatus -> 15',
      '17  34  vdpa0  kickVq(0) -> (no return)',
    ]);
  });
});
