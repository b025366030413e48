import type { VdpaBus } from '@vdpa-kit/core-bus';
import { type VhostBus, TRANSPORT_VHOST_BUS } from '@vdpa-kit/transport-vhost';
import { type NetInterface, VIRTIO_BUS, type VirtioBus } from '@vdpa-kit/transport-virtio';
import { afterEach, describe, expect, it } from 'vitest';
import { composeCliStack } from '../src/compose.js';
import { PacketGenerator } from '../src/run/packet-generator.js';

// vdpa.c: a vDPA device is bound to one driver at a time, and `driver_override` / unbind + bind
// move it: vdpasim_net (class ids virtio and vhost) goes from virtio_vdpa to vhost_vdpa and back at
// run time, on one bus, without being re-added.

const MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});

function loops(net: NetInterface, count: number): number {
  let got = 0;
  const off = net.onReceive((b) => {
    got += b.count;
  });
  const gen = new PacketGenerator(64, MAC);
  for (let i = 0; i < count; i++) net.send(gen.fill(0, i), 0);
  net.flush(0);
  net.reclaim(0);
  off();
  return got;
}

describe('vdpasim_net moves between the virtio and the vhost transport at run time', () => {
  it('virtio_vdpa → vhost_vdpa → virtio_vdpa, traffic on virtio before and after', () => {
    const { bus, container } = composeCliStack({ transport: true, vhost: true });
    disposers.push(() => bus.dispose());
    const vbus = container.get<VirtioBus>(VIRTIO_BUS);
    const vhost = container.get<VhostBus>(TRANSPORT_VHOST_BUS);
    const b: VdpaBus = bus;
    b.devAdd('vdpasim_net', 'vdpa0', { net: { mac: MAC } });
    expect(b.driverOf('vdpa0')).toBe('virtio_vdpa');
    expect(loops(vbus.netDevice('vdpa0') as NetInterface, 16)).toBe(16);
    expect(vhost.list()).toEqual([]);

    b.unbind('vdpa0');
    expect(vbus.netDevice('vdpa0')).toBeUndefined();
    b.bind('vdpa0', 'vhost_vdpa');
    expect(b.driverOf('vdpa0')).toBe('vhost_vdpa');
    expect(vhost.list().map((d) => d.device)).toEqual(['vdpa0']);
    const file = vhost.open('vdpa0');
    file.setOwner();
    expect(file.getDeviceId()).toBe(1);
    expect(file.getIovaRange()).toEqual({ first: 0n, last: 0xffff_ffff_ffff_ffffn });
    file.close();

    b.unbind('vdpa0');
    expect(vhost.list()).toEqual([]);
    b.bind('vdpa0', 'virtio_vdpa');
    expect(loops(vbus.netDevice('vdpa0') as NetInterface, 16)).toBe(16);
  });

  it('mvnet (class id virtio only) cannot be bound to vhost_vdpa', () => {
    const { bus } = composeCliStack({ transport: true, vhost: true });
    disposers.push(() => bus.dispose());
    bus.devAdd('mvnet', 'vdpa1', {});
    bus.unbind('vdpa1');
    expect(() => bus.bind('vdpa1', 'vhost_vdpa')).toThrow(/vhost/);
    expect(bus.driverOf('vdpa1')).toBeUndefined();
  });
});
