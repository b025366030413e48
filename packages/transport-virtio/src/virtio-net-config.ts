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
import { VirtioError } from './errors.js';
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

/** What `virtnet_probe()` reads of `virtio_net_config` (§5.1.4). */
export type NetProbeConfig = Pick<NetConfig, 'mac' | 'mtu' | 'maxQueuePairs'>;

/** The `status` field of `virtio_net_config`, as the config-change work reads it. */
export type NetLinkStatus = Pick<NetConfig, 'linkUp' | 'announce'>;

/**
 * The config reads of `virtio_net.c: virtnet_probe()`, in its order, for the features this driver
 * supports: `max_virtqueue_pairs` (`virtio_cread16`) with MQ — 1 when outside 1..0x8000 or without
 * CTRL_VQ; the MAC byte by byte inside the generation loop (`virtio_cread_bytes`) with
 * `VIRTIO_NET_F_MAC`; `mtu` (`virtio_cread16`) with `VIRTIO_NET_F_MTU`, else 1500.
 *
 * @param vdev the device (features final)
 * @throws VirtioError `EINVAL` (reason `device-op`) when the MTU is now below 68 (`virtnet_validate()`
 * dropped `VIRTIO_NET_F_MTU` for such a value); from the generation loop or the config op
 */
export function readNetProbeConfig(vdev: VirtioDevice): NetProbeConfig {
  let maxQueuePairs = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN;
  if (vdev.hasFeature(VIRTIO_NET_F_MQ)) maxQueuePairs = vdev.cread16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS);
  if (
    maxQueuePairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN ||
    maxQueuePairs > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX ||
    !vdev.hasFeature(VIRTIO_NET_F_CTRL_VQ)
  )
    maxQueuePairs = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN;
  let mac: Uint8Array | undefined;
  if (vdev.hasFeature(VIRTIO_NET_F_MAC)) {
    mac = new Uint8Array(ETH_ALEN);
    vdev.creadBytes(VIRTIO_NET_CONFIG_MAC, mac);
  }
  let mtu = ETH_DATA_LEN;
  if (vdev.hasFeature(VIRTIO_NET_F_MTU)) {
    mtu = vdev.cread16(VIRTIO_NET_CONFIG_MTU);
    if (mtu < VIRTIO_NET_MIN_MTU) {
      throw new VirtioError(
        'EINVAL',
        'device-op',
        vdev.name,
        `device ${vdev.name} mtu changed to ${mtu}, below ${VIRTIO_NET_MIN_MTU}`,
      );
    }
  }
  return { mac, mtu, maxQueuePairs };
}

/**
 * The link status as `virtio_net.c: virtnet_config_changed_work()` reads it: `status` (one
 * `virtio_cread16`) with `VIRTIO_NET_F_STATUS`; without it nothing is read and the link is up.
 *
 * @param vdev the device (features final)
 * @throws VirtioError reason `device-op` when the config op fails
 */
export function readNetStatus(vdev: VirtioDevice): NetLinkStatus {
  if (!vdev.hasFeature(VIRTIO_NET_F_STATUS)) return { linkUp: true, announce: false };
  const status = vdev.cread16(VIRTIO_NET_CONFIG_STATUS);
  return {
    linkUp: (status & VIRTIO_NET_S_LINK_UP) !== 0,
    announce: (status & VIRTIO_NET_S_ANNOUNCE) !== 0,
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
