import { describe, expect, it } from 'vitest';
import * as spec from './index.js';
import {
  NET_FEATURE_NAMES,
  STATUS_NAMES,
  TRANSPORT_FEATURE_NAMES,
  deviceFeatureTable,
  featureName,
  featureNames,
  isTransportFeature,
  statusNames,
} from './feature-names.js';
import { VIRTIO_ID_BLOCK, VIRTIO_ID_NET } from './virtio-ids.js';

/** iproute2 `vdpa/vdpa.c` `net_feature_strs[]`, written out as the tool has them. */
const IPROUTE2_NET_NAMES = [
  'CSUM',
  'GUEST_CSUM',
  'CTRL_GUEST_OFFLOADS',
  'MTU',
  'MAC',
  'GUEST_TSO4',
  'GUEST_TSO6',
  'GUEST_ECN',
  'GUEST_UFO',
  'HOST_TSO4',
  'HOST_TSO6',
  'HOST_ECN',
  'HOST_UFO',
  'MRG_RXBUF',
  'STATUS',
  'CTRL_VQ',
  'CTRL_RX',
  'CTRL_VLAN',
  'CTRL_RX_EXTRA',
  'GUEST_ANNOUNCE',
  'MQ',
  'NOTIFY_ON_EMPTY',
  'CTRL_MAC_ADDR',
  'ANY_LAYOUT',
  'HASH_REPORT',
  'RSS',
  'RSC_EXT',
  'STANDBY',
  'SPEED_DUPLEX',
];

/** The value of the exported constant `name`, or undefined. */
function constant(name: string): unknown {
  return (spec as Record<string, unknown>)[name];
}

describe('feature name tables', () => {
  it('name every VIRTIO_NET_F_* the tool names, each at its constant bit', () => {
    expect([...NET_FEATURE_NAMES.values()].sort()).toEqual([...IPROUTE2_NET_NAMES].sort());
    for (const [b, name] of NET_FEATURE_NAMES) {
      const value = constant(`VIRTIO_NET_F_${name}`) ?? constant(`VIRTIO_F_${name}`);
      expect(value, name).toBe(b);
    }
  });

  it('name transport bits after their VIRTIO_F_* / VIRTIO_RING_F_* constants, in the transport range', () => {
    for (const [b, name] of TRANSPORT_FEATURE_NAMES) {
      const value = constant(`VIRTIO_F_${name}`) ?? constant(`VIRTIO_${name.replace(/^RING_/, 'RING_F_')}`);
      expect(value, name).toBe(b);
      expect(isTransportFeature(b)).toBe(true);
    }
  });

  it('have no duplicate bits or names, and net names no transport bit', () => {
    for (const table of [NET_FEATURE_NAMES, TRANSPORT_FEATURE_NAMES, STATUS_NAMES]) {
      expect(new Set(table.values()).size).toBe(table.size);
    }
    expect(NET_FEATURE_NAMES.size).toBe(IPROUTE2_NET_NAMES.length);
    for (const b of NET_FEATURE_NAMES.keys()) expect(isTransportFeature(b)).toBe(false);
    for (const [value, name] of STATUS_NAMES) {
      expect(value & (value - 1)).toBe(0);
      expect(constant(`VIRTIO_CONFIG_S_${name.replace('DEVICE_', '')}`)).toBe(value);
    }
  });

  it('select the device table by virtio id (dev_to_feature_str)', () => {
    expect(deviceFeatureTable(VIRTIO_ID_NET)).toBe(NET_FEATURE_NAMES);
    expect(deviceFeatureTable(VIRTIO_ID_BLOCK)).toBeUndefined();
    expect(deviceFeatureTable(undefined)).toBeUndefined();
  });
});

describe('feature and status names', () => {
  it('names net and transport bits as iproute2 prints them, unknown bits as bit_N', () => {
    expect(featureNames(0x300830028n, 1)).toEqual([
      'MTU',
      'MAC',
      'STATUS',
      'CTRL_VQ',
      'CTRL_MAC_ADDR',
      'VERSION_1',
      'ACCESS_PLATFORM',
    ]);
    expect(featureNames(0x8000000n | (1n << 40n) | (1n << 63n), 1)).toEqual([
      'ANY_LAYOUT',
      'bit_40',
      'SPEED_DUPLEX',
    ]);
    expect(featureName(29, undefined)).toBe('RING_EVENT_IDX');
    // Device bits of a device that is not net (or whose id is unknown) have no names.
    expect(featureNames(0x20n | (1n << 32n), 2)).toEqual(['bit_5', 'VERSION_1']);
    expect(featureNames(0n, 1)).toEqual([]);
  });

  it('prints the transport bits iproute2 has no name for (39..41) and bit 42 as bit_N', () => {
    expect(featureNames((1n << 39n) | (1n << 41n) | (1n << 42n), 1)).toEqual(['bit_39', 'bit_41', 'bit_42']);
  });

  it('decodes the status byte', () => {
    expect(statusNames(0x0f)).toEqual(['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK']);
    expect(statusNames(0xc0 | 0x10)).toEqual(['bit_4', 'DEVICE_NEEDS_RESET', 'FAILED']);
    expect(statusNames(0)).toEqual([]);
  });
});
