import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
} from '@vdpa-kit/virtio-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LogicalClock,
  type OpName,
  type VdpaConfigOps,
  type DeviceHandle,
  VdpaError,
  type VdpaErrno,
  encodeResult,
  toHex,
  type JsonValue,
  type OpEvent,
  VdpaBus,
} from '@vdpa-kit/core-bus';
import {
  FakeDevice,
  type FakeDeviceOptions,
  FakeMgmtDevice,
  FakeTransport,
} from '@vdpa-kit/core-bus/testing';
import { recordSession } from './testing/record-session.js';
import { sameJson } from './device-script.js';
import { createTraceHeader, type DatapathMode, type Trace, type TraceRecord } from './trace-format.js';
import { TraceError } from './trace-error.js';
import { parseTrace } from './trace-reader.js';
import { serializeRecord } from './trace-writer.js';
import { formatDivergence, verifyTrace } from './verify-trace.js';

const NVQS = 3;
const RING_NUM = 256;
const RING_STRIDE = 0x10000;
const DRIVER_AREA_OFFSET = 0x1000;
const DEVICE_AREA_OFFSET = 0x2000;
const CONFIG_READ_LEN = 8;
const TX_VQ = 1;
const TX_KICKS = 5;
const MTU = 1500;
const STAT_VALUE = 42n;

/** What the test transport does on the device: a virtio_vdpa-like bring-up, traffic, stats. */
interface Script {
  readonly kicks?: number;
  readonly stats?: boolean;
  readonly statusAfterKicks?: boolean;
}

function bringUp(h: DeviceHandle, script: Script): void {
  h.getDeviceId();
  h.getVendorId();
  h.reset();
  h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  h.getConfig(0, new Uint8Array(CONFIG_READ_LEN));
  h.setDriverFeatures(h.getDeviceFeatures());
  h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
  h.getStatus();
  for (let i = 0; i < h.nvqs; i++) {
    h.getVqReady(i);
    h.getVqNumMax();
    h.setVqCb(i, () => undefined);
    h.setVqNum(i, RING_NUM);
    const desc = RING_STRIDE * (i + 1);
    h.setVqAddress(i, desc, desc + DRIVER_AREA_OFFSET, desc + DEVICE_AREA_OFFSET);
    h.setVqReady(i, true);
  }
  h.setConfigCb(() => undefined);
  h.setStatus(
    VIRTIO_CONFIG_S_ACKNOWLEDGE |
      VIRTIO_CONFIG_S_DRIVER |
      VIRTIO_CONFIG_S_FEATURES_OK |
      VIRTIO_CONFIG_S_DRIVER_OK,
  );
  for (let k = 0; k < (script.kicks ?? 0); k++) h.kickVq(TX_VQ);
  if (script.stats === true) h.getVendorVqStats(TX_VQ);
  if (script.statusAfterKicks === true) h.getStatus();
}

interface Recorded {
  readonly trace: Trace;
  readonly mgmt: FakeMgmtDevice;
}

/**
 * Records, on a fake mgmtdev: dev add of `vdpa0` (then `tweak` of the fake device), registration of
 * a transport doing the bring-up in its probe, and dev del.
 */
async function record(
  script: Script = {},
  options: {
    datapath?: DatapathMode;
    device?: FakeDeviceOptions;
    mtu?: number;
    tweak?: (d: FakeDevice) => void;
  } = {},
): Promise<Recorded> {
  const bus = new VdpaBus(new LogicalClock());
  const mgmt = new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS, device: options.device });
  bus.registerMgmtDevice(mgmt);
  const t = new FakeTransport('virtio_vdpa', ['virtio'], {
    onProbe: (h) => bringUp(h, script),
    onRemove: (h) => h.reset(),
  });
  const trace = await recordSession(
    bus,
    () => {
      bus.devAdd('fake_mgmt', 'vdpa0', options.mtu === undefined ? {} : { net: { mtu: options.mtu } });
      const fake = mgmt.devices.get('vdpa0');
      if (fake !== undefined) options.tweak?.(fake);
      bus.registerDriver(t);
      bus.devDel('vdpa0');
    },
    { datapath: options.datapath ?? 'coalesced' },
  );
  return { trace, mgmt };
}

