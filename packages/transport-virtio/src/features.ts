import {
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VirtioError } from './errors.js';

/**
 * Transport features this transport needs negotiated: virtio 1.x and platform (IOTLB) address
 * translation. Checked after the features are written, where `virtio.c: virtio_features_ok()` checks
 * them for a platform that restricts memory access.
 */
export const VIRTIO_TRANSPORT_REQUIRED_FEATURES = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

/** Transport features accepted when offered: `EVENT_IDX` suppression and indirect descriptors. */
export const VIRTIO_TRANSPORT_OPTIONAL_FEATURES =
  bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_RING_F_INDIRECT_DESC);

/**
 * The features `virtio.c: virtio_dev_probe()` writes: the driver's feature table intersected with the
 * device's offer, plus the offered transport features the ring supports
 * (`virtio_ring.c: vring_transport_features()`). Never a feature that was not offered; nothing is
 * refused here — the device may refuse the result (`set_driver_features`), and
 * {@link checkTransportFeatures} runs after the write.
 *
 * @param offered the device's `getDeviceFeatures()`
 * @param wanted the device-type features the driver understands
 * @returns the feature set to write with `setDriverFeatures`
 * @example
 * const accepted = negotiateFeatures(handle.getDeviceFeatures(), bit(VIRTIO_NET_F_MAC));
 */
export function negotiateFeatures(offered: bigint, wanted: bigint): bigint {
  return offered & (VIRTIO_TRANSPORT_REQUIRED_FEATURES | VIRTIO_TRANSPORT_OPTIONAL_FEATURES | wanted);
}

/**
 * `virtio.c: virtio_features_ok()` as on a platform that restricts memory access
 * (`virtio_check_mem_acc_cb()` true): the negotiated features must hold VERSION_1 and ACCESS_PLATFORM.
 * This transport always checks: it reaches guest memory only through the device's IOTLB and has no
 * legacy (pre-1.0) driver.
 *
 * @param dev device name, for the error
 * @param features the negotiated features
 * @throws VirtioError `ENODEV` (reason `features`) naming what is missing
 */
export function checkTransportFeatures(dev: string, features: bigint): void {
  const missing = VIRTIO_TRANSPORT_REQUIRED_FEATURES & ~features;
  if (missing === 0n) return;
  const names: string[] = [];
  if ((missing & bit(VIRTIO_F_VERSION_1)) !== 0n) names.push('VERSION_1');
  if ((missing & bit(VIRTIO_F_ACCESS_PLATFORM)) !== 0n) names.push('ACCESS_PLATFORM');
  throw new VirtioError(
    'ENODEV',
    'features',
    dev,
    `device ${dev} features 0x${features.toString(16)} lack ${names.join(' and ')}`,
  );
}

/** True when feature bit `n` is set in `features`. */
export function hasFeature(features: bigint, n: number): boolean {
  return (features & bit(n)) !== 0n;
}
