import {
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VirtioError } from './errors.js';

/** Transport features the device must offer: virtio 1.x and platform (IOTLB) address translation. */
export const VIRTIO_TRANSPORT_REQUIRED_FEATURES = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

/** Transport features accepted when offered: `EVENT_IDX` suppression and indirect descriptors. */
export const VIRTIO_TRANSPORT_OPTIONAL_FEATURES =
  bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_RING_F_INDIRECT_DESC);

/**
 * Feature negotiation of the virtio core (`virtio_dev_probe` + `vring_transport_features`): accepts
 * the required and optional transport features and the driver's wanted device features, but only
 * those the device offers — never a feature that was not offered.
 *
 * @param dev device name, for the error
 * @param offered the device's `getDeviceFeatures()`
 * @param wanted the device-type features the driver understands
 * @returns the feature set to write with `setDriverFeatures`
 * @throws VirtioError `ENODEV` (reason `features`) when the device does not offer VERSION_1 or
 * ACCESS_PLATFORM
 * @example
 * const accepted = negotiateFeatures('vdpa0', handle.getDeviceFeatures(), bit(VIRTIO_NET_F_MAC));
 */
export function negotiateFeatures(dev: string, offered: bigint, wanted: bigint): bigint {
  const missing = VIRTIO_TRANSPORT_REQUIRED_FEATURES & ~offered;
  if (missing !== 0n) {
    const names: string[] = [];
    if ((missing & bit(VIRTIO_F_VERSION_1)) !== 0n) names.push('VERSION_1');
    if ((missing & bit(VIRTIO_F_ACCESS_PLATFORM)) !== 0n) names.push('ACCESS_PLATFORM');
    throw new VirtioError(
      'ENODEV',
      'features',
      dev,
      `device ${dev} features 0x${offered.toString(16)} lack ${names.join(' and ')}`,
    );
  }
  return offered & (VIRTIO_TRANSPORT_REQUIRED_FEATURES | VIRTIO_TRANSPORT_OPTIONAL_FEATURES | wanted);
}

/** True when feature bit `n` is set in `features`. */
export function hasFeature(features: bigint, n: number): boolean {
  return (features & bit(n)) !== 0n;
}
