import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { VdpaError, type JsonObject, type JsonValue } from '@vdpa-kit/core-bus';
import { TraceError } from './trace-error.js';
import { createTraceHeader, type TraceHeader, type TraceRecord } from './trace-format.js';
import { isTraceRecord, parseTrace, parseTraceRecord, readTrace } from './trace-reader.js';
import { serializeRecord } from './trace-writer.js';
import { beyondSafe, exactDigits, rawJson } from '../test/raw-json.js';

const HEADER = createTraceHeader({
  plugins: [{ name: '@vdpa-kit/device-vdpasim', version: '0.1.0' }],
  stack: { mgmtdev: 'vdpasim_net', transport: 'virtio_vdpa', dev: { name: 'vdpa0', mtu: 1500 } },
  createdAt: '2024-05-01T12:00:00.000Z',
});

/** One valid record of every kind (and op phase). */
const RECORDS: TraceRecord[] = [
  {
    v: 1,
    seq: 0,
    ts: 0,
    dev: null,
    kind: 'mgmt',
    op: 'mgmtdev_registered',
    phase: 'return',
    args: { mgmtdev: 'vdpasim_net' },
  },
  {
    v: 1,
    seq: 1,
    ts: 1,
    dev: null,
    kind: 'bus',
    op: 'driver_registered',
    args: { driver: 'virtio_vdpa', idTable: ['virtio'] },
  },
  {
    v: 1,
    seq: 2,
    ts: 2,
    dev: 'vdpa0',
    kind: 'bus',
    op: 'device_registered',
    args: { index: 0, nvqs: 3, mgmtdev: 'vdpasim_net' },
  },
  { v: 1, seq: 3, ts: 3, dev: 'vdpa0', kind: 'op', op: 'getDeviceFeatures', phase: 'call', args: [] },
  {
    v: 1,
    seq: 4,
    ts: 4,
    dev: 'vdpa0',
    kind: 'op',
    op: 'getDeviceFeatures',
    phase: 'return',
    ret: '0x300000020',
  },
  {
    v: 1,
    seq: 5,
    ts: 5,
    dev: 'vdpa0',
    kind: 'op',
    op: 'getConfig',
    phase: 'call',
    origin: 'mgmt',
    args: [0, 6],
  },
  {
    v: 1,
    seq: 6,
    ts: 6,
    dev: 'vdpa0',
    kind: 'op',
    op: 'getConfig',
    phase: 'return',
    origin: 'mgmt',
    ret: '001122334455',
  },
  { v: 1, seq: 7, ts: 7, dev: 'vdpa0', kind: 'op', op: 'setDriverFeatures', phase: 'call', args: ['0x1'] },
  {
    v: 1,
    seq: 8,
    ts: 8,
    dev: 'vdpa0',
    kind: 'op',
    op: 'setDriverFeatures',
    phase: 'error',
    err: 'EINVAL',
    message: 'features 0x1 lack ACCESS_PLATFORM',
  },
  { v: 1, seq: 9, ts: 9, dev: 'vdpa0', kind: 'op', op: 'setVqCb', phase: 'call', args: [0, true] },
  { v: 1, seq: 10, ts: 10, dev: 'vdpa0', kind: 'op', op: 'setVqCb', phase: 'return' },
  { v: 1, seq: 12, ts: 12, dev: 'vdpa0', kind: 'dp', kicks: { '1': 40, '0': 2 }, cbs: { '0': 2 } },
  { v: 1, seq: 13, ts: 13, dev: 'vdpa0', kind: 'cb', op: 'configCb', args: [] },
  {
    v: 1,
    seq: 14,
    ts: 14,
    dev: 'vdpa0',
    kind: 'cb',
    op: 'vqCb',
    args: [1],
    err: 'ENODEV',
    message: 'dropped',
  },
  {
    v: 1,
    seq: 15,
    ts: 15,
    dev: 'vdpa1',
    kind: 'mgmt',
    op: 'dev_add',
    phase: 'error',
    args: { mgmtdev: 'x', name: 'vdpa1' },
    err: 'ENODEV',
    message: 'no x',
  },
];

function text(header: unknown, records: readonly unknown[]): string {
  return [header, ...records].map((r) => JSON.stringify(r) + '\n').join('');
}

function lines(records: readonly unknown[]): string[] {
  return text(HEADER, records).split('\n').slice(0, -1);
}

function traceErrorOf(fn: () => unknown): TraceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TraceError) return err;
    throw err;
  }
  throw new Error('expected a TraceError');
}

