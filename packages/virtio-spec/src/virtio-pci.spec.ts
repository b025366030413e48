import { describe, expect, it } from 'vitest';
import {
  PCI_DEVICE_ID_VIRTIO_10_BASE,
  PCI_VENDOR_ID_REDHAT_QUMRANET,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_CAP_BAR,
  VIRTIO_PCI_CAP_CFG_TYPE,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ID,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_LEN,
  VIRTIO_PCI_CAP_LENGTH,
  VIRTIO_PCI_CAP_NEXT,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_OFFSET,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_CAP_SHARED_MEMORY_CFG,
  VIRTIO_PCI_CAP_SIZE,
  VIRTIO_PCI_CAP_VENDOR_CFG,
  VIRTIO_PCI_CAP_VNDR,
  VIRTIO_PCI_COMMON_ADM_Q_IDX,
  VIRTIO_PCI_COMMON_ADM_Q_NUM,
  VIRTIO_PCI_COMMON_CFGGENERATION,
  VIRTIO_PCI_COMMON_DF,
  VIRTIO_PCI_COMMON_DFSELECT,
  VIRTIO_PCI_COMMON_GF,
  VIRTIO_PCI_COMMON_GFSELECT,
  VIRTIO_PCI_COMMON_MSIX,
  VIRTIO_PCI_COMMON_NUMQ,
  VIRTIO_PCI_COMMON_Q_AVAILHI,
  VIRTIO_PCI_COMMON_Q_AVAILLO,
  VIRTIO_PCI_COMMON_Q_DESCHI,
  VIRTIO_PCI_COMMON_Q_DESCLO,
  VIRTIO_PCI_COMMON_Q_ENABLE,
  VIRTIO_PCI_COMMON_Q_MSIX,
  VIRTIO_PCI_COMMON_Q_NDATA,
  VIRTIO_PCI_COMMON_Q_NOFF,
  VIRTIO_PCI_COMMON_Q_RESET,
  VIRTIO_PCI_COMMON_Q_SELECT,
  VIRTIO_PCI_COMMON_Q_SIZE,
  VIRTIO_PCI_COMMON_Q_USEDHI,
  VIRTIO_PCI_COMMON_Q_USEDLO,
  VIRTIO_PCI_COMMON_STATUS,
  VIRTIO_PCI_ISR_CONFIG,
  VIRTIO_PCI_ISR_INTR,
  VIRTIO_PCI_NOTIFY_CAP_MULT,
  virtioPciModernDeviceId,
} from './virtio-pci.js';
import { VIRTIO_ID_BLOCK, VIRTIO_ID_NET } from './virtio-ids.js';

/** Checks that each `[offset, size]` field starts where the previous one ends; returns the end. */
function packed(fields: readonly (readonly [number, number])[]): number {
  let at = fields[0][0];
  for (const [off, size] of fields) {
    expect(off).toBe(at);
    at = off + size;
  }
  return at;
}

describe('virtio_pci.h', () => {
  it('names the capability types of §4.1.4', () => {
    expect([
      VIRTIO_PCI_CAP_COMMON_CFG,
      VIRTIO_PCI_CAP_NOTIFY_CFG,
      VIRTIO_PCI_CAP_ISR_CFG,
      VIRTIO_PCI_CAP_DEVICE_CFG,
      VIRTIO_PCI_CAP_PCI_CFG,
      VIRTIO_PCI_CAP_SHARED_MEMORY_CFG,
      VIRTIO_PCI_CAP_VENDOR_CFG,
    ]).toEqual([1, 2, 3, 4, 5, 8, 9]);
  });

  it('lays struct virtio_pci_cap out as in §4.1.4, the notify multiplier right after it', () => {
    const end = packed([
      [VIRTIO_PCI_CAP_VNDR, 1],
      [VIRTIO_PCI_CAP_NEXT, 1],
      [VIRTIO_PCI_CAP_LEN, 1],
      [VIRTIO_PCI_CAP_CFG_TYPE, 1],
      [VIRTIO_PCI_CAP_BAR, 1],
      [VIRTIO_PCI_CAP_ID, 1],
      [VIRTIO_PCI_CAP_ID + 1, 2], // padding[2]
      [VIRTIO_PCI_CAP_OFFSET, 4],
      [VIRTIO_PCI_CAP_LENGTH, 4],
    ]);
    expect(end).toBe(VIRTIO_PCI_CAP_SIZE);
    expect(VIRTIO_PCI_NOTIFY_CAP_MULT).toBe(VIRTIO_PCI_CAP_SIZE);
  });

  it('lays struct virtio_pci_common_cfg out field after field (§4.1.4.3)', () => {
    const end = packed([
      [VIRTIO_PCI_COMMON_DFSELECT, 4],
      [VIRTIO_PCI_COMMON_DF, 4],
      [VIRTIO_PCI_COMMON_GFSELECT, 4],
      [VIRTIO_PCI_COMMON_GF, 4],
      [VIRTIO_PCI_COMMON_MSIX, 2],
      [VIRTIO_PCI_COMMON_NUMQ, 2],
      [VIRTIO_PCI_COMMON_STATUS, 1],
      [VIRTIO_PCI_COMMON_CFGGENERATION, 1],
      [VIRTIO_PCI_COMMON_Q_SELECT, 2],
      [VIRTIO_PCI_COMMON_Q_SIZE, 2],
      [VIRTIO_PCI_COMMON_Q_MSIX, 2],
      [VIRTIO_PCI_COMMON_Q_ENABLE, 2],
      [VIRTIO_PCI_COMMON_Q_NOFF, 2],
      [VIRTIO_PCI_COMMON_Q_DESCLO, 4],
      [VIRTIO_PCI_COMMON_Q_DESCHI, 4],
      [VIRTIO_PCI_COMMON_Q_AVAILLO, 4],
      [VIRTIO_PCI_COMMON_Q_AVAILHI, 4],
      [VIRTIO_PCI_COMMON_Q_USEDLO, 4],
      [VIRTIO_PCI_COMMON_Q_USEDHI, 4],
      [VIRTIO_PCI_COMMON_Q_NDATA, 2],
      [VIRTIO_PCI_COMMON_Q_RESET, 2],
      [VIRTIO_PCI_COMMON_ADM_Q_IDX, 2],
      [VIRTIO_PCI_COMMON_ADM_Q_NUM, 2],
    ]);
    expect(end).toBe(64);
    // The 64-bit ring addresses are 8-byte aligned.
    for (const lo of [VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_USEDLO])
      expect(lo % 8).toBe(0);
  });

  it('has the ISR bits, the no-vector value and the ids of §4.1.2', () => {
    expect([VIRTIO_PCI_ISR_INTR, VIRTIO_PCI_ISR_CONFIG]).toEqual([1, 2]);
    expect(VIRTIO_MSI_NO_VECTOR).toBe(0xffff);
    expect(PCI_VENDOR_ID_REDHAT_QUMRANET).toBe(0x1af4);
    expect(PCI_DEVICE_ID_VIRTIO_10_BASE).toBe(0x1040);
    expect(virtioPciModernDeviceId(VIRTIO_ID_NET)).toBe(0x1041);
    expect(virtioPciModernDeviceId(VIRTIO_ID_BLOCK)).toBe(0x1042);
  });
});
