import { describe, expect, it } from 'vitest';
import {
  bit,
  VHOST_USER_F_PROTOCOL_FEATURES,
  VHOST_USER_GET_CONFIG,
  VHOST_USER_GET_FEATURES,
  VHOST_USER_GET_PROTOCOL_FEATURES,
  VHOST_USER_GET_QUEUE_NUM,
  VHOST_USER_GET_STATUS,
  VHOST_USER_GET_VRING_BASE,
  VHOST_USER_IOTLB_MSG,
  VHOST_USER_RESET_OWNER,
  VHOST_USER_SET_CONFIG,
  VHOST_USER_SET_FEATURES,
  VHOST_USER_SET_LOG_FD,
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
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_MAC,
} from '@vdpa-kit/virtio-spec';
import { type VhostUserPayload, type VhostUserRegionWire } from './codec.js';
import { type VhostUserStep, VhostUserSession } from './session.js';
import { FakeVhostUserBackend, type FakeVhostUserBackendOptions } from './testing/fake-backend.js';
import { decodeReply, frontendMessage, type FrontendMessage } from './testing/frontend.js';

const PF = bit(VHOST_USER_F_PROTOCOL_FEATURES);
const V1 = bit(VIRTIO_F_VERSION_1);
const REGION: VhostUserRegionWire = {
  guestPhysAddr: 0n,
  memorySize: 0x100000n,
  userspaceAddr: 0x7f0000000000n,
  mmapOffset: 0n,
};
const ADDR = (index: number, uvaBase = 0x7f0000000000n): VhostUserPayload => ({
  kind: 'vring-addr',
  index,
  flags: 0,
  desc: uvaBase + 0x10000n * BigInt(index + 1),
  avail: uvaBase + 0x10000n * BigInt(index + 1) + 0x1000n,
  used: uvaBase + 0x10000n * BigInt(index + 1) + 0x2000n,
  log: 0n,
});

class Harness {
  readonly backend: FakeVhostUserBackend;
  readonly session: VhostUserSession;
  /** Every fd handed to the session, and every fd it gave back for closing. */
  readonly given: number[] = [];
  readonly closed: number[] = [];
  private nextFd = 100;

  constructor(options: FakeVhostUserBackendOptions = {}) {
    this.backend = new FakeVhostUserBackend(options);
    this.session = new VhostUserSession(this.backend);
  }

  fd(): number {
    return this.nextFd++;
  }

  send(m: FrontendMessage): VhostUserStep[] {
    this.given.push(...m.fds);
    const steps = this.session.receive(m.bytes, m.fds);
    for (const s of steps) this.closed.push(...s.closeFds);
    return steps;
  }

  one(m: FrontendMessage): VhostUserStep {
    const steps = this.send(m);
    expect(steps).toHaveLength(1);
    return steps[0]!;
  }

  ok(m: FrontendMessage): VhostUserStep {
    const step = this.one(m);
    expect(step.error).toBeNull();
    return step;
  }

  u64(request: number, payload: VhostUserPayload = { kind: 'none' }, needReply = false): bigint {
    const step = this.one(frontendMessage(request, payload, { needReply }));
    expect(step.error).toBeNull();
    const reply = decodeReply(step.reply!, 'u64');
    expect(reply.header.request).toBe(request);
    expect(reply.header.flags).toBe(0x5);
    return reply.payload.kind === 'u64' ? reply.payload.value : -1n;
  }

