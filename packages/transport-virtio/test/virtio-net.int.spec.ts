// VirtioNet driving real devices: mvnet (the teaching loopback, no control queue) and vdpasim_net
// (loopback with a MAC filter, control queue, multiqueue). Neither offers EVENT_IDX nor INDIRECT_DESC
// (vdpa_sim does not), so the traffic here runs with flag-based notification suppression.
import { VdpaError } from '@vdpa-kit/core-bus';
import { VDPASIM_NET_SUPPORTED_FEATURES } from '@vdpa-kit/device-vdpasim';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type NetConfigSnapshot,
  type RxBatch,
  type VirtioDevice,
  VirtioError,
  type VirtioNet,
  generateMac,
} from '../src/index.js';
import { NET_CONFIG_READ_SIZE } from '../src/constants.js';
import { DEVICE_MAC, addLoopbackDevice, addVdpasim, deviceStack, readyVqs, vstat } from './devices.js';
import { type TestStack, answerConfig, collectFrames, makeFrame, settle } from './harness.js';
import { beforeNextVqCallback, overstateLastUsedLen, repeatLastUsed, vqRing } from './ring-corruption.js';
import {
  bit,
  ETH_FRAME_LEN,
  ETH_HLEN,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_HDR_V1_SIZE,
} from '@vdpa-kit/virtio-spec';

function netOf(s: TestStack, name = 'vdpa0'): VirtioNet {
  const net = s.vbus.netDevice(name);
  if (net === undefined) throw new Error(`no net device ${name}`);
  return net;
}

function deviceOf(s: TestStack, name = 'vdpa0'): VirtioDevice {
  const vdev = s.vbus.device(name);
  if (vdev === undefined) throw new Error(`no virtio device ${name}`);
  return vdev;
}

/** Byte equality without the matcher's per-element cost (thousands of frames are compared). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Frame lengths cycling through small, odd and full-size frames. */
function lengthOf(i: number): number {
  const lens = [60, 61, 128, 1000, ETH_FRAME_LEN, ETH_HLEN];
  return lens[i % lens.length];
}

/** A frame to the device's own MAC (vdpasim_net's filter accepts it; mvnet has no filter). */
function frame(seq: number, len: number): Uint8Array {
  return makeFrame(seq, len, DEVICE_MAC);
}

describe('VirtioNet identity (vdpasim_net)', () => {
  it('reads mac, link, mtu and queue pairs from config', () => {
    const s = deviceStack();
    const mac = Uint8Array.of(0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee);
    addVdpasim(s, { net: { mac, mtu: 9000 } });
    const net = netOf(s);
    expect(net.name).toBe('vdpa0');
    expect(net.mac).toEqual(mac);
    expect(net.linkUp).toBe(true);
    expect(net.mtu).toBe(9000);
    expect(net.maxQueuePairs).toBe(1);
    expect(net.queuePairs).toBe(1);
    expect(net.hdrLen).toBe(VIRTIO_NET_HDR_V1_SIZE);
  });

  it('generates a stable locally administered unicast MAC without VIRTIO_NET_F_MAC', () => {
    const a = deviceStack();
    const b = deviceStack();
    const withoutMac = VDPASIM_NET_SUPPORTED_FEATURES & ~bit(VIRTIO_NET_F_MAC) & ~bit(VIRTIO_NET_F_MQ);
    addVdpasim(a, { deviceFeatures: withoutMac });
    addVdpasim(b, { deviceFeatures: withoutMac });
    expect(netOf(a).features & bit(VIRTIO_NET_F_MAC)).toBe(0n);
    const mac = netOf(a).mac;
    expect(mac[0] & 0x03).toBe(0x02);
    expect(netOf(b).mac).toEqual(mac);
  });

  it('replaces an invalid (all-zero) config MAC with a generated one', () => {
    const s = deviceStack();
    // vdpasim_net's MAC is all zero when dev add gives none (as the newest kernel's).
    const sim = addVdpasim(s);
    expect(sim.mac).toEqual(new Uint8Array(6));
    const mac = netOf(s).mac;
    expect(mac).not.toEqual(new Uint8Array(6));
    expect(mac[0] & 0x03).toBe(0x02);
    expect(mac).toEqual(generateMac('vdpa0'));
  });
});