function opCall(trace: Trace, op: string, nth = 0): OpEvent {
  const calls = trace.records.filter(
    (r): r is OpEvent => r.kind === 'op' && r.op === op && r.phase === 'call' && r.origin === undefined,
  );
  const e = calls[nth];
  if (e === undefined) throw new Error(`no call ${nth} of ${op}`);
  return e;
}

/** A factory that keeps what it created. */
function factory(options: FakeDeviceOptions = {}, make = (o: FakeDeviceOptions) => new FakeDevice(o)) {
  const made: FakeDevice[] = [];
  return {
    made,
    create: () => {
      const d = make({ nvqs: NVQS, ...options });
      made.push(d);
      return d;
    },
  };
}

/** A device whose status gets NEEDS_RESET once it is kicked (a device that found a bad ring). */
class FragileDevice extends FakeDevice {
  override kickVq(idx: number): void {
    super.kickVq(idx);
    this.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
  }
}

/** A device that uses buffers at once: every kick fires the vq's callback. */
class EchoDevice extends FakeDevice {
  override kickVq(idx: number): void {
    super.kickVq(idx);
    this.triggerVq(idx);
  }
}

describe('verifyTrace against a device factory', () => {
  it('replays a recorded session on the same kind of device without divergence', async () => {
    const { trace } = await record({ kicks: TX_KICKS });
    const f = factory();
    const report = verifyTrace(trace, { factory: f.create });
    expect(report.ok).toBe(true);
    expect(report.divergence).toBeUndefined();
    expect(report.dev).toBe('vdpa0');
    expect(report.compared).toBeGreaterThan(0);
    expect(report.compared).toBe(report.replayed);
    expect(f.made).toHaveLength(1);
    // The bring-up as the device saw it, in the recorded order.
    expect(f.made[0].callNames().slice(0, 4)).toEqual(['getDeviceId', 'getVendorId', 'reset', 'setStatus']);
    expect(f.made[0].status).toBe(0);
    expect(f.made[0].freed).toBe(true);
  });

  it('reports the first differing result with its seq, op, expected and actual', async () => {
    const { trace } = await record();
    const report = verifyTrace(trace, { factory: factory({ vqNumMax: 128 }).create });
    const first = opCall(trace, 'getVqNumMax');
    expect(report.ok).toBe(false);
    expect(report.divergence).toEqual({
      seq: first.seq,
      op: 'getVqNumMax',
      args: [],
      expected: { ret: RING_NUM },
      actual: { ret: 128 },
    });
    expect(formatDivergence(report.divergence!)).toBe(
      `divergence at seq ${first.seq}: getVqNumMax(): expected ${RING_NUM}, got 128`,
    );
  });

  it('reports a device that fails where the trace returned', async () => {
    const { trace } = await record();
    const f = factory({}, (o) => {
      const d = new FakeDevice(o);
      d.failOp('setVqReady', 'EIO');
      return d;
    });
    const report = verifyTrace(trace, { factory: f.create });
    const first = opCall(trace, 'setVqReady');
    expect(report.divergence?.seq).toBe(first.seq);
    expect(report.divergence?.op).toBe('setVqReady');
    expect(report.divergence?.args).toEqual([0, true]);
    expect(report.divergence?.expected).toEqual({});
    expect(report.divergence?.actual.err).toBe('EIO');
    expect(formatDivergence(report.divergence!)).toBe(
      `divergence at seq ${first.seq}: setVqReady(0, true): expected ok, got !EIO`,
    );
    // Nothing after the divergence was replayed, and the device was still released.
    expect(f.made[0].callNames().filter((n) => n === 'setVqReady')).toHaveLength(1);
    expect(f.made[0].freed).toBe(true);
  });

  it('reports a device that returns where the trace failed', async () => {
    const { trace } = await record({}, { tweak: (d) => d.failOp('setVqNum', 'EINVAL', 1) });
    const report = verifyTrace(trace, { factory: factory().create });
    const first = opCall(trace, 'setVqNum');
    expect(report.divergence).toEqual({
      seq: first.seq,
      op: 'setVqNum',
      args: [0, RING_NUM],
      expected: { err: 'EINVAL', message: 'fake device: injected EINVAL on setVqNum' },
      actual: {},
    });
    // ... and accepts the same failure from the live device, whatever its message.
    const failing = factory({}, (o) => {
      const d = new FakeDevice(o);
      d.failOp('setVqNum', 'EINVAL', 1, 'another wording');
      return d;
    });
    expect(verifyTrace(trace, { factory: failing.create }).ok).toBe(true);
  });

  it('compares datapath-dependent results only when strict', async () => {
    const { trace } = await record(
      { stats: true },
      { tweak: (d) => (d.vqs[TX_VQ].stats = [{ name: 'received_desc', value: STAT_VALUE }]) },
    );
    const lax = verifyTrace(trace, { factory: factory().create });
    expect(lax.ok).toBe(true);
    expect(lax.skipped).toBe(1);
    expect(lax.replayed).toBe(lax.compared + lax.skipped);

    const strict = verifyTrace(trace, { factory: factory().create }, { strict: true });
    const stats = opCall(trace, 'getVendorVqStats');
    expect(strict.skipped).toBe(0);
    expect(strict.divergence?.seq).toBe(stats.seq);
    expect(strict.divergence?.expected).toEqual({ ret: [{ name: 'received_desc', value: '0x2a' }] });
    expect(strict.divergence?.actual).toEqual({ ret: [] });
  });

  it('treats getStatus as datapath-dependent only after a kick', async () => {
    const { trace } = await record({ kicks: 1, statusAfterKicks: true });
    const fragile = factory({}, (o) => new FragileDevice(o));
    const lax = verifyTrace(trace, { factory: fragile.create });
    expect(lax.ok).toBe(true);
    expect(lax.skipped).toBe(1);
    const strict = verifyTrace(
      trace,
      { factory: factory({}, (o) => new FragileDevice(o)).create },
      { strict: true },
    );
    expect(strict.divergence?.op).toBe('getStatus');
    expect(strict.divergence?.seq).toBe(opCall(trace, 'getStatus', 1).seq);
  });

  it('replays coalesced kicks as that many kickVq calls', async () => {
    const { trace } = await record({ kicks: TX_KICKS });
    const dp = trace.records.filter((r) => r.kind === 'dp');
    expect(dp).toHaveLength(1);
    expect(trace.records.some((r) => r.kind === 'op' && r.op === 'kickVq')).toBe(false);
    const f = factory();
    const report = verifyTrace(trace, { factory: f.create });
    expect(report.ok).toBe(true);
    expect(f.made[0].callNames().filter((n) => n === 'kickVq')).toHaveLength(TX_KICKS);
  });

  it('replays the kicks of a full trace as recorded and counts the callbacks of the stubs', async () => {
    const { trace } = await record({ kicks: TX_KICKS }, { datapath: 'full' });
    expect(
      trace.records.filter((r) => r.kind === 'op' && r.op === 'kickVq' && r.phase === 'call'),
    ).toHaveLength(TX_KICKS);
    const f = factory({}, (o) => new EchoDevice(o));
    const report = verifyTrace(trace, { factory: f.create });
    expect(report.ok).toBe(true);
    expect(f.made[0].callNames().filter((n) => n === 'kickVq')).toHaveLength(TX_KICKS);
    expect(report.callbacks).toEqual({ vq: { [String(TX_VQ)]: TX_KICKS }, config: 0 });
  });

  it('throws a TraceError naming the seq of an undecodable record', async () => {
    const { trace } = await record();
    const bad = opCall(trace, 'setVqNum');
    const records: TraceRecord[] = trace.records.map((r) => (r === bad ? { ...bad, args: [0, 'many'] } : r));
    const f = factory();
    expect(() => verifyTrace({ header: trace.header, records }, { factory: f.create })).toThrow(TraceError);
    expect(() => verifyTrace({ header: trace.header, records }, { factory: f.create })).toThrow(
      `trace seq ${bad.seq}: arguments of setVqNum`,
    );
    expect(f.made.every((d) => d.freed)).toBe(true);
  });

  it('throws a TraceError for a trace without the named device', async () => {
    const { trace } = await record();
    expect(() => verifyTrace(trace, { factory: factory().create }, { dev: 'vdpa9' })).toThrow(
      'trace has no record of device vdpa9',
    );
  });
});