describe('parseTrace: valid traces', () => {
  it('reads a header and one record of every kind, frozen and deep-equal to what was written', () => {
    const trace = parseTrace(text(HEADER, RECORDS), 'session.jsonl');
    expect(trace.header).toEqual(HEADER);
    expect(trace.records).toEqual(RECORDS);
    expect(Object.isFrozen(trace.records[3])).toBe(true);
    expect(Object.isFrozen((trace.records[11] as { kicks: object }).kicks)).toBe(true);
  });

  it('accepts CRLF line ends and a missing final newline', () => {
    const crlf = text(HEADER, RECORDS).replaceAll('\n', '\r\n');
    expect(parseTrace(crlf).records).toHaveLength(RECORDS.length);
    expect(parseTrace(text(HEADER, RECORDS).trimEnd()).records).toEqual(RECORDS);
  });

  it('accepts a device returning nothing from a non-void op (recorded as null)', () => {
    const rec = {
      v: 1,
      seq: 0,
      ts: 0,
      dev: 'vdpa0',
      kind: 'op',
      op: 'getStatus',
      phase: 'return',
      ret: null,
    };
    expect(parseTrace(text(HEADER, [rec])).records[0]).toEqual(rec);
  });

  it('validates every repetition of a record shape, not only the first', () => {
    const call = RECORDS[3];
    const good = [call, { ...call, seq: 4, ts: 4 }, { ...call, seq: 5, ts: 5 }];
    expect(parseTrace(text(HEADER, good)).records).toHaveLength(3);
    const infiniteTs = text(HEADER, good).replace('"seq":5,"ts":5,', '"seq":5,"ts":1e999,');
    expect(() => parseTrace(infiniteTs, 't.jsonl')).toThrow(/^t\.jsonl line 4: bad field "ts"/);
    const fractionalSeq = text(HEADER, good).replace('"seq":5,', '"seq":5.5,');
    expect(() => parseTrace(fractionalSeq, 't.jsonl')).toThrow(/^t\.jsonl line 4: bad field "seq" 5\.5/);
    const extraField = text(HEADER, [call, { ...call, seq: 4, ts: 4 }]).replace(
      '"seq":4,"ts":4,',
      '"seq":4,"ts":4,"x":1,',
    );
    expect(() => parseTrace(extraField, 't.jsonl')).toThrow(/^t\.jsonl line 3: unknown field "x"/);
  });

  it('parseTraceRecord validates one record on its own', () => {
    expect(parseTraceRecord(JSON.parse(JSON.stringify(RECORDS[4])))).toEqual(RECORDS[4]);
    expect(() => parseTraceRecord({ ...RECORDS[4], op: 'nope' }, 'x.jsonl', 9)).toThrow(
      'x.jsonl line 9: unknown op "nope"',
    );
  });
});

describe('parseTrace: bad input is one TraceError naming the line', () => {
  const cases: [string, () => string, number, RegExp][] = [
    ['an empty file', () => '', 1, /missing header: the trace is empty/],
    [
      'a first record that is not a header',
      () => text(RECORDS[0], [RECORDS[1]]),
      1,
      /missing header: the first record has kind "mgmt"/,
    ],
    [
      'a header that is not first',
      () => text(HEADER, [RECORDS[0], HEADER]),
      3,
      /header is not the first record/,
    ],
    [
      'an unknown header version',
      () => text({ ...HEADER, v: 2 }, RECORDS),
      1,
      /unsupported trace version 2 \(this reader reads version 1\)/,
    ],
    [
      'an unknown record version',
      () => text(HEADER, [RECORDS[0], { ...RECORDS[1], v: 3 }]),
      3,
      /unsupported trace version 3/,
    ],
    ['an unknown op', () => text(HEADER, [{ ...RECORDS[3], op: 'kickVqq' }]), 2, /unknown op "kickVqq"/],
    ['an unknown bus op', () => text(HEADER, [{ ...RECORDS[1], op: 'rebind' }]), 2, /unknown op "rebind"/],
    [
      'an unknown record kind',
      () => text(HEADER, [{ ...RECORDS[1], kind: 'net' }]),
      2,
      /unknown record kind "net"/,
    ],
    ['a bad field type', () => text(HEADER, [{ ...RECORDS[3], seq: -1 }]), 2, /bad field "seq" -1/],
    ['an unknown field', () => text(HEADER, [{ ...RECORDS[3], extra: 1 }]), 2, /unknown field "extra"/],
    [
      'a missing field',
      () => text(HEADER, [{ v: 1, seq: 0, ts: 0, dev: 'vdpa0', kind: 'op', op: 'reset', args: [] }]),
      2,
      /missing field "phase"/,
    ],
    [
      'a bad errno',
      () => text(HEADER, [{ ...RECORDS[8], seq: 0, err: 'EWHAT' }]),
      2,
      /bad field "err" "EWHAT"/,
    ],
    [
      'a bad argument encoding',
      () => text(HEADER, [{ ...RECORDS[7], args: [1] }]),
      2,
      /bad field "args" of setDriverFeatures: trace value 1 is not a u64 hex string/,
    ],
    [
      'a bad result encoding',
      () => text(HEADER, [{ ...RECORDS[4], ret: 'zz' }]),
      2,
      /bad field "ret" of getDeviceFeatures/,
    ],
    [
      'a call without args',
      () => text(HEADER, [{ v: 1, seq: 0, ts: 0, dev: 'vdpa0', kind: 'op', op: 'reset', phase: 'call' }]),
      2,
      /missing field "args" of a reset call/,
    ],
    [
      'an error without err',
      () => text(HEADER, [{ v: 1, seq: 0, ts: 0, dev: 'vdpa0', kind: 'op', op: 'reset', phase: 'error' }]),
      2,
      /missing field "err" of a reset error/,
    ],
    [
      'a bad dp vq key',
      () => text(HEADER, [{ ...RECORDS[11], kicks: { x: 1 } }]),
      2,
      /bad key "x" in field "kicks"/,
    ],
    [
      'a dp record in a full trace',
      () => text({ ...HEADER, datapath: 'full' }, [RECORDS[11]]),
      2,
      /dp record in a trace recorded with datapath "full"/,
    ],
    [
      'a bad header field',
      () => text({ ...HEADER, createdAt: 'yesterday' }, []),
      1,
      /header bad field "createdAt" "yesterday"/,
    ],
    ['a bad header format', () => text({ ...HEADER, format: 'other' }, []), 1, /header bad field "format"/],
    [
      'a non-increasing seq',
      () => text(HEADER, [RECORDS[0], RECORDS[2], RECORDS[1]]),
      4,
      /seq 1 is not greater than the previous seq 2/,
    ],
    [
      'a repeated seq',
      () => text(HEADER, [RECORDS[0], RECORDS[0]]),
      3,
      /seq 0 is not greater than the previous seq 0/,
    ],
    [
      'a corrupted line',
      () => {
        const l = lines(RECORDS.slice(0, 5));
        l[3] = l[3].replace('"kind"', '"kind');
        return l.join('\n') + '\n';
      },
      4,
      /corrupted line: invalid JSON/,
    ],
    ['an empty line', () => lines(RECORDS.slice(0, 3)).join('\n\n') + '\n', 2, /empty line/],
    [
      'a truncated last line',
      () => {
        const t = text(HEADER, RECORDS.slice(0, 4));
        return t.slice(0, t.length - 12);
      },
      5,
      /truncated last line: invalid JSON/,
    ],
  ];

  it.each(cases)('%s', (_name, make, line, message) => {
    const err = traceErrorOf(() => parseTrace(make(), 'trace.jsonl'));
    expect(err).toBeInstanceOf(VdpaError);
    expect(err.code).toBe('EINVAL');
    expect(err.line).toBe(line);
    expect(err.message).toMatch(new RegExp(`^trace\\.jsonl line ${line}: `));
    expect(err.message).toMatch(message);
  });
});

