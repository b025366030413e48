import {
  ETH_ALEN,
  VIRTIO_BLK_CONFIG_ALIGNMENT_OFFSET,
  VIRTIO_BLK_CONFIG_BLK_SIZE,
  VIRTIO_BLK_CONFIG_CAPACITY,
  VIRTIO_BLK_CONFIG_DISCARD_SECTOR_ALIGNMENT,
  VIRTIO_BLK_CONFIG_MAX_DISCARD_SECTORS,
  VIRTIO_BLK_CONFIG_MAX_DISCARD_SEG,
  VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SECTORS,
  VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SEG,
  VIRTIO_BLK_CONFIG_MIN_IO_SIZE,
  VIRTIO_BLK_CONFIG_NUM_QUEUES,
  VIRTIO_BLK_CONFIG_OPT_IO_SIZE,
  VIRTIO_BLK_CONFIG_PHYSICAL_BLOCK_EXP,
  VIRTIO_BLK_CONFIG_SEG_MAX,
  VIRTIO_BLK_CONFIG_SIZE_MAX,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_F_STATUS,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VDPA_VQ_NUM_MIN_DEFAULT, BLK_CONFIG_READ_SIZE } from './constants.js';
import type { DeviceHandle } from './device-handle.js';
import { VdpaError } from './errors.js';
import type {
  VdpaBlkConfigInfo,
  VdpaDevConfigInfo,
  VdpaDevInfo,
  VdpaDevVstats,
  VdpaNetConfigInfo,
} from './mgmt-device.js';

const has = (features: bigint, n: number): boolean => (features & bit(n)) !== 0n;
const LE = true;

/**
 * `VDPA_CMD_DEV_GET` (vdpa.c: vdpa_dev_fill()): id, vendor id, vq counts and sizes, read through `handle` (so
 * each read is an op event).
 */
export function devShow(handle: DeviceHandle, mgmtdev: string): VdpaDevInfo {
  return {
    name: handle.name,
    mgmtdev,
    deviceId: handle.getDeviceId(),
    vendorId: handle.getVendorId(),
    maxVqs: handle.nvqs,
    maxVqSize: handle.getVqNumMax(),
    minVqSize: handle.has('getVqNumMin') ? handle.getVqNumMin() : VDPA_VQ_NUM_MIN_DEFAULT,
  };
}

function netConfig(handle: DeviceHandle): VdpaNetConfigInfo {
  // The kernel reads the raw op here, not the features-valid wrapper.
  const buf = new Uint8Array(VIRTIO_NET_CONFIG_SIZE);
  handle.getConfig(0, buf);
  const view = new DataView(buf.buffer);
  const features = handle.getDeviceFeatures();
  return {
    deviceFeatures: features,
    ...(has(features, VIRTIO_NET_F_MAC)
      ? { mac: buf.slice(VIRTIO_NET_CONFIG_MAC, VIRTIO_NET_CONFIG_MAC + ETH_ALEN) }
      : {}),
    ...(has(features, VIRTIO_NET_F_STATUS) ? { status: view.getUint16(VIRTIO_NET_CONFIG_STATUS, LE) } : {}),
    ...(has(features, VIRTIO_NET_F_MQ) || has(features, VIRTIO_NET_F_RSS)
      ? { maxVqPairs: view.getUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, LE) }
      : {}),
    ...(has(features, VIRTIO_NET_F_MTU) ? { mtu: view.getUint16(VIRTIO_NET_CONFIG_MTU, LE) } : {}),
  };
}

function blkConfig(handle: DeviceHandle): VdpaBlkConfigInfo {
  const buf = new Uint8Array(BLK_CONFIG_READ_SIZE);
  handle.getConfig(0, buf);
  const v = new DataView(buf.buffer);
  const f = handle.getDeviceFeatures();
  const topology = has(f, VIRTIO_BLK_F_TOPOLOGY);
  const discard = has(f, VIRTIO_BLK_F_DISCARD);
  const zeroes = has(f, VIRTIO_BLK_F_WRITE_ZEROES);
  return {
    deviceFeatures: f,
    capacity: v.getBigUint64(VIRTIO_BLK_CONFIG_CAPACITY, LE),
    ...(has(f, VIRTIO_BLK_F_SIZE_MAX) ? { sizeMax: v.getUint32(VIRTIO_BLK_CONFIG_SIZE_MAX, LE) } : {}),
    ...(has(f, VIRTIO_BLK_F_SEG_MAX) ? { segMax: v.getUint32(VIRTIO_BLK_CONFIG_SEG_MAX, LE) } : {}),
    ...(has(f, VIRTIO_BLK_F_BLK_SIZE) ? { blkSize: v.getUint32(VIRTIO_BLK_CONFIG_BLK_SIZE, LE) } : {}),
    ...(has(f, VIRTIO_BLK_F_MQ) ? { numQueues: v.getUint16(VIRTIO_BLK_CONFIG_NUM_QUEUES, LE) } : {}),
    ...(topology
      ? {
          physicalBlockExp: v.getUint8(VIRTIO_BLK_CONFIG_PHYSICAL_BLOCK_EXP),
          alignmentOffset: v.getUint8(VIRTIO_BLK_CONFIG_ALIGNMENT_OFFSET),
          minIoSize: v.getUint16(VIRTIO_BLK_CONFIG_MIN_IO_SIZE, LE),
          optIoSize: v.getUint32(VIRTIO_BLK_CONFIG_OPT_IO_SIZE, LE),
        }
      : {}),
    ...(discard
      ? {
          maxDiscardSectors: v.getUint32(VIRTIO_BLK_CONFIG_MAX_DISCARD_SECTORS, LE),
          maxDiscardSeg: v.getUint32(VIRTIO_BLK_CONFIG_MAX_DISCARD_SEG, LE),
          discardSectorAlignment: v.getUint32(VIRTIO_BLK_CONFIG_DISCARD_SECTOR_ALIGNMENT, LE),
        }
      : {}),
    ...(zeroes
      ? {
          maxWriteZeroesSectors: v.getUint32(VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SECTORS, LE),
          maxWriteZeroesSeg: v.getUint32(VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SEG, LE),
        }
      : {}),
    readOnly: has(f, VIRTIO_BLK_F_RO),
    flush: has(f, VIRTIO_BLK_F_FLUSH),
  };
}

