import {
  ETH_ADDR_MULTICAST,
  ETH_ALEN,
  U16_MAX,
  U64_LIMIT,
  VDPA_ATTR_DEV_FEATURES,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
  VDPA_ATTR_DEV_NET_CFG_MTU,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_MIN_MTU,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VDPA_DEVICE_FEATURES_MASK, VDPA_MGMTDEV_CLASS_ID_MAX } from './constants.js';
import { bigintToHex } from './event-codec.js';
import { VdpaError } from './errors.js';
import type { MgmtDevice, VdpaDevAddRequest, VdpaDevSetConfig } from './mgmt-device.js';

/** `VDPA_DEV_NET_ATTRS_MASK`: the net attributes of a `dev add`. */
export const VDPA_DEV_NET_ATTRS_MASK =
  bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) | bit(VDPA_ATTR_DEV_NET_CFG_MTU) | bit(VDPA_ATTR_DEV_NET_CFG_MAX_VQP);

/** Supported-classes mask of a mgmtdev: `bit(id)` of each id ≤ 63 (`vdpa_mgmtdev_get_classes`). */
export function mgmtdevClasses(mdev: MgmtDevice): { readonly classes: bigint; readonly count: number } {
  let classes = 0n;
  let count = 0;
  for (const id of mdev.idTable) {
    if (!Number.isInteger(id) || id < 0 || id > VDPA_MGMTDEV_CLASS_ID_MAX) continue;
    classes |= bit(id);
    count++;
  }
  return { classes, count };
}

/** Parses a netlink-style MAC attribute: exactly `ETH_ALEN` bytes (policy `NLA_POLICY_ETH_ADDR`). */
export function checkMacLength(mac: unknown): Uint8Array {
  if (!(mac instanceof Uint8Array) || mac.length !== ETH_ALEN) {
    const len = mac instanceof Uint8Array ? mac.length : typeof mac;
    throw new VdpaError('EINVAL', `mac address of ${String(len)} bytes is not ${ETH_ALEN} bytes`);
  }
  return mac;
}

/** `is_valid_ether_addr`: not multicast (bit 0 of the first byte) and not all zero. */
export function isValidEtherAddr(mac: Uint8Array): boolean {
  return mac.length === ETH_ALEN && (mac[0] & ETH_ADDR_MULTICAST) === 0 && mac.some((b) => b !== 0);
}

/** Formats a MAC as `00:11:22:33:44:55`. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A value a netlink `NLA_U16` can carry; anything else cannot be sent at all (`EINVAL`). */
function u16(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > U16_MAX) {
    throw new VdpaError('EINVAL', `${what} ${String(value)} is not in [0, ${U16_MAX}]`);
  }
  return value;
}

/**
 * `NLA_POLICY_MIN(NLA_U16, 68)` of `VDPA_ATTR_DEV_NET_CFG_MTU` (vdpa.c: vdpa_nl_policy): below the minimum,
 * lib/nlattr.c: nla_validate_range_unsigned() answers `-ERANGE` ("integer out of range").
 */
function mtuPolicy(value: unknown): number {
  const mtu = u16(value, 'mtu');
  if (mtu < VIRTIO_NET_MIN_MTU) {
    throw new VdpaError('ERANGE', `mtu ${mtu} is below ${VIRTIO_NET_MIN_MTU}: integer out of range`);
  }
  return mtu;
}

/**
 * The `DEV_NEW` checks that precede the mgmtdev lookup, in the kernel's order (vdpa.c:
 * vdpa_nl_cmd_dev_add_set_doit()): attribute policy (MAC length, MTU ≥ 68, u16 and u64 ranges), a device
 * name, `max_vqp` ≠ 0, and the features required by the supplied net attributes. Builds the
 * `VdpaDevSetConfig` with its mask.
 *
 * @throws VdpaError `ERANGE` for an MTU below 68 (the policy's "integer out of range"), otherwise
 * `EINVAL` with the kernel's message (lower-case, naming the value)
 */
