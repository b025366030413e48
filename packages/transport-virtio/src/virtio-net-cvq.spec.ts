import { VdpaError } from '@vdpa-kit/core-bus';
import {
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_F_CTRL_RX,
  bit,
} from '@vdpa-kit/virtio-spec';
import { firstValueFrom, skip } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type TestStack, addLoopback, makeStack, settle } from '../test/harness.js';
import { VirtioError } from './errors.js';
import type { VirtioNet } from './virtio-net.js';

function netOf(s: TestStack): VirtioNet {
  const net = s.vbus.netDevice('vdpa0');
  if (net === undefined) throw new Error('no net device vdpa0');
  return net;
}

const NEW_MAC = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);

describe('VirtioNet control queue', () => {
  it('sets the MAC address with MAC_ADDR_SET and emits it on config$', async () => {
    const s = makeStack();
    const device = addLoopback(s);
    const net = netOf(s);
    const next = firstValueFrom(net.config$.pipe(skip(1)));
    await net.setMac(NEW_MAC);
    expect(device.commands).toEqual([
      { cls: VIRTIO_NET_CTRL_MAC, cmd: VIRTIO_NET_CTRL_MAC_ADDR_SET, data: NEW_MAC },
    ]);
    expect(device.mac).toEqual(NEW_MAC);
    expect(net.mac).toEqual(NEW_MAC);
    expect((await next).mac).toBe('02:11:22:33:44:55');
    const cvq = net.stats().find((st) => st.kind === 'cvq');
    expect(cvq).toMatchObject({ queue: 2, packets: 1, errors: 0 });
  });

  it('switches promiscuous and all-multicast modes', async () => {
    const s = makeStack();
    const device = addLoopback(s);
    const net = netOf(s);
    await net.setRxMode('promisc', true);
    await net.setRxMode('allmulti', true);
    await net.setRxMode('promisc', false);
    expect(device.promisc).toBe(false);
    expect(device.allmulti).toBe(true);
    expect(device.commands.map((c) => [c.cls, c.cmd, c.data[0]])).toEqual([
      [VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1],
      [VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, 1],
      [VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0],
    ]);
  });

  it('rejects with VdpaError EIO when the device answers ERR, and keeps working', async () => {
    const s = makeStack();
    const device = addLoopback(s);
    const net = netOf(s);
    device.cvqResponse = 'err';
    const err = await net.setMac(NEW_MAC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VdpaError);
    expect(err).toBeInstanceOf(VirtioError);
    expect(err).toMatchObject({ code: 'EIO', reason: 'cvq' });
    expect(net.mac).not.toEqual(NEW_MAC);
    device.cvqResponse = 'ok';
    await net.setRxMode('promisc', true);
    expect(device.promisc).toBe(true);
    expect(net.stats().find((st) => st.kind === 'cvq')).toMatchObject({ packets: 1, errors: 1 });
  });

  it('fails a command the device never answers with a clear error instead of hanging', async () => {
    const s = makeStack({ cvqTimeoutMs: 5 });
    const device = addLoopback(s);
    const net = netOf(s);
    device.cvqResponse = 'none';
    await expect(net.setRxMode('promisc', true)).rejects.toMatchObject({
      code: 'EIO',
      reason: 'cvq-timeout',
    });
    device.cvqResponse = 'ok';
    await net.setRxMode('allmulti', true);
    expect(device.allmulti).toBe(true);
  });

  it('runs concurrent commands one at a time, in order', async () => {
    const s = makeStack({}, { workQueue: 'microtask' });
    const device = addLoopback(s);
    const net = netOf(s);
    await settle();
    const done: string[] = [];
    await Promise.all([
      net.setRxMode('promisc', true).then(() => done.push('promisc')),
      net.setMac(NEW_MAC).then(() => done.push('mac')),
      net.setRxMode('allmulti', true).then(() => done.push('allmulti')),
    ]);
    expect(done).toEqual(['promisc', 'mac', 'allmulti']);
    expect(device.commands.map((c) => c.cls)).toEqual([
      VIRTIO_NET_CTRL_RX,
      VIRTIO_NET_CTRL_MAC,
      VIRTIO_NET_CTRL_RX,
    ]);
  });

  it('refuses commands the negotiated features do not allow, and bad arguments', async () => {
    const s = makeStack();
    addLoopback(s, { withoutFeatures: bit(VIRTIO_NET_F_CTRL_RX) });
    const net = netOf(s);
    await expect(net.setRxMode('promisc', true)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await expect(net.setQueuePairs(2)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(net.setMac(Uint8Array.of(1, 0, 0, 0, 0, 1))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(net.setMac(new Uint8Array(5))).rejects.toMatchObject({ code: 'EINVAL' });

    const bare = makeStack();
    addLoopback(bare, { ctrlVq: false });
    const plain = netOf(bare);
    expect(plain.stats().map((st) => st.kind)).toEqual(['rx', 'tx']);
    await expect(plain.setMac(NEW_MAC)).rejects.toMatchObject({ code: 'EOPNOTSUPP', reason: 'unsupported' });
  });
});
