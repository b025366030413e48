import { describe, expect, it } from 'vitest';
import {
  VIRTIO_NET_CONFIG_DUPLEX,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_NET_CONFIG_SPEED,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_CTRL_ACK_SIZE,
  VIRTIO_NET_CTRL_HDR_CMD_OFF,
  VIRTIO_NET_CTRL_HDR_SIZE,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_PAIRS_SIZE,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ONOFF_SIZE,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_SPEED_DUPLEX,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_LEGACY_SIZE,
  VIRTIO_NET_HDR_V1_SIZE,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
} from './virtio-net.js';
import { ETH_ALEN } from './if-ether.js';

describe('virtio_net.h', () => {
  it('lays struct virtio_net_config out field after field (§5.1.4)', () => {
    expect(VIRTIO_NET_CONFIG_MAC + ETH_ALEN).toBe(VIRTIO_NET_CONFIG_STATUS);
    expect(VIRTIO_NET_CONFIG_STATUS + 2).toBe(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS);
    expect(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS + 2).toBe(VIRTIO_NET_CONFIG_MTU);
    expect(VIRTIO_NET_CONFIG_MTU + 2).toBe(VIRTIO_NET_CONFIG_SPEED);
    expect(VIRTIO_NET_CONFIG_SPEED + 4).toBe(VIRTIO_NET_CONFIG_DUPLEX);
    // duplex, rss_max_key_size (u8), rss_max_indirection_table_length (le16), supported_hash_types (le32)
    expect(VIRTIO_NET_CONFIG_DUPLEX + 1 + 1 + 2 + 4).toBe(VIRTIO_NET_CONFIG_SIZE);
    expect([VIRTIO_NET_S_LINK_UP, VIRTIO_NET_S_ANNOUNCE]).toEqual([1, 2]);
  });

  it('has the feature bits of §5.1.3', () => {
    expect([VIRTIO_NET_F_MTU, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_CTRL_VQ]).toEqual([
      3, 5, 16, 17,
    ]);
    expect([VIRTIO_NET_F_MQ, VIRTIO_NET_F_SPEED_DUPLEX]).toEqual([22, 63]);
  });

  it('sizes the headers and the control queue structures (§5.1.6, §5.1.6.5)', () => {
    // legacy {u8 flags; u8 gso_type; le16 hdr_len, gso_size, csum_start, csum_offset}, + le16 num_buffers
    expect(VIRTIO_NET_HDR_LEGACY_SIZE).toBe(1 + 1 + 4 * 2);
    expect(VIRTIO_NET_HDR_V1_SIZE).toBe(VIRTIO_NET_HDR_LEGACY_SIZE + 2);
    // {u8 class; u8 cmd}
    expect(VIRTIO_NET_CTRL_HDR_SIZE).toBe(2);
    expect(VIRTIO_NET_CTRL_HDR_CMD_OFF).toBe(1);
    expect(VIRTIO_NET_CTRL_ACK_SIZE).toBe(1);
    expect(VIRTIO_NET_CTRL_RX_ONOFF_SIZE).toBe(1);
    expect(VIRTIO_NET_CTRL_MQ_PAIRS_SIZE).toBe(2);
    expect([VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET]).toEqual([0, 4, 0]);
    expect(VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX).toBe(0x8000);
  });
});