/** A bus with a fake mgmtdev and a live transport: the target of a bus verify. */
function liveBus(device: FakeDeviceOptions = {}, mgmtOptions: { configAttrMask?: bigint } = {}) {
  const bus = new VdpaBus(new LogicalClock());
  const mgmt = new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS, device, ...mgmtOptions });
  bus.registerMgmtDevice(mgmt);
  const live = new FakeTransport('virtio_vdpa', ['virtio', 'vhost']);
  bus.registerDriver(live);
  return { bus, mgmt, live };
}

function busState(bus: VdpaBus) {
  return {
    devices: bus.devices().map((d) => d.name),
    drivers: bus.drivers().map((d) => d.name),
    mgmtdevs: bus.mgmtdevs().map((m) => m.name),
  };
}

describe('verify must not accept what JSON rounded', () => {
  it('a trace whose setVqAddress says 2^53+1 is refused when read, not replayed with 2^53', async () => {
    const { trace } = await record();
    const call = opCall(trace, 'setVqAddress');
    const lines = [trace.header, ...trace.records].map((r) => serializeRecord(r));
    // The trace as recorded verifies.
    const original = parseTrace(lines.join('\n') + '\n', 'recorded.jsonl');
    expect(verifyTrace(original, { factory: factory().create }).ok).toBe(true);
    const at = trace.records.indexOf(call) + 1;
    // What a trace recorded elsewhere holds for a descriptor area at 2^53+1 (JSON.parse reads 2^53).
    lines[at] = lines[at].replace(`"args":[0,${RING_STRIDE},`, '"args":[0,9007199254740993,');
    expect(lines[at]).toContain('9007199254740993');
    const text = lines.join('\n') + '\n';
    const f = factory();
    let err: unknown;
    try {
      verifyTrace(parseTrace(text, 'rounded.jsonl'), { factory: f.create });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).code).toBe('EINVAL');
    expect((err as TraceError).line).toBe(at + 1);
    expect((err as TraceError).message).toBe(
      `rounded.jsonl line ${at + 1}: bad field "args.1" 9007199254740993: not a safe integer, ` +
        'JSON reads it as 9007199254740992 (64-bit values are written as "0x…" hex strings)',
    );
    // No device was created: nothing was replayed with the rounded value.
    expect(f.made).toHaveLength(0);
  });
});