describe.each(['mvnet', 'vdpasim_net'] as const)('VirtioNet traffic (%s)', (mgmtdev) => {
  it('loops N frames out and back intact and in order, counted on both sides', () => {
    const s = deviceStack();
    addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    const got = collectFrames(net);
    const n = 1000;
    const chunk = 50;
    let bytes = 0;
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      const f = frame(i, lengthOf(i));
      bytes += f.length;
      if (net.send(f)) accepted++;
      if ((i + 1) % chunk === 0) net.flush();
    }
    net.flush();
    expect(accepted).toBe(n);
    expect(got.frames).toHaveLength(n);
    const wrong = got.frames.flatMap((f, i) => (sameBytes(f.bytes, frame(i, lengthOf(i))) ? [] : [i]));
    expect(wrong).toEqual([]);
    // The device counts every frame with its virtio-net header, and lost none.
    const withHeaders = BigInt(bytes + n * net.hdrLen);
    expect(vstat(s, 1, 'tx packets')).toBe(BigInt(n));
    expect(vstat(s, 1, 'tx bytes')).toBe(withHeaders);
    expect(vstat(s, 0, 'rx packets')).toBe(BigInt(n));
    expect(vstat(s, 0, 'rx bytes')).toBe(withHeaders);
    expect([vstat(s, 0, 'rx drops'), vstat(s, 0, 'rx overruns'), vstat(s, 0, 'rx errors')]).toEqual([
      0n,
      0n,
      0n,
    ]);
    const [rx, tx] = net.stats();
    expect(rx).toMatchObject({ queue: 0, kind: 'rx', packets: n, bytes, errors: 0, drops: 0 });
    expect(tx).toMatchObject({ queue: 1, kind: 'tx', packets: n, bytes });
    // One kick decision per flush at most, and far fewer batches than frames.
    expect(tx.kicks).toBeLessThanOrEqual(n / chunk);
    expect(got.batches).toBeLessThanOrEqual(n / chunk);
    expect(rx.interrupts).toBeLessThanOrEqual(got.batches);
  });

  it('emits one receive$ value per batch, the same batches onReceive sees', async () => {
    const s = deviceStack();
    addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    const counts: number[] = [];
    const sub = net.receive$.subscribe((b: RxBatch) => counts.push(b.count));
    const got = collectFrames(net);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) net.send(frame(i, 64));
      net.flush();
    }
    sub.unsubscribe();
    expect(counts).toEqual([10, 10, 10]);
    expect(got.batches).toBe(3);
    const first = firstValueFrom(net.receive$.pipe(take(1)));
    net.send(frame(7, 100));
    net.flush();
    expect((await first).queue).toBe(0);
  });

  it('counts frames arriving with no receiver as drops and keeps the ring going', () => {
    const s = deviceStack({ queueSize: 16 });
    addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    for (let i = 0; i < 40; i++) {
      net.send(frame(i, 60));
      net.flush();
    }
    expect(net.stats()[0]).toMatchObject({ packets: 40, drops: 40 });
    // The device delivered all 40 into the 16-entry ring: the driver gave the buffers back.
    expect(vstat(s, 0, 'rx packets')).toBe(40n);
    const got = collectFrames(net);
    net.send(frame(1, 60));
    net.flush();
    expect(got.frames).toHaveLength(1);
  });

  it('lets a receiver send from inside the batch callback (echo) without losing frames', () => {
    const s = deviceStack();
    addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    let echoed = 0;
    const stop = net.onReceive((b) => {
      for (let i = 0; i < b.count && echoed < 5; i++, echoed++) {
        net.send(b.data[i].slice(b.offsets[i], b.offsets[i] + b.lengths[i]));
      }
      net.flush();
    });
    net.send(frame(0, 60));
    net.flush();
    stop();
    expect(echoed).toBe(5);
    expect(vstat(s, 1, 'tx packets')).toBe(6n);
    expect(net.stats()[0].packets).toBe(6);
  });

  it('applies backpressure: send returns false while the ring is full, true after reclaim', async () => {
    const s = deviceStack({ queueSize: 8 }, { workQueue: 'microtask' });
    addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    const got = collectFrames(net);
    let accepted = 0;
    while (net.send(frame(accepted, 60))) accepted++;
    expect(accepted).toBe(8);
    expect(net.stats()[1].drops).toBe(1);
    await settle();
    expect(net.reclaim() + net.stats()[1].packets).toBeGreaterThanOrEqual(8);
    expect(net.send(frame(99, 60))).toBe(true);
    net.flush();
    await settle();
    // Byte 6 is the first byte after the destination address, which differs per frame.
    expect(got.frames.map((f) => f.bytes[6])).toEqual([
      ...Array.from({ length: 8 }, (_, i) => frame(i, 60)[6]),
      frame(99, 60)[6],
    ]);
  });

  it('delivers asynchronously with a microtask work queue', async () => {
    const s = deviceStack({}, { workQueue: 'microtask' });
    addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    const got = collectFrames(net);
    net.send(frame(3, 80));
    net.flush();
    expect(got.frames).toHaveLength(0);
    await settle();
    expect(got.frames.map((f) => f.bytes)).toEqual([frame(3, 80)]);
  });

  it('polls used RX buffers on demand when the device did not interrupt', () => {
    const s = deviceStack();
    // The receive queue's interrupt never reaches the driver: its callback is not given to the device.
    s.bus.addInterceptor((call, next) =>
      call.op === 'setVqCb' && call.args[0] === 0 ? next([0, null]) : next(),
    );
    addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    const got = collectFrames(net);
    net.send(frame(5, 90));
    net.flush();
    expect(got.frames).toHaveLength(0);
    expect(vstat(s, 0, 'rx packets')).toBe(1n);
    expect(net.poll()).toBe(1);
    expect(got.frames.map((f) => f.bytes)).toEqual([frame(5, 90)]);
    expect(net.stats()[0].interrupts).toBe(0);
  });

  it('can be closed by a receiver from inside its batch callback', () => {
    const s = deviceStack();
    const ops = addLoopbackDevice(s, mgmtdev);
    const net = netOf(s);
    const nvqs = deviceOf(s).nvqs;
    const errors: unknown[] = [];
    deviceOf(s).errors$.subscribe((e) => errors.push(e));
    let batches = 0;
    net.onReceive(() => {
      batches++;
      net.close();
    });
    net.send(frame(0, 60));
    net.flush();
    expect(batches).toBe(1);
    expect(net.closed).toBe(true);
    expect(errors).toEqual([]);
    expect(readyVqs(ops, nvqs)).toEqual([]);
    expect(ops.getStatus()).toBe(0);
    expect(deviceOf(s).broken).toBe(false);
  });
});

