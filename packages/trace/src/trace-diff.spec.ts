import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogicalClock, type DeviceHandle, type OpName, VdpaBus } from '@vdpa-kit/core-bus';
import { FakeDevice, type FakeDeviceOptions, FakeTransport } from '@vdpa-kit/core-bus/testing';
import { createTraceHeader, type Trace, type TraceRecord } from './trace-format.js';
import { diffTraces, formatDiff } from './trace-diff.js';
import { startRecording } from './trace-recorder.js';

/** Records `drive` against a fake device on a fresh bus (clock started at `clockStart`). */
function record(options: FakeDeviceOptions, drive: (h: DeviceHandle) => void, clockStart = 0): Trace {
  const bus = new VdpaBus(new LogicalClock(clockStart));
  const records: TraceRecord[] = [];
  const rec = startRecording(bus, { write: (r) => records.push(r) });
  const t = new FakeTransport();
  bus.registerDriver(t);
  new FakeDevice(options).register(bus, { classIds: ['virtio'] });
  drive(t.handle('vdpa0'));
  rec.stop();
  return { header: createTraceHeader({ createdAt: new Date(0) }), records };
}

function script(extra: boolean): (h: DeviceHandle) => void {
  return (h) => {
    h.reset();
    h.setStatus(1);
    h.setStatus(3);
    h.getVendorId();
    h.setDriverFeatures(h.getDeviceFeatures());
    if (extra) h.getStatus();
    h.setStatus(11);
    h.setVqNum(0, 256);
    h.getConfig(0, new Uint8Array(2));
    for (let i = 0; i < 8; i++) h.getVqAlign();
    h.setStatus(15);
  };
}

describe('diffTraces', () => {
  it('finds two recordings of the same session equal whatever their seq and ts', () => {
    const a = record({}, script(false));
    const b = record({}, script(false), 1000);
    const diff = diffTraces(a, b);
    expect(diff.equal).toBe(true);
    expect(diff.entries.every((e) => e.kind === 'same')).toBe(true);
    // Driver ops only: the bus's probe checks (origin "bus") are not aligned.
    expect(diff.entries.map((e) => e.a?.op)).not.toContain('getVqNumMax');
    expect(diff.entries).toHaveLength(18);
    expect(formatDiff(diff)).toEqual(['no differences']);
  });

  it('aligns past an extra op and reports a changed result', () => {
    const a = record({ vendorId: 0 }, script(false));
    const b = record({ vendorId: 0x1af4 }, script(true));
    const diff = diffTraces(a, b);
    expect(diff.equal).toBe(false);
    const different = diff.entries.filter((e) => e.kind !== 'same');
    expect(different).toHaveLength(2);
    expect(different[0]).toMatchObject({
      kind: 'changed',
      a: { op: 'getVendorId', ret: 0 },
      b: { op: 'getVendorId', ret: 0x1af4 },
    });
    expect(different[1]).toMatchObject({ kind: 'onlyB', b: { op: 'getStatus', args: [], ret: 3 } });
    expect(different[1].a).toBeUndefined();
    // Everything after the extra op is aligned again.
    const after = diff.entries.slice(diff.entries.indexOf(different[1]) + 1);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((e) => e.kind === 'same')).toBe(true);

    const lines = formatDiff(diff);
    expect(lines.slice(0, 3)).toEqual([
      '--- a',
      '+++ b',
      `@@ a seq ${diff.entries[0].a?.seq}, b seq ${diff.entries[0].b?.seq} @@`,
    ]);
    expect(lines).toContain('- getVendorId() -> 0');
    expect(lines).toContain('+ getVendorId() -> 6900');
    expect(lines).toContain('+ getStatus() -> 3');
    expect(lines).toContain('  setVqNum(0, 256)');
    // Three lines of context, not the whole trace.
    expect(lines.filter((l) => l === '  getVqAlign() -> 4096')).toHaveLength(0);
  });

  it('reports ops only in A, and an error versus a result', () => {
    const a = record({}, (h) => {
      h.setStatus(1);
      h.getStatus();
      h.getGeneration();
    });
    const fake: FakeDeviceOptions = {};
    const b = record(fake, (h) => {
      h.setStatus(1);
      try {
        h.getGeneration();
      } catch {
        // recorded
      }
    });
    // Make B's getGeneration fail by rewriting its return as an error.
    const records = b.records.map((r) =>
      r.kind === 'op' && r.op === 'getGeneration' && r.phase === 'return'
        ? ({
            v: 1,
            seq: r.seq,
            ts: r.ts,
            dev: r.dev,
            kind: 'op',
            op: r.op,
            phase: 'error',
            err: 'EIO',
            message: 'x',
          } as const)
        : r,
    );
    const diff = diffTraces(a, { header: b.header, records });
    expect(diff.entries.map((e) => e.kind)).toEqual(['same', 'onlyA', 'changed']);
    expect(diff.entries[2]).toMatchObject({ a: { ret: 0 }, b: { err: 'EIO' } });
    expect(formatDiff(diff)).toContain('+ getGeneration() -> !EIO');
  });

  it('handles empty traces and wholly different traces', () => {
    const empty: Trace = { header: createTraceHeader({ createdAt: new Date(0) }), records: [] };
    expect(diffTraces(empty, empty)).toEqual({ equal: true, entries: [] });
    const a = record({}, (h) => {
      h.getStatus();
      h.getVqAlign();
    });
    expect(diffTraces(a, empty).entries.map((e) => e.kind)).toEqual(['onlyA', 'onlyA']);
    expect(diffTraces(empty, a).entries.map((e) => e.kind)).toEqual(['onlyB', 'onlyB']);
    const b = record({}, (h) => {
      h.getVendorId();
      h.getDeviceId();
    });
    const diff = diffTraces(a, b);
    expect(diff.entries.filter((e) => e.kind === 'onlyA')).toHaveLength(2);
    expect(diff.entries.filter((e) => e.kind === 'onlyB')).toHaveLength(2);
  });
});

