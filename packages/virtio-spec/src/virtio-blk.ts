/**
 * The block device: uapi `linux/virtio_blk.h`, virtio 1.2 §5.2 (feature bits §5.2.3, `struct
 * virtio_blk_config` §5.2.4, requests §5.2.6).
 */

// §5.2.3 Feature bits
/** Legacy: device supports request barriers (§5.2.3.1). */
export const VIRTIO_BLK_F_BARRIER = 0;
/** `size_max` is valid (§5.2.3). */
export const VIRTIO_BLK_F_SIZE_MAX = 1;
/** `seg_max` is valid (§5.2.3). */
export const VIRTIO_BLK_F_SEG_MAX = 2;
/** `geometry` is valid (§5.2.3). */
export const VIRTIO_BLK_F_GEOMETRY = 4;
/** Device is read-only (§5.2.3). */
export const VIRTIO_BLK_F_RO = 5;
/** `blk_size` is valid (§5.2.3). */
export const VIRTIO_BLK_F_BLK_SIZE = 6;
/** Legacy: device supports SCSI packet commands (§5.2.3.1). */
export const VIRTIO_BLK_F_SCSI = 7;
/** Cache flush command support (§5.2.3). */
export const VIRTIO_BLK_F_FLUSH = 9;
/** `topology` is valid (§5.2.3). */
export const VIRTIO_BLK_F_TOPOLOGY = 10;
/** Device can toggle its cache between writeback and writethrough (§5.2.3). */
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
/** Device supports multiqueue; `num_queues` is valid (§5.2.3). */
export const VIRTIO_BLK_F_MQ = 12;
/** Discard command support (§5.2.3). */
export const VIRTIO_BLK_F_DISCARD = 13;
/** Write zeroes command support (§5.2.3). */
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;
/** Device lifetime information (§5.2.3). */
export const VIRTIO_BLK_F_LIFETIME = 15;
/** Secure erase command support (§5.2.3). */
export const VIRTIO_BLK_F_SECURE_ERASE = 16;
/** Zoned block device (virtio 1.3). */
export const VIRTIO_BLK_F_ZONED = 17;

// §5.2.4 Device configuration layout: `struct virtio_blk_config` field offsets (little-endian)
/** `le64 capacity` in 512-byte sectors (§5.2.4). */
export const VIRTIO_BLK_CONFIG_CAPACITY = 0;
/** `le32 size_max` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_SIZE_MAX = 8;
/** `le32 seg_max` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_SEG_MAX = 12;
/** `struct virtio_blk_geometry {le16 cylinders; u8 heads; u8 sectors}` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_GEOMETRY = 16;
/** `le32 blk_size` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_BLK_SIZE = 20;
/** `u8 topology.physical_block_exp` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_PHYSICAL_BLOCK_EXP = 24;
/** `u8 topology.alignment_offset` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_ALIGNMENT_OFFSET = 25;
/** `le16 topology.min_io_size` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MIN_IO_SIZE = 26;
/** `le32 topology.opt_io_size` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_OPT_IO_SIZE = 28;
/** `u8 writeback` (§5.2.4), followed by one unused byte. */
export const VIRTIO_BLK_CONFIG_WRITEBACK = 32;
/** `le16 num_queues` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_NUM_QUEUES = 34;
/** `le32 max_discard_sectors` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_DISCARD_SECTORS = 36;
/** `le32 max_discard_seg` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_DISCARD_SEG = 40;
/** `le32 discard_sector_alignment` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_DISCARD_SECTOR_ALIGNMENT = 44;
/** `le32 max_write_zeroes_sectors` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SECTORS = 48;
/** `le32 max_write_zeroes_seg` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SEG = 52;
/** `u8 write_zeroes_may_unmap` (§5.2.4), followed by three unused bytes. */
export const VIRTIO_BLK_CONFIG_WRITE_ZEROES_MAY_UNMAP = 56;
/** `le32 max_secure_erase_sectors` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_SECURE_ERASE_SECTORS = 60;
/** `le32 max_secure_erase_seg` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_SECURE_ERASE_SEG = 64;
/** `le32 secure_erase_sector_alignment` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_SECURE_ERASE_SECTOR_ALIGNMENT = 68;
/** `struct virtio_blk_zoned_characteristics zoned` (virtio 1.3; 24 bytes in Linux's header). */
export const VIRTIO_BLK_CONFIG_ZONED = 72;
/** Size of `virtio_blk_config` in current Linux headers (§5.2.4). */
export const VIRTIO_BLK_CONFIG_SIZE = 96;

// §5.2.6 Device Operation: requests
/** Request type: read (§5.2.6). */
export const VIRTIO_BLK_T_IN = 0;
/** Request type: write (§5.2.6). */
export const VIRTIO_BLK_T_OUT = 1;
/** Request type: flush (§5.2.6). */
export const VIRTIO_BLK_T_FLUSH = 4;
/** Request type: get the device id string (§5.2.6). */
export const VIRTIO_BLK_T_GET_ID = 8;
/** Request type: get the device lifetime (§5.2.6). */
export const VIRTIO_BLK_T_GET_LIFETIME = 10;
/** Request type: discard (§5.2.6). */
export const VIRTIO_BLK_T_DISCARD = 11;
/** Request type: write zeroes (§5.2.6). */
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
/** Request type: secure erase (§5.2.6). */
export const VIRTIO_BLK_T_SECURE_ERASE = 14;
/** Request status: success (§5.2.6). */
export const VIRTIO_BLK_S_OK = 0;
/** Request status: device or driver error (§5.2.6). */
export const VIRTIO_BLK_S_IOERR = 1;
/** Request status: request unsupported by the device (§5.2.6). */
export const VIRTIO_BLK_S_UNSUPP = 2;
/** Size of `virtio_blk_outhdr` (§5.2.6). */
export const VIRTIO_BLK_OUTHDR_SIZE = 16;
/** Length of the GET_ID string (§5.2.6). */
export const VIRTIO_BLK_ID_BYTES = 20;
/** Sector size of virtio-blk addressing, whatever the block size (§5.2.6). */
export const VIRTIO_BLK_SECTOR_SIZE = 512;
/** Write-zeroes flag: the device may unmap (§5.2.6). */
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;
