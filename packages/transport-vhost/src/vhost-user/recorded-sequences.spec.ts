import { describe, expect, it } from 'vitest';
import {
  bit,
  VHOST_USER_F_PROTOCOL_FEATURES,
  VHOST_USER_GET_FEATURES,
  VHOST_USER_GET_PROTOCOL_FEATURES,
  VHOST_USER_GET_QUEUE_NUM,
  VHOST_USER_GET_STATUS,
  VHOST_USER_GET_VRING_BASE,
  VHOST_USER_SET_FEATURES,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_OWNER,
  VHOST_USER_SET_PROTOCOL_FEATURES,
  VHOST_USER_SET_STATUS,
  VHOST_USER_SET_VRING_ADDR,
  VHOST_USER_SET_VRING_BASE,
  VHOST_USER_SET_VRING_CALL,
  VHOST_USER_SET_VRING_ENABLE,
  VHOST_USER_SET_VRING_ERR,
  VHOST_USER_SET_VRING_KICK,
  VHOST_USER_SET_VRING_NUM,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '@vdpa-kit/virtio-spec';
import { type VhostUserPayload, type VhostUserRegionWire } from './codec.js';
import { type VhostUserLayout, vhostUserRequestName } from './requests.js';
import { VhostUserSession } from './session.js';
import { FakeVhostUserBackend } from './testing/fake-backend.js';
import { decodeReply, frontendMessage } from './testing/frontend.js';

/**
 * One request of a recorded front-end sequence: what was sent (with how many fds) and, when the
 * back-end answers, the reply layout and payload expected.
 */
interface FixtureRequest {
  readonly request: number;
  readonly payload?: VhostUserPayload;
  readonly needReply?: boolean;
  readonly fds?: number;
  readonly reply?: { readonly layout: VhostUserLayout; readonly payload: VhostUserPayload };
}

const u64 = (value: bigint | number): VhostUserPayload => ({ kind: 'u64', value: BigInt(value) });
const state = (index: number, num: number): VhostUserPayload => ({ kind: 'vring-state', index, num });
const file = (index: number): VhostUserPayload => ({ kind: 'vring-file', index, noFd: false });
const ack = (ok = true): FixtureRequest['reply'] => ({ layout: 'u64', payload: u64(ok ? 0 : 1) });

/** The device side: a net device offering what DPDK's vhost PMD offered virtio-user. */
const DEVICE_FEATURES =
  bit(VIRTIO_NET_F_MRG_RXBUF) |
  bit(VIRTIO_RING_F_INDIRECT_DESC) |
  bit(VIRTIO_F_VERSION_1) |
  bit(VIRTIO_F_IN_ORDER);
const OFFERED = DEVICE_FEATURES | bit(VHOST_USER_F_PROTOCOL_FEATURES);
const RING_NUM = 256;

/** Ring `index`'s addresses, `base` + 0x10000 per ring, in the front-end's virtual space. */
function ringAddr(index: number, base: bigint): VhostUserPayload {
  const desc = base + 0x100000n + 0x10000n * BigInt(index);
  return { kind: 'vring-addr', index, flags: 0, desc, avail: desc + 0x1000n, used: desc + 0x2000n, log: 0n };
}

/**
 * DPDK 22.11 `net_virtio_user` (queues=1) against a vhost-user back-end, as logged here: start, then
 * stop. One 512 MiB region with gpa == uva; NEED_REPLY on SET_MEM_TABLE and SET_STATUS; 0x950008000
 * features and 0x10009 protocol features negotiated.
 */
const DPDK_REGION: VhostUserRegionWire = {
  guestPhysAddr: 0x10063a000n,
  memorySize: 0x20000000n,
  userspaceAddr: 0x10063a000n,
  mmapOffset: 0n,
};
const DPDK_START: FixtureRequest[] = [
  { request: VHOST_USER_SET_OWNER },
  { request: VHOST_USER_GET_FEATURES, reply: { layout: 'u64', payload: u64(OFFERED) } },
  { request: VHOST_USER_GET_PROTOCOL_FEATURES, reply: { layout: 'u64', payload: u64(0x10009) } },
  { request: VHOST_USER_SET_PROTOCOL_FEATURES, payload: u64(0x10009) },
  { request: VHOST_USER_SET_VRING_CALL, payload: file(0), fds: 1 },
  { request: VHOST_USER_SET_VRING_CALL, payload: file(1), fds: 1 },
  { request: VHOST_USER_SET_FEATURES, payload: u64(0x950008000n) },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xb), needReply: true, reply: ack() },
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0xb) } },
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0xb) } },
  {
    request: VHOST_USER_SET_MEM_TABLE,
    payload: { kind: 'memory-table', regions: [DPDK_REGION] },
    needReply: true,
    fds: 1,
    reply: ack(),
  },
  ...[0, 1].flatMap((i): FixtureRequest[] => [
    { request: VHOST_USER_SET_VRING_NUM, payload: state(i, RING_NUM) },
    { request: VHOST_USER_SET_VRING_BASE, payload: state(i, 0) },
    { request: VHOST_USER_SET_VRING_ADDR, payload: ringAddr(i, 0x10063a000n) },
    { request: VHOST_USER_SET_VRING_KICK, payload: file(i), fds: 1 },
  ]),
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, 1) },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, 1) },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xf), needReply: true, reply: ack() },
];
const DPDK_STOP: FixtureRequest[] = [
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, 0) },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, 0) },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(0, 0),
    reply: { layout: 'vring-state', payload: state(0, 32) },
  },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(1, 0),
    reply: { layout: 'vring-state', payload: state(1, 64) },
  },
];

