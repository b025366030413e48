import { describe, expect, it } from 'vitest';
import { featureName, featureNames, statusNames } from './feature-names.js';

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

  it('decodes the status byte', () => {
    expect(statusNames(0x0f)).toEqual(['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK']);
    expect(statusNames(0xc0 | 0x10)).toEqual(['bit_4', 'DEVICE_NEEDS_RESET', 'FAILED']);
    expect(statusNames(0)).toEqual([]);
  });
});