  /** Features negotiated, memory table set, rings 0 and 1 given num/base/addr/call. */
  setUp(features: bigint = V1 | PF, protocolFeatures = 0x10009n): void {
    this.ok(frontendMessage(VHOST_USER_SET_OWNER));
    this.u64(VHOST_USER_GET_FEATURES);
    this.ok(frontendMessage(VHOST_USER_SET_FEATURES, { kind: 'u64', value: features }));
    this.ok(frontendMessage(VHOST_USER_SET_PROTOCOL_FEATURES, { kind: 'u64', value: protocolFeatures }));
    this.ok(
      frontendMessage(
        VHOST_USER_SET_MEM_TABLE,
        { kind: 'memory-table', regions: [REGION] },
        { fds: [this.fd()] },
      ),
    );
    for (const index of [0, 1]) {
      this.ok(frontendMessage(VHOST_USER_SET_VRING_NUM, { kind: 'vring-state', index, num: 256 }));
      this.ok(frontendMessage(VHOST_USER_SET_VRING_BASE, { kind: 'vring-state', index, num: 0 }));
      this.ok(frontendMessage(VHOST_USER_SET_VRING_ADDR, ADDR(index)));
      this.ok(
        frontendMessage(
          VHOST_USER_SET_VRING_CALL,
          { kind: 'vring-file', index, noFd: false },
          { fds: [this.fd()] },
        ),
      );
    }
  }

  kick(index: number): VhostUserStep {
    return this.one(
      frontendMessage(
        VHOST_USER_SET_VRING_KICK,
        { kind: 'vring-file', index, noFd: false },
        { fds: [this.fd()] },
      ),
    );
  }

  enable(index: number, on: boolean): VhostUserStep {
    return this.one(
      frontendMessage(VHOST_USER_SET_VRING_ENABLE, { kind: 'vring-state', index, num: on ? 1 : 0 }),
    );
  }

  /** After close: every fd given was closed exactly once. */
  expectNoLeak(): void {
    expect([...this.closed].sort()).toEqual([...this.given].sort());
  }
}

describe('VhostUserSession negotiation', () => {
  it('offers VERSION_1 | PROTOCOL_FEATURES | the device bits', () => {
    const h = new Harness({ features: bit(VIRTIO_NET_F_MAC) });
    expect(h.u64(VHOST_USER_GET_FEATURES)).toBe(V1 | PF | bit(VIRTIO_NET_F_MAC));
  });

  it('offers MQ | REPLY_ACK | STATUS, and CONFIG when the device owns config space', () => {
    expect(new Harness().u64(VHOST_USER_GET_PROTOCOL_FEATURES)).toBe(0x10009n);
    expect(new Harness({ config: new Uint8Array(8) }).u64(VHOST_USER_GET_PROTOCOL_FEATURES)).toBe(0x10209n);
  });

  it('answers GET_QUEUE_NUM with the queue count', () => {
    expect(new Harness({ numVrings: 4 }).u64(VHOST_USER_GET_QUEUE_NUM)).toBe(2n);
  });

  it('gives the device the acked features without PROTOCOL_FEATURES', () => {
    const h = new Harness({ features: bit(VIRTIO_NET_F_MAC) });
    const step = h.one(
      frontendMessage(VHOST_USER_SET_FEATURES, { kind: 'u64', value: V1 | PF | bit(VIRTIO_NET_F_MAC) }),
    );
    expect(step.actions).toEqual([{ type: 'set-features', features: V1 | bit(VIRTIO_NET_F_MAC) }]);
    expect(h.session.features).toBe(V1 | PF | bit(VIRTIO_NET_F_MAC));
  });

  it('refuses features it did not offer: an error reply with NEED_REPLY, else a closed connection', () => {
    const h = new Harness();
    const replied = h.one(
      frontendMessage(VHOST_USER_SET_FEATURES, { kind: 'u64', value: 1n << 40n }, { needReply: true }),
    );
    expect(replied.error?.code).toBe('BAD_FEATURES');
    expect(decodeReply(replied.reply!, 'u64').payload).toEqual({ kind: 'u64', value: 1n });
    expect(replied.close).toBeNull();
    const closed = h.one(frontendMessage(VHOST_USER_SET_PROTOCOL_FEATURES, { kind: 'u64', value: 1n << 5n }));
    expect(closed.error?.code).toBe('BAD_FEATURES');
    expect(closed.reply).toBeNull();
    expect(closed.close).not.toBeNull();
    expect(h.session.isClosed).toBe(true);
  });

  it('acks NEED_REPLY with 0 on success', () => {
    const h = new Harness();
    expect(h.u64(VHOST_USER_SET_OWNER, { kind: 'none' }, true)).toBe(0n);
    expect(h.u64(VHOST_USER_SET_STATUS, { kind: 'u64', value: 0xbn }, true)).toBe(0n);
    expect(h.u64(VHOST_USER_GET_STATUS)).toBe(0xbn);
  });

  it('answers a required reply without a second ack when NEED_REPLY is also set', () => {
    const h = new Harness();
    const steps = h.send(frontendMessage(VHOST_USER_GET_FEATURES, { kind: 'none' }, { needReply: true }));
    expect(steps).toHaveLength(1);
    expect(decodeReply(steps[0]!.reply!, 'u64').payload).toEqual({ kind: 'u64', value: V1 | PF });
  });
});

