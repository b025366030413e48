// VirtioNet against core-bus's FakeDevice: what needs no datapath (argument checks, close, config
// without VIRTIO_NET_F_STATUS). Traffic, multiqueue, config changes and ring violations run on real
// devices in test/virtio-net.int.spec.ts.
import { VdpaError } from '@vdpa-kit/core-bus';
import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type TestStack, addFakeNet, fakeReadyVqs, makeFrame, makeStack } from '../test/harness.js';
import type { VirtioNet } from './virtio-net.js';
import { bit, ETH_FRAME_LEN, VIRTIO_NET_F_STATUS } from '@vdpa-kit/virtio-spec';

function netOf(s: TestStack, name = 'vdpa0'): VirtioNet {
  const net = s.vbus.netDevice(name);
  if (net === undefined) throw new Error(`no net device ${name}`);
  return net;
}

describe('VirtioNet arguments', () => {
  it('rejects frames of 0 bytes or longer than the MTU allows, and inactive queues', () => {
    const s = makeStack();
    addFakeNet(s);
    const net = netOf(s);
    expect(() => net.send(new Uint8Array(0))).toThrow(VdpaError);
    expect(() => net.send(new Uint8Array(ETH_FRAME_LEN + 1))).toThrow(/1515 bytes/);
    expect(() => net.send(makeFrame(0, 60), 1)).toThrow(/queue 1/);
    expect(() => net.poll(1)).toThrow(VdpaError);
  });
});

describe('VirtioNet config', () => {
  it('reports link up without VIRTIO_NET_F_STATUS', () => {
    const s = makeStack();
    addFakeNet(s, { withoutFeatures: bit(VIRTIO_NET_F_STATUS), linkUp: false });
    expect(netOf(s).linkUp).toBe(true);
  });
});

describe('VirtioNet close', () => {
  it('closes: device reset, buffers freed, streams completed, commands rejected', async () => {
    const s = makeStack();
    const freeBefore = s.driver.dma.available();
    const device = addFakeNet(s);
    const net = netOf(s);
    const configDone = firstValueFrom(net.config$.pipe(filter(() => false)), { defaultValue: 'completed' });
    net.close();
    net.close();
    expect(await configDone).toBe('completed');
    expect(fakeReadyVqs(device)).toEqual([]);
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
