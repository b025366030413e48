/**
 * vhost-user protocol values: QEMU `docs/interop/vhost-user.rst` (message header, request ids,
 * protocol feature bits, payload layouts) as the front-ends DPDK 22.11 (`lib/vhost/vhost_user.h`,
 * `drivers/net/virtio/virtio_user/vhost_user.c`) and QEMU 7.2 (`hw/virtio/vhost-user.c`) use them.
 * Feature bits are bit numbers; `bit()` turns one into a mask.
 */

// Message header (vhost-user.rst "Header")
/** Bytes of the header: `u32 request`, `u32 flags`, `u32 size`. */
export const VHOST_USER_HDR_SIZE = 12;
/** `flags` bits 0–1: the protocol version. */
export const VHOST_USER_VERSION_MASK = 0x3;
/** The only protocol version there is. */
export const VHOST_USER_VERSION = 0x1;
/** `flags` bit 2: the message is a reply (the back-end sets it on every reply). */
export const VHOST_USER_REPLY_MASK = 0x4;
/** `flags` bit 3: the front-end asks for a `u64` status reply (`REPLY_ACK`). */
export const VHOST_USER_NEED_REPLY_MASK = 0x8;

// Front-end → back-end request ids (vhost-user.rst "Front-end message types")
/** Not a request: DPDK's `VHOST_USER_NONE`. */
export const VHOST_USER_NONE = 0;
/** Get the device's virtio feature bits (reply `u64`). */
export const VHOST_USER_GET_FEATURES = 1;
/** Set the acked virtio feature bits (`u64`). */
export const VHOST_USER_SET_FEATURES = 2;
/** The front-end claims the session (`VHOST_SET_OWNER`). */
export const VHOST_USER_SET_OWNER = 3;
/** Deprecated: release ownership and reset (`VHOST_RESET_OWNER`). */
export const VHOST_USER_RESET_OWNER = 4;
/** Memory table: up to `VHOST_MEMORY_BASELINE_NREGIONS` regions, one fd each. */
export const VHOST_USER_SET_MEM_TABLE = 5;
/** Shared dirty log (`u64 size`, `u64 offset`, one fd); needs `LOG_SHMFD`. */
export const VHOST_USER_SET_LOG_BASE = 6;
/** Eventfd signalled after a dirty-log update (one fd). */
export const VHOST_USER_SET_LOG_FD = 7;
/** Ring size (vring state). */
export const VHOST_USER_SET_VRING_NUM = 8;
/** Ring addresses in front-end virtual addresses (vring address). */
export const VHOST_USER_SET_VRING_ADDR = 9;
/** Next available index (vring state). */
export const VHOST_USER_SET_VRING_BASE = 10;
/** Stop the ring and return its next available index (reply vring state). */
export const VHOST_USER_GET_VRING_BASE = 11;
/** Kick eventfd of a ring (`u64` index and no-fd bit; one fd unless the bit is set). */
export const VHOST_USER_SET_VRING_KICK = 12;
/** Call eventfd of a ring (`u64` index and no-fd bit; one fd unless the bit is set). */
export const VHOST_USER_SET_VRING_CALL = 13;
/** Error eventfd of a ring (`u64` index and no-fd bit; one fd unless the bit is set). */
export const VHOST_USER_SET_VRING_ERR = 14;
/** Get the back-end's protocol feature bits (reply `u64`). */
export const VHOST_USER_GET_PROTOCOL_FEATURES = 15;
/** Set the acked protocol feature bits (`u64`). */
export const VHOST_USER_SET_PROTOCOL_FEATURES = 16;
/** How many queues the back-end supports (reply `u64`; needs `MQ`). */
export const VHOST_USER_GET_QUEUE_NUM = 17;
/** Enable or disable a ring (vring state, `num` 0 or 1). */
export const VHOST_USER_SET_VRING_ENABLE = 18;
/** Ask the back-end to broadcast a RARP for a MAC (`u64`; needs `RARP`). */
export const VHOST_USER_SEND_RARP = 19;
/** Tell a net back-end the MTU (`u64`; needs `MTU`). */
export const VHOST_USER_NET_SET_MTU = 20;
/** Socket for back-end initiated requests (one fd; needs `BACKEND_REQ`). Old name `SET_SLAVE_REQ_FD`. */
export const VHOST_USER_SET_BACKEND_REQ_FD = 21;
/** IOTLB update or invalidate (`struct vhost_iotlb_msg`, reply `u64`). */
export const VHOST_USER_IOTLB_MSG = 22;
/** Ring endianness for legacy devices (vring state; needs `CROSS_ENDIAN`). */
export const VHOST_USER_SET_VRING_ENDIAN = 23;
/** Read device config space (config payload, reply config payload; needs `CONFIG`). */
export const VHOST_USER_GET_CONFIG = 24;
/** Write device config space (config payload; needs `CONFIG`). */
export const VHOST_USER_SET_CONFIG = 25;
/** Create a crypto session (needs `CRYPTO_SESSION`). */
export const VHOST_USER_CREATE_CRYPTO_SESSION = 26;
/** Close a crypto session (needs `CRYPTO_SESSION`). */
export const VHOST_USER_CLOSE_CRYPTO_SESSION = 27;
/** Postcopy: open a userfaultfd (needs `PAGEFAULT`). */
export const VHOST_USER_POSTCOPY_ADVISE = 28;
/** Postcopy: enter listening mode (needs `PAGEFAULT`). */
export const VHOST_USER_POSTCOPY_LISTEN = 29;
/** Postcopy: done (needs `PAGEFAULT`). */
export const VHOST_USER_POSTCOPY_END = 30;
/** Get the shared inflight buffer (inflight description, reply with one fd; needs `INFLIGHT_SHMFD`). */
export const VHOST_USER_GET_INFLIGHT_FD = 31;
/** Set the shared inflight buffer (inflight description, one fd; needs `INFLIGHT_SHMFD`). */
export const VHOST_USER_SET_INFLIGHT_FD = 32;
/** vhost-user-gpu socket (one fd). */
export const VHOST_USER_GPU_SET_SOCKET = 33;
/** Reset the device (needs `RESET_DEVICE`). */
export const VHOST_USER_RESET_DEVICE = 34;
/** In-band kick (vring state; needs `INBAND_NOTIFICATIONS`). */
export const VHOST_USER_VRING_KICK = 35;
/** How many memory slots the back-end supports (reply `u64`; needs `CONFIGURE_MEM_SLOTS`). */
export const VHOST_USER_GET_MAX_MEM_SLOTS = 36;
/** Add one memory region (single region, one fd; needs `CONFIGURE_MEM_SLOTS`). */
export const VHOST_USER_ADD_MEM_REG = 37;
/** Remove one memory region (single region; needs `CONFIGURE_MEM_SLOTS`). */
export const VHOST_USER_REM_MEM_REG = 38;
/** Set the virtio device status byte (`u64`; needs `STATUS`). */
export const VHOST_USER_SET_STATUS = 39;
/** Get the virtio device status byte (reply `u64`; needs `STATUS`). */
export const VHOST_USER_GET_STATUS = 40;
/** Look up a shared object by UUID (needs `SHARED_OBJECT`). */
export const VHOST_USER_GET_SHARED_OBJECT = 41;
/** Device state transfer fd (needs `DEVICE_STATE`). */
export const VHOST_USER_SET_DEVICE_STATE_FD = 42;
/** Device state transfer result (needs `DEVICE_STATE`). */
export const VHOST_USER_CHECK_DEVICE_STATE = 43;
/** The largest front-end request id defined. */
export const VHOST_USER_MAX_REQUEST = VHOST_USER_CHECK_DEVICE_STATE;

