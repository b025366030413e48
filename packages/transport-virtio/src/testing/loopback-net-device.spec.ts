import { VIRTIO_CONFIG_S_NEEDS_RESET } from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { addLoopback, collectFrames, makeFrame, makeStack } from '../../test/harness.js';
import type { VirtioError } from '../errors.js';

/** Offset of `le16 ring[]` in the available ring, after `flags` and `idx` (§2.7.6). */
const AVAIL_RING_OFF = 4;
/** Bytes per available ring entry. */
const AVAIL_ELEM_SIZE = 2;

describe('LoopbackNetDevice', () => {
  it('loops transmitq N to receiveq N with a zero virtio-net header', () => {
    const s = makeStack();
    const device = addLoopback(s);
    const net = s.vbus.netDevice('vdpa0');
    if (net === undefined) throw new Error('no net device');
    const got = collectFrames(net);
    net.send(makeFrame(1, 200));
    net.flush();
    expect(device.txPackets).toBe(1);
    expect(device.rxPackets).toBe(1);
    expect(got.frames.map((f) => f.bytes)).toEqual([makeFrame(1, 200)]);
  });

  it('turns a corrupt available ring into a counted error, NEEDS_RESET and a config change', () => {
    const s = makeStack();
    const device = addLoopback(s);
    const vdev = s.vbus.device('vdpa0');
    const net = s.vbus.netDevice('vdpa0');
    if (vdev === undefined || net === undefined) throw new Error('no device');
    const errors: VirtioError[] = [];
    vdev.errors$.subscribe((e) => errors.push(e));
    net.send(makeFrame(0, 60));
    // The driver's ring is guest memory: make the entry the flush publishes name a head beyond the queue.
    const tx = vdev.virtqueues[1];
    const slot = tx.availIdx & (tx.num - 1);
    s.mem.writeU16(tx.layout.availAddr + AVAIL_RING_OFF + AVAIL_ELEM_SIZE * slot, tx.num + 5);
    expect(() => net.flush()).not.toThrow();
    expect(device.errors).toBe(1);
    expect(device.lastError?.code).toBe('EINVAL');
    expect(device.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(errors.map((e) => e.reason)).toEqual(['needs-reset']);
    expect(net.broken).toBe(true);
    // A NEEDS_RESET device ignores kicks until it is reset.
    const before = device.txPackets;
    device.kickVq(1);
    expect(device.txPackets).toBe(before);
    s.bus.unbind('vdpa0');
    expect(device.status).toBe(0);
  });

  it('answers control commands and reports its vq state', () => {
    const s = makeStack();
    const device = addLoopback(s, { maxQueuePairs: 2 });
    expect(device.nvqs).toBe(5);
    expect(device.queuePairs).toBe(2);
    expect(device.getVqState(0)).toEqual({ kind: 'split', availIndex: 0 });
    expect(device.kicks(0)).toBeGreaterThan(0);
  });
});