/**
 * QEMU 7.2 `-netdev vhost-user,queues=1` with a Linux 6.1 guest, as logged here: start, then stop.
 * Two regions of one memfd around the VGA hole (gpa 0 and 0xc0000, uva 0x7f…), NEED_REPLY on
 * SET_MEM_TABLE, SET_VRING_CALL again after each ring is set up, SET_VRING_ERR fds, ten
 * SET_VRING_ENABLEs before SET_FEATURES (the log records their count and that both values occur; the
 * order here is one such order), and status 0 before GET_VRING_BASE on stop.
 */
const QEMU_UVA = 0x7f4a40000000n;
const QEMU_REGIONS: VhostUserRegionWire[] = [
  { guestPhysAddr: 0n, memorySize: 0xa0000n, userspaceAddr: QEMU_UVA, mmapOffset: 0n },
  {
    guestPhysAddr: 0xc0000n,
    memorySize: 0xff40000n,
    userspaceAddr: QEMU_UVA + 0xc0000n,
    mmapOffset: 0xc0000n,
  },
];
const QEMU_ACKED =
  bit(VIRTIO_F_VERSION_1) | bit(VHOST_USER_F_PROTOCOL_FEATURES) | bit(VIRTIO_NET_F_MRG_RXBUF);
const QEMU_START: FixtureRequest[] = [
  { request: VHOST_USER_GET_FEATURES, reply: { layout: 'u64', payload: u64(OFFERED) } },
  { request: VHOST_USER_GET_PROTOCOL_FEATURES, reply: { layout: 'u64', payload: u64(0x10009) } },
  { request: VHOST_USER_SET_PROTOCOL_FEATURES, payload: u64(0x10009) },
  { request: VHOST_USER_GET_QUEUE_NUM, reply: { layout: 'u64', payload: u64(1) } },
  { request: VHOST_USER_SET_OWNER },
  { request: VHOST_USER_GET_FEATURES, reply: { layout: 'u64', payload: u64(OFFERED) } },
  ...[0, 1].flatMap((i): FixtureRequest[] => [
    { request: VHOST_USER_SET_VRING_CALL, payload: file(i), fds: 1 },
    { request: VHOST_USER_SET_VRING_ERR, payload: file(i), fds: 1 },
  ]),
  ...[0, 1, 0, 1, 1].flatMap((on): FixtureRequest[] => [
    { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, on) },
    { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, on) },
  ]),
  { request: VHOST_USER_SET_FEATURES, payload: u64(QEMU_ACKED) },
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0) } },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xb) },
  {
    request: VHOST_USER_SET_MEM_TABLE,
    payload: { kind: 'memory-table', regions: QEMU_REGIONS },
    needReply: true,
    fds: 2,
    reply: ack(),
  },
  ...[0, 1].flatMap((i): FixtureRequest[] => [
    { request: VHOST_USER_SET_VRING_NUM, payload: state(i, RING_NUM) },
    { request: VHOST_USER_SET_VRING_BASE, payload: state(i, 0) },
    { request: VHOST_USER_SET_VRING_ADDR, payload: ringAddr(i, QEMU_UVA) },
    { request: VHOST_USER_SET_VRING_KICK, payload: file(i), fds: 1 },
    { request: VHOST_USER_SET_VRING_CALL, payload: file(i), fds: 1 },
  ]),
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0xb) } },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xf) },
];
const QEMU_STOP: FixtureRequest[] = [
  { request: VHOST_USER_SET_STATUS, payload: u64(0) },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(0, 0),
    reply: { layout: 'vring-state', payload: state(0, 5) },
  },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(1, 0),
    reply: { layout: 'vring-state', payload: state(1, 5) },
  },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, 0) },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, 0) },
];