describe('VhostUserSession rings (vhost-user.rst "Starting and stopping rings")', () => {
  it('with PROTOCOL_FEATURES, starts a ring on kick only once it is enabled', () => {
    const h = new Harness();
    h.setUp();
    expect(h.kick(0).actions).toEqual([{ type: 'set-vring-kick', index: 0, fd: 103 }]);
    expect(h.session.runningRings()).toEqual([]);
    expect(h.enable(0, true).actions).toEqual([{ type: 'set-vring-enable', index: 0, enabled: true }]);
    expect(h.backend.readyRings()).toEqual([0]);
    expect(h.enable(0, false).actions).toEqual([{ type: 'set-vring-enable', index: 0, enabled: false }]);
    expect(h.backend.readyRings()).toEqual([]);
  });

  it('with PROTOCOL_FEATURES, an enabled ring starts on its kick', () => {
    const h = new Harness();
    h.setUp();
    expect(h.enable(1, true).actions).toEqual([]);
    expect(h.kick(1).actions).toEqual([
      { type: 'set-vring-kick', index: 1, fd: 103 },
      { type: 'set-vring-enable', index: 1, enabled: true },
    ]);
  });

  it('without PROTOCOL_FEATURES, a ring is enabled at once and starts on its kick', () => {
    const h = new Harness();
    h.setUp(V1);
    h.kick(0);
    expect(h.backend.readyRings()).toEqual([0]);
  });

  it('stops a ring on GET_VRING_BASE and answers its next available index', () => {
    const h = new Harness();
    h.setUp();
    h.enable(0, true);
    h.kick(0);
    h.backend.consume(0, 5);
    const step = h.one(frontendMessage(VHOST_USER_GET_VRING_BASE, { kind: 'vring-state', index: 0, num: 0 }));
    expect(step.actions).toEqual([{ type: 'set-vring-enable', index: 0, enabled: false }]);
    expect(decodeReply(step.reply!, 'vring-state').payload).toEqual({
      kind: 'vring-state',
      index: 0,
      num: 5,
    });
    // Still enabled, but stopped until the next kick.
    expect(h.backend.readyRings()).toEqual([]);
    h.kick(0);
    expect(h.backend.readyRings()).toEqual([0]);
  });

  it('keeps the bases across status 0, which QEMU sends before GET_VRING_BASE', () => {
    const h = new Harness();
    h.setUp();
    for (const i of [0, 1]) {
      h.enable(i, true);
      h.kick(i);
    }
    h.backend.consume(0, 3);
    h.backend.consume(1, 7);
    h.one(frontendMessage(VHOST_USER_SET_STATUS, { kind: 'u64', value: 0n }));
    const bases = [0, 1].map((index) => {
      const step = h.one(frontendMessage(VHOST_USER_GET_VRING_BASE, { kind: 'vring-state', index, num: 0 }));
      return decodeReply(step.reply!, 'vring-state').payload;
    });
    expect(bases).toEqual([
      { kind: 'vring-state', index: 0, num: 3 },
      { kind: 'vring-state', index: 1, num: 7 },
    ]);
  });

  it('translates ring addresses from front-end virtual to guest-physical over the whole ring', () => {
    const h = new Harness();
    h.setUp();
    expect(h.backend.callsOf('setVringAddr')).toEqual([
      { op: 'setVringAddr', index: 0, addresses: { desc: 0x10000, avail: 0x11000, used: 0x12000 } },
      { op: 'setVringAddr', index: 1, addresses: { desc: 0x20000, avail: 0x21000, used: 0x22000 } },
    ]);
  });

  it('applies ring addresses given before the memory table when the table arrives', () => {
    const h = new Harness();
    h.one(frontendMessage(VHOST_USER_SET_VRING_ADDR, ADDR(0)));
    expect(h.backend.callsOf('setVringAddr')).toEqual([]);
    const step = h.one(
      frontendMessage(
        VHOST_USER_SET_MEM_TABLE,
        { kind: 'memory-table', regions: [REGION] },
        { fds: [h.fd()] },
      ),
    );
    expect(step.actions.map((a) => a.type)).toEqual(['set-mem-table', 'set-vring-addr']);
  });

  it('refuses ring addresses outside every region', () => {
    const h = new Harness();
    h.setUp();
    const step = h.one(
      frontendMessage(VHOST_USER_SET_VRING_ADDR, ADDR(0, 0x7e0000000000n), { needReply: true }),
    );
    expect(step.error?.code).toBe('ADDRESS_NOT_MAPPED');
    expect(step.error?.request).toBe('SET_VRING_ADDR');
    expect(decodeReply(step.reply!, 'u64').payload).toEqual({ kind: 'u64', value: 1n });
    // A ring whose last bytes fall past the region is refused too.
    const tail = h.one(
      frontendMessage(VHOST_USER_SET_VRING_ADDR, {
        kind: 'vring-addr',
        index: 0,
        flags: 0,
        desc: 0x7f0000000000n + 0x100000n - 0x800n,
        avail: 0x7f0000001000n,
        used: 0x7f0000002000n,
        log: 0n,
      }),
    );
    expect(tail.error?.code).toBe('ADDRESS_NOT_MAPPED');
    expect(tail.close).not.toBeNull();
  });

  it('refuses a queue index out of range', () => {
    const h = new Harness();
    const acked = h.one(
      frontendMessage(
        VHOST_USER_SET_VRING_NUM,
        { kind: 'vring-state', index: 2, num: 256 },
        { needReply: true },
      ),
    );
    expect(acked.error?.code).toBe('QUEUE_OUT_OF_RANGE');
    expect(decodeReply(acked.reply!, 'u64').payload).toEqual({ kind: 'u64', value: 1n });
    const kick = h.one(
      frontendMessage(
        VHOST_USER_SET_VRING_KICK,
        { kind: 'vring-file', index: 9, noFd: false },
        { needReply: true, fds: [h.fd()] },
      ),
    );
    expect(kick.error?.code).toBe('QUEUE_OUT_OF_RANGE');
    expect(kick.closeFds).toEqual([100]);
    // GET_VRING_BASE must answer a vring state: no error form, so the connection closes.
    const base = h.one(
      frontendMessage(
        VHOST_USER_GET_VRING_BASE,
        { kind: 'vring-state', index: 2, num: 0 },
        { needReply: true },
      ),
    );
    expect(base.error?.code).toBe('QUEUE_OUT_OF_RANGE');
    expect(base.reply).toBeNull();
    expect(base.close).not.toBeNull();
  });

  it('sets DRIVER_OK itself when the first ring runs for a front-end without STATUS', () => {
    const h = new Harness();
    h.setUp(V1 | PF, 0x9n);
    h.enable(0, true);
    h.enable(1, true);
    expect(h.kick(0).actions).toEqual([
      { type: 'set-vring-kick', index: 0, fd: 103 },
      { type: 'set-vring-enable', index: 0, enabled: true },
      { type: 'set-status', status: 0xf },
    ]);
    expect(h.kick(1).actions.map((a) => a.type)).toEqual(['set-vring-kick', 'set-vring-enable']);
    // With STATUS negotiated the front-end's own SET_STATUS is the only source.
    const g = new Harness();
    g.setUp();
    g.enable(0, true);
    g.kick(0);
    expect(g.backend.callsOf('setStatus')).toEqual([]);
  });

  it('checks only the first byte of a packed ring driver and device area', () => {
    const h = new Harness({ features: bit(VIRTIO_F_RING_PACKED) });
    h.setUp(V1 | PF | bit(VIRTIO_F_RING_PACKED));
    const end = 0x7f0000000000n + 0x100000n;
    const packed: VhostUserPayload = {
      kind: 'vring-addr',
      index: 0,
      flags: 0,
      desc: end - 0x3000n,
      avail: end - 4n,
      used: end - 8n,
      log: 0n,
    };
    expect(h.one(frontendMessage(VHOST_USER_SET_VRING_ADDR, packed)).error).toBeNull();
    const split = new Harness();
    split.setUp();
    expect(split.one(frontendMessage(VHOST_USER_SET_VRING_ADDR, packed)).error?.code).toBe(
      'ADDRESS_NOT_MAPPED',
    );
  });

  it('refuses an enable value other than 0 and 1', () => {
    const h = new Harness();
    const step = h.one(
      frontendMessage(VHOST_USER_SET_VRING_ENABLE, { kind: 'vring-state', index: 0, num: 2 }),
    );
    expect(step.error?.code).toBe('BAD_PAYLOAD');
  });
});