// Virtio feature bit that only vhost-user uses (vhost-user.rst "Protocol features")
/** Offered in GET_FEATURES, never exposed to the guest: protocol features and ring enable exist. */
export const VHOST_USER_F_PROTOCOL_FEATURES = 30;

// Protocol feature bits (vhost-user.rst "Protocol features")
/** Multiple queues; GET_QUEUE_NUM. */
export const VHOST_USER_PROTOCOL_F_MQ = 0;
/** Dirty log in shared memory (SET_LOG_BASE with an fd). */
export const VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1;
/** SEND_RARP. */
export const VHOST_USER_PROTOCOL_F_RARP = 2;
/** The `NEED_REPLY` flag is honoured with a `u64` status reply. */
export const VHOST_USER_PROTOCOL_F_REPLY_ACK = 3;
/** NET_SET_MTU. */
export const VHOST_USER_PROTOCOL_F_MTU = 4;
/** Back-end initiated requests over a second socket. Old name `SLAVE_REQ`. */
export const VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5;
/** SET_VRING_ENDIAN. */
export const VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6;
/** Crypto sessions. */
export const VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7;
/** Postcopy migration with userfaultfd. */
export const VHOST_USER_PROTOCOL_F_PAGEFAULT = 8;
/** GET_CONFIG / SET_CONFIG: the back-end owns the device config space. */
export const VHOST_USER_PROTOCOL_F_CONFIG = 9;
/** Back-end requests may carry fds. Old name `SLAVE_SEND_FD`. */
export const VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10;
/** Host notifier areas. */
export const VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11;
/** GET/SET_INFLIGHT_FD. */
export const VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12;
/** RESET_DEVICE. */
export const VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13;
/** In-band kicks and calls (requires `REPLY_ACK` and `BACKEND_REQ`). */
export const VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14;
/** GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG. */
export const VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15;
/** SET_STATUS / GET_STATUS. */
export const VHOST_USER_PROTOCOL_F_STATUS = 16;
/** Xen foreign memory mappings. */
export const VHOST_USER_PROTOCOL_F_XEN_MMAP = 17;
/** Shared objects by UUID. */
export const VHOST_USER_PROTOCOL_F_SHARED_OBJECT = 18;
/** Device state transfer. */
export const VHOST_USER_PROTOCOL_F_DEVICE_STATE = 19;

