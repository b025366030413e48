import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_ID_NET,
} from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { LogicalClock, type DeviceHandle, VdpaError, type OpEvent, VdpaBus } from '@vdpa-kit/core-bus';
import {
  collectEvents,
  FakeDevice,
  type FakeDeviceOptions,
  FakeMgmtDevice,
  FakeTransport,
} from '@vdpa-kit/core-bus/testing';
import { recordSession } from './testing/record-session.js';
import { ReplayDevice } from './replay-device.js';
import { replayMgmtDevice } from './replay-mgmt-device.js';
import type { DatapathMode, Trace, TraceRecord } from './trace-format.js';
import { TraceError } from './trace-error.js';
import { thrown } from '../test/thrown.js';

const NVQS = 3;
const RING_NUM = 256;
const OTHER_RING_NUM = 128;
const RING_STRIDE = 0x10000;
const CONFIG_READ_LEN = 8;
const TX_VQ = 1;
const TX_KICKS = 3;
const MAC = new Uint8Array([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
const STATUS_FEATURES_OK = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;

/** What the device does on its own in the recording (the replay device does it from the trace). */
interface DeviceSide {
  afterKicks(): void;
  afterDriverOk(): void;
}

/**
 * A transport under test: a bring-up, some TX kicks, a config re-read; it logs every op it completes
 * and every callback it receives, so the log shows where callbacks arrived.
 */
class TestTransport extends FakeTransport {
  readonly trail: string[] = [];
  config = new Uint8Array(CONFIG_READ_LEN);

  constructor(
    private readonly opts: {
      ringNum?: number;
      stopAfter?: number;
      kicks?: number;
      side?: () => DeviceSide;
    } = {},
  ) {
    super('virtio_vdpa', ['virtio'], {
      onProbe: (h) => this.bringUp(h),
      onRemove: (h) => h.reset(),
    });
  }

  private bringUp(h: DeviceHandle): void {
    const steps: (() => unknown)[] = [
      () => h.getDeviceId(),
      () => h.reset(),
      () => h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER),
      () => h.getConfig(0, this.config),
      () => h.setDriverFeatures(h.getDeviceFeatures()),
      () => h.setStatus(STATUS_FEATURES_OK),
      () => h.getStatus(),
      () => h.setVqCb(TX_VQ, () => this.trail.push('vqCb')),
      () => h.setVqNum(TX_VQ, this.opts.ringNum ?? RING_NUM),
      () => h.setVqAddress(TX_VQ, RING_STRIDE, RING_STRIDE * 2, RING_STRIDE * 3),
      () => h.setVqReady(TX_VQ, true),
      () => h.setConfigCb(() => this.trail.push('configCb')),
      () => {
        h.setStatus(STATUS_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
        this.opts.side?.().afterDriverOk();
      },
      () => {
        for (let k = 0; k < (this.opts.kicks ?? TX_KICKS); k++) h.kickVq(TX_VQ);
        this.opts.side?.().afterKicks();
      },
      () => h.getGeneration(),
    ];
    const last = Math.min(steps.length, this.opts.stopAfter ?? steps.length);
    for (let i = 0; i < last; i++) {
      steps[i]();
      this.trail.push(`step${i}`);
    }
  }
}

interface Recorded {
  readonly trace: Trace;
  readonly transport: TestTransport;
}

/** Records dev add (MAC set), a transport's bring-up with device callbacks, and dev del. */
async function record(
  datapath: DatapathMode = 'coalesced',
  device: FakeDeviceOptions = {},
): Promise<Recorded> {
  const bus = new VdpaBus(new LogicalClock());
  const mgmt = new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS, device });
  bus.registerMgmtDevice(mgmt);
  const fake = (): FakeDevice => mgmt.devices.get('vdpa0') as FakeDevice;
  const transport = new TestTransport({
    side: () => ({
      afterKicks: () => fake().triggerVq(TX_VQ),
      afterDriverOk: () => fake().triggerConfigChange(),
    }),
  });
  const trace = await recordSession(
    bus,
    () => {
      bus.devAdd('fake_mgmt', 'vdpa0', { net: { mac: MAC } });
      bus.registerDriver(transport);
      bus.devDel('vdpa0');
    },
    { datapath },
  );
  return { trace, transport };
}

/** Op and dp records of `vdpa0` without seq and ts. */
function opShape(records: readonly TraceRecord[]): unknown[] {
  return records
    .filter((r) => (r.kind === 'op' || r.kind === 'dp') && r.dev === 'vdpa0')
    .map((r) => {
      const { seq: _seq, ts: _ts, ...rest } = r;
      return rest;
    });
}

function opCall(trace: Trace, op: string): OpEvent {
  const e = trace.records.find(
    (r): r is OpEvent => r.kind === 'op' && r.op === op && r.phase === 'call' && r.origin === undefined,
  );
  if (e === undefined) throw new Error(`no call of ${op}`);
  return e;
}