describe('VhostUserSession fds', () => {
  it('closes a replaced kick or call fd, and an err fd at once', () => {
    const h = new Harness();
    h.setUp();
    const first = h.kick(0);
    expect(first.closeFds).toEqual([]);
    expect(h.kick(0).closeFds).toEqual([103]);
    const call = h.one(
      frontendMessage(
        VHOST_USER_SET_VRING_CALL,
        { kind: 'vring-file', index: 0, noFd: false },
        { fds: [h.fd()] },
      ),
    );
    expect(call.closeFds).toEqual([101]);
    const err = h.one(
      frontendMessage(
        VHOST_USER_SET_VRING_ERR,
        { kind: 'vring-file', index: 0, noFd: false },
        { fds: [h.fd()] },
      ),
    );
    expect(err.closeFds).toEqual([106]);
    expect(err.actions).toEqual([]);
  });

  it('passes a polled kick (no-fd bit) as null', () => {
    const h = new Harness();
    h.setUp(V1);
    const step = h.one(
      frontendMessage(VHOST_USER_SET_VRING_KICK, { kind: 'vring-file', index: 1, noFd: true }),
    );
    expect(step.actions).toEqual([
      { type: 'set-vring-kick', index: 1, fd: null },
      { type: 'set-vring-enable', index: 1, enabled: true },
    ]);
  });

  it("closes the old table's fds when a new table replaces it, and a refused table's own fds", () => {
    const h = new Harness();
    h.setUp();
    const next = h.one(
      frontendMessage(
        VHOST_USER_SET_MEM_TABLE,
        { kind: 'memory-table', regions: [REGION] },
        { needReply: true, fds: [h.fd()] },
      ),
    );
    expect(next.closeFds).toEqual([100]);
    expect(decodeReply(next.reply!, 'u64').payload).toEqual({ kind: 'u64', value: 0n });
    const overlapping = h.one(
      frontendMessage(
        VHOST_USER_SET_MEM_TABLE,
        { kind: 'memory-table', regions: [REGION, { ...REGION, userspaceAddr: 0x7f1000000000n }] },
        { needReply: true, fds: [h.fd(), h.fd()] },
      ),
    );
    expect(overlapping.error?.code).toBe('BAD_MEMORY_TABLE');
    expect(decodeReply(overlapping.reply!, 'u64').payload).toEqual({ kind: 'u64', value: 1n });
    expect(overlapping.closeFds).toEqual([104, 105]);
    expect(h.session.memoryTable?.fds).toEqual([103]);
  });

  it('refuses a table of an absurd size before the backend sees it', () => {
    const h = new Harness();
    const step = h.one(
      frontendMessage(
        VHOST_USER_SET_MEM_TABLE,
        { kind: 'memory-table', regions: [{ ...REGION, memorySize: 1n << 50n }] },
        { needReply: true, fds: [h.fd()] },
      ),
    );
    expect(step.error?.code).toBe('BAD_MEMORY_TABLE');
    expect(h.backend.callsOf('setMemTable')).toEqual([]);
    expect(step.closeFds).toEqual([100]);
  });

  it('answers an unknown request with an error reply when asked, else closes', () => {
    const h = new Harness();
    const replied = h.one(frontendMessage(77, { kind: 'none' }, { needReply: true }));
    expect(replied.error?.code).toBe('UNKNOWN_REQUEST');
    expect(decodeReply(replied.reply!, 'u64')).toEqual({
      header: { request: 77, flags: 0x5, size: 8 },
      payload: { kind: 'u64', value: 1n },
    });
    const closed = h.one(frontendMessage(77));
    expect(closed.close).toMatch(/no such vhost-user request/);
  });

  it('refuses an unsupported request and closes its fds', () => {
    const h = new Harness();
    const step = h.one(
      frontendMessage(VHOST_USER_SET_LOG_FD, { kind: 'none' }, { needReply: true, fds: [h.fd()] }),
    );
    expect(step.error?.code).toBe('UNSUPPORTED_REQUEST');
    expect(step.closeFds).toEqual([100]);
    h.session.close('test over');
    h.expectNoLeak();
  });

  it('refuses fds on a request that takes none, closing them', () => {
    const h = new Harness();
    const step = h.one(frontendMessage(VHOST_USER_GET_FEATURES, { kind: 'none' }, { fds: [h.fd()] }));
    expect(step.error?.code).toBe('UNEXPECTED_FDS');
    expect(step.close).not.toBeNull();
    expect(step.closeFds).toEqual([100]);
  });

  it('answers IOTLB_MSG with a failure status (no IOMMU support)', () => {
    const h = new Harness();
    const step = h.one(
      frontendMessage(VHOST_USER_IOTLB_MSG, {
        kind: 'iotlb',
        iova: 0n,
        size: 0x1000n,
        uaddr: 0n,
        perm: 3,
        type: 2,
      }),
    );
    expect(step.error?.code).toBe('UNSUPPORTED_REQUEST');
    expect(decodeReply(step.reply!, 'u64').payload).toEqual({ kind: 'u64', value: 1n });
  });

  it('turns a backend refusal into BACKEND_FAILED', () => {
    const h = new Harness();
    h.backend.failOn('setVringNum');
    const step = h.one(
      frontendMessage(
        VHOST_USER_SET_VRING_NUM,
        { kind: 'vring-state', index: 0, num: 300 },
        { needReply: true },
      ),
    );
    expect(step.error?.code).toBe('BACKEND_FAILED');
    expect(step.error?.message).toMatch(/setVringNum refused/);
    expect(decodeReply(step.reply!, 'u64').payload).toEqual({ kind: 'u64', value: 1n });
  });

  it('on a disconnect mid-message, stops the rings, resets the device and lists every fd', () => {
    const h = new Harness();
    h.setUp();
    h.enable(0, true);
    h.kick(0);
    const partial = frontendMessage(
      VHOST_USER_SET_VRING_CALL,
      { kind: 'vring-file', index: 1, noFd: false },
      { fds: [h.fd()] },
    );
    h.given.push(...partial.fds);
    expect(h.session.receive(partial.bytes.subarray(0, 7), partial.fds)).toEqual([]);
    const closed = h.session.close('peer disconnected');
    h.closed.push(...closed.closeFds);
    expect(closed.midMessage).toBe(true);
    expect(closed.actions).toEqual([
      { type: 'set-vring-enable', index: 0, enabled: false },
      { type: 'reset' },
    ]);
    expect([...closed.closeFds].sort()).toEqual([100, 101, 102, 103, 104].sort());
    h.expectNoLeak();
    expect(h.session.close('again').closeFds).toEqual([]);
  });

  it('after a fatal framing error, closes everything and refuses later input with its fds', () => {
    const h = new Harness();
    h.setUp();
    const bad = frontendMessage(VHOST_USER_SET_OWNER);
    bad.bytes[4] = 0x2;
    const step = h.one({ bytes: bad.bytes, fds: [h.fd()] });
    expect(step.error?.code).toBe('BAD_VERSION');
    expect([...step.closeFds].sort()).toEqual([100, 101, 102, 103].sort());
    const later = h.one(
      frontendMessage(
        VHOST_USER_SET_VRING_CALL,
        { kind: 'vring-file', index: 0, noFd: false },
        { fds: [h.fd()] },
      ),
    );
    expect(later.error?.code).toBe('SESSION_CLOSED');
    expect(later.closeFds).toEqual([104]);
    h.expectNoLeak();
  });

  it('drops the messages after a fatal one in the same chunk, closing their fds', () => {
    const h = new Harness();
    const bad = frontendMessage(VHOST_USER_GET_FEATURES, { kind: 'none' }, { fds: [h.fd()] });
    const next = frontendMessage(VHOST_USER_GET_FEATURES);
    const both = new Uint8Array(bad.bytes.byteLength + next.bytes.byteLength);
    both.set(bad.bytes);
    both.set(next.bytes, bad.bytes.byteLength);
    const steps = h.send({ bytes: both, fds: bad.fds });
    expect(steps).toHaveLength(1);
    expect(steps[0]!.close).not.toBeNull();
    h.expectNoLeak();
  });

  it('releases everything on RESET_OWNER and keeps serving', () => {
    const h = new Harness();
    h.setUp();
    h.kick(0);
    const step = h.one(frontendMessage(VHOST_USER_RESET_OWNER));
    expect([...step.closeFds].sort()).toEqual([100, 101, 102, 103].sort());
    expect(step.actions.at(-1)).toEqual({ type: 'reset' });
    expect(step.close).toBeNull();
    expect(h.u64(VHOST_USER_GET_FEATURES)).toBe(V1 | PF);
  });
});

