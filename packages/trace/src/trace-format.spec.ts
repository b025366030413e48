import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  TRACE_FORMAT_NAME,
  TRACE_FRAMEWORK_NAME,
  createTraceHeader,
  datapathRecordSchema,
  frameworkVersion,
  isDatapathRecord,
  mgmtRecordSchema,
  opRecordSchema,
  traceHeaderSchema,
  traceRecordSchema,
} from './trace-format.js';
import { TraceError } from './trace-error.js';
import { projectTrace } from './projection.js';
import { formatTimeline } from './timeline.js';
import { parseTrace } from './trace-reader.js';

describe('trace header', () => {
  it('names the format, the framework (core-bus, which defines the event records) and its version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../core-bus/package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const h = createTraceHeader({
      plugins: [{ name: 'p', version: '1.2.3' }],
      stack: { mgmtdev: 'vdpasim_net' },
      datapath: 'full',
      createdAt: new Date(Date.UTC(2024, 0, 2)),
    });
    expect(frameworkVersion()).toBe(pkg.version);
    expect(h).toEqual({
      v: 1,
      kind: 'header',
      format: TRACE_FORMAT_NAME,
      framework: { name: TRACE_FRAMEWORK_NAME, version: pkg.version },
      plugins: [{ name: 'p', version: '1.2.3' }],
      stack: { mgmtdev: 'vdpasim_net' },
      createdAt: '2024-01-02T00:00:00.000Z',
      datapath: 'full',
    });
    expect(traceHeaderSchema.safeParse(h).success).toBe(true);
    expect(createTraceHeader().datapath).toBe('coalesced');
  });
});

describe('record schema', () => {
  it('tells records apart by kind and rejects a record of no kind', () => {
    const dp = { v: 1, kind: 'dp', seq: 3, ts: 3, dev: 'vdpa0', kicks: { '0': 1 }, cbs: {} } as const;
    expect(traceRecordSchema.safeParse(dp).success).toBe(true);
    expect(isDatapathRecord(dp)).toBe(true);
    expect(traceRecordSchema.safeParse({ ...dp, kind: 'x' }).success).toBe(false);
    expect(traceRecordSchema.safeParse({ ...dp, kicks: { '0': 0 } }).success).toBe(false);
  });
});

describe('op record schema: the rules of a phase and an op are part of the schema', () => {
  const call = { v: 1, seq: 1, ts: 1, dev: 'vdpa0', kind: 'op', op: 'setDriverFeatures', phase: 'call' };
  const messages = (record: unknown): string[] => {
    const result = opRecordSchema.safeParse(record);
    return result.success ? [] : result.error.issues.map((issue) => issue.message);
  };

  it('accepts a call with arguments encoded per OP_TABLE, a return and an error', () => {
    expect(messages({ ...call, args: ['0x1'] })).toEqual([]);
    expect(messages({ ...call, phase: 'return' })).toEqual([]);
    expect(messages({ ...call, phase: 'error', err: 'EINVAL', message: 'no' })).toEqual([]);
  });

  it('refuses what a phase may not have, and values of the wrong encoding, naming op and field', () => {
    expect(messages(call)).toEqual(['missing field "args" of a setDriverFeatures call']);
    expect(messages({ ...call, args: ['0x1'], ret: 1 })).toEqual([
      'setDriverFeatures call has a result field',
    ]);
    expect(messages({ ...call, args: [1] })).toEqual([
      'bad field "args" of setDriverFeatures: trace value 1 is not a u64 hex string',
    ]);
    expect(messages({ ...call, args: ['0x1', '0x2'] })).toEqual([
      'bad field "args" of setDriverFeatures: trace call of setDriverFeatures has 2 arguments',
    ]);
    // A call carries every argument the op takes; only dmaMap's opaque (vdpa_map_file) may be absent.
    expect(messages({ ...call, args: [] })).toEqual([
      'bad field "args" of setDriverFeatures: trace call of setDriverFeatures has 0 arguments',
    ]);
    expect(messages({ ...call, op: 'dmaMap', args: [0, '0x1000', '0x1000', '0x8000'] })).toEqual([
      'bad field "args" of dmaMap: trace call of dmaMap has 4 arguments',
    ]);
    expect(messages({ ...call, op: 'dmaMap', args: [0, '0x1000', '0x1000', '0x8000', 3] })).toEqual([]);
    expect(messages({ ...call, phase: 'error' })).toEqual([
      'missing field "err" of a setDriverFeatures error',
    ]);
    expect(messages({ ...call, phase: 'error', err: 'EIO', ret: 1 })).toEqual([
      'setDriverFeatures error has a "ret" field',
    ]);
    expect(messages({ ...call, phase: 'return', args: [] })).toEqual([
      'setDriverFeatures return has an "args" field',
    ]);
    expect(messages({ ...call, op: 'getStatus', phase: 'return', ret: 'x' })).toEqual([
      'bad field "ret" of getStatus: trace value "x" is not a safe integer',
    ]);
  });

  it('refuses a __proto__ vq index in a dp record (which a zod record would skip)', () => {
    const dp = JSON.parse(
      '{"v":1,"kind":"dp","seq":3,"ts":3,"dev":"vdpa0","kicks":{"__proto__":1},"cbs":{}}',
    );
    const result = datapathRecordSchema.safeParse(dp);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: 'invalid_key', path: ['kicks', '__proto__'] });
  });
});

