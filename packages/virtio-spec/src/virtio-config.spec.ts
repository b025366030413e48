import { describe, expect, it } from 'vitest';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ADMIN_VQ,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_NOTIF_CONFIG_DATA,
  VIRTIO_F_ORDER_PLATFORM,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_RING_RESET,
  VIRTIO_F_SR_IOV,
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_MAX,
  VIRTIO_TRANSPORT_F_END,
  VIRTIO_TRANSPORT_F_START,
  bit,
} from './virtio-config.js';
import { VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC } from './virtio-ring.js';

describe('virtio_config.h values', () => {
  it('are the device status bits of §2.1', () => {
    expect([
      VIRTIO_CONFIG_S_ACKNOWLEDGE,
      VIRTIO_CONFIG_S_DRIVER,
      VIRTIO_CONFIG_S_DRIVER_OK,
      VIRTIO_CONFIG_S_FEATURES_OK,
      VIRTIO_CONFIG_S_NEEDS_RESET,
      VIRTIO_CONFIG_S_FAILED,
    ]).toEqual([1, 2, 4, 8, 64, 128]);
    expect(VIRTIO_STATUS_MAX).toBe(255);
  });

  it('are the reserved feature bit numbers of §6', () => {
    expect(VIRTIO_F_NOTIFY_ON_EMPTY).toBe(24);
    expect(VIRTIO_F_ANY_LAYOUT).toBe(27);
    expect([
      VIRTIO_F_VERSION_1,
      VIRTIO_F_ACCESS_PLATFORM,
      VIRTIO_F_RING_PACKED,
      VIRTIO_F_IN_ORDER,
      VIRTIO_F_ORDER_PLATFORM,
      VIRTIO_F_SR_IOV,
      VIRTIO_F_NOTIFICATION_DATA,
      VIRTIO_F_NOTIF_CONFIG_DATA,
      VIRTIO_F_RING_RESET,
      VIRTIO_F_ADMIN_VQ,
    ]).toEqual([32, 33, 34, 35, 36, 37, 38, 39, 40, 41]);
  });

  it('put every transport bit in [VIRTIO_TRANSPORT_F_START, VIRTIO_TRANSPORT_F_END)', () => {
    const transport = [
      VIRTIO_RING_F_INDIRECT_DESC,
      VIRTIO_RING_F_EVENT_IDX,
      VIRTIO_F_VERSION_1,
      VIRTIO_F_ACCESS_PLATFORM,
      VIRTIO_F_RING_PACKED,
      VIRTIO_F_IN_ORDER,
      VIRTIO_F_ORDER_PLATFORM,
      VIRTIO_F_SR_IOV,
      VIRTIO_F_NOTIFICATION_DATA,
      VIRTIO_F_NOTIF_CONFIG_DATA,
      VIRTIO_F_RING_RESET,
      VIRTIO_F_ADMIN_VQ,
    ];
    for (const b of transport) {
      expect(b).toBeGreaterThanOrEqual(VIRTIO_TRANSPORT_F_START);
      expect(b).toBeLessThan(VIRTIO_TRANSPORT_F_END);
    }
    expect(Math.max(...transport) + 1).toBe(VIRTIO_TRANSPORT_F_END);
    expect(new Set(transport).size).toBe(transport.length);
  });
});

describe('bit', () => {
  it('is BIT_ULL: exact up to bit 63', () => {
    expect(bit(0)).toBe(1n);
    expect(bit(VIRTIO_F_VERSION_1)).toBe(0x1_0000_0000n);
    expect(bit(63)).toBe(0x8000_0000_0000_0000n);
  });
});
