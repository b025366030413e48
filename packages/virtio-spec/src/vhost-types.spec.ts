import { describe, expect, it } from 'vitest';
import {
  VHOST_GET_FEATURES,
  VHOST_GET_VRING_BASE,
  VHOST_SET_OWNER,
  VHOST_SET_VRING_ADDR,
  VHOST_VDPA_GET_IOVA_RANGE,
  VHOST_VDPA_GET_STATUS,
  VHOST_VDPA_GET_VRING_NUM,
  VHOST_VDPA_GET_VRING_SIZE,
  VHOST_VDPA_SUSPEND,
  VHOST_VIRTIO,
  VHOST_IOTLB_MSG_SIZE,
  VHOST_IOTLB_MSG_TYPE_OFFSET,
  VHOST_MSG_IOTLB_OFFSET,
  VHOST_MSG_V2_SIZE,
} from './vhost-types.js';

// asm-generic/ioctl.h: dir in bits 30-31 (1 write, 2 read), size in 16-29, type in 8-15, nr in 0-7.
const IOC_WRITE = 1;
const IOC_READ = 2;
function ioc(dir: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (VHOST_VIRTIO << 8) | nr) >>> 0;
}

describe('vhost uAPI ioctl codes (uapi linux/vhost.h)', () => {
  it('are the _IOC encodings of their type, number and argument size', () => {
    expect(VHOST_GET_FEATURES).toBe(ioc(IOC_READ, 0x00, 8));
    expect(VHOST_SET_OWNER).toBe(ioc(0, 0x01, 0));
    // struct vhost_vring_addr: u32 index, u32 flags, four u64 addresses.
    expect(VHOST_SET_VRING_ADDR).toBe(ioc(IOC_WRITE, 0x11, 40));
    expect(VHOST_GET_VRING_BASE).toBe(ioc(IOC_READ | IOC_WRITE, 0x12, 8));
    expect(VHOST_VDPA_GET_STATUS).toBe(ioc(IOC_READ, 0x71, 1));
    expect(VHOST_VDPA_GET_VRING_NUM).toBe(ioc(IOC_READ, 0x76, 2));
    expect(VHOST_VDPA_GET_IOVA_RANGE).toBe(ioc(IOC_READ, 0x78, 16));
    expect(VHOST_VDPA_SUSPEND).toBe(ioc(0, 0x7d, 0));
    expect(VHOST_VDPA_GET_VRING_SIZE).toBe(ioc(IOC_READ | IOC_WRITE, 0x82, 8));
  });

  it('struct vhost_msg_v2 is 72 bytes with the 32-byte iotlb message at offset 8 inside its 64-byte union', () => {
    expect(VHOST_MSG_V2_SIZE).toBe(VHOST_MSG_IOTLB_OFFSET + 64);
    expect(VHOST_IOTLB_MSG_TYPE_OFFSET).toBeLessThan(VHOST_IOTLB_MSG_SIZE);
  });
});
