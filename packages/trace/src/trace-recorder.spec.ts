import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '@vdpa-kit/virtio-spec';
import { afterEach, describe, expect, it } from 'vitest';
import { LogicalClock, type DeviceHandle, VdpaError, type BusEvent, VdpaBus } from '@vdpa-kit/core-bus';
import { collectEvents, type FakeDevice, FakeMgmtDevice, FakeTransport } from '@vdpa-kit/core-bus/testing';
import { createTraceHeader, type DatapathRecord, type TraceRecord } from './trace-format.js';
import { readTrace } from './trace-reader.js';
import { recordToFile, startRecording } from './trace-recorder.js';

const RING_NUM = 256;
const DESC_BASE = 0x10000;
const RING_STRIDE = 0x1000;

interface Stack {
  bus: VdpaBus;
  t: FakeTransport;
  mgmt: FakeMgmtDevice;
}

function stack(): Stack {
  const bus = new VdpaBus(new LogicalClock());
  const t = new FakeTransport('virtio_vdpa', ['virtio']);
  bus.registerDriver(t);
  const mgmt = new FakeMgmtDevice(bus, { name: 'fake_mgmt' });
  bus.registerMgmtDevice(mgmt);
  return { bus, t, mgmt };
}

/** The virtio bring-up of `virtio.c: virtio_dev_probe()` on two vqs. */
function bringUp(h: DeviceHandle, onVq: (idx: number) => void = () => undefined): void {
  h.reset();
  h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  h.setDriverFeatures(h.getDeviceFeatures());
  const ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
  h.setStatus(ok);
  h.getStatus();
  for (let q = 0; q < 2; q++) {
    h.setVqNum(q, RING_NUM);
    const base = DESC_BASE + q * 3 * RING_STRIDE;
    h.setVqAddress(q, base, base + RING_STRIDE, base + 2 * RING_STRIDE);
    h.setVqCb(q, () => onVq(q));
    h.setVqReady(q, true);
  }
  h.setStatus(ok | VIRTIO_CONFIG_S_DRIVER_OK);
}

/** A stack with vdpa0 added and brought up (`onVq` on its vq callbacks), and a list for records. */
function upStack(onVq?: (idx: number) => void): { s: Stack; h: DeviceHandle; records: TraceRecord[] } {
  const s = stack();
  s.bus.devAdd('fake_mgmt', 'vdpa0');
  const h = s.t.handle('vdpa0');
  bringUp(h, onVq);
  return { s, h, records: [] };
}

function device(s: Stack, name = 'vdpa0'): FakeDevice {
  const d = s.mgmt.devices.get(name);
  if (d === undefined) throw new Error(`no fake ${name}`);
  return d;
}

function isKickOrVqCb(e: TraceRecord): boolean {
  return (e.kind === 'op' && e.op === 'kickVq') || (e.kind === 'cb' && e.op === 'vqCb');
}

function dps(records: readonly TraceRecord[]): DatapathRecord[] {
  return records.filter((r): r is DatapathRecord => r.kind === 'dp');
}

function seqs(records: readonly TraceRecord[]): number[] {
  return records.map((r) => r.seq);
}

function strictlyIncreasing(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]);
}

