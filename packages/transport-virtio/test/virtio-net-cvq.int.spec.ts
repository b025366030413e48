// The virtio-net control queue answered by a real one: vdpasim_net's (vdpa_sim_net.c
// vdpasim_handle_cvq, with RX mode and VQ_PAIRS_SET beyond the kernel). A refusal comes from a command
// the device does not support although its offer claimed it; a missing answer from a suspended device.
import { VdpaError } from '@vdpa-kit/core-bus';
import { VDPASIM_NET_SUPPORTED_FEATURES } from '@vdpa-kit/device-vdpasim';
import { firstValueFrom, skip } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { VirtioError, type VirtioNet } from '../src/index.js';
import { DEVICE_MAC, WITH_RX_MODES, addVdpasim, deviceStack, vstat } from './devices.js';
import { type TestStack, collectFrames, makeFrame, settle } from './harness.js';
import { bit, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_MQ } from '@vdpa-kit/virtio-spec';

function netOf(s: TestStack): VirtioNet {
  const net = s.vbus.netDevice('vdpa0');
  if (net === undefined) throw new Error('no net device vdpa0');
  return net;
}

const NEW_MAC = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
/** A unicast address that is neither the device's nor the new one. */
const OTHER_MAC = Uint8Array.of(0x02, 0x99, 0x88, 0x77, 0x66, 0x55);
/** The control queue of a one-pair vdpasim_net device. */
const CVQ = 2;

describe('VirtioNet control queue (vdpasim_net)', () => {
  it('sets the MAC address with MAC_ADDR_SET and emits it on config$', async () => {
    const s = deviceStack();
    const sim = addVdpasim(s, { net: { mac: DEVICE_MAC } });
    const net = netOf(s);
    const next = firstValueFrom(net.config$.pipe(skip(1)));
    await net.setMac(NEW_MAC);
    // The device took the command and changed its config MAC (what `vdpa dev config show` reads).
    expect([vstat(s, CVQ, 'cvq requests'), vstat(s, CVQ, 'cvq successes')]).toEqual([1n, 1n]);
    expect(sim.mac).toEqual(NEW_MAC);
    expect(s.bus.devConfig('vdpa0').net?.mac).toEqual(NEW_MAC);
    expect(net.mac).toEqual(NEW_MAC);
    expect((await next).mac).toBe('02:11:22:33:44:55');
    const cvq = net.stats().find((st) => st.kind === 'cvq');
    expect(cvq).toMatchObject({ queue: CVQ, packets: 1, errors: 0 });
    // The device's receive filter follows: frames to the new MAC loop back.
    const got = collectFrames(net);
    net.send(makeFrame(1, 60, NEW_MAC));
    net.flush();
    expect(got.frames).toHaveLength(1);
  });

  it('switches promiscuous and all-multicast modes', async () => {
    const s = deviceStack();
    const sim = addVdpasim(s, { deviceFeatures: WITH_RX_MODES, net: { mac: DEVICE_MAC } });
    const net = netOf(s);
    const got = collectFrames(net);
    const toOther = (): number => {
      const before = got.frames.length;
      net.send(makeFrame(0, 60, OTHER_MAC));
      net.flush();
      return got.frames.length - before;
    };
    // Each command's effect on the device's filter state and, for PROMISC, on the traffic it lets in.
    expect(toOther()).toBe(0);
    await net.setRxMode('promisc', true);
    expect(sim.filter.promisc).toBe(true);
    expect(toOther()).toBe(1);
    await net.setRxMode('allmulti', false);
    expect(sim.filter.allmulti).toBe(false);
    await net.setRxMode('allmulti', true);
    expect(sim.filter.allmulti).toBe(true);
    await net.setRxMode('promisc', false);
    expect(sim.filter.promisc).toBe(false);
    expect(toOther()).toBe(0);
    expect([vstat(s, CVQ, 'cvq requests'), vstat(s, CVQ, 'cvq successes')]).toEqual([4n, 4n]);
    expect(vstat(s, 0, 'rx drops')).toBe(2n);
  });

  it('rejects with VdpaError EIO when the device answers ERR, and keeps working', async () => {
    const s = deviceStack();
    // A device that offers CTRL_RX but refuses RX / PROMISC: vdpasim_net provisioned without it, its
    // offer widened on the way to the driver. (MAC_ADDR_SET cannot serve: like the kernel's
    // vdpasim_handle_ctrl_mac(), vdpasim_net takes it whenever CTRL_VQ is negotiated.)
    const without = VDPASIM_NET_SUPPORTED_FEATURES & ~bit(VIRTIO_NET_F_CTRL_RX) & ~bit(VIRTIO_NET_F_MQ);
    s.bus.addInterceptor((call, next) =>
      call.op === 'getDeviceFeatures' && call.origin === undefined
        ? (next() as bigint) | bit(VIRTIO_NET_F_CTRL_RX)
        : next(),
    );
    const sim = addVdpasim(s, { deviceFeatures: without, net: { mac: DEVICE_MAC } });
    const net = netOf(s);
    const err = await net.setRxMode('promisc', true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VdpaError);
    expect(err).toBeInstanceOf(VirtioError);
    expect(err).toMatchObject({ code: 'EIO', reason: 'cvq' });
    expect(vstat(s, CVQ, 'cvq errors')).toBe(1n);
    expect(sim.filter.promisc).toBe(false);
    await net.setMac(NEW_MAC);
    expect(net.mac).toEqual(NEW_MAC);
    expect(sim.mac).toEqual(NEW_MAC);
    expect(net.stats().find((st) => st.kind === 'cvq')).toMatchObject({ packets: 1, errors: 1 });
  });

  it('fails a command the device never answers with a clear error instead of hanging', async () => {
    const s = deviceStack({ cvqTimeoutMs: 5 });
    const sim = addVdpasim(s, { deviceFeatures: WITH_RX_MODES, net: { mac: DEVICE_MAC } });
    const net = netOf(s);
    // A suspended device takes no buffer: the kick is only remembered (vdpa_sim's suspend).
    sim.suspend();
    await expect(net.setRxMode('promisc', true)).rejects.toMatchObject({
      code: 'EIO',
      reason: 'cvq-timeout',
    });
    expect(vstat(s, CVQ, 'cvq requests')).toBe(0n);
    // Resumed, it answers the late command (the driver only takes its slot back) and the next one.
    sim.resume();
    expect(sim.filter.promisc).toBe(true);
    await net.setRxMode('allmulti', false);
    expect(sim.filter.allmulti).toBe(false);
    expect(net.stats().find((st) => st.kind === 'cvq')).toMatchObject({ packets: 1, errors: 1 });
  });

  it('runs concurrent commands one at a time, in order', async () => {
    const s = deviceStack({}, { workQueue: 'microtask' });
    const sim = addVdpasim(s, { deviceFeatures: WITH_RX_MODES, net: { mac: DEVICE_MAC } });
    const net = netOf(s);
    await settle();
    const done: string[] = [];
    await Promise.all([
      net.setRxMode('promisc', true).then(() => done.push('promisc')),
      net.setMac(NEW_MAC).then(() => done.push('mac')),
      net.setRxMode('promisc', false).then(() => done.push('promisc off')),
    ]);
    expect(done).toEqual(['promisc', 'mac', 'promisc off']);
    // The device applied all three, PROMISC on before PROMISC off.
    expect([vstat(s, CVQ, 'cvq requests'), vstat(s, CVQ, 'cvq successes')]).toEqual([3n, 3n]);
    expect(sim.mac).toEqual(NEW_MAC);
    expect(sim.filter.promisc).toBe(false);
  });
});