// include/linux/vdpa.h: get_iova_range returns struct vdpa_iova_range { u64 first; u64 last; } and
// dma_map / dma_unmap take u64s; vdpa_sim.c: vdpasim_get_iova_range() answers last = ULLONG_MAX.
describe('64-bit IOVA values survive record, write, read and verify exactly', () => {
  const U64_MAX = (1n << 64n) - 1n;
  const HIGH_IOVA = 0xffff_ffff_ffff_f000n;
  const PAGE = 0x1000n;

  async function recordIova(): Promise<Trace> {
    const bus = new VdpaBus(new LogicalClock());
    const mgmt = new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS });
    bus.registerMgmtDevice(mgmt);
    const t = new FakeTransport('vhost_vdpa', ['vhost'], {
      onProbe: (h) => {
        expect(h.getIovaRange()).toEqual({ first: 0n, last: U64_MAX });
        h.dmaMap(0, HIGH_IOVA, PAGE, (1n << 53n) + 1n, 3);
        h.dmaUnmap(0, HIGH_IOVA, PAGE);
      },
    });
    return recordSession(bus, () => {
      bus.devAdd('fake_mgmt', 'vdpa0');
      bus.registerDriver(t);
      bus.devDel('vdpa0');
    });
  }

  it('get_iova_range last = 2^64-1 and a dma_map at 0xfffffffffffff000 are written as hex and verify', async () => {
    const trace = await recordIova();
    const text = [trace.header, ...trace.records].map((r) => serializeRecord(r)).join('\n') + '\n';
    expect(text).toContain(
      '"op":"getIovaRange","phase":"return","ret":{"first":"0x0","last":"0xffffffffffffffff"}',
    );
    expect(text).toContain(
      '"op":"dmaMap","phase":"call","args":[0,"0xfffffffffffff000","0x1000","0x20000000000001",3]',
    );
    expect(text).toContain('"op":"dmaUnmap","phase":"call","args":[0,"0xfffffffffffff000","0x1000"]');
    const read = parseTrace(text, 'iova.jsonl');
    const report = verifyTrace(read, { factory: factory().create });
    expect(report.divergence).toBeUndefined();
    expect(report.ok).toBe(true);
  });

  it('a device answering 2^53-1 diverges at get_iova_range', async () => {
    const trace = await recordIova();
    const text = [trace.header, ...trace.records].map((r) => serializeRecord(r)).join('\n') + '\n';
    const f = factory({}, (o) => {
      const d = new FakeDevice(o);
      d.getIovaRange = () => ({ first: 0n, last: BigInt(Number.MAX_SAFE_INTEGER) });
      return d;
    });
    const report = verifyTrace(parseTrace(text, 'iova.jsonl'), { factory: f.create });
    expect(report.ok).toBe(false);
    expect(report.divergence?.op).toBe('getIovaRange');
    expect(report.divergence?.expected).toEqual({ ret: { first: '0x0', last: '0xffffffffffffffff' } });
    expect(report.divergence?.actual).toEqual({ ret: { first: '0x0', last: '0x1fffffffffffff' } });
  });
});