/**
 * `VDPA_CMD_DEV_CONFIG_GET` (vdpa.c: vdpa_dev_config_fill()): device id; negotiated features only once the
 * status has FEATURES_OK; then the class config (net: device features, MAC/status/max_vqp/MTU per offered
 * feature; blk: capacity and the feature-gated fields). Reads through `rawHandle`, whose `getConfig` must be
 * the raw op (the kernel does not apply the features-valid wrapper here).
 *
 * @throws VdpaError `EOPNOTSUPP` for a device class other than net and blk
 */
export function devConfig(rawHandle: DeviceHandle): VdpaDevConfigInfo {
  const deviceId = rawHandle.getDeviceId();
  const status = rawHandle.getStatus();
  const negotiated =
    (status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 ? { negotiatedFeatures: rawHandle.getDriverFeatures() } : {};
  const base = { name: rawHandle.name, deviceId, ...negotiated };
  if (deviceId === VIRTIO_ID_NET) return { ...base, net: netConfig(rawHandle) };
  if (deviceId === VIRTIO_ID_BLOCK) return { ...base, blk: blkConfig(rawHandle) };
  throw new VdpaError(
    'EOPNOTSUPP',
    `device ${rawHandle.name} has virtio id ${deviceId}: config show supports net and blk only`,
  );
}

/**
 * `VDPA_CMD_DEV_VSTATS_GET` (vdpa.c: vdpa_dev_vendor_stats_fill()), in the kernel's order: net only
 * (`EOPNOTSUPP`), queue index ≤ 0x8000 (`ERANGE`), the device has `getVendorVqStats` (`EOPNOTSUPP`),
 * FEATURES_OK (`EAGAIN`); then config (through the features-valid wrapper), negotiated features and the
 * vendor stats of the queue.
 */
export function devVstats(handle: DeviceHandle, queueIndex: number): VdpaDevVstats {
  if (!Number.isSafeInteger(queueIndex) || queueIndex < 0) {
    throw new VdpaError('EINVAL', `queue index ${String(queueIndex)} is not an unsigned integer`);
  }
  const deviceId = handle.getDeviceId();
  if (deviceId !== VIRTIO_ID_NET) {
    throw new VdpaError(
      'EOPNOTSUPP',
      `device ${handle.name} has virtio id ${deviceId}: vstats supports net only`,
    );
  }
  if (queueIndex > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX) {
    throw new VdpaError(
      'ERANGE',
      `queue index ${queueIndex} exceeds max value ${VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX}`,
    );
  }
  if (!handle.has('getVendorVqStats')) {
    throw new VdpaError('EOPNOTSUPP', `device ${handle.name} has no vendor vq statistics`);
  }
  const status = handle.getStatus();
  if ((status & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
    throw new VdpaError(
      'EAGAIN',
      `device ${handle.name} status 0x${status.toString(16)}: feature negotiation not complete`,
    );
  }
  const buf = new Uint8Array(VIRTIO_NET_CONFIG_SIZE);
  handle.getConfig(0, buf);
  const negotiated = handle.getDriverFeatures();
  const mq = has(negotiated, VIRTIO_NET_F_MQ) || has(negotiated, VIRTIO_NET_F_RSS);
  const stats = handle.getVendorVqStats(queueIndex);
  return {
    name: handle.name,
    deviceId,
    negotiatedFeatures: negotiated,
    ...(mq ? { maxVqPairs: new DataView(buf.buffer).getUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, LE) } : {}),
    queueIndex,
    stats,
  };
}