describe('VhostUserSession config space', () => {
  const config = Uint8Array.from([0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0]);

  it('reads and writes within the config space', () => {
    const h = new Harness({ config });
    const step = h.one(
      frontendMessage(VHOST_USER_GET_CONFIG, {
        kind: 'config',
        offset: 0,
        size: 6,
        flags: 0,
        payload: new Uint8Array(6),
      }),
    );
    expect(decodeReply(step.reply!, 'config').payload).toEqual({
      kind: 'config',
      offset: 0,
      size: 6,
      flags: 0,
      payload: config.slice(0, 6),
    });
    const write = h.one(
      frontendMessage(VHOST_USER_SET_CONFIG, {
        kind: 'config',
        offset: 6,
        size: 2,
        flags: 0,
        payload: Uint8Array.from([3, 4]),
      }),
    );
    expect(write.actions).toEqual([{ type: 'set-config', offset: 6, data: Uint8Array.from([3, 4]) }]);
  });

  it('answers a bad read with an empty payload, as vhost-user.rst asks', () => {
    for (const h of [new Harness({ config }), new Harness()]) {
      const step = h.one(
        frontendMessage(VHOST_USER_GET_CONFIG, {
          kind: 'config',
          offset: 4,
          size: 8,
          flags: 0,
          payload: new Uint8Array(8),
        }),
      );
      expect(step.error?.code).toMatch(/BAD_CONFIG_ACCESS|UNSUPPORTED_REQUEST/);
      expect(decodeReply(step.reply!, 'none').header).toEqual({
        request: VHOST_USER_GET_CONFIG,
        flags: 0x5,
        size: 0,
      });
      expect(step.close).toBeNull();
    }
  });
});
