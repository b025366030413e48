// QEMU's vhost-vdpa backend on vdpasim_net through the kernel's vhost_vdpa, op by op: a trace written by
// hand from the QEMU and kernel sources (test/fixtures/qemu-vhost-vdpa-session.jsonl, sources in
// test/fixtures/README.md) verified against a fresh vdpasim_net of this package, and mutated copies of
// it that must diverge where the device answers differently.
import type { JsonValue, OpEvent } from '@vdpa-kit/core-bus';
import { type Trace, type TraceRecord, formatDivergence, parseTrace, verifyTrace } from '@vdpa-kit/trace';
import { loadTraceFixture } from '@vdpa-kit/trace/testing';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { simStack } from './stack.js';

const SESSION = new URL('./fixtures/qemu-vhost-vdpa-session.jsonl', import.meta.url);

/** The driver-issued op calls of a trace as `[op, ...args]` (what verify replays). */
function driverCalls(trace: Trace): JsonValue[][] {
  return trace.records.flatMap((r) =>
    r.kind === 'op' && r.phase === 'call' && r.origin !== 'bus' ? [[r.op, ...(r.args ?? [])]] : [],
  );
}

/** The call record of the `nth` (from 1) call of `op` in a trace. */
function nthCall(records: readonly TraceRecord[], op: string, nth = 1): TraceRecord {
  const calls = records.filter((r) => r.kind === 'op' && r.phase === 'call' && r.op === op);
  const call = calls[nth - 1];
  if (call === undefined) throw new Error(`the session has no call ${nth} of ${op}`);
  return call;
}

/**
 * The session's text with the record at `seq` replaced by `edit(record)`: a copy of the trace as another
 * device (or another driver) would have recorded it.
 */
function mutated(seq: number, edit: (record: Record<string, unknown>) => void): Trace {
  const lines = readFileSync(fileURLToPath(SESSION), 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith(`{"v":1,"seq":${seq},`));
  expect(at).toBeGreaterThan(0);
  const record = JSON.parse(lines[at]) as Record<string, unknown>;
  edit(record);
  lines[at] = JSON.stringify(record);
  return parseTrace(lines.join('\n'), 'mutated-session.jsonl');
}

function verify(trace: Trace) {
  const s = simStack();
  return verifyTrace(trace, { bus: s.bus, mgmtdev: 'vdpasim_net' }, { strict: true, guestMemory: s.mem });
}

