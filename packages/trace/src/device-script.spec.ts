import { describe, expect, it } from 'vitest';
import { deviceScript, deviceScriptIndex, recordedOutcome } from './device-script.js';
import type { TraceRecord } from './trace-format.js';

const DEV = 'vdpa0';
const OTHER = 'vdpa1';

function op(seq: number, dev: string, name: string, phase: string, extra: object = {}): TraceRecord {
  return { v: 1, seq, ts: seq, dev, kind: 'op', op: name, phase, ...extra } as TraceRecord;
}

function registered(seq: number, dev: string): TraceRecord {
  return { v: 1, seq, ts: seq, dev, kind: 'bus', op: 'device_registered', args: { nvqs: 3 } };
}

/**
 * Two lives of vdpa0 with vdpa1 interleaved: an orphan return, a nested call, an error, a callback,
 * a dp record, a dev_add, and a call the trace ends before answering.
 */
const RECORDS: TraceRecord[] = [
  op(0, DEV, 'getStatus', 'return', { ret: 1 }),
  op(1, DEV, 'getConfig', 'call', { args: [0, 6] }),
  op(2, OTHER, 'getConfig', 'call', { args: [0, 6] }),
  op(3, DEV, 'setDriverFeatures', 'call', { args: ['0x0'], origin: 'core' }),
  op(4, DEV, 'setDriverFeatures', 'return'),
  op(5, OTHER, 'getConfig', 'return', { ret: 'ffffffffffff' }),
  op(6, DEV, 'getConfig', 'return', { ret: '001122334455' }),
  { v: 1, seq: 7, ts: 7, dev: DEV, kind: 'cb', op: 'configCb', args: [] },
  registered(8, DEV),
  {
    v: 1,
    seq: 9,
    ts: 9,
    dev: DEV,
    kind: 'mgmt',
    op: 'dev_add',
    phase: 'return',
    args: { mgmtdev: 'm', name: DEV },
    ret: { index: 1 },
  },
  op(10, DEV, 'setVqNum', 'call', { args: [0, 256] }),
  op(11, DEV, 'setVqNum', 'error', { err: 'EINVAL', message: 'too big' }),
  { v: 1, seq: 12, ts: 12, dev: DEV, kind: 'dp', kicks: { '1': 3 }, cbs: {} },
  op(13, DEV, 'getStatus', 'call', { args: [] }),
];

describe('deviceScriptIndex', () => {
  it('splits the lives of a device at its registrations, as index ranges', () => {
    const { lives } = deviceScriptIndex(RECORDS, DEV);
    // The orphan return does not start a life; the first call does.
    expect(lives.map((l) => [l.seq, l.start, l.end])).toEqual([
      [1, 1, 8],
      [8, 8, RECORDS.length],
    ]);
    expect(lives[0].registration).toBeUndefined();
    expect(lives[0].devAdd).toBeUndefined();
    expect(lives[1].registration).toEqual({ nvqs: 3 });
    expect(lives[1].devAdd).toBe(RECORDS[9]);
  });

  it('pairs each call with its return or error, innermost call first; others stay -1', () => {
    const { outcomeOf } = deviceScriptIndex(RECORDS, DEV);
    expect(outcomeOf[1]).toBe(6);
    expect(outcomeOf[3]).toBe(4);
    expect(outcomeOf[10]).toBe(11);
    // Another device's call, the trace's last (unanswered) call, and non-call records.
    for (const i of [0, 2, 4, 5, 6, 7, 8, 9, 11, 12, 13]) expect(outcomeOf[i]).toBe(-1);
    expect(deviceScriptIndex(RECORDS, OTHER).outcomeOf[2]).toBe(5);
  });

  it('finds nothing for a device without records', () => {
    expect(deviceScriptIndex(RECORDS, 'vdpa9').lives).toEqual([]);
  });
});

describe('deviceScript', () => {
  it('lists the calls with their outcomes, callbacks and dp records of each life', () => {
    const lives = deviceScript(RECORDS, DEV);
    expect(lives).toHaveLength(2);
    expect(lives[0].items).toEqual([
      {
        kind: 'call',
        seq: 1,
        op: 'getConfig',
        args: [0, 6],
        origin: undefined,
        outcome: { ret: '001122334455' },
      },
      { kind: 'call', seq: 3, op: 'setDriverFeatures', args: ['0x0'], origin: 'core', outcome: {} },
      { kind: 'cb', seq: 7, op: 'configCb', args: [] },
    ]);
    expect(lives[1].items).toEqual([
      {
        kind: 'call',
        seq: 10,
        op: 'setVqNum',
        args: [0, 256],
        origin: undefined,
        outcome: { err: 'EINVAL', message: 'too big' },
      },
      { kind: 'dp', seq: 12, kicks: { '1': 3 }, cbs: {} },
      { kind: 'call', seq: 13, op: 'getStatus', args: [], origin: undefined, outcome: undefined },
    ]);
  });

  it('recordedOutcome states EIO for an error record without an errno', () => {
    expect(
      recordedOutcome({ v: 1, seq: 1, ts: 1, dev: DEV, kind: 'op', op: 'reset', phase: 'error' }),
    ).toEqual({
      err: 'EIO',
    });
  });
});
