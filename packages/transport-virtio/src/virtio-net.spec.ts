import { VdpaError } from '@vdpa-kit/core-bus';
import {
  ETH_FRAME_LEN,
  ETH_HLEN,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_V1_SIZE,
  bit,
} from '@vdpa-kit/virtio-spec';
import { firstValueFrom, filter, toArray, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type TestStack,
  addLoopback,
  answerConfig,
  collectFrames,
  makeFrame,
  makeStack,
  settle,
} from '../test/harness.js';
import { NET_CONFIG_READ_SIZE } from './constants.js';
import { VirtioError } from './errors.js';
import type { NetConfigSnapshot, RxBatch } from './net-interface.js';
import type { VirtioDevice } from './virtio-device.js';
import type { VirtioNet } from './virtio-net.js';

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

describe('VirtioNet identity', () => {
  it('reads mac, link, mtu and queue pairs from config', () => {
    const s = makeStack();
    const mac = Uint8Array.of(0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee);
    addLoopback(s, { mac, mtu: 9000 });
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
    const a = makeStack();
    const b = makeStack();
    const withoutMac = bit(VIRTIO_NET_F_MAC);
    addLoopback(a, { withoutFeatures: withoutMac });
    addLoopback(b, { withoutFeatures: withoutMac });
    const mac = netOf(a).mac;
    expect(mac[0] & 0x03).toBe(0x02);
    expect(netOf(b).mac).toEqual(mac);
  });

  it('replaces an invalid (all-zero) config MAC with a generated one', () => {
    const s = makeStack();
    addLoopback(s, { mac: new Uint8Array(6) });
    const mac = netOf(s).mac;
    expect(mac).not.toEqual(new Uint8Array(6));
    expect(mac[0] & 0x03).toBe(0x02);
  });
});

