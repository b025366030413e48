// The kernel's virtio_vdpa + virtio_net bring-up and teardown on vdpasim_net, op by op: a trace written
// by hand from the kernel sources (test/fixtures/kernel-virtio-net-bringup.jsonl, sources in
// test/fixtures/README.md) verified against a fresh vdpasim_net, and compared with what this transport
// issues; and the two places where virtio.c decides what happens to the device around the driver:
// virtio_dev_remove() and a failed virtio_dev_probe().
import type { BusEvent, JsonValue, VdpaDevAddRequest } from '@vdpa-kit/core-bus';
import {
  type Trace,
  devAddRequestOf,
  diffTraces,
  formatDiff,
  formatDivergence,
  verifyTrace,
} from '@vdpa-kit/trace';
import { loadTraceFixture, recordSession } from '@vdpa-kit/trace/testing';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_F_ACCESS_PLATFORM,
  bit,
} from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { addVdpasim, deviceStack } from './devices.js';
import { busEvent, driverOps } from './harness.js';

const KERNEL_TRACE = new URL('./fixtures/kernel-virtio-net-bringup.jsonl', import.meta.url);

/** `vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:12:34:56 device_features 0x308830028`. */
function recordedDevAdd(trace: Trace): VdpaDevAddRequest {
  const rec = trace.records.find((r) => r.kind === 'mgmt' && r.op === 'dev_add');
  if (rec === undefined || rec.kind !== 'mgmt') throw new Error('the kernel trace has no dev_add');
  return devAddRequestOf(rec.args, rec.seq);
}

/** The driver-issued op calls of a trace's records as `[op, ...args]`. */
function driverCalls(records: readonly BusEvent[] | Trace['records']): JsonValue[][] {
  return records.flatMap((r) =>
    r.kind === 'op' && r.phase === 'call' && r.origin === undefined ? [[r.op, ...(r.args ?? [])]] : [],
  );
}

describe('virtio_vdpa + virtio_net on vdpasim_net, as the kernel sequences them', () => {
  it('the hand-written kernel trace verifies against a fresh vdpasim_net with no divergence', () => {
    const kernel = loadTraceFixture(KERNEL_TRACE);
    const s = deviceStack();
    // strict: the results that may depend on ring contents (after the receive queue's kick) are compared
    // too; the rings are empty, so they hold.
    const report = verifyTrace(kernel, { bus: s.bus, mgmtdev: 'vdpasim_net' }, { strict: true });
    expect(report.divergence === undefined ? 'no divergence' : formatDivergence(report.divergence)).toBe(
      'no divergence',
    );
    expect(report.ok).toBe(true);
    // Every driver call of the trace was replayed and its result compared (the kick has no result).
    expect(report.replayed).toBe(driverCalls(kernel.records).length);
    expect([report.compared, report.skipped]).toEqual([report.replayed, 0]);
  });

  it('this transport issues the driver ops of the kernel trace, in its order, with its arguments', async () => {
    const kernel = loadTraceFixture(KERNEL_TRACE);
    const s = deviceStack();
    const ours = await recordSession(
      s.bus,
      () => {
        s.bus.devAdd('vdpasim_net', 'vdpa0', recordedDevAdd(kernel));
        s.bus.devDel('vdpa0');
      },
      { datapath: 'full' },
    );
    const diff = diffTraces(kernel, ours);
    // The one deliberate difference (docs/kernel-differences.md, transport-virtio): virtio_net gives
    // the control queue no callback and busy-polls it; this driver cannot spin and takes the callback.
    expect(formatDiff(diff).filter((line) => /^[-+] /.test(line))).toEqual([
      '- setVqCb(2, null)',
      '+ setVqCb(2, true)',
    ]);
    const expected = driverCalls(kernel.records).map((c) =>
      c[0] === 'setVqCb' && c[1] === 2 ? ['setVqCb', 2, true] : c,
    );
    expect(driverCalls(ours.records)).toEqual(expected);
  });

  it('virtio_dev_remove() puts ACKNOWLEDGE back: the status reads 1 after unbind', () => {
    const s = deviceStack();
    const sim = addVdpasim(s);
    const mark = s.events.length;
    s.bus.unbind('vdpa0');
    const tail = driverOps(s.events.slice(mark)).map((e) => [e.op, ...(e.args ?? [])]);
    // virtnet_remove() → remove_vq_common(): reset, del_vqs; then the WARN_ON_ONCE status read and
    // virtio_add_status(ACKNOWLEDGE).
    expect(tail).toEqual([
      ['reset'],
      ['setVqReady', 0, false],
      ['setVqReady', 1, false],
      ['setVqReady', 2, false],
      ['getStatus'],
      ['getStatus'],
      ['setStatus', VIRTIO_CONFIG_S_ACKNOWLEDGE],
    ]);
    expect(sim.getStatus()).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  });

  it('virtio_dev_probe() writes the features and the device refuses them: FAILED, virtio_vdpa stays bound', () => {
    const s = deviceStack();
    // vdpasim_set_driver_features() answers EINVAL to features without ACCESS_PLATFORM.
    const offer = 0x308830028n & ~bit(VIRTIO_F_ACCESS_PLATFORM);
    const sim = addVdpasim(s, { deviceFeatures: offer });
    const ops = driverOps(s.events).map((e) => [e.op, ...(e.args ?? [])]);
    const ackDriver = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    expect(ops).toEqual([
      ['getDeviceId'],
      ['getVendorId'],
      ['reset'],
      ['getStatus'],
      ['setStatus', VIRTIO_CONFIG_S_ACKNOWLEDGE],
      ['getStatus'],
      ['setStatus', ackDriver],
      ['getDeviceFeatures'],
      ['setDriverFeatures', '0x100830028'],
      // err: virtio_add_status(FAILED)
      ['getStatus'],
      ['setStatus', ackDriver | VIRTIO_CONFIG_S_FAILED],
    ]);
    const refused = s.events.find(
      (e) => e.kind === 'op' && e.op === 'setDriverFeatures' && e.phase !== 'call',
    );
    expect(refused).toMatchObject({ phase: 'error', err: 'EINVAL' });
    expect(sim.getStatus()).toBe(ackDriver | VIRTIO_CONFIG_S_FAILED);
    // register_virtio_device() succeeded: virtio_vdpa is bound, the virtio device has no driver.
    expect(busEvent(s.events, 'probe_failed')).toBeUndefined();
    expect(busEvent(s.events, 'bind')).toMatchObject({ args: { driver: 'virtio_vdpa' } });
    expect(s.bus.driverOf('vdpa0')).toBe('virtio_vdpa');
    const vdev = s.vbus.device('vdpa0');
    expect(vdev?.driver).toBeUndefined();
    expect(vdev?.probeError).toMatchObject({ code: 'EINVAL', reason: 'features' });
    expect(s.vbus.netDevice('vdpa0')).toBeUndefined();
    // unregister_virtio_device() of a device without a driver runs no virtio_dev_remove(): no op.
    const mark = s.events.length;
    s.bus.unbind('vdpa0');
    expect(driverOps(s.events.slice(mark))).toEqual([]);
    expect(s.vbus.devices()).toEqual([]);
  });
});