describe('VirtioNet multiqueue (vdpasim_net)', () => {
  it('enables every queue pair at bring-up and keeps pairs separate', () => {
    const s = deviceStack();
    const sim = addVdpasim(s, { net: { mac: DEVICE_MAC, maxVqPairs: 3 } });
    const net = netOf(s);
    expect(net.maxQueuePairs).toBe(3);
    expect(net.queuePairs).toBe(3);
    // The device acked the one command of the bring-up, VQ_PAIRS_SET 3, and processes three pairs.
    expect(sim.activePairs).toBe(3);
    expect([vstat(s, 6, 'cvq requests'), vstat(s, 6, 'cvq successes')]).toEqual([1n, 1n]);
    const got = collectFrames(net);
    for (let q = 0; q < 3; q++) {
      net.send(frame(q, 100 + q), q);
      net.flush(q);
    }
    expect(got.frames.map((f) => [f.queue, f.bytes.length])).toEqual([
      [0, 100],
      [1, 101],
      [2, 102],
    ]);
    expect([0, 1, 2].map((q) => vstat(s, 2 * q, 'rx packets'))).toEqual([1n, 1n, 1n]);
    expect(net.stats().map((st) => [st.queue, st.kind])).toEqual([
      [0, 'rx'],
      [1, 'tx'],
      [2, 'rx'],
      [3, 'tx'],
      [4, 'rx'],
      [5, 'tx'],
      [6, 'cvq'],
    ]);
  });

  it('changes the active pairs with VQ_PAIRS_SET', async () => {
    const s = deviceStack();
    const sim = addVdpasim(s, { net: { mac: DEVICE_MAC, maxVqPairs: 2 } });
    const net = netOf(s);
    expect(sim.activePairs).toBe(2);
    await net.setQueuePairs(1);
    expect(net.queuePairs).toBe(1);
    expect(sim.activePairs).toBe(1);
    expect(() => net.send(frame(0, 60), 1)).toThrow(VdpaError);
    await expect(net.setQueuePairs(3)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(sim.activePairs).toBe(1);
  });
});

describe('VirtioNet config changes (vdpasim_net)', () => {
  it('emits link down and up on config$', async () => {
    const s = deviceStack();
    const sim = addVdpasim(s, { net: { mac: DEVICE_MAC } });
    const net = netOf(s);
    const seen = firstValueFrom(net.config$.pipe(take(3), toArray()));
    sim.setLinkUp(false);
    expect(net.linkUp).toBe(false);
    sim.setLinkUp(true);
    const snaps: NetConfigSnapshot[] = await seen;
    expect(snaps.map((c) => c.linkUp)).toEqual([true, false, true]);
    expect(snaps[1]).toEqual({
      mac: '52:54:00:12:34:56',
      linkUp: false,
      announce: false,
      mtu: 1500,
      maxQueuePairs: 1,
    });
  });

  it('keeps probe-time MTU and queue pairs when a config change reports others', () => {
    const s = deviceStack();
    const sim = addVdpasim(s, { net: { mac: DEVICE_MAC, maxVqPairs: 2 } });
    const net = netOf(s);
    const changed = new Uint8Array(NET_CONFIG_READ_SIZE);
    const view = new DataView(changed.buffer);
    view.setUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, 8, true);
    view.setUint16(VIRTIO_NET_CONFIG_MTU, 9000, true);
    s.bus.addInterceptor(answerConfig(changed));
    sim.setLinkUp(false);
    expect(net.linkUp).toBe(false);
    expect(net.maxQueuePairs).toBe(2);
    expect(net.mtu).toBe(1500);
    expect(() => net.poll(5)).toThrow(VdpaError);
  });
});