describe('VirtioNet traffic', () => {
  it.each([
    ['event idx + indirect', { eventIdx: true, indirect: true }],
    ['no event idx, no indirect', { eventIdx: false, indirect: false }],
  ])('loops N frames out and back intact and in order (%s)', (_label, features) => {
    const s = makeStack();
    const device = addLoopback(s, features);
    const net = netOf(s);
    const got = collectFrames(net);
    const n = 1000;
    const chunk = 50;
    let bytes = 0;
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      const f = makeFrame(i, lengthOf(i));
      bytes += f.length;
      if (net.send(f)) accepted++;
      if ((i + 1) % chunk === 0) net.flush();
    }
    net.flush();
    expect(accepted).toBe(n);
    expect(got.frames).toHaveLength(n);
    const wrong = got.frames.flatMap((f, i) => (sameBytes(f.bytes, makeFrame(i, lengthOf(i))) ? [] : [i]));
    expect(wrong).toEqual([]);
    expect(device.txPackets).toBe(n);
    expect(device.rxDrops).toBe(0);
    const [rx, tx] = net.stats();
    expect(rx).toMatchObject({ queue: 0, kind: 'rx', packets: n, bytes, errors: 0, drops: 0 });
    expect(tx).toMatchObject({ queue: 1, kind: 'tx', packets: n, bytes });
    // One kick decision per flush at most, and far fewer batches than frames.
    expect(tx.kicks).toBeLessThanOrEqual(n / chunk);
    expect(got.batches).toBeLessThanOrEqual(n / chunk);
    expect(rx.interrupts).toBeLessThanOrEqual(got.batches);
  });

  it('emits one receive$ value per batch, the same batches onReceive sees', async () => {
    const s = makeStack();
    addLoopback(s);
    const net = netOf(s);
    const counts: number[] = [];
    const sub = net.receive$.subscribe((b: RxBatch) => counts.push(b.count));
    const got = collectFrames(net);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) net.send(makeFrame(i, 64));
      net.flush();
    }
    sub.unsubscribe();
    expect(counts).toEqual([10, 10, 10]);
    expect(got.batches).toBe(3);
    const first = firstValueFrom(net.receive$.pipe(take(1)));
    net.send(makeFrame(7, 100));
    net.flush();
    expect((await first).queue).toBe(0);
  });

  it('counts frames arriving with no receiver as drops and keeps the ring going', () => {
    const s = makeStack({ queueSize: 16 });
    addLoopback(s);
    const net = netOf(s);
    for (let i = 0; i < 40; i++) {
      net.send(makeFrame(i, 60));
      net.flush();
    }
    expect(net.stats()[0]).toMatchObject({ packets: 40, drops: 40 });
    const got = collectFrames(net);
    net.send(makeFrame(1, 60));
    net.flush();
    expect(got.frames).toHaveLength(1);
  });

  it('lets a receiver send from inside the batch callback (echo) without losing frames', () => {
    const s = makeStack();
    const device = addLoopback(s);
    const net = netOf(s);
    let echoed = 0;
    const stop = net.onReceive((b) => {
      for (let i = 0; i < b.count && echoed < 5; i++, echoed++) {
        net.send(b.data[i].slice(b.offsets[i], b.offsets[i] + b.lengths[i]));
      }
      net.flush();
    });
    net.send(makeFrame(0, 60));
    net.flush();
    stop();
    expect(echoed).toBe(5);
    expect(device.txPackets).toBe(6);
    expect(net.stats()[0].packets).toBe(6);
  });

  it('rejects frames of 0 bytes or longer than the MTU allows, and inactive queues', () => {
    const s = makeStack();
    addLoopback(s);
    const net = netOf(s);
    expect(() => net.send(new Uint8Array(0))).toThrow(VdpaError);
    expect(() => net.send(new Uint8Array(ETH_FRAME_LEN + 1))).toThrow(/1515 bytes/);
    expect(() => net.send(makeFrame(0, 60), 1)).toThrow(/queue 1/);
    expect(() => net.poll(1)).toThrow(VdpaError);
  });

  it('applies backpressure: send returns false while the ring is full, true after reclaim', async () => {
    const s = makeStack({ queueSize: 8 }, { workQueue: 'microtask' });
    addLoopback(s);
    const net = netOf(s);
    const got = collectFrames(net);
    let accepted = 0;
    while (net.send(makeFrame(accepted, 60))) accepted++;
    expect(accepted).toBe(8);
    expect(net.stats()[1].drops).toBe(1);
    await settle();
    expect(net.reclaim() + net.stats()[1].packets).toBeGreaterThanOrEqual(8);
    expect(net.send(makeFrame(99, 60))).toBe(true);
    net.flush();
    await settle();
    expect(got.frames.map((f) => f.bytes[0])).toEqual([
      ...Array.from({ length: 8 }, (_, i) => makeFrame(i, 60)[0]),
      makeFrame(99, 60)[0],
    ]);
  });

  it('delivers asynchronously with a microtask work queue', async () => {
    const s = makeStack({}, { workQueue: 'microtask' });
    addLoopback(s);
    const net = netOf(s);
    const got = collectFrames(net);
    net.send(makeFrame(3, 80));
    net.flush();
    expect(got.frames).toHaveLength(0);
    await settle();
    expect(got.frames.map((f) => f.bytes)).toEqual([makeFrame(3, 80)]);
  });

  it('polls used RX buffers on demand when the device did not interrupt', () => {
    const s = makeStack();
    addLoopback(s, { eventIdx: false });
    const net = netOf(s);
    const got = collectFrames(net);
    // Without EVENT_IDX, NO_INTERRUPT on the receive queue stops the device's notification.
    deviceOf(s).virtqueues[0].disableCb();
    net.send(makeFrame(5, 90));
    net.flush();
    expect(got.frames).toHaveLength(0);
    expect(net.poll()).toBe(1);
    expect(got.frames.map((f) => f.bytes)).toEqual([makeFrame(5, 90)]);
    expect(net.stats()[0].interrupts).toBe(0);
  });
});