describe('mgmt record schema: a return has no err, an error has err and no ret', () => {
  const ret = { v: 1, seq: 1, ts: 1, dev: 'vdpa0', kind: 'mgmt', op: 'dev_add', phase: 'return', args: {} };
  const messages = (value: unknown): string[] => {
    const result = mgmtRecordSchema.safeParse(value);
    return result.success ? [] : result.error.issues.map((issue) => issue.message);
  };

  it('accepts a return with ret and an error with err', () => {
    expect(messages({ ...ret, ret: { index: 0 } })).toEqual([]);
    expect(messages({ ...ret, phase: 'error', err: 'EEXIST', message: 'exists' })).toEqual([]);
  });

  it('refuses an error without err, an error with ret, and a return with err', () => {
    expect(messages({ ...ret, phase: 'error' })).toEqual(['missing field "err" of a dev_add error']);
    expect(messages({ ...ret, phase: 'error', err: 'EIO', ret: 1 })).toEqual([
      'dev_add error has a "ret" field',
    ]);
    expect(messages({ ...ret, err: 'EIO' })).toEqual(['dev_add return has an "err" field']);
  });
});

describe('TraceError', () => {
  it('is an EINVAL VdpaError with the line in its message and field', () => {
    const err = TraceError.at('trace.jsonl', 7, 'unknown op "kickVqq"');
    expect(err.code).toBe('EINVAL');
    expect(err.line).toBe(7);
    expect(err.message).toBe('trace.jsonl line 7: unknown op "kickVqq"');
    expect(new TraceError('whole trace is bad').line).toBeUndefined();
  });
});

describe('docs/trace-format.md', () => {
  const doc = readFileSync(new URL('../../../docs/trace-format.md', import.meta.url), 'utf8');
  const block = (lang: string): string[] => {
    const out: string[] = [];
    const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
    for (let m = re.exec(doc); m !== null; m = re.exec(doc)) out.push(m[1]);
    return out;
  };

  it('has a complete example trace that parses, whose timeline and projection are as documented', () => {
    const [example] = block('jsonl');
    const trace = parseTrace(example, 'docs/trace-format.md');
    expect(trace.records.some((r) => r.kind === 'dp')).toBe(true);
    expect(doc).toContain(formatTimeline(trace.records).join('\n'));
    const d = projectTrace(trace.records, { atSeq: 35 }).devices.vdpa0;
    expect(d).toMatchObject({
      status: 15,
      statusNames: ['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK'],
      deviceFeatures: '0x300000000',
      driverFeatures: '0x300000000',
      driverFeatureNames: ['VERSION_1', 'ACCESS_PLATFORM'],
      config: '00000000000000000000dc05',
      resets: 1,
      errors: 1,
    });
    expect(d.vqs['0']).toMatchObject({
      num: 256,
      descArea: 4096,
      driverArea: 8192,
      deviceArea: 12288,
      ready: true,
      cb: true,
    });
  });

  it('shows records of every kind that validate one by one', () => {
    const lines = block('json')
      .flatMap((b) => b.split('\n'))
      .filter((l) => l.startsWith('{'));
    const header = lines.find((l) => l.includes('"kind":"header"')) as string;
    const records = lines.filter((l) => l !== header);
    expect(new Set(records.map((l) => (JSON.parse(l) as { kind: string }).kind))).toEqual(
      new Set(['op', 'cb', 'bus', 'mgmt', 'dp']),
    );
    for (const r of records) expect(() => parseTrace(`${header}\n${r}\n`)).not.toThrow();
  });
});
