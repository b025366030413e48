import { type Trace, createTraceHeader } from '@vdpa-kit/trace';
import { describe, expect, it } from 'vitest';
import { CliError } from '../errors.js';
import { recordedMgmtdev } from './trace-verify.js';

function trace(stack: Trace['header']['stack'], records: Trace['records']): Trace {
  return { header: createTraceHeader({ stack, createdAt: new Date(0) }), records };
}

describe('recordedMgmtdev', () => {
  it('takes the management device of the first successful dev_add', () => {
    const t = trace({ mgmtdev: 'header_one' }, [
      {
        v: 1,
        seq: 1,
        ts: 1,
        dev: 'vdpa0',
        kind: 'mgmt',
        op: 'dev_add',
        phase: 'error',
        args: { mgmtdev: 'refused', name: 'vdpa0' },
        err: 'EINVAL',
      },
      {
        v: 1,
        seq: 2,
        ts: 2,
        dev: 'vdpa0',
        kind: 'mgmt',
        op: 'dev_add',
        phase: 'return',
        args: { mgmtdev: 'mvnet', name: 'vdpa0' },
      },
    ]);
    expect(recordedMgmtdev('t.jsonl', t)).toBe('mvnet');
  });

  it("falls back to the header's stack.mgmtdev", () => {
    expect(recordedMgmtdev('t.jsonl', trace({ mgmtdev: 'vdpasim_net' }, []))).toBe('vdpasim_net');
  });

  it('refuses a trace that names none, naming the file', () => {
    expect(() => recordedMgmtdev('t.jsonl', trace({}, []))).toThrow(CliError);
    expect(() => recordedMgmtdev('t.jsonl', trace({}, []))).toThrow(/^trace t\.jsonl records no dev_add/);
  });
});