describe('verifyTrace against a management device on a bus', () => {
  it('creates the device with the recorded attributes, replays it away from the live transports, and deletes it', async () => {
    const { trace } = await record({ kicks: TX_KICKS }, { mtu: MTU });
    const { bus, mgmt, live } = liveBus();
    const before = busState(bus);
    const seen: TraceRecord[] = [];
    const sub = bus.events$.subscribe((e) => seen.push(e));
    const report = verifyTrace(trace, { bus, mgmtdev: 'fake_mgmt' });
    sub.unsubscribe();
    expect(report.ok).toBe(true);
    expect(report.compared).toBeGreaterThan(0);
    expect(busState(bus)).toEqual(before);
    expect(live.log).toEqual([]);
    expect(mgmt.devices.size).toBe(0);
    // The replay went through the bus: its op events were emitted, the dev add carried the MTU.
    const add = seen.find((e) => e.kind === 'mgmt' && e.op === 'dev_add');
    expect(add?.kind === 'mgmt' ? add.args.mtu : undefined).toBe(MTU);
    expect(seen.filter((e) => e.kind === 'op' && e.op === 'kickVq' && e.phase === 'call')).toHaveLength(
      TX_KICKS,
    );
    // The recorded implicit setDriverFeatures(0) was replayed once; the handle's wrapper added none.
    const features = (records: readonly TraceRecord[]) =>
      records.flatMap((e) =>
        e.kind === 'op' && e.op === 'setDriverFeatures' && e.phase === 'call' ? [e.args] : [],
      );
    expect(features(seen)).toEqual(features(trace.records));
    expect(features(seen)).toHaveLength(2);
  });

  it('reports a divergence of the live device and still deletes it', async () => {
    const { trace } = await record();
    const { bus } = liveBus({ vqNumMax: 128 });
    const before = busState(bus);
    const report = verifyTrace(trace, { bus, mgmtdev: 'fake_mgmt' });
    expect(report.divergence?.op).toBe('getVqNumMax');
    expect(report.divergence?.seq).toBe(opCall(trace, 'getVqNumMax').seq);
    expect(busState(bus)).toEqual(before);
  });

  it('leaves no device and no driver behind when the replay throws midway', async () => {
    const { trace } = await record();
    const bad = opCall(trace, 'setVqAddress', 1);
    const records = trace.records.map((r) => (r === bad ? { ...bad, args: ['x'] } : r));
    const { bus, mgmt } = liveBus();
    const before = busState(bus);
    expect(() => verifyTrace({ header: trace.header, records }, { bus, mgmtdev: 'fake_mgmt' })).toThrow(
      TraceError,
    );
    expect(busState(bus)).toEqual(before);
    expect(mgmt.devices.size).toBe(0);
  });

  it('reports a device the mgmtdev refuses to create as a divergence at dev_add', async () => {
    const { trace } = await record({}, { mtu: MTU });
    const { bus } = liveBus({}, { configAttrMask: 0n });
    const before = busState(bus);
    const report = verifyTrace(trace, { bus, mgmtdev: 'fake_mgmt' });
    const add = trace.records.find((r) => r.kind === 'mgmt' && r.op === 'dev_add');
    expect(report.divergence?.op).toBe('dev_add');
    expect(report.divergence?.seq).toBe(add?.seq);
    expect(report.divergence?.actual.err).toBe('EOPNOTSUPP');
    expect(report.replayed).toBe(0);
    expect(busState(bus)).toEqual(before);
  });

  it('uses a devAdd override instead of the recorded attributes', async () => {
    const { trace } = await record({}, { mtu: MTU });
    const { bus } = liveBus({}, { configAttrMask: 0n });
    expect(verifyTrace(trace, { bus, mgmtdev: 'fake_mgmt', devAdd: {} }).ok).toBe(true);
  });

  it('refuses an unknown mgmtdev or a device name already in use, creating nothing', async () => {
    const { trace } = await record();
    const { bus } = liveBus();
    expect(() => verifyTrace(trace, { bus, mgmtdev: 'nope' })).toThrow('management device nope not found');
    bus.devAdd('fake_mgmt', 'vdpa0');
    const before = busState(bus);
    expect(() => verifyTrace(trace, { bus, mgmtdev: 'fake_mgmt' })).toThrow('device vdpa0 already exists');
    expect(busState(bus)).toEqual(before);
    expect(verifyTrace(trace, { bus, mgmtdev: 'fake_mgmt', name: 'vdpa7' }).ok).toBe(true);
    expect(busState(bus)).toEqual(before);
  });
});