describe('readTrace', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads a file in bulk and names it in errors', () => {
    dir = mkdtempSync(join(tmpdir(), 'vdpa-trace-'));
    const good = join(dir, 'good.jsonl');
    writeFileSync(good, text(HEADER, RECORDS));
    expect(readTrace(good).records).toEqual(RECORDS);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, text(HEADER, [{ ...RECORDS[3], op: 'kickVqq' }]));
    expect(() => readTrace(bad)).toThrow(`${bad} line 2: unknown op "kickVqq"`);
  });

  it('fails with the errno of a missing file', () => {
    const missing = join(tmpdir(), 'no-such-dir-vdpa', 'missing.jsonl');
    let code: string | undefined;
    try {
      readTrace(missing);
    } catch (err) {
      code = VdpaError.from(err).code;
      expect(VdpaError.from(err).message).toContain(`trace file ${missing} cannot be read`);
    }
    expect(code).toBe('ENOENT');
  });
});

// ---- property: serialise -> parse round-trips -------------------------------------------------

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const hexBig = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((b) => `0x${b.toString(16)}`);
const hexBytes = fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const name = fc.constantFrom('vdpa0', 'vdpa1', 'vdpa9');
const errno = fc.constantFrom('EINVAL', 'EIO', 'ENODEV', 'EOPNOTSUPP' as const);
const jsonLeaf: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.string({ maxLength: 8 }),
);
const jsonObject: fc.Arbitrary<JsonObject> = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 6 }),
  fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 })),
  { maxKeys: 4 },
);

type Unstamped = Record<string, unknown>;

/** An op call with arguments valid for its op, or its return / error. */
const opRecord: fc.Arbitrary<Unstamped> = fc
  .oneof(
    fc.record({ op: fc.constant('setVqNum'), phase: fc.constant('call'), args: fc.tuple(u32, u32) }),
    fc.record({
      op: fc.constant('setVqAddress'),
      phase: fc.constant('call'),
      args: fc.tuple(u32, u32, u32, u32),
    }),
    fc.record({
      op: fc.constant('setVqCb'),
      phase: fc.constant('call'),
      args: fc.tuple(u32, fc.constantFrom(true, null)),
    }),
    fc.record({
      op: fc.constant('setVqReady'),
      phase: fc.constant('call'),
      args: fc.tuple(u32, fc.boolean()),
    }),
    fc.record({ op: fc.constant('setDriverFeatures'), phase: fc.constant('call'), args: fc.tuple(hexBig) }),
    fc.record({ op: fc.constant('setConfig'), phase: fc.constant('call'), args: fc.tuple(u32, hexBytes) }),
    fc.record({ op: fc.constant('getConfig'), phase: fc.constant('call'), args: fc.tuple(u32, u32) }),
    fc.record({ op: fc.constant('getConfig'), phase: fc.constant('return'), ret: hexBytes }),
    fc.record({ op: fc.constant('getDeviceFeatures'), phase: fc.constant('return'), ret: hexBig }),
    fc.record({ op: fc.constant('getStatus'), phase: fc.constant('return'), ret: u32 }),
    fc.record({ op: fc.constant('getVqReady'), phase: fc.constant('return'), ret: fc.boolean() }),
    fc.record({
      op: fc.constant('getVqState'),
      phase: fc.constant('return'),
      ret: fc.record({ kind: fc.constant('split'), availIndex: fc.integer({ min: 0, max: 0xffff }) }),
    }),
    fc.record({ op: fc.constant('kickVq'), phase: fc.constant('return') }),
    fc.record({
      op: fc.constantFrom('reset', 'setStatus', 'kickVq'),
      phase: fc.constant('error'),
      err: errno,
      message: fc.string(),
    }),
  )
  .chain((r) =>
    fc
      .record({ dev: name, origin: fc.constantFrom(undefined, 'core', 'bus', 'mgmt') })
      .map(({ dev, origin }) => ({
        kind: 'op',
        dev,
        ...r,
        ...(origin === undefined ? {} : { origin }),
      })),
  );

const counts = fc.dictionary(fc.integer({ min: 0, max: 8 }).map(String), fc.integer({ min: 1, max: 1000 }), {
  maxKeys: 3,
});

const otherRecord: fc.Arbitrary<Unstamped> = fc.oneof(
  fc.record({ kind: fc.constant('cb'), dev: name, op: fc.constant('vqCb'), args: fc.tuple(u32) }),
  fc.record({ kind: fc.constant('cb'), dev: name, op: fc.constant('configCb'), args: fc.constant([]) }),
  fc.record({
    kind: fc.constant('bus'),
    dev: fc.option(name, { nil: null }),
    op: fc.constantFrom('probe', 'bind', 'unbind', 'driver_registered', 'device_registered'),
    args: jsonObject,
  }),
  fc.record({
    kind: fc.constant('mgmt'),
    dev: fc.option(name, { nil: null }),
    op: fc.constantFrom('dev_add', 'dev_del', 'mgmtdev_registered'),
    phase: fc.constant('return'),
    args: jsonObject,
    ret: jsonLeaf,
  }),
  fc.record({ kind: fc.constant('dp'), dev: name, kicks: counts, cbs: counts }),
);