// Vring file payload (`u64` of SET_VRING_KICK / CALL / ERR)
/** Bits 0–7: the ring index. */
export const VHOST_USER_VRING_IDX_MASK = 0xff;
/** Bit 8: no fd is passed (the back-end polls instead). */
export const VHOST_USER_VRING_NOFD_MASK = 0x100;

// Vring address payload `flags`: `VHOST_VRING_F_LOG` of vhost-types.ts (vhost_types.h).

// Memory table
/** Regions in a SET_MEM_TABLE message (QEMU `VHOST_MEMORY_BASELINE_NREGIONS`, DPDK `VHOST_MEMORY_MAX_NREGIONS`); also the most fds one message carries. */
export const VHOST_MEMORY_BASELINE_NREGIONS = 8;

// Payload sizes (vhost-user.rst "Message types", C layouts with their padding)
/** A `u64` payload. */
export const VHOST_USER_U64_SIZE = 8;
/** Vring state: `u32 index`, `u32 num`. */
export const VHOST_USER_VRING_STATE_SIZE = 8;
/** Vring address: `u32 index`, `u32 flags`, `u64 desc`, `u64 used`, `u64 avail`, `u64 log`. */
export const VHOST_USER_VRING_ADDR_SIZE = 40;
/** Memory table head: `u32 nregions`, `u32 padding`. */
export const VHOST_USER_MEMORY_HDR_SIZE = 8;
/** One memory region: `u64 guest_phys_addr`, `u64 memory_size`, `u64 userspace_addr`, `u64 mmap_offset`. */
export const VHOST_USER_MEMORY_REGION_SIZE = 32;
/** A single memory region message (ADD/REM_MEM_REG): `u64 padding`, then one region. */
export const VHOST_USER_SINGLE_REGION_SIZE = 40;
/** Log description: `u64 mmap_size`, `u64 mmap_offset`. */
export const VHOST_USER_LOG_SIZE = 16;
/** `struct vhost_iotlb_msg`: `u64 iova`, `u64 size`, `u64 uaddr`, `u8 perm`, `u8 type`, 6 bytes of padding. */
export const VHOST_USER_IOTLB_SIZE = 32;
/** Inflight description: `u64 mmap_size`, `u64 mmap_offset`, `u16 num_queues`, `u16 queue_size`, 4 bytes of padding (`sizeof(VhostUserInflight)`). */
export const VHOST_USER_INFLIGHT_SIZE = 24;
/** Config space head: `u32 offset`, `u32 size`, `u32 flags`; `size` bytes follow. */
export const VHOST_USER_CONFIG_HDR_SIZE = 12;
/** Most config bytes one message carries (QEMU and DPDK `VHOST_USER_MAX_CONFIG_SIZE`). */
export const VHOST_USER_MAX_CONFIG_SIZE = 256;
/** Config `flags`: a write of writable fields. */
export const VHOST_SET_CONFIG_TYPE_FRONTEND = 0;
/** Config `flags`: a write during live migration. */
export const VHOST_SET_CONFIG_TYPE_MIGRATION = 1;