// ---- property: results compared in place agree with their encodings -----------------------------

/** A one-call trace of `op`: the call, then its recorded return or error. */
function oneCall(op: string, args: readonly JsonValue[], outcome: Partial<OpEvent>): Trace {
  const call = { v: 1, seq: 1, ts: 1, dev: 'vdpa0', kind: 'op', op, phase: 'call', args };
  const end = { v: 1, seq: 2, ts: 2, dev: 'vdpa0', kind: 'op', op, phase: 'return', ...outcome };
  return { header: createTraceHeader({ createdAt: new Date(0) }), records: [call, end] as TraceRecord[] };
}

/** A device with one op, answering `answer` (or filling the output buffer of `getConfig` with it). */
function answering(op: string, answer: unknown, error?: VdpaError): () => VdpaConfigOps {
  return () =>
    ({
      [op]: (...args: unknown[]) => {
        if (error !== undefined) throw error;
        if (op === 'getConfig') (args[1] as Uint8Array).set(answer as Uint8Array);
        else return answer;
        return undefined;
      },
    }) as unknown as VdpaConfigOps;
}

const CONFIG_LEN = 4;
const jsonAnswer: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: 0, max: 3 }),
  fc.double(),
  fc.constantFrom('0x2a', '0x2A', '0x0', '2a', '0a0b0c0d', '0A0B0C0D', ''),
  fc.constant([]),
  fc.constant({}),
);
/** An op of each result kind with a device answer (sometimes of the wrong type) and a recorded result. */
const resultCase = fc.oneof(
  fc.record({
    op: fc.constant('getStatus'),
    args: fc.constant<JsonValue[]>([]),
    answer: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom<unknown>(NaN, Infinity, -0, '1', 1n)),
    recorded: jsonAnswer,
  }),
  fc.record({
    op: fc.constant('getVqReady'),
    args: fc.constant<JsonValue[]>([0]),
    answer: fc.constantFrom<unknown>(true, false, 0, 'true'),
    recorded: jsonAnswer,
  }),
  fc.record({
    op: fc.constant('getDeviceFeatures'),
    args: fc.constant<JsonValue[]>([]),
    answer: fc.oneof(fc.bigInt({ min: 0n, max: 64n }), fc.constantFrom<unknown>(42, '0x2a', -42n)),
    recorded: fc.oneof(
      jsonAnswer,
      fc.bigInt({ min: 0n, max: 64n }).map((b) => `0x${b.toString(16)}`),
    ),
  }),
  fc.record({
    op: fc.constant('getVqDmaDev'),
    args: fc.constant<JsonValue[]>([0]),
    answer: fc.constantFrom<unknown>('dma0', 'dma1', 0),
    recorded: fc.oneof(jsonAnswer, fc.constantFrom('dma0', 'dma1')),
  }),
  fc.record({
    op: fc.constant('getConfig'),
    args: fc.constant<JsonValue[]>([0, CONFIG_LEN]),
    answer: fc.uint8Array({ minLength: CONFIG_LEN, maxLength: CONFIG_LEN, max: 0x0d }),
    recorded: fc.oneof(
      jsonAnswer,
      fc.uint8Array({ minLength: CONFIG_LEN, maxLength: CONFIG_LEN, max: 0x0d }).map((b) => toHex(b)),
    ),
  }),
  fc.record({
    op: fc.constant('setStatus'),
    args: fc.constant<JsonValue[]>([1]),
    answer: fc.constantFrom<unknown>(undefined, 1),
    recorded: fc.option(jsonAnswer, { nil: undefined }),
  }),
);