const traceArb = fc
  .array(
    fc.tuple(
      fc.oneof(opRecord, otherRecord),
      fc.integer({ min: 1, max: 5 }),
      fc.double({ min: 0, max: 1e12, noNaN: true }),
    ),
    {
      maxLength: 40,
    },
  )
  .map((items) => {
    let seq = -1;
    return items.map(([r, step, ts]) => {
      seq += step;
      return { v: 1, seq, ts, ...r } as unknown as TraceRecord;
    });
  });

describe('round trip (property)', () => {
  it('random record sequences survive serialise -> parse deep-equal', () => {
    fc.assert(
      fc.property(traceArb, fc.constantFrom<TraceHeader['datapath']>('coalesced'), (records, datapath) => {
        const header = { ...HEADER, datapath };
        const body = [header, ...records].map((r) => serializeRecord(r) + '\n').join('');
        const trace = parseTrace(body);
        expect(trace.header).toEqual(header);
        expect(trace.records).toEqual(records);
      }),
      { numRuns: 200 },
    );
  });
});

// ---- property: the compiled validator and the schema's parser agree ------------------------------

/** What the schema's parser (`parseTraceRecord`) says of a parsed record: `ok` or its message. */
function schemaVerdict(value: unknown): string {
  try {
    parseTraceRecord(value, 'r.jsonl', 2);
    return 'ok';
  } catch (err) {
    if (err instanceof TraceError) return err.message;
    throw err;
  }
}

/** Fields a record may have, and a few it may not. */
const FIELD_NAMES = [
  'v',
  'seq',
  'ts',
  'dev',
  'kind',
  'op',
  'phase',
  'origin',
  'args',
  'ret',
  'err',
  'message',
  'kicks',
  'cbs',
  'extra',
  '__proto__',
  'constructor',
] as const;

/**
 * Values a parsed line can hold (`1e999` parses to Infinity, `-0` to -0): of every JSON type, and
 * near the edges of each field's rules.
 */
const EDGE_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -0,
  -1,
  0.5,
  2 ** 53 - 1,
  2 ** 53,
  Infinity,
  -Infinity,
  '',
  '01',
  '0x',
  '0x1F',
  '00ff',
  '0a0',
  [],
  [0],
  {},
  { '0': 1 },
];

/** Names valid somewhere (kinds, phases, origins, errnos, ops of each kind) and a few that are not. */
const NAME_VALUES: readonly unknown[] = [
  'op',
  'cb',
  'bus',
  'mgmt',
  'dp',
  'header',
  'call',
  'return',
  'error',
  'core',
  'EINVAL',
  'EWHAT',
  'getConfig',
  'setVqNum',
  'kickVqq',
  'vqCb',
  'probe',
  'dev_add',
];

const mutantValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EDGE_VALUES) },
  { weight: 2, arbitrary: fc.constantFrom(...NAME_VALUES) },
  { weight: 1, arbitrary: fc.integer({ min: -2, max: 300 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.oneof(fc.integer({ min: -1, max: 300 }), fc.boolean(), fc.constant(null), hexBig, hexBytes),
      { maxLength: 5 },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.dictionary(
      fc.constantFrom('0', '1', '9', '01', '-1', 'x', '__proto__'),
      fc.integer({ min: -1, max: 3 }),
      { maxKeys: 2 },
    ),
  },
);

/** Sets an own data property (as `JSON.parse` does, so `__proto__` is a plain key too). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Fields with a value valid for some record kind: moved to another kind, they test its field set. */
const plausibleField: fc.Arbitrary<[string, unknown]> = fc.constantFrom<[string, unknown]>(
  ['phase', 'call'],
  ['phase', 'return'],
  ['phase', 'error'],
  ['origin', 'core'],
  ['ret', 1],
  ['ret', null],
  ['err', 'EIO'],
  ['message', 'm'],
  ['args', []],
  ['args', {}],
  ['kicks', { '0': 1 }],
  ['cbs', {}],
  ['dev', null],
  ['op', 'getStatus'],
  ['op', 'vqCb'],
  ['op', 'probe'],
  ['op', 'dev_add'],
);

type Mutation =
  | { readonly kind: 'set'; readonly field: string; readonly value: unknown }
  | { readonly kind: 'setExisting'; readonly index: number; readonly value: unknown }
  | { readonly kind: 'delete'; readonly field: string }
  | { readonly kind: 'setItem'; readonly field: string; readonly index: number; readonly value: unknown }
  | { readonly kind: 'setKey'; readonly field: string; readonly key: string; readonly value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    field: fc.constantFrom(...FIELD_NAMES),
    value: mutantValue,
  }),
  plausibleField.map(([field, value]) => ({ kind: 'set' as const, field, value })),
  fc.record({ kind: fc.constant('setExisting' as const), index: fc.nat(), value: mutantValue }),
  fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...FIELD_NAMES) }),
  fc.record({
    kind: fc.constant('setItem' as const),
    field: fc.constantFrom('args', 'ret'),
    index: fc.integer({ min: 0, max: 6 }),
    value: mutantValue,
  }),
  fc.record({
    kind: fc.constant('setKey' as const),
    field: fc.constantFrom('kicks', 'cbs', 'args', 'ret'),
    key: fc.constantFrom('0', '3', '07', 'x', 'kind', '__proto__'),
    value: fc.oneof(mutantValue, fc.constantFrom<unknown>(0, 1, 0.5, 2 ** 53 - 1, 2 ** 53)),
  }),
);

