import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VdpaError } from '@vdpa-kit/core-bus';
import { TraceError } from './trace-error.js';
import { createTraceHeader, type TraceRecord } from './trace-format.js';
import { parseTrace } from './trace-reader.js';
import { TraceWriter, serializeRecord } from './trace-writer.js';

function records(n: number): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      i % 2 === 0
        ? { v: 1, seq: i, ts: i, dev: 'vdpa0', kind: 'op', op: 'setVqNum', phase: 'call', args: [i % 3, 256] }
        : { v: 1, seq: i, ts: i, dev: 'vdpa0', kind: 'op', op: 'setVqNum', phase: 'return' },
    );
  }
  return out;
}

describe('TraceWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vdpa-writer-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes many records in batches into one file, byte-identical to the joined serialisation', () => {
    const path = join(dir, 'big.jsonl');
    const header = createTraceHeader({ createdAt: new Date(0) });
    const recs = records(5000);
    const w = new TraceWriter(path, { batchBytes: 4096 });
    w.write(header);
    let sizeMidway = -1;
    recs.forEach((r, i) => {
      w.write(r);
      if (i === 2500) sizeMidway = statSync(path).size;
    });
    w.close();
    const expected = [header, ...recs].map((r) => serializeRecord(r) + '\n').join('');
    expect(readFileSync(path, 'utf8')).toBe(expected);
    // Batches were written while recording, each a whole number of lines below the batch size.
    expect(sizeMidway).toBeGreaterThan(0);
    expect(sizeMidway).toBeLessThan(expected.length);
    expect(expected.slice(0, sizeMidway).endsWith('\n')).toBe(true);
    expect(parseTrace(readFileSync(path, 'utf8')).records).toEqual(recs);
  });

  it('keeps records pending until flush, and close is idempotent', () => {
    const path = join(dir, 'small.jsonl');
    const w = new TraceWriter(path);
    w.writeHeader(createTraceHeader({ createdAt: new Date(0) }));
    w.write(records(1)[0]);
    expect(statSync(path).size).toBe(0);
    w.flush();
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(0);
    w.close();
    w.close();
    expect(w.closed).toBe(true);
    expect(statSync(path).size).toBe(size);
    expect(() => w.write(records(1)[0])).toThrow(`trace writer of ${path} is closed`);
  });

  it('rejects a bad batch size and an uncreatable path with errors naming them', () => {
    expect(() => new TraceWriter(join(dir, 'x.jsonl'), { batchBytes: 0 })).toThrow(
      'trace batch size 0 is not a positive integer',
    );
    const missing = join(dir, 'no', 'such', 'x.jsonl');
    let err: VdpaError | undefined;
    try {
      new TraceWriter(missing);
    } catch (e) {
      err = VdpaError.from(e);
    }
    expect(err?.code).toBe('ENOENT');
    expect(err?.message).toContain(`trace file ${missing} cannot be created`);
  });

  it('serializeRecord is JSON.stringify of the record as it is', () => {
    const r = records(1)[0];
    expect(serializeRecord(r)).toBe(
      '{"v":1,"seq":0,"ts":0,"dev":"vdpa0","kind":"op","op":"setVqNum","phase":"call","args":[0,256]}',
    );
  });

  it('never writes a number the reader would refuse: a float of 2^60 or beyond 2^53-1 is a TraceError, and nothing is appended', () => {
    const path = join(dir, 'inexact.jsonl');
    const header = createTraceHeader({ createdAt: new Date(0) });
    const ok = records(1)[0];
    // 2 ** 60 is exact as a double, but JSON.stringify writes it as 1152921504606847000.
    const far: TraceRecord = {
      v: 1,
      seq: 1,
      ts: 1,
      dev: 'vdpa0',
      kind: 'op',
      op: 'setVqAddress',
      phase: 'call',
      args: [0, 2 ** 60, 0x1000, 0x2000],
    };
    const w = new TraceWriter(path);
    w.write(header);
    w.write(ok);
    let err: VdpaError | undefined;
    try {
      w.write(far);
    } catch (e) {
      err = VdpaError.from(e);
    }
    expect(err).toBeInstanceOf(TraceError);
    expect(err?.code).toBe('EINVAL');
    expect(err?.message).toBe(
      'trace record seq 1 cannot be written: bad field "args.1" 1152921504606846976: not a safe integer ' +
        '(64-bit values are written as "0x…" hex strings)',
    );
    w.close();
    expect(parseTrace(readFileSync(path, 'utf8')).records).toEqual([ok]);
    expect(() => serializeRecord({ ...far, args: [0, 2 ** 53 - 1, 0, 0] })).not.toThrow();
    expect(() => serializeRecord({ ...far, ts: -(2 ** 53) })).toThrow(
      'trace record seq 1 cannot be written: bad field "ts" -9007199254740992: not a safe integer',
    );
    expect(() => serializeRecord(createTraceHeader({ stack: { iova: { last: Infinity } } }))).toThrow(
      'trace header cannot be written: bad field "stack.iova.last" Infinity: not a safe integer',
    );
  });
});
