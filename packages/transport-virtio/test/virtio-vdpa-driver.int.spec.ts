// VirtioVdpaDriver removing and re-binding real devices, and surviving one that detects a corrupt
// ring: vdpasim_net (multiqueue, control queue) and mvnet (one pair).
import { describe, expect, it } from 'vitest';
import { VirtioError } from '../src/index.js';
import { addLoopbackDevice, addMvnet, addVdpasim, deviceStack, readyVqs, vstat } from './devices.js';
import { collectFrames, driverOps, makeFrame } from './harness.js';
import { corruptLastAvailOnKick, vqRing } from './ring-corruption.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_NEEDS_RESET,
} from '@vdpa-kit/virtio-spec';

describe('VirtioVdpaDriver remove', () => {
  it('resets, deactivates every vq, frees every ring and buffer and acknowledges the device again on unbind (vdpasim_net, 2 pairs)', () => {
    const s = deviceStack();
    const freeBefore = s.driver.dma.available();
    const sim = addVdpasim(s, { net: { maxVqPairs: 2 } });
    const net = s.vbus.netDevice('vdpa0');
    expect(readyVqs(sim, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(s.driver.dma.available()).toBeLessThan(freeBefore);
    const mark = s.events.length;
    s.bus.unbind('vdpa0');
    const names = driverOps(s.events.slice(mark)).map((e) => [e.op, ...(e.args ?? [])]);
    // virtnet_remove (reset, del_vqs), then virtio_dev_remove: status read, ACKNOWLEDGE put back.
    expect(names).toEqual([
      ['reset'],
      ['setVqReady', 0, false],
      ['setVqReady', 1, false],
      ['setVqReady', 2, false],
      ['setVqReady', 3, false],
      ['setVqReady', 4, false],
      ['getStatus'],
      ['getStatus'],
      ['setStatus', VIRTIO_CONFIG_S_ACKNOWLEDGE],
    ]);
    expect(readyVqs(sim, 5)).toEqual([]);
    expect(sim.status).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    expect(sim.activePairs).toBe(1);
    expect(s.driver.dma.available()).toBe(freeBefore);
    expect(s.vbus.devices()).toEqual([]);
    expect(net?.closed).toBe(true);
    expect(() => net?.send(new Uint8Array(60))).toThrow(VirtioError);
  });

  it('can bind the device again after an unbind (mvnet)', () => {
    const s = deviceStack();
    const ops = addMvnet(s);
    s.bus.unbind('vdpa0');
    expect(readyVqs(ops, 2)).toEqual([]);
    s.bus.bind('vdpa0', 'virtio_vdpa');
    expect(readyVqs(ops, 2)).toEqual([0, 1]);
    const net = s.vbus.netDevice('vdpa0');
    expect(net?.closed).toBe(false);
    // The new rings carry traffic from index 0 again.
    const got = net === undefined ? undefined : collectFrames(net);
    net?.send(makeFrame(1, 60));
    net?.flush();
    expect(got?.frames).toHaveLength(1);
  });
});

describe.each(['mvnet', 'vdpasim_net'] as const)('VirtioVdpaDriver and a corrupt ring (%s)', (mgmtdev) => {
  it('survives a device that finds the available ring corrupt: NEEDS_RESET, needs-reset, reset and ACKNOWLEDGE on removal', () => {
    const s = deviceStack();
    s.bus.addInterceptor(corruptLastAvailOnKick(s.mem, () => vqRing(s.events, 1), 1));
    const ops = addLoopbackDevice(s, mgmtdev);
    const vdev = s.vbus.device('vdpa0');
    const net = s.vbus.netDevice('vdpa0');
    if (vdev === undefined || net === undefined) throw new Error('no device');
    const errors: VirtioError[] = [];
    vdev.errors$.subscribe((e) => errors.push(e));
    net.send(makeFrame(0, 60));
    expect(() => net.flush()).not.toThrow();
    // The device counted the bad head, stopped, set NEEDS_RESET and raised a config change.
    expect(vstat(s, 1, 'tx errors')).toBe(1n);
    expect(vstat(s, 1, 'tx packets')).toBe(0n);
    expect(ops.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(ops.getStatus() & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    expect(errors.map((e) => [e.code, e.reason])).toEqual([['EIO', 'needs-reset']]);
    expect(net.broken).toBe(true);
    // A NEEDS_RESET device ignores kicks until it is reset.
    ops.kickVq(1);
    expect(vstat(s, 1, 'tx packets')).toBe(0n);
    s.bus.unbind('vdpa0');
    // Reset by the driver's remove, then acknowledged again by virtio_dev_remove.
    expect(ops.getStatus()).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  });
});