/** Replays a sequence, one `sendmsg()` per request, asserting each reply; returns the fds involved. */
function replay(
  session: VhostUserSession,
  sequence: readonly FixtureRequest[],
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
    const backend = new FakeVhostUserBackend({ features: DEVICE_FEATURES, numVrings: 2 });
    const session = new VhostUserSession(backend);
    let fd = 50;
    const start = replay(session, DPDK_START, () => fd++);
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
    const stop = replay(session, DPDK_STOP, () => fd++);
    expect(backend.readyRings()).toEqual([]);
    const closed = session.close('peer disconnected');
    expect(closed.midMessage).toBe(false);
    const all = [...start.closed, ...stop.closed, ...closed.closeFds].sort();
    expect(all).toEqual([...start.given, ...stop.given].sort());
  });

  it('QEMU 7.2 vhost-user-net: two regions, ERR fds, ten enables, status 0 before GET_VRING_BASE', () => {
    const backend = new FakeVhostUserBackend({ features: DEVICE_FEATURES, numVrings: 2 });
    const session = new VhostUserSession(backend);
    let fd = 70;
    const start = replay(session, QEMU_START, () => fd++);
    expect(session.features).toBe(QEMU_ACKED);
    expect(backend.readyRings()).toEqual([0, 1]);
    // Rings are not run before SET_FEATURES: the ten enables change nothing on the device.
    expect(backend.callsOf('setVringEnable')).toEqual([
      { op: 'setVringEnable', index: 0, enabled: true },
      { op: 'setVringEnable', index: 1, enabled: true },
    ]);
    // QEMU's uva → gpa: region 1 starts at gpa 0xc0000 / uva QEMU_UVA + 0xc0000.
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
    const stop = replay(session, QEMU_STOP, () => fd++);
    expect(backend.readyRings()).toEqual([]);
    const closed = session.close('peer disconnected');
    const all = [...start.closed, ...stop.closed, ...closed.closeFds].sort();
    expect(all).toEqual([...start.given, ...stop.given].sort());
  });

  it('QEMU 7.2 sends every message whole: the same replies when the stream arrives coalesced', () => {
    const backend = new FakeVhostUserBackend({ features: DEVICE_FEATURES, numVrings: 2 });
    const session = new VhostUserSession(backend);
    const messages = QEMU_START.filter((r) => (r.fds ?? 0) === 0).map((r) =>
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
      QEMU_START.filter((r) => (r.fds ?? 0) === 0 && r.reply !== undefined).length,
    );
  });
});