describe('startRecording, coalesced (default)', () => {
  it('replaces kicks and vq callbacks with per-queue counts placed before the next control event', () => {
    const s = stack();
    const records: TraceRecord[] = [];
    const log = collectEvents(s.bus);
    const rec = startRecording(s.bus, { write: (r) => records.push(r) });
    s.bus.devAdd('fake_mgmt', 'vdpa0');
    const h = s.t.handle('vdpa0');
    bringUp(h);
    for (let i = 0; i < 40; i++) h.kickVq(1);
    h.kickVq(0);
    h.kickVq(0);
    device(s).triggerVq(0);
    device(s).triggerVq(0);
    h.getStatus();
    rec.stop();
    log.stop();

    expect(records.some(isKickOrVqCb)).toBe(false);
    const [dp] = dps(records);
    expect(dps(records)).toHaveLength(1);
    expect(dp.dev).toBe('vdpa0');
    expect(dp.kicks).toEqual({ '0': 2, '1': 40 });
    expect(dp.cbs).toEqual({ '0': 2 });
    // Placed right before the getStatus call that followed the traffic.
    const at = records.indexOf(dp);
    const next = records[at + 1];
    expect(next.kind === 'op' && next.op === 'getStatus' && next.phase === 'call').toBe(true);
    // seq/ts of the last coalesced event (the second vqCb).
    const lastCb = log.events.filter((e) => e.kind === 'cb' && e.op === 'vqCb').at(-1) as BusEvent;
    expect([dp.seq, dp.ts]).toEqual([lastCb.seq, lastCb.ts]);
    // Every other event is recorded exactly as emitted.
    const others = log.events.filter((e) => !isKickOrVqCb(e));
    expect(records.filter((r) => r.kind !== 'dp')).toEqual(others);
    expect(strictlyIncreasing(seqs(records))).toBe(true);
  });

  it('writes what is still pending when stopped, and nothing after', () => {
    const { s, h, records } = upStack();
    const rec = startRecording(s.bus, { write: (r) => records.push(r) });
    h.kickVq(1);
    h.kickVq(1);
    h.kickVq(1);
    rec.stop();
    h.getStatus();
    rec.stop();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'dp', dev: 'vdpa0', kicks: { '1': 3 }, cbs: {} });
  });

  it('records a failing kickVq as its call and error events, between coalesced counts', () => {
    const { s, h, records } = upStack();
    const rec = startRecording(s.bus, { write: (r) => records.push(r) });
    h.kickVq(0);
    h.kickVq(0);
    device(s).failOp('kickVq', 'EIO', 1);
    expect(() => h.kickVq(1)).toThrow(VdpaError);
    h.kickVq(1);
    rec.stop();
    expect(
      records.map((r) =>
        r.kind === 'dp' ? `dp ${JSON.stringify(r.kicks)}` : `${r.op} ${r.kind === 'op' ? r.phase : ''}`,
      ),
    ).toEqual(['dp {"0":2}', 'kickVq call', 'kickVq error', 'dp {"1":1}']);
    expect(records[2]).toMatchObject({ kind: 'op', err: 'EIO' });
    expect(strictlyIncreasing(seqs(records))).toBe(true);
  });

  it('keeps order when a kick makes the device call back and the driver issues ops from the callback', () => {
    const s = stack();
    const records: TraceRecord[] = [];
    const log = collectEvents(s.bus);
    s.bus.devAdd('fake_mgmt', 'vdpa0');
    const fake = device(s);
    const h = s.t.handle('vdpa0');
    // Driver: on a vq 0 interrupt, read the status and refill vq 1.
    bringUp(h, (idx) => {
      if (idx !== 0) return;
      h.getStatus();
      h.kickVq(1);
    });
    // Device: a kick on vq 0 uses buffers and interrupts at once (inline work queue).
    const kick = fake.kickVq.bind(fake);
    fake.kickVq = (idx: number): void => {
      kick(idx);
      if (idx === 0) fake.triggerVq(0);
    };
    log.clear();
    const rec = startRecording(s.bus, { write: (r) => records.push(r) });
    h.kickVq(0);
    h.kickVq(1);
    rec.stop();

    expect(strictlyIncreasing(seqs(records))).toBe(true);
    // The getStatus issued inside the callback is a control event: the counts up to it (the kick of
    // vq 0 and its callback) are written before it, the nested kick and the rest after it.
    const kinds = records.map((r) =>
      r.kind === 'dp' ? 'dp' : `${r.op}:${r.kind === 'op' ? r.phase : r.kind}`,
    );
    expect(kinds).toEqual(['dp', 'getStatus:call', 'getStatus:return', 'dp']);
    expect(records[0]).toMatchObject({ kicks: { '0': 1 }, cbs: { '0': 1 } });
    expect(records[3]).toMatchObject({ kicks: { '1': 2 }, cbs: {} });
    const cb = log.events.find((e) => e.kind === 'cb') as BusEvent;
    expect(records[0].seq).toBe(cb.seq);
    // Counts and events together account for every kick and callback.
    const kicksRecorded =
      records.filter((r) => r.kind === 'op' && r.op === 'kickVq' && r.phase === 'call').length +
      dps(records).reduce((n, r) => n + Object.values(r.kicks).reduce((a, b) => a + b, 0), 0);
    expect(kicksRecorded).toBe(
      log.events.filter((e) => e.kind === 'op' && e.op === 'kickVq' && e.phase === 'call').length,
    );
  });

  it('coalesces kicks that only nest datapath events (callbacks, kicks) entirely', () => {
    const { s, h, records } = upStack((idx) => {
      if (idx === 0) h.kickVq(1);
    });
    const fake = device(s);
    const kick = fake.kickVq.bind(fake);
    fake.kickVq = (idx: number): void => {
      kick(idx);
      if (idx === 0) fake.triggerVq(0);
    };
    const rec = startRecording(s.bus, { write: (r) => records.push(r) });
    h.kickVq(0);
    h.kickVq(0);
    h.getStatus();
    rec.stop();
    expect(records.map((r) => r.kind)).toEqual(['dp', 'op', 'op']);
    expect(records[0]).toMatchObject({ kicks: { '0': 2, '1': 2 }, cbs: { '0': 2 } });
  });

  it('flushes the counts of every device, in seq order, before any control event', () => {
    const s = stack();
    const records: TraceRecord[] = [];
    s.bus.devAdd('fake_mgmt', 'vdpa0');
    s.bus.devAdd('fake_mgmt', 'vdpa1');
    const h0 = s.t.handle('vdpa0');
    const h1 = s.t.handle('vdpa1');
    bringUp(h0);
    bringUp(h1);
    const rec = startRecording(s.bus, { write: (r) => records.push(r) });
    h0.kickVq(0);
    h1.kickVq(1);
    h0.kickVq(1);
    h1.getStatus();
    h0.kickVq(0);
    rec.stop();
    expect(strictlyIncreasing(seqs(records))).toBe(true);
    expect(
      records.map((r) => (r.kind === 'dp' ? `dp ${r.dev} ${JSON.stringify(r.kicks)}` : `${r.dev} ${r.op}`)),
    ).toEqual([
      'dp vdpa1 {"1":1}',
      'dp vdpa0 {"0":1,"1":1}',
      'vdpa1 getStatus',
      'vdpa1 getStatus',
      'dp vdpa0 {"0":1}',
    ]);
  });
});

