/**
 * Names of feature bits and device status bits as iproute2's `vdpa` tool prints them (`vdpa/vdpa.c`:
 * `net_feature_strs[]`, the transport names, `dev_to_feature_str[]`), over the bits of uapi
 * `linux/virtio_config.h`, `linux/virtio_ring.h` and `linux/virtio_net.h` (virtio 1.2 §2.1, §5.1.3, §6).
 * One table of each; the CLI and the trace tools look names up here.
 */
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_ORDER_PLATFORM,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_SR_IOV,
  VIRTIO_F_VERSION_1,
  VIRTIO_TRANSPORT_F_END,
  VIRTIO_TRANSPORT_F_START,
} from './virtio-config.js';
import { VIRTIO_ID_NET } from './virtio-ids.js';
import {
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_ECN,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_GUEST_UFO,
  VIRTIO_NET_F_HASH_REPORT,
  VIRTIO_NET_F_HOST_ECN,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_HOST_TSO6,
  VIRTIO_NET_F_HOST_UFO,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_RSC_EXT,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_F_SPEED_DUPLEX,
  VIRTIO_NET_F_STANDBY,
  VIRTIO_NET_F_STATUS,
} from './virtio-net.js';
import { VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC } from './virtio-ring.js';

/** Number of feature bits named (`print_features` walks bits 0..63). */
const FEATURE_MASK_BITS = 64;

/** Number of device status bits (the status is one byte, virtio 1.2 §2.1). */
const STATUS_BITS = 8;

/** Device-table names of virtio-net feature bits, as iproute2 `vdpa` prints them (`net_feature_strs`). */
export const NET_FEATURE_NAMES: ReadonlyMap<number, string> = new Map([
  [VIRTIO_NET_F_CSUM, 'CSUM'],
  [VIRTIO_NET_F_GUEST_CSUM, 'GUEST_CSUM'],
  [VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, 'CTRL_GUEST_OFFLOADS'],
  [VIRTIO_NET_F_MTU, 'MTU'],
  [VIRTIO_NET_F_MAC, 'MAC'],
  [VIRTIO_NET_F_GUEST_TSO4, 'GUEST_TSO4'],
  [VIRTIO_NET_F_GUEST_TSO6, 'GUEST_TSO6'],
  [VIRTIO_NET_F_GUEST_ECN, 'GUEST_ECN'],
  [VIRTIO_NET_F_GUEST_UFO, 'GUEST_UFO'],
  [VIRTIO_NET_F_HOST_TSO4, 'HOST_TSO4'],
  [VIRTIO_NET_F_HOST_TSO6, 'HOST_TSO6'],
  [VIRTIO_NET_F_HOST_ECN, 'HOST_ECN'],
  [VIRTIO_NET_F_HOST_UFO, 'HOST_UFO'],
  [VIRTIO_NET_F_MRG_RXBUF, 'MRG_RXBUF'],
  [VIRTIO_NET_F_STATUS, 'STATUS'],
  [VIRTIO_NET_F_CTRL_VQ, 'CTRL_VQ'],
  [VIRTIO_NET_F_CTRL_RX, 'CTRL_RX'],
  [VIRTIO_NET_F_CTRL_VLAN, 'CTRL_VLAN'],
  [VIRTIO_NET_F_CTRL_RX_EXTRA, 'CTRL_RX_EXTRA'],
  [VIRTIO_NET_F_GUEST_ANNOUNCE, 'GUEST_ANNOUNCE'],
  [VIRTIO_NET_F_MQ, 'MQ'],
  [VIRTIO_NET_F_CTRL_MAC_ADDR, 'CTRL_MAC_ADDR'],
  [VIRTIO_F_NOTIFY_ON_EMPTY, 'NOTIFY_ON_EMPTY'],
  [VIRTIO_F_ANY_LAYOUT, 'ANY_LAYOUT'],
  [VIRTIO_NET_F_HASH_REPORT, 'HASH_REPORT'],
  [VIRTIO_NET_F_RSS, 'RSS'],
  [VIRTIO_NET_F_RSC_EXT, 'RSC_EXT'],
  [VIRTIO_NET_F_STANDBY, 'STANDBY'],
  [VIRTIO_NET_F_SPEED_DUPLEX, 'SPEED_DUPLEX'],
]);

