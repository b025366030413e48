import { VIRTIO_NET_CONFIG_MAC, VIRTIO_NET_CONFIG_MTU, VIRTIO_NET_CONFIG_SIZE } from '@vdpa-kit/virtio-spec';
import { VIRTIO_NET_CONFIG_STATUS, VIRTIO_NET_S_LINK_UP } from '@vdpa-kit/virtio-spec';

const MAC_PREFIX = [0x02, 0x6d]; // 'm', locally administered (bit 1 of octet 0), unicast (bit 0 clear)
const FNV_OFFSET = 0x811c9dc5; // 32-bit FNV-1a offset basis
const FNV_PRIME = 0x01000193; // 32-bit FNV-1a prime

/**
 * The MAC of a device created without one: `02:6d`, then the big-endian 32-bit FNV-1a hash of the UTF-8
 * name, so that a name always gets the same MAC (the sample's random MAC made traces differ between runs).
 * @example mvnetMac('vdpa0'); // 6 bytes starting 02:6d, always the same
 */
export function mvnetMac(name: string): Uint8Array {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(name)) hash = Math.imul(hash ^ byte, FNV_PRIME);
  const mac = new Uint8Array([...MAC_PREFIX, 0, 0, 0, 0]);
  new DataView(mac.buffer).setUint32(MAC_PREFIX.length, hash >>> 0);
  return mac;
}

/**
 * The config space, a `virtio_net_config` (§5.1.4): `mac`, `status` LINK_UP (a loopback is always up),
 * `mtu` (68..65535, checked by the bus); `max_virtqueue_pairs` stays 0: no MQ.
 */
export function mvnetConfig(mac: Uint8Array, mtu: number): Uint8Array {
  const config = new Uint8Array(VIRTIO_NET_CONFIG_SIZE);
  const view = new DataView(config.buffer);
  config.set(mac, VIRTIO_NET_CONFIG_MAC);
  view.setUint16(VIRTIO_NET_CONFIG_STATUS, VIRTIO_NET_S_LINK_UP, true);
  view.setUint16(VIRTIO_NET_CONFIG_MTU, mtu, true);
  return config;
}