const OPS: OpName[] = ['getStatus', 'getVqAlign', 'getDeviceId', 'reset'];

/** A synthetic trace of void-result-free call/return pairs of `ops` (indices into OPS). */
function synthetic(ops: readonly number[]): Trace {
  const records: TraceRecord[] = [];
  let seq = 0;
  for (const i of ops) {
    const op = OPS[i];
    records.push({ v: 1, seq: seq++, ts: 0, dev: 'vdpa0', kind: 'op', op, phase: 'call', args: [] });
    records.push({ v: 1, seq: seq++, ts: 0, dev: 'vdpa0', kind: 'op', op, phase: 'return' });
  }
  return { header: createTraceHeader({ createdAt: new Date(0) }), records };
}

function lcsLength(a: readonly number[], b: readonly number[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j], row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

describe('diffTraces alignment (property)', () => {
  it('is a longest common subsequence and keeps both sides in order', () => {
    const seqArb = fc.array(fc.integer({ min: 0, max: OPS.length - 1 }), { maxLength: 30 });
    fc.assert(
      fc.property(seqArb, seqArb, (a, b) => {
        const diff = diffTraces(synthetic(a), synthetic(b));
        const same = diff.entries.filter((e) => e.kind === 'same').length;
        expect(same).toBe(lcsLength(a, b));
        expect(diff.entries.filter((e) => e.a !== undefined).map((e) => e.a?.op)).toEqual(
          a.map((i) => OPS[i]),
        );
        expect(diff.entries.filter((e) => e.b !== undefined).map((e) => e.b?.op)).toEqual(
          b.map((i) => OPS[i]),
        );
        expect(diff.equal).toBe(a.length === b.length && same === a.length);
      }),
      { numRuns: 300 },
    );
  });
});