/**
 * Transport-table names, as iproute2 prints them. Bits 39..41 (`NOTIF_CONFIG_DATA`, `RING_RESET`,
 * `ADMIN_VQ`) have no name in iproute2's table and print as `bit_N`.
 */
export const TRANSPORT_FEATURE_NAMES: ReadonlyMap<number, string> = new Map([
  [VIRTIO_RING_F_INDIRECT_DESC, 'RING_INDIRECT_DESC'],
  [VIRTIO_RING_F_EVENT_IDX, 'RING_EVENT_IDX'],
  [VIRTIO_F_VERSION_1, 'VERSION_1'],
  [VIRTIO_F_ACCESS_PLATFORM, 'ACCESS_PLATFORM'],
  [VIRTIO_F_RING_PACKED, 'RING_PACKED'],
  [VIRTIO_F_IN_ORDER, 'IN_ORDER'],
  [VIRTIO_F_ORDER_PLATFORM, 'ORDER_PLATFORM'],
  [VIRTIO_F_SR_IOV, 'SR_IOV'],
  [VIRTIO_F_NOTIFICATION_DATA, 'NOTIFICATION_DATA'],
]);

/** Device status bit names (virtio 1.2 §2.1), by bit value. */
export const STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [VIRTIO_CONFIG_S_ACKNOWLEDGE, 'ACKNOWLEDGE'],
  [VIRTIO_CONFIG_S_DRIVER, 'DRIVER'],
  [VIRTIO_CONFIG_S_DRIVER_OK, 'DRIVER_OK'],
  [VIRTIO_CONFIG_S_FEATURES_OK, 'FEATURES_OK'],
  [VIRTIO_CONFIG_S_NEEDS_RESET, 'DEVICE_NEEDS_RESET'],
  [VIRTIO_CONFIG_S_FAILED, 'FAILED'],
]);

/**
 * `dev_to_feature_str[]`: the device-type feature table of a virtio device id; only net has one (block
 * bits print as `bit_N`).
 * @param deviceId virtio device id, or undefined when unknown
 */
export function deviceFeatureTable(deviceId: number | undefined): ReadonlyMap<number, string> | undefined {
  return deviceId === VIRTIO_ID_NET ? NET_FEATURE_NAMES : undefined;
}

/** True for a transport feature bit, `VIRTIO_TRANSPORT_F_START <= bitIndex < VIRTIO_TRANSPORT_F_END`. */
export function isTransportFeature(bitIndex: number): boolean {
  return bitIndex >= VIRTIO_TRANSPORT_F_START && bitIndex < VIRTIO_TRANSPORT_F_END;
}

/**
 * The name of feature bit `bitIndex` of a device of virtio id `deviceId`: the transport table for the
 * transport bits, the device table for the others, else `bit_N`.
 * @param bitIndex 0..63
 * @param deviceId virtio device id; when unknown, device-type bits are `bit_N`
 * @example
 * featureName(5, VIRTIO_ID_NET); // 'MAC'
 */
export function featureName(bitIndex: number, deviceId: number | undefined): string {
  const name = isTransportFeature(bitIndex)
    ? TRANSPORT_FEATURE_NAMES.get(bitIndex)
    : deviceFeatureTable(deviceId)?.get(bitIndex);
  return name ?? `bit_${bitIndex}`;
}

/**
 * Names of the set bits of a 64-bit feature mask, ascending.
 * @param features the mask
 * @param deviceId virtio device id (selects the device table)
 * @example
 * featureNames(0x300000020n, 1); // ['MAC', 'VERSION_1', 'ACCESS_PLATFORM']
 */
export function featureNames(features: bigint, deviceId: number | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < FEATURE_MASK_BITS; i++)
    if (((features >> BigInt(i)) & 1n) !== 0n) out.push(featureName(i, deviceId));
  return out;
}

/**
 * Names of the set bits of a device status byte, ascending (`bit_N` for a bit without a name).
 * @example
 * statusNames(0x0f); // ['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK']
 */
export function statusNames(status: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < STATUS_BITS; i++) {
    const value = 1 << i;
    if ((status & value) !== 0) out.push(STATUS_NAMES.get(value) ?? `bit_${i}`);
  }
  return out;
}
