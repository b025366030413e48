import { describe, expect, it } from 'vitest';
import * as spec from './index.js';
import {
  VDPA_ATTR_DEV_BLK_FLUSH,
  VDPA_ATTR_DEV_FEATURES,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
  VDPA_ATTR_DEV_NET_CFG_MTU,
  VDPA_ATTR_MAX,
  VDPA_ATTR_MGMTDEV_BUS_NAME,
  VDPA_ATTR_PAD,
  VDPA_ATTR_UNSPEC,
  VDPA_CMD_DEV_ATTR_SET,
  VDPA_CMD_DEV_NEW,
  VDPA_RESET_F_CLEAN_MAP,
} from './vdpa.js';

/** The exported numeric constants whose names start with `prefix` (a namespace lists them by name). */
function family(prefix: string): [string, number][] {
  return Object.entries(spec).filter(
    (e): e is [string, number] => e[0].startsWith(prefix) && typeof e[1] === 'number',
  );
}

describe('vdpa.h', () => {
  it('numbers enum vdpa_attr 1..36 without gaps or duplicates, PAD sharing UNSPEC', () => {
    const attrs = family('VDPA_ATTR_').filter(
      ([n]) => !['VDPA_ATTR_UNSPEC', 'VDPA_ATTR_PAD', 'VDPA_ATTR_MAX'].includes(n),
    );
    expect(attrs).toHaveLength(36);
    expect(attrs.map(([, v]) => v).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 36 }, (_, i) => i + 1),
    );
    expect([VDPA_ATTR_UNSPEC, VDPA_ATTR_PAD, VDPA_ATTR_MGMTDEV_BUS_NAME]).toEqual([0, 0, 1]);
    expect(VDPA_ATTR_MAX).toBe(VDPA_ATTR_DEV_BLK_FLUSH + 1);
  });

  it('has the uapi numbers the management validation relies on', () => {
    expect([
      VDPA_ATTR_DEV_NET_CFG_MACADDR,
      VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
      VDPA_ATTR_DEV_NET_CFG_MTU,
      VDPA_ATTR_DEV_FEATURES,
    ]).toEqual([10, 12, 13, 20]);
    expect(VDPA_RESET_F_CLEAN_MAP).toBe(1);
  });

  it('numbers enum vdpa_command 0..8', () => {
    const cmds = family('VDPA_CMD_');
    expect(cmds.map(([, v]) => v).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([VDPA_CMD_DEV_NEW, VDPA_CMD_DEV_ATTR_SET]).toEqual([3, 8]);
  });
});

describe('vhost_types.h', () => {
  it('has the IOTLB permissions, message types and backend feature bits', () => {
    expect([spec.VHOST_ACCESS_RO, spec.VHOST_ACCESS_WO, spec.VHOST_ACCESS_RW]).toEqual([1, 2, 3]);
    expect(spec.VHOST_ACCESS_RW).toBe(spec.VHOST_ACCESS_RO | spec.VHOST_ACCESS_WO);
    const iotlb = family('VHOST_IOTLB_').filter(([n]) => !n.startsWith('VHOST_IOTLB_MSG'));
    expect(iotlb.map(([, v]) => v).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([spec.VHOST_IOTLB_MSG, spec.VHOST_IOTLB_MSG_V2]).toEqual([1, 2]);
    expect(
      family('VHOST_BACKEND_F_')
        .map(([, v]) => v)
        .sort((a, b) => a - b),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(spec.VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK).toBe(6);
    expect(spec.VHOST_F_LOG_ALL).toBe(26);
  });
});

describe('one value per name in each bit family', () => {
  it.each([
    'VIRTIO_NET_F_',
    'VIRTIO_BLK_F_',
    'VHOST_BACKEND_F_',
    'VIRTIO_CONFIG_S_',
    'VIRTIO_ID_',
    'VIRTIO_PCI_CAP_',
  ])('%s* values are distinct', (prefix) => {
    // VIRTIO_PCI_CAP_ mixes cfg types and struct offsets; compare the cfg types only.
    const entries = family(prefix).filter(([n]) => prefix !== 'VIRTIO_PCI_CAP_' || n.endsWith('_CFG'));
    expect(entries.length).toBeGreaterThan(2);
    expect(new Set(entries.map(([, v]) => v)).size).toBe(entries.length);
  });

  it('transport bits (VIRTIO_F_*, VIRTIO_RING_F_*) are distinct and none is a net device bit', () => {
    const transport = [...family('VIRTIO_F_'), ...family('VIRTIO_RING_F_')];
    expect(new Set(transport.map(([, v]) => v)).size).toBe(transport.length);
    const net = new Set(family('VIRTIO_NET_F_').map(([, v]) => v));
    for (const [, v] of transport) expect(net.has(v)).toBe(false);
  });
});