describe('QEMU vhost-vdpa on vdpasim_net, as QEMU and vhost_vdpa sequence it', () => {
  it('the hand-written session verifies against a fresh vdpasim_net with no divergence', () => {
    const session = loadTraceFixture(SESSION);
    const report = verify(session);
    expect(report.divergence === undefined ? 'no divergence' : formatDivergence(report.divergence)).toBe(
      'no divergence',
    );
    expect(report.ok).toBe(true);
    // Every driver call was replayed and its outcome compared, ring-dependent ones included (strict).
    expect(report.replayed).toBe(driverCalls(session).length);
    expect([report.compared, report.skipped]).toEqual([report.replayed, 0]);
  });

  it('holds the session the issue names: backend features, groups, ASID, maps above 4 GiB, suspend, vq state, reset_map', () => {
    const session = loadTraceFixture(SESSION);
    const calls = driverCalls(session);
    const ops = new Set(calls.map((c) => c[0]));
    for (const op of [
      'getIovaRange',
      'getBackendFeatures',
      'bindMm',
      'getVqGroup',
      'setGroupAsid',
      'dmaMap',
      'dmaUnmap',
      'setDriverFeatures',
      'setVqNum',
      'setVqAddress',
      'setVqState',
      'setVqReady',
      'getConfig',
      'setConfig',
      'suspend',
      'getVqState',
      'compatReset',
      'unbindMm',
      'resetMap',
    ])
      expect(ops.has(op), op).toBe(true);
    // vhost_vdpa_open(): vhost_vdpa_reset(), then vhost_vdpa_set_iova_range() asks the device once; every
    // later VHOST_VDPA_GET_IOVA_RANGE is answered from that cache.
    expect(calls.slice(0, 2)).toEqual([['getDeviceId'], ['reset']]);
    expect(calls.filter((c) => c[0] === 'getIovaRange')).toHaveLength(1);
    expect(calls[2]).toEqual(['getIovaRange']);
    // vhost_vdpa_map() uses dma_map when the parent has it (set_map is never called), and one guest RAM
    // section lies above 4 GiB.
    expect(ops.has('setMap')).toBe(false);
    const maps = calls.filter((c) => c[0] === 'dmaMap');
    expect(maps.some((c) => c[1] === 0 && BigInt(c[2] as string | number) >= 1n << 32n)).toBe(true);
    // Every UPDATE has its INVALIDATE: same address space, IOVA and size.
    const key = (c: JsonValue[]): string => `${String(c[1])} ${String(c[2])} ${String(c[3])}`;
    expect(
      calls
        .filter((c) => c[0] === 'dmaUnmap')
        .map(key)
        .sort(),
    ).toEqual(maps.map(key).sort());
    // The CVQ's group moves to address space 1; the data queues' rings are IOVAs inside a mapped section.
    expect(calls).toContainEqual(['setGroupAsid', 1, 1]);
  });

  it('diverges at the open when the device reports another IOVA range (vdpasim_get_iova_range())', () => {
    const session = loadTraceFixture(SESSION);
    const call = nthCall(session.records, 'getIovaRange');
    // A 48-bit IOMMU aperture instead of vdpasim's [0, ULLONG_MAX].
    const copy = mutated(call.seq + 1, (ret) => {
      const range = ret.ret as { first: JsonValue; last: JsonValue };
      range.last = typeof range.last === 'string' ? '0xffffffffffff' : 0xffffffffffff;
    });
    const report = verify(copy);
    expect(report.ok).toBe(false);
    expect(report.divergence).toMatchObject({ seq: call.seq, op: 'getIovaRange' });
  });

  it('diverges at VHOST_GET_VRING_BASE when the recording says the receive queue moved (vdpasim_get_vq_state())', () => {
    const session = loadTraceFixture(SESSION);
    const call = nthCall(session.records, 'getVqState', 1);
    expect(call).toMatchObject({ args: [0] });
    // Nothing was received in this session: last_avail_idx of the receive queue is still 0.
    const copy = mutated(call.seq + 1, (ret) => {
      ret.ret = { kind: 'split', availIndex: 1 };
    });
    const report = verify(copy);
    expect(report.ok).toBe(false);
    expect(report.divergence).toMatchObject({
      seq: call.seq,
      op: 'getVqState',
      expected: { ret: { kind: 'split', availIndex: 1 } },
      actual: { ret: { kind: 'split', availIndex: 0 } },
    });
  });

  it('diverges at the CVQ probe when the device puts the control queue in the data group (vdpasim_get_vq_group())', () => {
    const session = loadTraceFixture(SESSION);
    const call = nthCall(session.records, 'getVqGroup', 1);
    expect(call).toMatchObject({ args: [2] });
    const copy = mutated(call.seq + 1, (ret) => {
      ret.ret = 0;
    });
    const report = verify(copy);
    expect(report.divergence).toMatchObject({ seq: call.seq, op: 'getVqGroup', actual: { ret: 1 } });
  });

  it('the receive ring is read through the RAM mapping: mapped elsewhere, the kick fails the device', () => {
    const session = loadTraceFixture(SESSION);
    // The third ASID 0 update maps [1 MiB, 2 GiB), where the guest's rings are.
    const update = session.records.filter(
      (r): r is OpEvent => r.kind === 'op' && r.phase === 'call' && r.op === 'dmaMap' && r.args?.[0] === 0,
    )[2];
    if (update === undefined) throw new Error('the session has no third ASID 0 dma_map');
    expect(update.args?.[1]).toBe('0x100000');
    // Point that section outside the device's memory: the kick of the receive queue (vdpasim_net_work()
    // reads the transmit ring through the IOTLB) meets a bad address.
    const copy = mutated(update.seq, (call) => {
      const args = call.args as JsonValue[];
      args[3] = '0x10000000';
    });
    const kick = nthCall(session.records, 'kickVq', 2);
    expect(kick).toMatchObject({ args: [0] });
    const nextStatus = session.records.find(
      (r) => r.seq > kick.seq && r.kind === 'op' && r.phase === 'call' && r.op === 'getStatus',
    );
    const report = verify(copy);
    expect(report.divergence).toMatchObject({ seq: nextStatus?.seq, op: 'getStatus', expected: { ret: 12 } });
    // DEVICE_NEEDS_RESET on top of the recorded status.
    expect(report.divergence?.actual).toEqual({ ret: 12 | 64 });
  });
});