describe('startRecording, full', () => {
  it('records every event exactly as emitted', () => {
    const s = stack();
    const records: TraceRecord[] = [];
    const log = collectEvents(s.bus);
    const rec = startRecording(s.bus, { write: (r) => records.push(r) }, { datapath: 'full' });
    s.bus.devAdd('fake_mgmt', 'vdpa0');
    const h = s.t.handle('vdpa0');
    bringUp(h);
    h.kickVq(0);
    device(s).triggerVq(0);
    device(s).failOp('kickVq', 'EIO', 1);
    expect(() => h.kickVq(1)).toThrow(VdpaError);
    s.bus.devDel('vdpa0');
    rec.stop();
    expect(records).toEqual(log.events);
    expect(records.filter((r) => r.kind === 'op' && r.op === 'kickVq')).toHaveLength(4);
  });

  it('refuses a mode contradicting the header, and hands the header to the sink first', () => {
    const s = stack();
    const header = createTraceHeader({ datapath: 'full', createdAt: new Date(0) });
    expect(() =>
      startRecording(s.bus, { write: () => undefined }, { header, datapath: 'coalesced' }),
    ).toThrow(/recording datapath mode "coalesced" contradicts the header's "full"/);
    const seen: unknown[] = [];
    const rec = startRecording(
      s.bus,
      { write: (r) => seen.push(r), writeHeader: (h) => seen.push(h) },
      { header },
    );
    s.bus.devAdd('fake_mgmt', 'vdpa0');
    rec.stop();
    expect(seen[0]).toBe(header);
    expect(seen.length).toBeGreaterThan(1);
  });
});

describe('recording failures and bus disposal', () => {
  it('stops at the first sink error and rethrows it from stop()', () => {
    const s = stack();
    let writes = 0;
    const rec = startRecording(s.bus, {
      write: () => {
        writes++;
        throw new VdpaError('ENOSPC', 'disk full');
      },
    });
    s.bus.devAdd('fake_mgmt', 'vdpa0');
    expect(writes).toBe(1);
    expect(() => rec.stop()).toThrow(/trace recording failed: disk full/);
    expect(() => rec.stop()).not.toThrow();
  });

  it("a number argument beyond 2^53-1 stops a file recording with the writer's error: the file stays readable", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdpa-trace-'));
    try {
      const path = join(dir, 'session.jsonl');
      const { s, h } = upStack();
      const rec = recordToFile(s.bus, path, { header: { createdAt: '2024-01-01T00:00:00.000Z' } });
      h.getStatus();
      // The op itself is the device's business: it runs; only the recording refuses it.
      h.setVqAddress(0, 2 ** 60, 0x1000, 0x2000);
      expect(device(s).vqs[0].descArea).toBe(2 ** 60);
      h.getStatus();
      expect(() => rec.stop()).toThrow(
        /^trace recording failed: trace record seq \d+ cannot be written: bad field "args\.1" 1152921504606846976: not a safe integer/,
      );
      const trace = readTrace(path);
      expect(trace.records.map((r) => (r.kind === 'op' ? `${r.op} ${r.phase}` : r.kind))).toEqual([
        'getStatus call',
        'getStatus return',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends the recording when the bus is disposed, writing pending counts', () => {
    const { s, h, records } = upStack();
    const rec = startRecording(s.bus, { write: (r) => records.push(r) });
    h.kickVq(0);
    s.bus.dispose();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'dp', kicks: { '0': 1 } });
    rec.stop();
    expect(records).toHaveLength(1);
  });
});

describe('recordToFile', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes the header then the records in batches; the file reads back as the same trace', () => {
    dir = mkdtempSync(join(tmpdir(), 'vdpa-trace-'));
    const path = join(dir, 'session.jsonl');
    const s = stack();
    const records: TraceRecord[] = [];
    const mem = startRecording(s.bus, { write: (r) => records.push(r) });
    const rec = recordToFile(s.bus, path, {
      header: { stack: { mgmtdev: 'fake_mgmt' }, createdAt: '2024-01-01T00:00:00.000Z' },
      batchBytes: 512,
    });
    s.bus.devAdd('fake_mgmt', 'vdpa0');
    const h = s.t.handle('vdpa0');
    bringUp(h);
    for (let i = 0; i < 10; i++) h.kickVq(i % 2);
    s.bus.devDel('vdpa0');
    rec.stop();
    mem.stop();
    const trace = readTrace(path);
    expect(trace.header).toMatchObject({
      kind: 'header',
      datapath: 'coalesced',
      stack: { mgmtdev: 'fake_mgmt' },
    });
    expect(trace.records).toEqual(records);
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
  });
});