/** A parsed copy of `record` (what the reader sees) with `mutations` applied. */
function mutate(record: unknown, mutations: readonly Mutation[]): Record<string, unknown> {
  const out = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
  for (const m of mutations) {
    if (m.kind === 'set') setOwn(out, m.field, m.value);
    else if (m.kind === 'setExisting') {
      const keys = Object.keys(out);
      if (keys.length > 0) setOwn(out, keys[m.index % keys.length], m.value);
    } else if (m.kind === 'delete') delete out[m.field];
    else {
      const inner = out[m.field];
      if (typeof inner !== 'object' || inner === null) continue;
      const copy = Array.isArray(inner)
        ? [...(inner as unknown[])]
        : { ...(inner as Record<string, unknown>) };
      if (m.kind === 'setItem') (copy as unknown[])[Math.min(m.index, (copy as unknown[]).length)] = m.value;
      else setOwn(copy as Record<string, unknown>, m.key, m.value);
      setOwn(out, m.field, copy);
    }
  }
  return out;
}

const stampedRecord: fc.Arbitrary<Unstamped> = fc
  .tuple(
    fc.oneof(opRecord, otherRecord),
    fc.nat({ max: 1000 }),
    fc.double({ min: 0, max: 1e12, noNaN: true }),
  )
  .map(([r, seq, ts]) => ({ v: 1, seq, ts, ...r }));

/** A stamped `dp` record (the mutations of its count maps need many of them). */
const datapathRecord: fc.Arbitrary<Unstamped> = fc
  .record({ dev: name, kicks: counts, cbs: counts })
  .map((r) => ({ v: 1, seq: 3, ts: 3, kind: 'dp', ...r }));

/** Every kind of result and argument encoding, including the ones with nested values and checks. */
const CODEC_RECORDS: readonly Unstamped[] = [
  { kind: 'op', dev: 'vdpa0', op: 'getVqState', phase: 'return', ret: { kind: 'split', availIndex: 3 } },
  {
    kind: 'op',
    dev: 'vdpa0',
    op: 'setVqState',
    phase: 'call',
    args: [0, { kind: 'packed', lastAvailCounter: 1, lastAvailIdx: 2, lastUsedCounter: 0, lastUsedIdx: 5 }],
  },
  {
    kind: 'op',
    dev: 'vdpa0',
    op: 'getVendorVqStats',
    phase: 'return',
    ret: [{ name: 'rx', value: '0x2a' }],
  },
  {
    kind: 'op',
    dev: 'vdpa0',
    op: 'setMap',
    phase: 'call',
    args: [0, [{ start: '0x0', last: '0xfff', addr: '0x0', perm: 3 }]],
  },
  { kind: 'op', dev: 'vdpa0', op: 'dmaMap', phase: 'call', args: [0, '0x0', '0xfff', '0x0', 3, null] },
  {
    kind: 'op',
    dev: 'vdpa0',
    op: 'dmaUnmap',
    phase: 'call',
    args: [1, '0xfffffffffffff000', '0x1000'],
  },
  {
    kind: 'op',
    dev: 'vdpa0',
    op: 'getIovaRange',
    phase: 'return',
    ret: { first: '0x0', last: '0xffffffffffffffff' },
  },
  { kind: 'op', dev: 'vdpa0', op: 'getVqNotification', phase: 'return', ret: { addr: 0, size: '0xffff' } },
  { kind: 'op', dev: 'vdpa0', op: 'bindMm', phase: 'call', args: [true] },
  { kind: 'op', dev: 'vdpa0', op: 'getVqDmaDev', phase: 'return', ret: 'dma0' },
  { kind: 'op', dev: 'vdpa0', op: 'getConfig', phase: 'call', args: [0, 70000] },
  { kind: 'op', dev: 'vdpa0', op: 'setConfig', phase: 'call', args: [0, '0a0b'] },
  { kind: 'op', dev: 'vdpa0', op: 'getConfig', phase: 'return', ret: 6 },
  { kind: 'op', dev: 'vdpa0', op: 'reset', phase: 'return', ret: { any: 'thing' } },
  { kind: 'op', dev: 'vdpa0', op: 'getStatus', phase: 'error', err: 'EIO', message: 'no' },
  { kind: 'mgmt', dev: null, op: 'dev_del', phase: 'error', args: {}, err: 'ENODEV', message: 'no' },
  { kind: 'bus', dev: 'vdpa0', op: 'unbind' },
  { kind: 'dp', dev: 'vdpa0', kicks: {}, cbs: { '12': 1 } },
].map((r) => ({ v: 1, seq: 7, ts: 7, ...r }));
const codecRecord: fc.Arbitrary<Unstamped> = fc.constantFrom(...CODEC_RECORDS);

