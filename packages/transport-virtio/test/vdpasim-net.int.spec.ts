// What the transport relies on from vdpasim_net, the simulator of the kernel's vdpa_sim_net, as a user
// of `vdpa` would see it: the probe and bind, feature negotiation with its real feature set, the
// bring-up order, control commands the device acks, the queue pairs it processes, and traffic looped
// back and counted by the driver and the device alike.
import { VDPASIM_NET_SUPPORTED_FEATURES } from '@vdpa-kit/device-vdpasim';
import { describe, expect, it } from 'vitest';
import type { VirtioNet } from '../src/index.js';
import { DEVICE_MAC, addVdpasim, deviceStack, readyVqs, vstat } from './devices.js';
import { type TestStack, busEvent, collectFrames, driverOps, makeFrame } from './harness.js';
import {
  bit,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
} from '@vdpa-kit/virtio-spec';

function netOf(s: TestStack): VirtioNet {
  const net = s.vbus.netDevice('vdpa0');
  if (net === undefined) throw new Error('no net device vdpa0');
  return net;
}

/** What the virtio-net driver accepts of vdpasim_net's one-pair offer: all but ANY_LAYOUT. */
const ONE_PAIR_FEATURES =
  bit(VIRTIO_F_VERSION_1) |
  bit(VIRTIO_F_ACCESS_PLATFORM) |
  bit(VIRTIO_NET_F_MAC) |
  bit(VIRTIO_NET_F_STATUS) |
  bit(VIRTIO_NET_F_MTU) |
  bit(VIRTIO_NET_F_CTRL_VQ) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

/** virtio_vdpa_setup_vq on vdpasim_net: it has getVqSize (so no getVqNumMax) and no getVqNumMin. */
const SETUP_VQ = [
  'getVqReady',
  'getVqSize',
  'getVqAlign',
  'setVqCb',
  'setVqNum',
  'setVqAddress',
  'setVqState',
  'setVqReady',
];

