import { type BusEvent, type VdpaBus, type VdpaDriver, VdpaError } from '@vdpa-kit/core-bus';
import { VDPASIM_NET_MGMT, type VdpasimNetMgmt } from '@vdpa-kit/device-vdpasim';
import {
  type NetConfigSnapshot,
  type NetInterface,
  VIRTIO_BUS,
  type VirtioBus,
} from '@vdpa-kit/transport-virtio';
import { afterEach, describe, expect, it } from 'vitest';
import { composeCliStack } from '../src/compose.js';
import { PacketGenerator } from '../src/run/packet-generator.js';
import { runTraffic } from '../src/run/traffic.js';
import { formatLladdr } from '../src/vdpa/show-printers.js';

// End-to-end stacks through the real container and bus: virtio-net (transport-virtio) driving
// vdpasim_net and mvnet, composed by the CLI's composition root.

const MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const OTHER = new Uint8Array([0x52, 0x54, 0x00, 0x65, 0x43, 0x21]);

interface Stack {
  readonly bus: VdpaBus;
  readonly vbus: VirtioBus;
  readonly mgmt: VdpasimNetMgmt;
}

const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});

function stack(workQueue: 'inline' | 'microtask' = 'inline'): Stack {
  const { bus, container } = composeCliStack({ transport: true, workQueue });
  disposers.push(() => bus.dispose());
  return {
    bus,
    vbus: container.get<VirtioBus>(VIRTIO_BUS),
    mgmt: container.get<VdpasimNetMgmt>(VDPASIM_NET_MGMT),
  };
}

function netOf(s: Stack, name: string): NetInterface {
  const net = s.vbus.netDevice(name);
  if (net === undefined) throw new Error(`no virtio-net interface on ${name}`);
  return net;
}

function vendor(bus: VdpaBus, dev: string, qidx: number): Record<string, number> {
  return Object.fromEntries(bus.devVstats(dev, qidx).stats.map((s) => [s.name, Number(s.value)]));
}

/** Sends `count` frames to `dest` on queue pair 0 and flushes; returns how many the ring took. */
function sendTo(net: NetInterface, dest: Uint8Array, count: number): number {
  const gen = new PacketGenerator(64, dest);
  let sent = 0;
  for (let i = 0; i < count && net.send(gen.fill(0, i), 0); i++) sent++;
  net.flush(0);
  net.reclaim(0);
  return sent;
}

function received(net: NetInterface): { count: number; off: () => void } {
  const box = { count: 0, off: () => undefined as void };
  box.off = net.onReceive((b) => {
    box.count += b.count;
  });
  return box;
}

describe.each(['vdpasim_net', 'mvnet'])('%s driven by virtio-net, one queue pair', (mgmtdev) => {
  it.each([64, 1500])('loops %i-byte frames back intact and in order, none lost', async (size) => {
    const s = stack();
    s.bus.devAdd(mgmtdev, 'vdpa0', { net: { mac: MAC } });
    const net = netOf(s, 'vdpa0');
    expect(formatLladdr(net.mac)).toBe('52:54:00:12:34:56');
    const result = await runTraffic(net, { count: 3000, size, burst: 32, rate: 0, queues: 1 });
    expect(result).toMatchObject({
      sent: 3000,
      received: 3000,
      intact: 3000,
      corrupt: 0,
      outOfOrder: 0,
      lost: 0,
      stalled: false,
    });
    expect(result.receivedBytes).toBe(3000 * size);
    const rxStats = net.stats().find((q) => q.kind === 'rx');
    expect(rxStats?.packets).toBe(3000);
  });
});