describe('compiled validator (property): accepts exactly what the schema parser accepts', () => {
  it('accepts every valid record', () => {
    fc.assert(
      fc.property(fc.oneof(stampedRecord, codecRecord), (record) => {
        const parsed: unknown = JSON.parse(JSON.stringify(record));
        expect(isTraceRecord(parsed)).toBe(true);
        expect(schemaVerdict(parsed)).toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('gives the schema verdict on every single-value change of example records', () => {
    const values = [...EDGE_VALUES, ...NAME_VALUES];
    const cases: Mutation[] = [];
    for (const field of FIELD_NAMES) {
      cases.push({ kind: 'delete', field });
      for (const value of values) cases.push({ kind: 'set', field, value });
    }
    for (const field of ['args', 'ret', 'kicks', 'cbs']) {
      for (const value of values) {
        for (let index = 0; index < 3; index++) cases.push({ kind: 'setItem', field, index, value });
        for (const key of ['0', '3', '07', 'x', '__proto__'])
          cases.push({ kind: 'setKey', field, key, value });
      }
    }
    let accepted = 0;
    for (const record of [...RECORDS, ...CODEC_RECORDS]) {
      for (const m of cases) {
        if (m.kind === 'setItem' || m.kind === 'setKey') {
          const inner = (record as Record<string, unknown>)[m.field];
          if (typeof inner !== 'object' || inner === null || Array.isArray(inner) !== (m.kind === 'setItem'))
            continue;
        }
        const value = mutate(record, [m]);
        const fast = isTraceRecord(value);
        const verdict = schemaVerdict(value);
        if (fast !== (verdict === 'ok'))
          expect.fail(
            `${JSON.stringify(record)} with ${JSON.stringify(m)}: compiled ${fast}, schema ${verdict}`,
          );
        if (fast) accepted++;
      }
    }
    // Both verdicts occur: many changes keep a record valid.
    expect(accepted).toBeGreaterThan(0);
  }, 30_000);

  it('gives the schema verdict on random mutations of valid records', () => {
    fc.assert(
      fc.property(
        fc.oneof(stampedRecord, codecRecord, datapathRecord),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (record, mutations) => {
          const value = mutate(record, mutations);
          const fast = isTraceRecord(value);
          // The schema parser freezes what it accepts: ask the compiled validator first.
          expect(fast).toBe(schemaVerdict(value) === 'ok');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('parseTrace reports what the schema parser reports for a mutated line', () => {
    fc.assert(
      fc.property(
        fc.oneof(stampedRecord, codecRecord, datapathRecord),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (record, mutations) => {
          const line = JSON.stringify(mutate(record, mutations));
          const expected = schemaVerdict(JSON.parse(line));
          let actual = 'ok';
          try {
            parseTrace(`${JSON.stringify(HEADER)}\n${line}\n`, 'r.jsonl');
          } catch (err) {
            if (!(err instanceof TraceError)) throw err;
            expect(err.line).toBe(2);
            actual = err.message;
          }
          expect(actual).toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('rejects huge output buffer lengths and __proto__ vq keys on both paths', () => {
    const huge = {
      v: 1,
      seq: 1,
      ts: 1,
      dev: 'vdpa0',
      kind: 'op',
      op: 'getConfig',
      phase: 'call',
      args: [0, 2 ** 53 - 1],
    };
    expect(isTraceRecord(huge)).toBe(false);
    expect(schemaVerdict(huge)).toMatch(/^r\.jsonl line 2: bad field "args" of getConfig/);
    const proto = JSON.parse(
      '{"v":1,"seq":1,"ts":1,"kind":"dp","dev":"vdpa0","kicks":{"__proto__":1},"cbs":{}}',
    );
    expect(isTraceRecord(proto)).toBe(false);
    expect(schemaVerdict(proto)).toBe('r.jsonl line 2: bad key "__proto__" in field "kicks"');
  });

  it('rejects values that are not records', () => {
    for (const v of [null, 1, 'op', [], [{ kind: 'op' }], { kind: 'header' }, { kind: 'net' }])
      expect(isTraceRecord(v)).toBe(false);
  });
});

// ---- numbers JSON cannot carry exactly -----------------------------------------------------------

/** The end of every message about a number beyond 2^53-1. */
const HEX_HINT = '(64-bit values are written as "0x…" hex strings)';

/** A header line and one record line, with `record` given as JSON text (raw numbers kept as written). */
function rawTrace(record: string, stack = '{}'): string {
  // A replacer function: a replacement string would expand `$` patterns in the stack's text.
  const header = JSON.stringify({ ...HEADER, stack: {} }).replace('"stack":{}', () => `"stack":${stack}`);
  return `${header}\n${record}\n`;
}

/** A record line of op `op` returning `ret`, given as JSON text. */
function opReturn(op: string, ret: string, ts = '1'): string {
  return `{"v":1,"seq":1,"ts":${ts},"dev":"vdpa0","kind":"op","op":"${op}","phase":"return","ret":${ret}}`;
}

/** A record line of op `getVqNotification` returning `ret` (a `json` value: any JSON is valid there). */
function jsonReturn(ret: string, ts = '1'): string {
  return opReturn('getVqNotification', ret, ts);
}

describe('verify must not accept what JSON rounded: a number beyond 2^53-1 is refused where it is read', () => {
  const refused: [string, string, number, string][] = [
    [
      'a dmaMap iova of 2^53+1 (read as 2^53 by JSON.parse)',
      rawTrace(
        '{"v":1,"seq":1,"ts":1,"dev":"vdpa0","kind":"op","op":"dmaMap","phase":"call","args":[0,9007199254740993,4096,0,3]}',
      ),
      2,
      `bad field "args.1" 9007199254740993: not a safe integer, JSON reads it as 9007199254740992 ${HEX_HINT}`,
    ],
    [
      'a get_iova_range last of 2^64-1 written as a number',
      rawTrace(opReturn('getIovaRange', '{"first":0,"last":18446744073709551615}')),
      2,
      `bad field "ret.last" 18446744073709551615: not a safe integer, JSON reads it as 18446744073709551616 ${HEX_HINT}`,
    ],
    [
      'a negative one, -(2^53+1)',
      rawTrace(jsonReturn('[1,-9007199254740993]')),
      2,
      `bad field "ret.1" -9007199254740993: not a safe integer, JSON reads it as -9007199254740992 ${HEX_HINT}`,
    ],
    [
      '2^53 itself, which JSON reads exactly but cannot tell from 2^53+1',
      rawTrace(jsonReturn('9007199254740992')),
      2,
      `bad field "ret" 9007199254740992: not a safe integer ${HEX_HINT}`,
    ],
    [
      'a seq of 2^53+1 (named as written, not as zod would show it rounded)',
      rawTrace(
        '{"v":1,"seq":9007199254740993,"ts":1,"dev":"vdpa0","kind":"op","op":"reset","phase":"call","args":[]}',
      ),
      2,
      `bad field "seq" 9007199254740993: not a safe integer, JSON reads it as 9007199254740992 ${HEX_HINT}`,
    ],
    [
      'a ts with an exponent (1e300)',
      rawTrace(jsonReturn('null', '1e300')),
      2,
      `bad field "ts" 1e300: not a safe integer, JSON reads it as 1e+300 ${HEX_HINT}`,
    ],
    [
      'an exponent beyond a double (1e400, read as Infinity)',
      rawTrace(jsonReturn('{"a":{"b":[0,1E400]}}')),
      2,
      `bad field "ret.a.b.1" 1E400: not a safe integer, JSON reads it as Infinity ${HEX_HINT}`,
    ],
    [
      'a fraction whose integer part is beyond 2^53-1 (it has no fraction left)',
      rawTrace(jsonReturn('12345678901234567.5')),
      2,
      `bad field "ret" 12345678901234567.5: not a safe integer, JSON reads it as 12345678901234568 ${HEX_HINT}`,
    ],
    [
      'a dp count',
      rawTrace('{"v":1,"kind":"dp","seq":1,"ts":1,"dev":"vdpa0","kicks":{"0":9007199254740993},"cbs":{}}'),
      2,
      `bad field "kicks.0" 9007199254740993: not a safe integer, JSON reads it as 9007199254740992 ${HEX_HINT}`,
    ],
    [
      'a repeated key: the value JSON.parse kept is quoted',
      rawTrace(jsonReturn('{"last":99999999999999999,"last":88888888888888888}')),
      2,
      `bad field "ret.last" 88888888888888888: not a safe integer, JSON reads it as 88888888888888896 ${HEX_HINT}`,
    ],
    [
      'a key and strings holding the same digits before it',
      rawTrace(
        jsonReturn('{"9007199254740993":"9007199254740993","x\\"9007199254740993":[9007199254740993]}'),
      ),
      2,
      `bad field "ret.x"9007199254740993.0" 9007199254740993: not a safe integer, JSON reads it as 9007199254740992 ${HEX_HINT}`,
    ],
    [
      'the header (a free-form stack attribute)',
      rawTrace(jsonReturn('null'), '{"dev":{"iova":{"last":18446744073709551615}}}'),
      1,
      `header bad field "stack.dev.iova.last" 18446744073709551615: not a safe integer, JSON reads it as 18446744073709551616 ${HEX_HINT}`,
    ],
  ];

  it.each(refused)('%s', (_name, trace, line, detail) => {
    const err = traceErrorOf(() => parseTrace(trace, 'rounded.jsonl'));
    expect(err).toBeInstanceOf(VdpaError);
    expect(err.code).toBe('EINVAL');
    expect(err.line).toBe(line);
    expect(err.message).toBe(`rounded.jsonl line ${line}: ${detail}`);
  });

  it('an unknown kind or op is named before a number in the same record', () => {
    const kind = rawTrace('{"v":1,"seq":1,"ts":1e300,"dev":"vdpa0","kind":"net"}');
    expect(traceErrorOf(() => parseTrace(kind)).message).toBe('trace line 2: unknown record kind "net"');
    const version = rawTrace('{"v":2,"seq":1,"ts":1e300,"dev":"vdpa0","kind":"op"}');
    expect(traceErrorOf(() => parseTrace(version)).message).toMatch(/unsupported trace version 2/);
  });

  it('accepts every number within ±(2^53-1), -0, small exponents and digits inside strings', () => {
    const ret =
      '[9007199254740991,-9007199254740991,-0,0,1e15,1.5e-300,1e-400,0.5,-2.25E+2,' +
      '"9007199254740993","1e400","\\"18446744073709551615\\"","0x1e400"]';
    const trace = parseTrace(rawTrace(jsonReturn(ret, '1.5e12'), '{"digits":"99999999999999999999"}'));
    const record = trace.records[0] as { readonly ret: readonly unknown[]; readonly ts: number };
    expect(record.ts).toBe(1.5e12);
    expect(record.ret).toEqual(JSON.parse(ret));
    expect(Object.is(record.ret[2], -0)).toBe(true);
  });

  it('parseTraceRecord and isTraceRecord refuse a parsed value holding one', () => {
    const value = {
      v: 1,
      seq: 1,
      ts: 1,
      dev: 'vdpa0',
      kind: 'op',
      op: 'getVqNotification',
      phase: 'return',
      ret: { last: 2 ** 60 },
    };
    expect(isTraceRecord(value)).toBe(false);
    expect(() => parseTraceRecord(value, 'r.jsonl', 4)).toThrow(
      `r.jsonl line 4: bad field "ret.last" 1152921504606846976: not a safe integer ${HEX_HINT}`,
    );
    expect(isTraceRecord({ ...value, ret: { last: 2 ** 53 - 1 } })).toBe(true);
  });
});

// include/linux/vdpa.h: struct vdpa_iova_range { u64 first; u64 last; }; vdpa_sim.c:
// vdpasim_get_iova_range() answers last = ULLONG_MAX, which a trace recorded on Linux holds.
describe('get_iova_range and dma_map records hold exact u64s as hex strings', () => {
  it('reads get_iova_range [0, ULLONG_MAX] and a dma_map above 2^53', () => {
    const trace = parseTrace(
      rawTrace(opReturn('getIovaRange', '{"first":"0x0","last":"0xffffffffffffffff"}')) +
        '{"v":1,"seq":2,"ts":2,"dev":"vdpa0","kind":"op","op":"dmaMap","phase":"call",' +
        '"args":[0,"0xfffffffffffff000","0x1000","0x8000",3]}\n',
      'iova.jsonl',
    );
    expect(trace.records.map((r) => (r.kind === 'op' ? (r.ret ?? r.args) : undefined))).toEqual([
      { first: '0x0', last: '0xffffffffffffffff' },
      [0, '0xfffffffffffff000', '0x1000', '0x8000', 3],
    ]);
  });

  it.each([
    [
      'a last beyond 2^64-1',
      '{"first":"0x0","last":"0x1ffffffffffffffff"}',
      'bad field "ret" of getIovaRange: trace value "0x1ffffffffffffffff" is not a u64 hex string',
    ],
    [
      'a number instead of a hex string',
      '{"first":0,"last":"0xffffffffffffffff"}',
      'bad field "ret" of getIovaRange: trace value 0 is not a u64 hex string',
    ],
    [
      'a third field',
      '{"first":"0x0","last":"0xffff","size":"0x10000"}',
      'bad field "ret" of getIovaRange: trace value {"first":"0x0","last":"0xffff","size":"0x10000"} is not a vdpa_iova_range',
    ],
  ])('refuses %s, naming the line', (_what, ret, detail) => {
    const err = traceErrorOf(() => parseTrace(rawTrace(opReturn('getIovaRange', ret)), 'iova.jsonl'));
    expect(err).toBeInstanceOf(VdpaError);
    expect(err.code).toBe('EINVAL');
    expect(err.line).toBe(2);
    expect(err.message).toBe(`iova.jsonl line 2: ${detail}`);
  });

  it('refuses a dma_map iova written as a number', () => {
    const err = traceErrorOf(() =>
      parseTrace(
        rawTrace(
          '{"v":1,"seq":1,"ts":1,"dev":"vdpa0","kind":"op","op":"dmaMap","phase":"call","args":[0,4096,"0x1000","0x0",3]}',
        ),
        'iova.jsonl',
      ),
    );
    expect(err.line).toBe(2);
    expect(err.message).toBe(
      'iova.jsonl line 2: bad field "args" of dmaMap: trace value 4096 is not a u64 hex string',
    );
  });
});

// ---- property: JSON texts with big digit strings inside and outside strings ----------------------

describe('numbers beyond 2^53-1 (property)', () => {
  it('a record is refused exactly when a number token outside strings reads beyond 2^53-1, and the message quotes it where it sits', () => {
    fc.assert(
      fc.property(rawJson, fc.constantFrom('ret', 'opaque', 'stack'), (raw, where) => {
        const trace =
          where === 'ret'
            ? rawTrace(jsonReturn(raw.text))
            : where === 'opaque'
              ? rawTrace(
                  `{"v":1,"seq":1,"ts":1,"dev":"vdpa0","kind":"op","op":"dmaMap","phase":"call","args":[0,"0x0","0x1000","0x0",3,${raw.text}]}`,
                )
              : rawTrace(jsonReturn('null'), `{"x":${raw.text}}`);
        const prefix = where === 'ret' ? ['ret'] : where === 'opaque' ? ['args', '5'] : ['stack', 'x'];
        const unsafe = raw.numbers.filter((n) => beyondSafe(n.token));
        let err: TraceError | undefined;
        try {
          const parsed = parseTrace(trace, 't.jsonl');
          const value = JSON.parse(raw.text) as unknown;
          if (where === 'stack') expect(parsed.header.stack).toEqual({ x: value });
          else expect(parsed.records[0]).toEqual(JSON.parse(trace.split('\n')[1]));
        } catch (e) {
          if (!(e instanceof TraceError)) throw e;
          err = e;
        }
        expect(err === undefined).toBe(unsafe.length === 0);
        if (err === undefined) return;
        expect(err.code).toBe('EINVAL');
        expect(err.line).toBe(where === 'stack' ? 1 : 2);
        const said = unsafe.map((n) => {
          const field = [...prefix, ...n.path].join('.');
          const read = exactDigits(Number(n.token));
          const value =
            read === n.token ? n.token : `${n.token}: not a safe integer, JSON reads it as ${read}`;
          const detail = read === n.token ? `${value}: not a safe integer` : value;
          return `t.jsonl line ${err?.line ?? 0}: ${where === 'stack' ? 'header ' : ''}bad field "${field}" ${detail} ${HEX_HINT}`;
        });
        expect(said).toContain(err.message);
      }),
      { numRuns: 2000 },
    );
  });

  it('what the writer writes, the reader reads: serializeRecord refuses exactly the numbers parseTrace would', () => {
    const anyNumber = fc.oneof(
      fc.double(),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
      fc.constantFrom(2 ** 53 - 1, 2 ** 53, -(2 ** 53), 2 ** 60, -0, Infinity, NaN),
    );
    fc.assert(
      fc.property(fc.array(anyNumber, { maxLength: 4 }), anyNumber, (ret, ts) => {
        const record = {
          v: 1,
          seq: 1,
          ts,
          dev: 'vdpa0',
          kind: 'op',
          op: 'getVqNotification',
          phase: 'return',
          ret,
        } as unknown as TraceRecord;
        const exact = [ts, ...ret].every((n) => Math.abs(n) <= Number.MAX_SAFE_INTEGER);
        let line: string | undefined;
        try {
          line = serializeRecord(record);
        } catch (e) {
          if (!(e instanceof TraceError)) throw e;
          expect(e.message).toMatch(/^trace record seq 1 cannot be written: bad field "(ts|ret\.\d)" /);
        }
        expect(line !== undefined).toBe(exact);
        // JSON.stringify itself writes -0 as 0.
        if (line !== undefined)
          expect(parseTrace(`${JSON.stringify(HEADER)}\n${line}\n`).records[0]).toEqual(JSON.parse(line));
      }),
      { numRuns: 1000 },
    );
  });
});