export function buildDevSetConfig(name: unknown, request: VdpaDevAddRequest): VdpaDevSetConfig {
  const net = request.net ?? {};
  // Netlink policy validation runs before the command handler.
  const mac = net.mac === undefined ? undefined : checkMacLength(net.mac);
  const mtu = net.mtu === undefined ? undefined : mtuPolicy(net.mtu);
  const maxVqPairs = net.maxVqPairs === undefined ? undefined : u16(net.maxVqPairs, 'max_vqp');
  const features = request.deviceFeatures;
  if (features !== undefined && (typeof features !== 'bigint' || features < 0n || features >= U64_LIMIT)) {
    throw new VdpaError('EINVAL', `device features ${String(features)} are not a u64`);
  }
  if (typeof name !== 'string' || name.length === 0) throw new VdpaError('EINVAL', 'device name is required');

  let mask = 0n;
  if (mac !== undefined) mask |= bit(VDPA_ATTR_DEV_NET_CFG_MACADDR);
  if (mtu !== undefined) mask |= bit(VDPA_ATTR_DEV_NET_CFG_MTU);
  if (maxVqPairs !== undefined) {
    if (maxVqPairs === 0) throw new VdpaError('EINVAL', 'max_vqp 0: at least one pair of vqs is required');
    mask |= bit(VDPA_ATTR_DEV_NET_CFG_MAX_VQP);
  }
  if (features !== undefined) {
    let missing = 0n;
    if (mac !== undefined && (features & bit(VIRTIO_NET_F_MAC)) === 0n) missing |= bit(VIRTIO_NET_F_MAC);
    if (mtu !== undefined && (features & bit(VIRTIO_NET_F_MTU)) === 0n) missing |= bit(VIRTIO_NET_F_MTU);
    if (maxVqPairs !== undefined && maxVqPairs > 1 && (features & bit(VIRTIO_NET_F_MQ)) === 0n) {
      missing |= bit(VIRTIO_NET_F_MQ);
    }
    if (missing !== 0n)
      throw new VdpaError('EINVAL', `missing features ${bigintToHex(missing)} for provided attributes`);
    mask |= bit(VDPA_ATTR_DEV_FEATURES);
  }
  const netOut =
    mac === undefined && mtu === undefined && maxVqPairs === undefined ? undefined : { mac, mtu, maxVqPairs };
  return Object.freeze({
    ...(features === undefined ? {} : { deviceFeatures: features }),
    ...(netOut === undefined ? {} : { net: Object.freeze(netOut) }),
    mask,
  });
}

/**
 * The `DEV_NEW` checks against the chosen mgmtdev, in the kernel's order: unsupported attributes
 * (`EOPNOTSUPP`), net attributes on a mgmtdev without the net class (`EINVAL`), and device-specific
 * feature bits without net attributes on a multi-class mgmtdev (`EINVAL`, ambiguous).
 */
export function checkMgmtdevAccepts(mdev: MgmtDevice, config: VdpaDevSetConfig): void {
  const unsupported = config.mask & ~mdev.configAttrMask;
  if (unsupported !== 0n) {
    throw new VdpaError(
      'EOPNOTSUPP',
      `some provided attributes are not supported: ${bigintToHex(unsupported)}`,
    );
  }
  const { classes, count } = mgmtdevClasses(mdev);
  const hasNetAttrs = (config.mask & VDPA_DEV_NET_ATTRS_MASK) !== 0n;
  if (hasNetAttrs && (classes & bit(VIRTIO_ID_NET)) === 0n) {
    throw new VdpaError(
      'EINVAL',
      `network class attributes provided on unsupported management device ${mdev.name}`,
    );
  }
  const features = config.deviceFeatures ?? 0n;
  if (
    !hasNetAttrs &&
    (config.mask & bit(VDPA_ATTR_DEV_FEATURES)) !== 0n &&
    count > 1 &&
    (features & VDPA_DEVICE_FEATURES_MASK) !== 0n
  ) {
    throw new VdpaError(
      'EINVAL',
      `management device ${mdev.name} supports multiple classes while device features ${bigintToHex(features)} are ambiguous`,
    );
  }
}
