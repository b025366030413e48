// NetControlQueue's checks before a command reaches a device, against core-bus's FakeDevice. Commands
// answered by a real control queue (vdpasim_net) are in test/virtio-net-cvq.int.spec.ts.
import { describe, expect, it } from 'vitest';
import { type TestStack, addFakeNet, driverOps, makeStack } from '../test/harness.js';
import type { VirtioNet } from './virtio-net.js';
import {
  bit,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
} from '@vdpa-kit/virtio-spec';

function netOf(s: TestStack): VirtioNet {
  const net = s.vbus.netDevice('vdpa0');
  if (net === undefined) throw new Error('no net device vdpa0');
  return net;
}

const NEW_MAC = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);

describe('VirtioNet control queue', () => {
  it('refuses commands the negotiated features do not allow, and bad arguments', async () => {
    const s = makeStack();
    addFakeNet(s, { withoutFeatures: bit(VIRTIO_NET_F_CTRL_RX) });
    const net = netOf(s);
    const kicksBefore = driverOps(s.events).filter((e) => e.op === 'kickVq' && e.args?.[0] === 2).length;
    await expect(net.setRxMode('promisc', true)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await expect(net.setQueuePairs(2)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(net.setMac(Uint8Array.of(1, 0, 0, 0, 0, 1))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(net.setMac(new Uint8Array(5))).rejects.toMatchObject({ code: 'EINVAL' });
    // None of them reached the control queue.
    expect(driverOps(s.events).filter((e) => e.op === 'kickVq' && e.args?.[0] === 2)).toHaveLength(
      kicksBefore,
    );

    // Without CTRL_VQ the device offers none of the control features (virtnet_validate_features()
    // refuses a device that does).
    const bare = makeStack();
    addFakeNet(bare, {
      withoutFeatures:
        bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_CTRL_MAC_ADDR),
    });
    const plain = netOf(bare);
    expect(plain.stats().map((st) => st.kind)).toEqual(['rx', 'tx']);
    await expect(plain.setMac(NEW_MAC)).rejects.toMatchObject({ code: 'EOPNOTSUPP', reason: 'unsupported' });
  });
});
