import {
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_S_LINK_UP,
} from '@vdpa-kit/virtio-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mvnetConfig, mvnetMac } from './mvnet-config.js';

describe('mvnetMac', () => {
  it('is a locally administered unicast MAC starting 02:6d', () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        const mac = mvnetMac(name);
        expect(mac.length).toBe(6);
        expect(mac[0] & 0x01).toBe(0);
        expect(mac[0] & 0x02).toBe(0x02);
        expect([...mac.subarray(0, 2)]).toEqual([0x02, 0x6d]);
      }),
    );
  });

  it('is the same for the same name and differs between names', () => {
    expect(mvnetMac('vdpa0')).toEqual(mvnetMac('vdpa0'));
    expect(mvnetMac('vdpa0')).not.toEqual(mvnetMac('vdpa1'));
    // FNV-1a of the empty string is the offset basis 0x811c9dc5.
    expect([...mvnetMac('')]).toEqual([0x02, 0x6d, 0x81, 0x1c, 0x9d, 0xc5]);
  });
});

describe('mvnetConfig', () => {
  it('lays out a virtio_net_config: mac, LINK_UP, no queue pairs, mtu', () => {
    const mac = new Uint8Array([0, 1, 2, 3, 4, 5]);
    const config = mvnetConfig(mac, 9000);
    const view = new DataView(config.buffer);
    expect(config.length).toBe(VIRTIO_NET_CONFIG_SIZE);
    expect([...config.subarray(VIRTIO_NET_CONFIG_MAC, VIRTIO_NET_CONFIG_MAC + 6)]).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(view.getUint16(VIRTIO_NET_CONFIG_STATUS, true)).toBe(VIRTIO_NET_S_LINK_UP);
    expect(view.getUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, true)).toBe(0);
    expect(view.getUint16(VIRTIO_NET_CONFIG_MTU, true)).toBe(9000);
  });
});
