import {
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_ORDER_PLATFORM,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_SR_IOV,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
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
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VIRTIO_TRANSPORT_F_START,
} from '@vdpa-kit/vring';
import type { VdpaPrinter } from './printer.js';

/** Number of feature bits iproute2 walks (`print_features`: 0..63). */
const FEATURE_BITS = 64;

/**
 * iproute2's own `VIRTIO_TRANSPORT_F_END` (its copy of `virtio_config.h`). The printed result is the
 * same with the newer kernels' 41: neither table names bits 39..42.
 */
export const IPROUTE2_TRANSPORT_F_END = 38;

/** `net_feature_strs` of iproute2 `vdpa/vdpa.c`: device-table names of virtio-net bits. */
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

/** `ext_feature_strs`: transport-table names of bits `VIRTIO_TRANSPORT_F_START..END`. */
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

/**
 * `dev_to_feature_str[]`: the device table for a virtio device id; only net has one (block bits
 * print as `bit_N`).
 */
export function deviceFeatureTable(deviceId: number): ReadonlyMap<number, string> | undefined {
  return deviceId === VIRTIO_ID_NET ? NET_FEATURE_NAMES : undefined;
}

/**
 * The name iproute2 prints for feature bit `i`, or undefined when it prints `bit_<i>` (text) / `<i>`
 * (JSON).
 */
export function featureName(
  i: number,
  deviceTable: ReadonlyMap<number, string> | undefined,
): string | undefined {
  if (i >= VIRTIO_TRANSPORT_F_START && i <= IPROUTE2_TRANSPORT_F_END) return TRANSPORT_FEATURE_NAMES.get(i);
  return deviceTable?.get(i);
}

/**
 * `print_features`: an array `name` with one element per set bit, ascending: the bit's name, or
 * `bit_N` in text and the bare number N in JSON.
 *
 * @param printer where to print
 * @param name array name (`dev_features`, `negotiated_features`)
 * @param features the 64-bit mask
 * @param deviceTable {@link deviceFeatureTable} of the device class, if any
 */
export function printFeatures(
  printer: VdpaPrinter,
  name: string,
  features: bigint,
  deviceTable: ReadonlyMap<number, string> | undefined,
): void {
  printer.arrayStart(name);
  for (let i = 0; i < FEATURE_BITS; i++) {
    if (((features >> BigInt(i)) & 1n) === 0n) continue;
    const label = featureName(i, deviceTable);
    if (label === undefined) printer.arrayNumber(`bit_${i}`, i);
    else printer.arrayString(label);
  }
  printer.arrayEnd();
}

/** `class_map` + `parse_class`: names of supported-class bits (bit 0 is never examined). */
export function className(bitIndex: number): string {
  if (bitIndex === VIRTIO_ID_NET) return 'net';
  if (bitIndex === VIRTIO_ID_BLOCK) return 'block';
  return '< unknown class >';
}

/** `device_type_name`: the `type` of `dev show`. */
export function deviceTypeName(deviceId: number): string {
  if (deviceId === VIRTIO_ID_NET) return 'network';
  if (deviceId === VIRTIO_ID_BLOCK) return 'block';
  return '<unknown type>';
}
