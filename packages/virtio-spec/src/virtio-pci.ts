/**
 * The virtio over PCI bus transport: uapi `linux/virtio_pci.h`, virtio 1.2 §4.1 (device discovery
 * §4.1.2, capabilities §4.1.4, common configuration §4.1.4.3, notifications §4.1.4.4, ISR status
 * §4.1.4.5, MSI-X vector configuration §4.1.5.1.2). A hardware driver walks these structures in a
 * function's configuration space and BARs.
 */

// §4.1.2 PCI Device Discovery
/** PCI vendor id of every virtio device (`PCI_VENDOR_ID_REDHAT_QUMRANET`, §4.1.2). */
export const PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4;
/** A modern device's PCI device id is this plus its virtio device id (§4.1.2; QEMU's name). */
export const PCI_DEVICE_ID_VIRTIO_10_BASE = 0x1040;

/**
 * The PCI device id of a modern (non-transitional) virtio device: 0x1040 + its virtio device id (§4.1.2).
 * @param virtioId a virtio device id (`VIRTIO_ID_*`)
 * @example
 * virtioPciModernDeviceId(VIRTIO_ID_NET); // 0x1041
 */
export function virtioPciModernDeviceId(virtioId: number): number {
  return PCI_DEVICE_ID_VIRTIO_10_BASE + virtioId;
}

// §4.1.4 Virtio Structure PCI Capabilities: `cfg_type` values
/** Common configuration (§4.1.4). */
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
/** Notifications (§4.1.4). */
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
/** ISR status (§4.1.4). */
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
/** Device-specific configuration (§4.1.4). */
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
/** PCI configuration access (§4.1.4). */
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
/** Shared memory region (§4.1.4). */
export const VIRTIO_PCI_CAP_SHARED_MEMORY_CFG = 8;
/** Vendor-specific data (§4.1.4). */
export const VIRTIO_PCI_CAP_VENDOR_CFG = 9;

// `struct virtio_pci_cap {u8 cap_vndr, cap_next, cap_len, cfg_type, bar, id, padding[2]; le32 offset,
// length}`
/** Offset of `u8 cap_vndr` (`PCI_CAP_ID_VNDR`) in `virtio_pci_cap` (§4.1.4). */
export const VIRTIO_PCI_CAP_VNDR = 0;
/** Offset of `u8 cap_next` (§4.1.4). */
export const VIRTIO_PCI_CAP_NEXT = 1;
/** Offset of `u8 cap_len` (§4.1.4). */
export const VIRTIO_PCI_CAP_LEN = 2;
/** Offset of `u8 cfg_type` (§4.1.4). */
export const VIRTIO_PCI_CAP_CFG_TYPE = 3;
/** Offset of `u8 bar` (§4.1.4). */
export const VIRTIO_PCI_CAP_BAR = 4;
/** Offset of `u8 id` (§4.1.4; no macro in Linux). */
export const VIRTIO_PCI_CAP_ID = 5;
/** Offset of `le32 offset`, the structure's offset within the BAR (§4.1.4). */
export const VIRTIO_PCI_CAP_OFFSET = 8;
/** Offset of `le32 length`, the structure's length in bytes (§4.1.4). */
export const VIRTIO_PCI_CAP_LENGTH = 12;
/** Size of `struct virtio_pci_cap` (§4.1.4; no macro in Linux). */
export const VIRTIO_PCI_CAP_SIZE = 16;
/** Offset of `le32 notify_off_multiplier` in `virtio_pci_notify_cap`, after the cap (§4.1.4.4). */
export const VIRTIO_PCI_NOTIFY_CAP_MULT = 16;

// §4.1.4.3 Common configuration structure layout (`struct virtio_pci_common_cfg` and the modern tail)
/** `le32 device_feature_select` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_DFSELECT = 0;
/** `le32 device_feature` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_DF = 4;
/** `le32 driver_feature_select` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_GFSELECT = 8;
/** `le32 driver_feature` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_GF = 12;
/** `le16 config_msix_vector` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_MSIX = 16;
/** `le16 num_queues` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_NUMQ = 18;
/** `u8 device_status` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_STATUS = 20;
/** `u8 config_generation` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_CFGGENERATION = 21;
/** `le16 queue_select` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_SELECT = 22;
/** `le16 queue_size` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_SIZE = 24;
/** `le16 queue_msix_vector` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_MSIX = 26;
/** `le16 queue_enable` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_ENABLE = 28;
/** `le16 queue_notify_off` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_NOFF = 30;
/** `le64 queue_desc`, low half (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_DESCLO = 32;
/** `le64 queue_desc`, high half (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_DESCHI = 36;
/** `le64 queue_driver` (the available ring), low half (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_AVAILLO = 40;
/** `le64 queue_driver`, high half (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_AVAILHI = 44;
/** `le64 queue_device` (the used ring), low half (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_USEDLO = 48;
/** `le64 queue_device`, high half (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_USEDHI = 52;
/** `le16 queue_notif_config_data` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_NDATA = 56;
/** `le16 queue_reset` (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_Q_RESET = 58;
/** `le16 admin_queue_index` (virtio 1.3). */
export const VIRTIO_PCI_COMMON_ADM_Q_IDX = 60;
/** `le16 admin_queue_num` (virtio 1.3). */
export const VIRTIO_PCI_COMMON_ADM_Q_NUM = 62;

// §4.1.4.5 ISR status capability, §4.1.5.1.2 MSI-X vector configuration
/** ISR bit 0: a queue interrupt (§4.1.4.5; DPDK's name, Linux has none). */
export const VIRTIO_PCI_ISR_INTR = 0x1;
/** ISR bit 1: a device configuration change (§4.1.4.5). */
export const VIRTIO_PCI_ISR_CONFIG = 0x2;
/** Vector value that disables MSI-X for the config change or a queue (§4.1.5.1.2). */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;
