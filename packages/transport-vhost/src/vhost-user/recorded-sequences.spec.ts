import { describe, expect, it } from 'vitest';
import { vhostUserRequestName } from './requests.js';
import { VhostUserSession } from './session.js';
import { FakeVhostUserBackend } from './testing/fake-backend.js';
import { decodeReply, frontendMessage } from './testing/frontend.js';
import {
  DPDK_22_11_START,
  DPDK_22_11_STOP,
  QEMU_7_2_ACKED,
  QEMU_7_2_START,
  QEMU_7_2_STOP,
  RECORDED_DEVICE_FEATURES,
  type RecordedRequest,
} from './testing/recorded-sequences.js';

/** Replays a sequence, one `sendmsg()` per request, asserting each reply; returns the fds involved. */
function replay(
  session: VhostUserSession,
  sequence: readonly RecordedRequest[],
  nextFd: () => number,
): { given: number[]; closed: number[] } {
  const given: number[] = [];
  const closed: number[] = [];
  for (const r of sequence) {
    const fds = Array.from({ length: r.fds ?? 0 }, nextFd);
    given.push(...fds);
    const message = frontendMessage(r.request, r.payload ?? { kind: 'none' }, {
      needReply: r.needReply,
      fds,
    });
    const steps = session.receive(message.bytes, message.fds);
    const name = vhostUserRequestName(r.request);
    expect(steps.map((s) => [s.request, s.error?.message ?? null, s.close])).toEqual([[name, null, null]]);
    const step = steps[0]!;
    closed.push(...step.closeFds);
    if (r.reply === undefined) {
      expect([name, step.reply]).toEqual([name, null]);
    } else {
      const reply = decodeReply(step.reply!, r.reply.layout);
      expect([name, reply.header.request, reply.header.flags, reply.payload]).toEqual([
        name,
        r.request,
        0x5,
        r.reply.payload,
      ]);
    }
  }
  return { given, closed };
}

describe('recorded front-end sequences replayed into a session', () => {
  it('DPDK 22.11 virtio-user: negotiates, starts both rings at enable, stops them at GET_VRING_BASE', () => {
    const backend = new FakeVhostUserBackend({ features: RECORDED_DEVICE_FEATURES, numVrings: 2 });
    const session = new VhostUserSession(backend);
    let fd = 50;
    const start = replay(session, DPDK_22_11_START, () => fd++);
    expect(session.protocolFeatures).toBe(0x10009n);
    expect(session.features).toBe(0x950008000n);
    expect(backend.readyRings()).toEqual([0, 1]);
    expect(backend.calls.map((c) => c.op)).toEqual([
      'setVringCall',
      'setVringCall',
      'setFeatures',
      'setStatus',
      'setMemTable',
      ...['setVringNum', 'setVringBase', 'setVringAddr', 'setVringKick'],
      ...['setVringNum', 'setVringBase', 'setVringAddr', 'setVringKick'],
      'setVringEnable',
      'setVringEnable',
      'setStatus',
    ]);
    expect(backend.callsOf('setFeatures')).toEqual([{ op: 'setFeatures', features: 0x910008000n }]);
    // gpa == uva: the ring addresses come through unchanged.
    expect(backend.callsOf('setVringAddr')[1]).toEqual({
      op: 'setVringAddr',
      index: 1,
      addresses: { desc: 0x10074a000, avail: 0x10074b000, used: 0x10074c000 },
    });
    expect(backend.callsOf('setStatus').map((c) => c.status)).toEqual([0xb, 0xf]);

    backend.consume(0, 32);
    backend.consume(1, 64);
    const stop = replay(session, DPDK_22_11_STOP, () => fd++);
    expect(backend.readyRings()).toEqual([]);
    const closed = session.close('peer disconnected');
    expect(closed.midMessage).toBe(false);
    const all = [...start.closed, ...stop.closed, ...closed.closeFds].sort();
    expect(all).toEqual([...start.given, ...stop.given].sort());
  });

  it('QEMU 7.2 vhost-user-net: two regions, ERR fds, ten enables, status 0 before GET_VRING_BASE', () => {
    const backend = new FakeVhostUserBackend({ features: RECORDED_DEVICE_FEATURES, numVrings: 2 });
    const session = new VhostUserSession(backend);
    let fd = 70;
    const start = replay(session, QEMU_7_2_START, () => fd++);
    expect(session.features).toBe(QEMU_7_2_ACKED);
    expect(backend.readyRings()).toEqual([0, 1]);
    // Rings are not run before SET_FEATURES: the ten enables change nothing on the device.
    expect(backend.callsOf('setVringEnable')).toEqual([
      { op: 'setVringEnable', index: 0, enabled: true },
      { op: 'setVringEnable', index: 1, enabled: true },
    ]);
    // QEMU's uva → gpa: region 1 starts at gpa 0xc0000 / uva QEMU_7_2_UVA + 0xc0000.
    expect(backend.callsOf('setVringAddr')).toEqual([
      { op: 'setVringAddr', index: 0, addresses: { desc: 0x100000, avail: 0x101000, used: 0x102000 } },
      { op: 'setVringAddr', index: 1, addresses: { desc: 0x110000, avail: 0x111000, used: 0x112000 } },
    ]);
    expect(backend.table?.regions.map((r) => [r.guestPhysAddr, r.mmapOffset])).toEqual([
      [0, 0],
      [0xc0000, 0xc0000],
    ]);
    // The ERR fds were closed at once; the first CALL fds when QEMU sent new ones.
    expect(start.closed).toEqual([71, 73, 70, 72]);

    backend.consume(0, 5);
    backend.consume(1, 5);
    const stop = replay(session, QEMU_7_2_STOP, () => fd++);
    expect(backend.readyRings()).toEqual([]);
    const closed = session.close('peer disconnected');
    const all = [...start.closed, ...stop.closed, ...closed.closeFds].sort();
    expect(all).toEqual([...start.given, ...stop.given].sort());
  });

  it('QEMU 7.2 sends every message whole: the same replies when the stream arrives coalesced', () => {
    const backend = new FakeVhostUserBackend({ features: RECORDED_DEVICE_FEATURES, numVrings: 2 });
    const session = new VhostUserSession(backend);
    const messages = QEMU_7_2_START.filter((r) => (r.fds ?? 0) === 0).map((r) =>
      frontendMessage(r.request, r.payload ?? { kind: 'none' }, { needReply: r.needReply }),
    );
    const whole = new Uint8Array(messages.reduce((n, m) => n + m.bytes.byteLength, 0));
    let at = 0;
    for (const m of messages) {
      whole.set(m.bytes, at);
      at += m.bytes.byteLength;
    }
    const steps = session.receive(whole);
    expect(steps.map((s) => s.error)).toEqual(messages.map(() => null));
    expect(steps.filter((s) => s.reply !== null)).toHaveLength(
      QEMU_7_2_START.filter((r) => (r.fds ?? 0) === 0 && r.reply !== undefined).length,
    );
  });
});
