import type { MgmtDevInfo, VdpaDevConfigInfo, VdpaDevInfo, VdpaDevVstats } from '@vdpa-kit/core-bus';
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
  deviceFeatureTable,
} from '@vdpa-kit/virtio-spec';
import { className, deviceTypeName, printFeatures } from './feature-names.js';
import type { VdpaPrinter } from './printer.js';

/** Highest supported-class bit iproute2 examines (`parse_class` walks bits 1..63). */
const CLASS_BITS = 64;
/** Virtqueues per net queue pair (RX + TX): the CVQ index is `2 * max_vqp`. */
const VQS_PER_PAIR = 2;

/** Formats a MAC like `ll_addr_n2a`: lower-case `%02x` joined by `:`. */
export function formatLladdr(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * `pr_out_mgmtdev_show`: handle, `supported_classes`, `  max_supported_vqs N` on its own line,
 * `dev_features` (net names iff the classes include net).
 */
export function printMgmtdev(p: VdpaPrinter, info: MgmtDevInfo): void {
  p.handleStart(info.name);
  p.arrayStart('supported_classes');
  for (let i = 1; i < CLASS_BITS; i++) {
    if (((info.supportedClasses >> BigInt(i)) & 1n) !== 0n) p.arrayString(className(i));
  }
  p.arrayEnd();
  p.nl();
  p.number('max_supported_vqs', '  max_supported_vqs %d', info.maxSupportedVqs);
  const isNet = ((info.supportedClasses >> BigInt(VIRTIO_ID_NET)) & 1n) !== 0n;
  printFeatures(
    p,
    'dev_features',
    info.supportedFeatures,
    isNet ? deviceFeatureTable(VIRTIO_ID_NET) : undefined,
  );
  p.handleEnd();
}

/** `pr_out_dev`: `NAME: type T mgmtdev M vendor_id V max_vqs N max_vq_size S` (no trailing space). */
export function printDev(p: VdpaPrinter, info: VdpaDevInfo): void {
  p.handleStart(info.name);
  p.string('type', 'type %s', deviceTypeName(info.deviceId));
  p.string('mgmtdev', ' mgmtdev %s', info.mgmtdev);
  p.number('vendor_id', ' vendor_id %u', info.vendorId);
  p.number('max_vqs', ' max_vqs %u', info.maxVqs);
  p.number('max_vq_size', ' max_vq_size %u', info.maxVqSize);
  p.handleEnd();
}

/**
 * `pr_out_dev_config`: handle; for net only, each present field in the fixed order mac, link,
 * link_announce, max_vq_pairs, mtu (each with a trailing space), then `negotiated_features` when
 * FEATURES_OK was reached. Other classes print only the handle.
 */
export function printDevConfig(p: VdpaPrinter, info: VdpaDevConfigInfo): void {
  p.handleStart(info.name);
  const net = info.deviceId === VIRTIO_ID_NET ? info.net : undefined;
  if (info.deviceId === VIRTIO_ID_NET) {
    if (net?.mac !== undefined) p.string('mac', 'mac %s ', formatLladdr(net.mac));
    if (net?.status !== undefined) {
      p.string('link ', 'link %s ', (net.status & VIRTIO_NET_S_LINK_UP) !== 0 ? 'up' : 'down');
      p.bool('link_announce ', 'link_announce %s ', (net.status & VIRTIO_NET_S_ANNOUNCE) !== 0);
    }
    if (net?.maxVqPairs !== undefined) p.number('max_vq_pairs', 'max_vq_pairs %d ', net.maxVqPairs);
    if (net?.mtu !== undefined) p.number('mtu', 'mtu %d ', net.mtu);
    if (info.negotiatedFeatures !== undefined) {
      printFeatures(p, 'negotiated_features', info.negotiatedFeatures, deviceFeatureTable(info.deviceId));
    }
  }
  p.handleEnd();
}

/**
 * `print_queue_type`: `control_vq` when CTRL_VQ is negotiated and `qidx == 2 * max_vqp` (max_vqp is 0
 * when MQ/RSS were not negotiated: iproute2's quirk, kept), else `tx` for odd and `rx` for even.
 */
export function queueType(
  features: bigint,
  maxVqPairs: number,
  queueIndex: number,
): 'control_vq' | 'rx' | 'tx' {
  const ctrl =
    ((features >> BigInt(VIRTIO_NET_F_CTRL_VQ)) & 1n) !== 0n && queueIndex === VQS_PER_PAIR * maxVqPairs;
  if (ctrl) return 'control_vq';
  return queueIndex % VQS_PER_PAIR === 1 ? 'tx' : 'rx';
}

/** `pr_out_dev_net_vstats`: handle, `queue_type`, then `<name> <value> ` per vendor counter (net only). */
export function printDevVstats(p: VdpaPrinter, info: VdpaDevVstats): void {
  p.handleStart(info.name);
  if (info.deviceId === VIRTIO_ID_NET) {
    p.string(
      'queue_type',
      'queue_type %s ',
      queueType(info.negotiatedFeatures, info.maxVqPairs ?? 0, info.queueIndex),
    );
    for (const stat of info.stats) p.number(stat.name, `${stat.name} %u `, stat.value);
  }
  p.handleEnd();
}