/** A bus with the replay mgmtdev for `trace` and `transport` registered. */
function replayBus(trace: Trace) {
  const bus = new VdpaBus(new LogicalClock());
  const mgmt = replayMgmtDevice(bus, trace);
  return { bus, mgmt };
}

describe('ReplayDevice (mock mode)', () => {
  it('answers a transport like the recorded device: the same op sequence, results and callbacks', async () => {
    for (const datapath of ['coalesced', 'full'] as const) {
      const recorded = await record(datapath);
      const { bus, mgmt } = replayBus(recorded.trace);
      const transport = new TestTransport();
      const replayed = await recordSession(
        bus,
        () => {
          bus.devAdd('replay', 'vdpa0');
          bus.registerDriver(transport);
          bus.devDel('vdpa0');
        },
        { datapath },
      );
      expect(opShape(replayed.records)).toEqual(opShape(recorded.trace.records));
      expect(transport.trail).toEqual(recorded.transport.trail);
      expect(transport.trail).toContain('vqCb');
      expect(transport.trail.indexOf('configCb')).toBe(transport.trail.indexOf('step12') - 1);
      expect(transport.config.subarray(0, MAC.length)).toEqual(MAC);
      const mock = mgmt.devices.get('vdpa0');
      expect(mock?.divergence).toBeUndefined();
      expect(mock?.remaining()).toEqual([]);
      expect(mock?.done).toBe(true);
    }
  });

  it('throws a divergence error naming the seq, the expected and the actual call', async () => {
    const { trace } = await record();
    const { bus, mgmt } = replayBus(trace);
    bus.devAdd('replay', 'vdpa0');
    const transport = new TestTransport({ ringNum: OTHER_RING_NUM });
    bus.registerDriver(transport);
    const seq = opCall(trace, 'setVqNum').seq;
    const message = `replay divergence at seq ${seq}: expected setVqNum(1, ${RING_NUM}), got setVqNum(1, ${OTHER_RING_NUM})`;
    const mock = mgmt.devices.get('vdpa0');
    expect(mock?.divergence).toEqual({
      seq,
      expected: { seq, op: 'setVqNum', args: [TX_VQ, RING_NUM], count: 1 },
      actual: { op: 'setVqNum', args: [TX_VQ, OTHER_RING_NUM] },
      message,
    });
    // The probe failed with it; every later call fails too.
    expect(bus.driverOf('vdpa0')).toBeUndefined();
    expect(transport.trail).not.toContain('step8');
    const later = thrown(() => mock?.getStatus());
    expect(later?.code).toBe('EINVAL');
    expect(later?.message).toContain(message);
  });

  it('counts coalesced kicks: one too many, or a control op before the last one, diverges', async () => {
    const { trace } = await record();
    const more = replayBus(trace);
    more.bus.devAdd('replay', 'vdpa0');
    more.bus.registerDriver(new TestTransport({ kicks: TX_KICKS + 1 }));
    expect(more.mgmt.devices.get('vdpa0')?.divergence?.message).toMatch(
      /expected getGeneration\(\), got kickVq\(1\)$/,
    );
    const fewer = replayBus(trace);
    fewer.bus.devAdd('replay', 'vdpa0');
    fewer.bus.registerDriver(new TestTransport({ kicks: TX_KICKS - 2 }));
    expect(fewer.mgmt.devices.get('vdpa0')?.divergence?.message).toMatch(
      /expected kickVq\(1\) ×2, got getGeneration\(\)$/,
    );
  });

  it('spreads the callbacks of a coalesced record over its kicks', async () => {
    const echoTransport = (trail: string[]) =>
      new FakeTransport('virtio_vdpa', ['virtio'], {
        onProbe: (h) => {
          h.setVqCb(TX_VQ, () => trail.push('cb'));
          for (let k = 0; k < TX_KICKS; k++) {
            h.kickVq(TX_VQ);
            trail.push('kick');
          }
          h.getStatus();
        },
      });
    const bus = new VdpaBus(new LogicalClock());
    const mgmt = new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS });
    bus.registerMgmtDevice(mgmt);
    const recordedTrail: string[] = [];
    const trace = await recordSession(bus, () => {
      bus.devAdd('fake_mgmt', 'vdpa0');
      const fake = mgmt.devices.get('vdpa0') as FakeDevice;
      // A device answering each kick at once, like a control queue.
      const kick = fake.kickVq.bind(fake);
      fake.kickVq = (idx: number) => {
        kick(idx);
        fake.triggerVq(idx);
      };
      bus.registerDriver(echoTransport(recordedTrail));
    });
    expect(trace.records.find((r) => r.kind === 'dp')).toMatchObject({
      kicks: { [TX_VQ]: TX_KICKS },
      cbs: { [TX_VQ]: TX_KICKS },
    });
    const { bus: replay } = replayBus(trace);
    const trail: string[] = [];
    replay.registerDriver(echoTransport(trail));
    replay.devAdd('replay', 'vdpa0');
    expect(recordedTrail).toEqual(['cb', 'kick', 'cb', 'kick', 'cb', 'kick']);
    expect(trail).toEqual(recordedTrail);
  });

  it('lists what the transport did not do', async () => {
    const { trace } = await record();
    const { bus, mgmt } = replayBus(trace);
    bus.devAdd('replay', 'vdpa0');
    bus.registerDriver(new TestTransport({ stopAfter: 9 }));
    const left = mgmt.devices.get('vdpa0')?.remaining() ?? [];
    expect(left.map((e) => e.op)).toEqual([
      'setVqAddress',
      'setVqReady',
      'setConfigCb',
      'setStatus',
      'kickVq',
      'getGeneration',
      'reset',
    ]);
    expect(left[0].seq).toBe(opCall(trace, 'setVqAddress').seq);
    expect(left[4]).toMatchObject({ op: 'kickVq', args: [TX_VQ], count: TX_KICKS });
    expect(mgmt.devices.get('vdpa0')?.done).toBe(false);
  });

  it('throws the recorded error of an op', async () => {
    const bus = new VdpaBus(new LogicalClock());
    const mgmt = new FakeMgmtDevice(bus, { maxSupportedVqs: NVQS });
    bus.registerMgmtDevice(mgmt);
    const trace = await recordSession(bus, () => {
      bus.devAdd('fake_mgmt', 'vdpa0');
      mgmt.devices.get('vdpa0')?.failOp('setVqNum', 'ENOSPC', 1, 'no room for 256 descriptors');
      bus.registerDriver(new TestTransport());
    });
    const mock = new ReplayDevice(trace, 'vdpa0');
    const replay = new VdpaBus(new LogicalClock());
    const dev = replay.allocDevice({ ops: mock, name: 'vdpa0', classIds: mock.registration.classIds });
    replay.registerDevice(dev, mock.registration.nvqs);
    const transport = new TestTransport();
    const log = collectEvents(replay);
    replay.registerDriver(transport);
    log.stop();
    expect(transport.trail).toEqual(['step0', 'step1', 'step2', 'step3', 'step4', 'step5', 'step6', 'step7']);
    const failed = log.events.find((e) => e.kind === 'op' && e.op === 'setVqNum' && e.phase === 'error');
    expect(failed?.err).toBe('ENOSPC');
    expect(failed?.message).toBe('no room for 256 descriptors');
    expect(mock.divergence).toBeUndefined();
    expect(mock.remaining()).toEqual([]);
  });

  it('can be driven directly, without the bus calls the recording had', async () => {
    const { trace } = await record();
    const mock = new ReplayDevice(trace, 'vdpa0');
    expect(mock.registration).toEqual({
      nvqs: NVQS,
      classIds: ['virtio', 'vhost'],
      ngroups: 1,
      nas: 1,
      useVa: false,
    });
    expect(mock.getDeviceId()).toBe(VIRTIO_ID_NET);
    mock.reset();
    mock.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    // The core's implicit setDriverFeatures(0) of the recording may be left out.
    const buf = new Uint8Array(CONFIG_READ_LEN);
    mock.getConfig(0, buf);
    expect(buf.subarray(0, MAC.length)).toEqual(MAC);
    expect(mock.getDeviceFeatures()).toBe(new FakeDevice().deviceFeatures);
    expect(mock.divergence).toBeUndefined();
    expect(() => mock.free()).not.toThrow();
  });

  it('has only the optional ops the recorded device showed', async () => {
    const { trace } = await record('coalesced', { without: ['suspend', 'getVqNumMin'] });
    const { bus } = replayBus(trace);
    const seen: string[] = [];
    bus.registerDriver(
      new FakeTransport('probe_only', ['virtio'], {
        onProbe: (h) => {
          for (const op of ['suspend', 'getVqNumMin', 'getGeneration', 'getVqSize', 'compatReset'] as const)
            if (h.has(op)) seen.push(op);
          throw new VdpaError('ENODEV', 'only looking');
        },
      }),
    );
    bus.devAdd('replay', 'vdpa0');
    expect(seen).toEqual(['getGeneration']);
  });

  it('refuses a trace without the device', async () => {
    const { trace } = await record();
    expect(() => new ReplayDevice(trace, 'vdpa3')).toThrow(TraceError);
    expect(() => new ReplayDevice(trace, 'vdpa0', { incarnation: 1 })).toThrow(
      'trace has no incarnation 1 of device vdpa0 (it has 1)',
    );
  });
});