describe('VirtioNet with a misbehaving device (vdpasim_net, used ring corrupted in guest memory)', () => {
  it.each([
    ['used-id', repeatLastUsed, /not in flight/],
    ['used-len', overstateLastUsedLen, /beyond/],
  ] as const)(
    'turns a bad used element (%s) into a typed error, FAILED, no crash',
    async (_kind, corrupt, why) => {
      const s = deviceStack();
      const ops = addLoopbackDevice(s, 'vdpasim_net');
      const net = netOf(s);
      const vdev = deviceOf(s);
      const error = firstValueFrom(vdev.errors$);
      collectFrames(net);
      beforeNextVqCallback(s.bus, 0, () => corrupt(s.mem, vqRing(s.events, 0)));
      net.send(frame(0, 60));
      expect(() => net.flush()).not.toThrow();
      const err = await error;
      expect(err).toBeInstanceOf(VirtioError);
      expect(err).toMatchObject({ code: 'EIO', reason: 'ring', dev: 'vdpa0' });
      expect(err.message).toMatch(why);
      expect(vdev.broken).toBe(true);
      expect(net.broken).toBe(true);
      expect(ops.getStatus() & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
      expect(() => net.send(frame(1, 60))).toThrow(/broken/);
      expect(net.reclaim()).toBe(0);
      const refused = await net.setRxMode('promisc', true).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(VirtioError);
      expect(refused).toMatchObject({ code: 'EIO', message: expect.stringMatching(/broken/) });
    },
  );

  it('fails the device on a corrupt used ring with a microtask work queue', async () => {
    const s = deviceStack({}, { workQueue: 'microtask' });
    addLoopbackDevice(s, 'vdpasim_net');
    const net = netOf(s);
    beforeNextVqCallback(s.bus, 0, () => overstateLastUsedLen(s.mem, vqRing(s.events, 0)));
    net.send(frame(0, 60));
    net.flush();
    expect(net.broken).toBe(false);
    await settle();
    expect(net.broken).toBe(true);
    expect(deviceOf(s).broken).toBe(true);
  });
});
