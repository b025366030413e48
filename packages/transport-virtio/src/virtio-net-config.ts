import { formatMac } from '@vdpa-kit/core-bus';
import {
  ETH_ADDR_LOCAL,
  ETH_ADDR_MULTICAST,
  ETH_ALEN,
  ETH_DATA_LEN,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_MIN_MTU,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
} from '@vdpa-kit/virtio-spec';
import { NET_CONFIG_READ_SIZE } from './constants.js';
import type { NetConfigSnapshot } from './net-interface.js';
import type { VirtioDevice } from './virtio-device.js';

/** FNV-1a 32-bit offset basis and prime, for a stable generated MAC. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Bits per byte, for unpacking the hash. */
const BYTE_BITS = 8;
const BYTE_MASK = 0xff;
/** Bytes of the 32-bit hash. */
const U32_BYTES = 4;

/** The virtio-net config fields the driver uses, interpreted according to the negotiated features. */
export interface NetConfig {
  /** `mac` with `VIRTIO_NET_F_MAC`, else `undefined`. */
  readonly mac: Uint8Array | undefined;
  readonly linkUp: boolean;
  readonly announce: boolean;
  readonly mtu: number;
  readonly maxQueuePairs: number;
}

/**
 * Reads and interprets `virtio_net_config` (§5.1.4) the way `virtnet_probe` does: MAC only with
 * `VIRTIO_NET_F_MAC`; link up unless `VIRTIO_NET_F_STATUS` says otherwise; `max_virtqueue_pairs` only
 * with MQ and a control queue, and 1 when outside 1..0x8000; MTU only with `VIRTIO_NET_F_MTU` and at
 * least 68, else 1500.
 *
 * @param vdev the device (features final)
 * @throws VirtioError from the generation loop or the config op
 */
export function readNetConfig(vdev: VirtioDevice): NetConfig {
  const buf = new Uint8Array(NET_CONFIG_READ_SIZE);
  vdev.readConfig(0, buf);
  const view = new DataView(buf.buffer);
  const status = vdev.hasFeature(VIRTIO_NET_F_STATUS)
    ? view.getUint16(VIRTIO_NET_CONFIG_STATUS, true)
    : VIRTIO_NET_S_LINK_UP;
  let maxQueuePairs = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN;
  if (vdev.hasFeature(VIRTIO_NET_F_MQ) && vdev.hasFeature(VIRTIO_NET_F_CTRL_VQ)) {
    const pairs = view.getUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, true);
    if (pairs >= VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN && pairs <= VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX)
      maxQueuePairs = pairs;
  }
  let mtu = ETH_DATA_LEN;
  if (vdev.hasFeature(VIRTIO_NET_F_MTU)) {
    const value = view.getUint16(VIRTIO_NET_CONFIG_MTU, true);
    if (value >= VIRTIO_NET_MIN_MTU) mtu = value;
  }
  return {
    mac: vdev.hasFeature(VIRTIO_NET_F_MAC)
      ? buf.slice(VIRTIO_NET_CONFIG_MAC, VIRTIO_NET_CONFIG_MAC + ETH_ALEN)
      : undefined,
    linkUp: (status & VIRTIO_NET_S_LINK_UP) !== 0,
    announce: (status & VIRTIO_NET_S_ANNOUNCE) !== 0,
    mtu,
    maxQueuePairs,
  };
}

/**
 * A locally administered unicast MAC derived from `seed` (the device name), for devices without
 * `VIRTIO_NET_F_MAC`. Stable, so that recorded traces replay identically (Linux picks a random one).
 */
export function generateMac(seed: string): Uint8Array {
  let h = FNV_OFFSET;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), FNV_PRIME) >>> 0;
  const mac = new Uint8Array(ETH_ALEN);
  mac[0] = ETH_ADDR_LOCAL;
  for (let i = 1; i < ETH_ALEN; i++) mac[i] = (h >>> (BYTE_BITS * ((i - 1) % U32_BYTES))) & BYTE_MASK;
  mac[ETH_ALEN - 1] ^= seed.length & BYTE_MASK;
  mac[0] &= ~ETH_ADDR_MULTICAST;
  return mac;
}

/** The snapshot `config$` emits. */
export function netConfigSnapshot(mac: Uint8Array, config: NetConfig): NetConfigSnapshot {
  return Object.freeze({
    mac: formatMac(mac),
    linkUp: config.linkUp,
    announce: config.announce,
    mtu: config.mtu,
    maxQueuePairs: config.maxQueuePairs,
  });
}