describe('vdpasim_net specifics', () => {
  it('runs several queue pairs at once, each in order', async () => {
    const s = stack();
    s.bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac: MAC, maxVqPairs: 4 } });
    const net = netOf(s, 'vdpa0');
    expect(net.maxQueuePairs).toBe(4);
    await net.setQueuePairs(4);
    expect(net.queuePairs).toBe(4);
    const result = await runTraffic(net, { count: 4000, size: 128, burst: 16, rate: 0, queues: 4 });
    expect(result).toMatchObject({ intact: 4000, corrupt: 0, outOfOrder: 0, lost: 0 });
    expect(result.perQueue.reduce((n, q) => n + q.sent, 0)).toBe(4000);
    for (const q of result.perQueue) {
      // Round robin by bursts of 16: every pair carries about a quarter of the traffic.
      expect(q.sent).toBeGreaterThan(900);
      expect(q).toMatchObject({ intact: q.sent, outOfOrder: 0 });
      expect(vendor(s.bus, 'vdpa0', 2 * q.queue)['rx packets']).toBe(q.sent);
      expect(vendor(s.bus, 'vdpa0', 2 * q.queue + 1)['tx packets']).toBe(q.sent);
    }
  });

  it('also works with the microtask work queue', async () => {
    const s = stack('microtask');
    s.bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac: MAC } });
    const result = await runTraffic(netOf(s, 'vdpa0'), {
      count: 2000,
      size: 64,
      burst: 32,
      rate: 0,
      queues: 1,
      microtask: true,
    });
    expect(result).toMatchObject({ intact: 2000, lost: 0, corrupt: 0, outOfOrder: 0 });
  });

  it('drops and counts frames for another unicast MAC, and takes them in promiscuous mode', async () => {
    const s = stack();
    // CTRL_RX is not in the default offer (vdpa_sim_net.c: VDPASIM_NET_FEATURES): provision it.
    const supported = s.bus.mgmtdevs().find((m) => m.name === 'vdpasim_net')?.supportedFeatures;
    s.bus.devAdd('vdpasim_net', 'vdpa0', { deviceFeatures: supported, net: { mac: MAC } });
    const net = netOf(s, 'vdpa0');
    const rx = received(net);
    expect(sendTo(net, OTHER, 10)).toBe(10);
    expect(rx.count).toBe(0);
    expect(vendor(s.bus, 'vdpa0', 0)['rx drops']).toBe(10);
    expect(vendor(s.bus, 'vdpa0', 1)['tx packets']).toBe(10);
    await net.setRxMode('promisc', true);
    sendTo(net, OTHER, 5);
    expect(rx.count).toBe(5);
    expect(vendor(s.bus, 'vdpa0', 0)['rx drops']).toBe(10);
    rx.off();
  });

  it('applies a MAC set through the control queue to the filter and the config space', async () => {
    const s = stack();
    s.bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac: MAC } });
    const net = netOf(s, 'vdpa0');
    const rx = received(net);
    await net.setMac(OTHER);
    expect(formatLladdr(s.bus.devConfig('vdpa0').net?.mac ?? new Uint8Array())).toBe('52:54:00:65:43:21');
    sendTo(net, OTHER, 3);
    sendTo(net, MAC, 4);
    expect(rx.count).toBe(3);
    expect(vendor(s.bus, 'vdpa0', 0)['rx drops']).toBe(4);
    const cvq = vendor(s.bus, 'vdpa0', 2);
    expect(cvq['cvq successes']).toBeGreaterThanOrEqual(1);
    expect(cvq['cvq errors']).toBe(0);
    rx.off();
  });

  it('delivers link and MAC changes made on the device side to the driver', () => {
    const s = stack();
    s.bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac: MAC } });
    const net = netOf(s, 'vdpa0');
    const seen: NetConfigSnapshot[] = [];
    const sub = net.config$.subscribe((c) => seen.push(c));
    s.mgmt.device('vdpa0')?.setLinkUp(false);
    expect(net.linkUp).toBe(false);
    expect(seen.at(-1)).toMatchObject({ linkUp: false, mac: '52:54:00:12:34:56' });
    expect(s.bus.devConfig('vdpa0').net?.status).toBe(0);
    // A device-side MAC change (`vdpa dev set`) reaches the driver as a config change; like Linux
    // virtio_net, the interface keeps the MAC it has (only the control queue changes it).
    const before = seen.length;
    s.bus.devSetAttr('vdpa0', { mac: OTHER });
    expect(seen.length).toBe(before + 1);
    expect(formatLladdr(s.bus.devConfig('vdpa0').net?.mac ?? new Uint8Array())).toBe('52:54:00:65:43:21');
    s.mgmt.device('vdpa0')?.setLinkUp(true);
    expect(seen.at(-1)).toMatchObject({ linkUp: true });
    sub.unsubscribe();
  });
});

describe('class-id matching', () => {
  const vhostDriver = (): VdpaDriver & { probed: string[] } => {
    const probed: string[] = [];
    return {
      name: 'vhost_vdpa',
      idTable: ['vhost'],
      probed,
      probe: (handle) => {
        probed.push(handle.name);
      },
      remove: () => undefined,
    };
  };

  it('refuses mvnet on a vhost-class driver and accepts vdpasim_net', () => {
    const { bus } = composeCliStack({});
    disposers.push(() => bus.dispose());
    const drv = vhostDriver();
    bus.registerDriver(drv);
    const events: BusEvent[] = [];
    const sub = bus.events$.subscribe((e) => events.push(e));
    bus.devAdd('mvnet', 'm0');
    bus.devAdd('vdpasim_net', 's0');
    expect(drv.probed).toEqual(['s0']);
    expect(bus.driverOf('m0')).toBeUndefined();
    let refused: unknown;
    try {
      bus.bind('m0', 'vhost_vdpa');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(VdpaError);
    expect((refused as VdpaError).code).toBe('ENODEV');
    expect(events.some((e) => e.kind === 'bus' && e.op === 'probe_failed' && e.dev === 'm0')).toBe(true);
    sub.unsubscribe();
  });
});