describe('VirtioNet multiqueue', () => {
  it('enables every queue pair at bring-up and keeps pairs separate', () => {
    const s = makeStack();
    const device = addLoopback(s, { maxQueuePairs: 3 });
    const net = netOf(s);
    expect(net.maxQueuePairs).toBe(3);
    expect(net.queuePairs).toBe(3);
    expect(device.queuePairs).toBe(3);
    expect(device.commands[0]).toEqual({ cls: 4, cmd: 0, data: Uint8Array.of(3, 0) });
    const got = collectFrames(net);
    for (let q = 0; q < 3; q++) {
      net.send(makeFrame(q, 100 + q), q);
      net.flush(q);
    }
    expect(got.frames.map((f) => [f.queue, f.bytes.length])).toEqual([
      [0, 100],
      [1, 101],
      [2, 102],
    ]);
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
    const s = makeStack();
    const device = addLoopback(s, { maxQueuePairs: 2 });
    const net = netOf(s);
    await net.setQueuePairs(1);
    expect(net.queuePairs).toBe(1);
    expect(device.queuePairs).toBe(1);
    expect(() => net.send(makeFrame(0, 60), 1)).toThrow(VdpaError);
    await expect(net.setQueuePairs(3)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('VirtioNet config changes', () => {
  it('emits link down and up on config$', async () => {
    const s = makeStack();
    const device = addLoopback(s);
    const net = netOf(s);
    const seen = firstValueFrom(net.config$.pipe(take(3), toArray()));
    device.setLinkUp(false);
    expect(net.linkUp).toBe(false);
    device.setLinkUp(true);
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
    const s = makeStack();
    const device = addLoopback(s, { maxQueuePairs: 2 });
    const net = netOf(s);
    const changed = new Uint8Array(NET_CONFIG_READ_SIZE);
    const view = new DataView(changed.buffer);
    view.setUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, 8, true);
    view.setUint16(VIRTIO_NET_CONFIG_MTU, 9000, true);
    s.bus.addInterceptor(answerConfig(changed));
    device.setLinkUp(false);
    expect(net.linkUp).toBe(false);
    expect(net.maxQueuePairs).toBe(2);
    expect(net.mtu).toBe(1500);
    expect(() => net.poll(5)).toThrow(VdpaError);
  });

  it('reports link up without VIRTIO_NET_F_STATUS', () => {
    const s = makeStack();
    addLoopback(s, { withoutFeatures: bit(VIRTIO_NET_F_STATUS), linkUp: false });
    expect(netOf(s).linkUp).toBe(true);
  });
});

describe('VirtioNet with a misbehaving device', () => {
  it.each(['used-id', 'used-len'] as const)(
    'turns a bad used element (%s) into a typed error, FAILED, no crash',
    async (kind) => {
      const s = makeStack();
      const device = addLoopback(s);
      const net = netOf(s);
      const vdev = deviceOf(s);
      const error = firstValueFrom(vdev.errors$);
      collectFrames(net);
      device.misbehaveOnce(kind);
      net.send(makeFrame(0, 60));
      expect(() => net.flush()).not.toThrow();
      const err = await error;
      expect(err).toBeInstanceOf(VirtioError);
      expect(err).toMatchObject({ code: 'EIO', reason: 'ring', dev: 'vdpa0' });
      expect(err.message).toMatch(kind === 'used-id' ? /not in flight/ : /beyond/);
      expect(vdev.broken).toBe(true);
      expect(net.broken).toBe(true);
      expect(device.status & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
      expect(() => net.send(makeFrame(1, 60))).toThrow(/broken/);
      expect(net.reclaim()).toBe(0);
      await expect(net.setRxMode('promisc', true)).rejects.toBeInstanceOf(VirtioError);
    },
  );

  it('fails the device on a corrupt used ring with a microtask work queue', () => {
    const s = makeStack({}, { workQueue: 'microtask' });
    const device = addLoopback(s);
    const net = netOf(s);
    device.misbehaveOnce('used-len');
    net.send(makeFrame(0, 60));
    net.flush();
    return settle().then(() => {
      expect(net.broken).toBe(true);
      expect(deviceOf(s).broken).toBe(true);
    });
  });
});

describe('VirtioNet close', () => {
  it('can be closed by a receiver from inside its batch callback', () => {
    const s = makeStack();
    const device = addLoopback(s);
    const net = netOf(s);
    const errors: unknown[] = [];
    deviceOf(s).errors$.subscribe((e) => errors.push(e));
    let batches = 0;
    net.onReceive(() => {
      batches++;
      net.close();
    });
    net.send(makeFrame(0, 60));
    net.flush();
    expect(batches).toBe(1);
    expect(net.closed).toBe(true);
    expect(errors).toEqual([]);
    expect(device.readyVqs()).toEqual([]);
    expect(deviceOf(s).broken).toBe(false);
  });

  it('closes: device reset, buffers freed, streams completed, commands rejected', async () => {
    const s = makeStack();
    const freeBefore = s.driver.dma.available();
    const device = addLoopback(s);
    const net = netOf(s);
    const configDone = firstValueFrom(net.config$.pipe(filter(() => false)), { defaultValue: 'completed' });
    net.close();
    net.close();
    expect(await configDone).toBe('completed');
    expect(device.readyVqs()).toEqual([]);
    expect(device.status).toBe(0);
    expect(s.driver.dma.available()).toBe(freeBefore);
    expect(() => net.send(makeFrame(0, 60))).toThrow(/closed/);
    expect(net.poll()).toBe(0);
    await expect(net.setMac(Uint8Array.of(2, 0, 0, 0, 0, 1))).rejects.toMatchObject({ code: 'ENODEV' });
    // Removing the device afterwards does not reset it again.
    const mark = s.events.length;
    s.bus.unbind('vdpa0');
    expect(s.events.slice(mark).some((e) => e.kind === 'op' && e.op === 'reset')).toBe(false);
  });
});