describe('verifyTrace compares results as their encodings (property)', () => {
  it('a result matches exactly when its encoding equals the recorded one', () => {
    fc.assert(
      fc.property(resultCase, ({ op, args, answer, recorded }) => {
        const trace = oneCall(op, args, recorded === undefined ? {} : { ret: recorded });
        const report = verifyTrace(trace, { factory: answering(op, answer) });
        const liveArgs: unknown[] = op === 'getConfig' ? [0, answer] : [...args];
        const encoded = encodeResult(op as OpName, answer, liveArgs);
        expect(report.compared).toBe(1);
        expect(report.ok).toBe(sameJson(recorded, encoded));
        if (!report.ok) {
          expect(report.divergence?.expected).toEqual(recorded === undefined ? {} : { ret: recorded });
          expect(report.divergence?.actual).toEqual(encoded === undefined ? {} : { ret: encoded });
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('an error matches exactly when the errno is the recorded one', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<VdpaErrno>('EIO', 'EINVAL', 'ENODEV'),
        fc.option(fc.constantFrom<VdpaErrno>('EIO', 'EINVAL'), { nil: undefined }),
        (recorded, thrown) => {
          const trace = oneCall('getStatus', [], { phase: 'error', err: recorded, message: 'x' });
          const error = thrown === undefined ? undefined : new VdpaError(thrown, 'live failure');
          const report = verifyTrace(trace, { factory: answering('getStatus', 0, error) });
          expect(report.ok).toBe(thrown === recorded);
          if (!report.ok)
            expect(report.divergence?.actual).toEqual(
              thrown === undefined ? { ret: 0 } : { err: thrown, message: 'live failure' },
            );
        },
      ),
    );
  });
});