describe('transport-virtio on vdpasim_net', () => {
  it('probes and binds: virtio_vdpa takes the device and a virtio-net interface appears', () => {
    const s = deviceStack();
    addVdpasim(s);
    expect(busEvent(s.events, 'bind')).toMatchObject({ args: { driver: 'virtio_vdpa' } });
    expect(busEvent(s.events, 'probe_failed')).toBeUndefined();
    expect(s.bus.driverOf('vdpa0')).toBe('virtio_vdpa');
    const vdev = s.vbus.device('vdpa0');
    expect([vdev?.deviceId, vdev?.vendorId, vdev?.nvqs]).toEqual([VIRTIO_ID_NET, 0, 3]);
    expect(netOf(s).closed).toBe(false);
  });

  it('negotiates its real feature set: every offered feature the driver knows, not ANY_LAYOUT', () => {
    const s = deviceStack();
    addVdpasim(s);
    const config = s.bus.devConfig('vdpa0');
    expect(config.net?.deviceFeatures).toBe(ONE_PAIR_FEATURES | bit(VIRTIO_F_ANY_LAYOUT));
    expect(config.negotiatedFeatures).toBe(ONE_PAIR_FEATURES);
    expect(netOf(s).features).toBe(ONE_PAIR_FEATURES);

    const mq = deviceStack();
    addVdpasim(mq, { net: { maxVqPairs: 2 } });
    expect(mq.bus.devConfig('vdpa0').negotiatedFeatures).toBe(ONE_PAIR_FEATURES | bit(VIRTIO_NET_F_MQ));
  });

  it('is brought up in the kernel order: VQ_PAIRS_SET at probe, then the receive buffers at open', () => {
    const s = deviceStack();
    const sim = addVdpasim(s, { net: { maxVqPairs: 2 } });
    const ops = driverOps(s.events);
    const ack = VIRTIO_CONFIG_S_ACKNOWLEDGE;
    const driver = ack | VIRTIO_CONFIG_S_DRIVER;
    const featuresOk = driver | VIRTIO_CONFIG_S_FEATURES_OK;
    const driverOk = featuresOk | VIRTIO_CONFIG_S_DRIVER_OK;
    const macBytes = [0, 1, 2, 3, 4, 5].map((i) => ['getConfig', i, 1]);
    expect(
      ops.map((e) => (e.op === 'getConfig' || e.op === 'setStatus' ? [e.op, ...(e.args ?? [])] : [e.op])),
    ).toEqual([
      ['getDeviceId'],
      ['getVendorId'],
      ['reset'],
      ['getStatus'],
      ['setStatus', ack],
      ['getStatus'],
      ['setStatus', driver],
      ['getDeviceFeatures'],
      ['setDriverFeatures'],
      ['getConfig', 10, 2], // virtnet_validate: mtu
      ['getStatus'],
      ['setStatus', featuresOk],
      ['getStatus'],
      ['getConfig', 8, 2], // virtnet_probe: max_virtqueue_pairs
      ['getGeneration'],
      ...macBytes,
      ['getGeneration'],
      ['getConfig', 10, 2], // mtu
      ...SETUP_VQ.map((op) => [op]), // input.0
      ...SETUP_VQ.map((op) => [op]), // output.0
      ...SETUP_VQ.map((op) => [op]), // input.1
      ...SETUP_VQ.map((op) => [op]), // output.1
      ...SETUP_VQ.map((op) => [op]), // control
      ['setConfigCb'],
      ['getStatus'],
      ['setStatus', driverOk],
      ['kickVq'], // VQ_PAIRS_SET on the control queue (virtnet_set_queues)
      ['getStatus'], // virtio_dev_probe: DRIVER_OK set by the driver
      ['kickVq'], // virtnet_open: input.0 filled
      ['kickVq'], // input.1
      ['getConfig', 6, 2], // the status read left pending by virtnet_probe
    ]);
    expect(ops.filter((e) => e.op === 'kickVq').map((e) => e.args?.[0])).toEqual([4, 0, 2]);
    // Rings of the size the device reports (getVqSize: 256 before DRIVER_OK), all ready.
    expect(ops.filter((e) => e.op === 'setVqNum').map((e) => e.args?.[1])).toEqual([256, 256, 256, 256, 256]);
    expect(readyVqs(sim, 5)).toEqual([0, 1, 2, 3, 4]);
    // The device has not taken a receive buffer before there is traffic.
    expect(sim.getVqState(0)).toEqual({ kind: 'split', availIndex: 0 });
  });

  it('acks the control commands: MAC_ADDR_SET, RX mode, VQ_PAIRS_SET', async () => {
    const s = deviceStack();
    const sim = addVdpasim(s, {
      deviceFeatures: VDPASIM_NET_SUPPORTED_FEATURES,
      net: { mac: DEVICE_MAC, maxVqPairs: 2 },
    });
    const net = netOf(s);
    const cvq = 4;
    // Bring-up enabled both pairs (VQ_PAIRS_SET 2).
    expect(s.bus.devVstats('vdpa0', cvq).maxVqPairs).toBe(2);
    expect(sim.activePairs).toBe(2);
    const newMac = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
    await net.setMac(newMac);
    await net.setRxMode('promisc', true);
    await net.setQueuePairs(1);
    expect([
      vstat(s, cvq, 'cvq requests'),
      vstat(s, cvq, 'cvq successes'),
      vstat(s, cvq, 'cvq errors'),
    ]).toEqual([4n, 4n, 0n]);
    expect(s.bus.devConfig('vdpa0').net?.mac).toEqual(newMac);
    expect(sim.filter.promisc).toBe(true);
    expect(sim.activePairs).toBe(1);
    expect(net.stats().at(-1)).toMatchObject({ kind: 'cvq', packets: 4, errors: 0 });
  });

  it('loops traffic back on every active pair, counted by the driver and the device alike', () => {
    const s = deviceStack();
    addVdpasim(s, { net: { mac: DEVICE_MAC, maxVqPairs: 2 } });
    const net = netOf(s);
    const got = collectFrames(net);
    const perPair = [7, 11];
    for (const [q, n] of perPair.entries()) {
      for (let i = 0; i < n; i++) net.send(makeFrame(i, 64 + i, DEVICE_MAC), q);
      net.flush(q);
    }
    expect(got.frames.map((f) => f.queue)).toEqual([...Array(7).fill(0), ...Array(11).fill(1)]);
    const stats = net.stats();
    for (const [q, n] of perPair.entries()) {
      const [rx, tx] = [stats[2 * q], stats[2 * q + 1]];
      expect([rx.packets, tx.packets]).toEqual([n, n]);
      expect(vstat(s, 2 * q + 1, 'tx packets')).toBe(BigInt(tx.packets));
      expect(vstat(s, 2 * q, 'rx packets')).toBe(BigInt(rx.packets));
      // The device counts the virtio-net header too.
      expect(vstat(s, 2 * q + 1, 'tx bytes')).toBe(BigInt(tx.bytes + n * net.hdrLen));
      expect(vstat(s, 2 * q, 'rx bytes')).toBe(BigInt(rx.bytes + n * net.hdrLen));
    }
  });
});
