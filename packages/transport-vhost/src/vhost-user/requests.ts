import {
  VHOST_USER_ADD_MEM_REG,
  VHOST_USER_CHECK_DEVICE_STATE,
  VHOST_USER_CLOSE_CRYPTO_SESSION,
  VHOST_USER_CREATE_CRYPTO_SESSION,
  VHOST_USER_GET_CONFIG,
  VHOST_USER_GET_FEATURES,
  VHOST_USER_GET_INFLIGHT_FD,
  VHOST_USER_GET_MAX_MEM_SLOTS,
  VHOST_USER_GET_PROTOCOL_FEATURES,
  VHOST_USER_GET_QUEUE_NUM,
  VHOST_USER_GET_SHARED_OBJECT,
  VHOST_USER_GET_STATUS,
  VHOST_USER_GET_VRING_BASE,
  VHOST_USER_GPU_SET_SOCKET,
  VHOST_USER_IOTLB_MSG,
  VHOST_USER_NET_SET_MTU,
  VHOST_USER_POSTCOPY_ADVISE,
  VHOST_USER_POSTCOPY_END,
  VHOST_USER_POSTCOPY_LISTEN,
  VHOST_USER_REM_MEM_REG,
  VHOST_USER_RESET_DEVICE,
  VHOST_USER_RESET_OWNER,
  VHOST_USER_SEND_RARP,
  VHOST_USER_SET_BACKEND_REQ_FD,
  VHOST_USER_SET_CONFIG,
  VHOST_USER_SET_DEVICE_STATE_FD,
  VHOST_USER_SET_FEATURES,
  VHOST_USER_SET_INFLIGHT_FD,
  VHOST_USER_SET_LOG_BASE,
  VHOST_USER_SET_LOG_FD,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_OWNER,
  VHOST_USER_SET_PROTOCOL_FEATURES,
  VHOST_USER_SET_STATUS,
  VHOST_USER_SET_VRING_ADDR,
  VHOST_USER_SET_VRING_BASE,
  VHOST_USER_SET_VRING_CALL,
  VHOST_USER_SET_VRING_ENABLE,
  VHOST_USER_SET_VRING_ENDIAN,
  VHOST_USER_SET_VRING_ERR,
  VHOST_USER_SET_VRING_KICK,
  VHOST_USER_SET_VRING_NUM,
  VHOST_USER_VRING_KICK,
} from '@vdpa-kit/virtio-spec';

/**
 * Payload layouts of vhost-user.rst "Message types". `opaque` is a payload this layer does not decode
 * (the requests it does not implement): only its size is bounded, by the framer.
 */
export type VhostUserLayout =
  | 'none'
  | 'u64'
  | 'vring-state'
  | 'vring-addr'
  | 'vring-file'
  | 'memory-table'
  | 'memory-region'
  | 'log'
  | 'iotlb'
  | 'config'
  | 'inflight'
  | 'opaque';

/**
 * How many fds a request carries, the rule of DPDK `vhost_user_msg_handler()` (`accepts_fd`,
 * `validate_msg_fds()`):
 * - `none`: no fd;
 * - `one`: exactly one;
 * - `vring-file`: one, or none when the payload's no-fd bit (0x100) is set;
 * - `per-region`: one per memory region (`nregions`);
 * - `up-to-one`: none or one (REM_MEM_REG: QEMU passes the region's fd, libvhost-user closes it).
 */
export type VhostUserFdRule = 'none' | 'one' | 'vring-file' | 'per-region' | 'up-to-one';

/** What the back-end must send back (vhost-user.rst "Replies"): nothing, or a payload of a layout. */
export type VhostUserReplyRule = 'none' | 'u64' | 'vring-state' | 'config' | 'inflight';

/** One row of the request table. */
export interface VhostUserRequestSpec {
  /** The request id. */
  readonly id: number;
  /** Its name without the `VHOST_USER_` prefix (`'SET_MEM_TABLE'`). */
  readonly name: string;
  /** Layout of the front-end's payload. */
  readonly layout: VhostUserLayout;
  /** Fds the request carries. */
  readonly fds: VhostUserFdRule;
  /** The reply the protocol requires whatever the flags say. */
  readonly reply: VhostUserReplyRule;
}

function row(
  id: number,
  name: string,
  layout: VhostUserLayout,
  fds: VhostUserFdRule = 'none',
  reply: VhostUserReplyRule = 'none',
): VhostUserRequestSpec {
  return Object.freeze({ id, name, layout, fds, reply });
}

/** Every front-end request vhost-user.rst defines, by id. */
const VU_REQUEST_TABLE: ReadonlyMap<number, VhostUserRequestSpec> = new Map(
  [
    row(VHOST_USER_GET_FEATURES, 'GET_FEATURES', 'none', 'none', 'u64'),
    row(VHOST_USER_SET_FEATURES, 'SET_FEATURES', 'u64'),
    row(VHOST_USER_SET_OWNER, 'SET_OWNER', 'none'),
    row(VHOST_USER_RESET_OWNER, 'RESET_OWNER', 'none'),
    row(VHOST_USER_SET_MEM_TABLE, 'SET_MEM_TABLE', 'memory-table', 'per-region'),
    row(VHOST_USER_SET_LOG_BASE, 'SET_LOG_BASE', 'log', 'one'),
    row(VHOST_USER_SET_LOG_FD, 'SET_LOG_FD', 'none', 'one'),
    row(VHOST_USER_SET_VRING_NUM, 'SET_VRING_NUM', 'vring-state'),
    row(VHOST_USER_SET_VRING_ADDR, 'SET_VRING_ADDR', 'vring-addr'),
    row(VHOST_USER_SET_VRING_BASE, 'SET_VRING_BASE', 'vring-state'),
    row(VHOST_USER_GET_VRING_BASE, 'GET_VRING_BASE', 'vring-state', 'none', 'vring-state'),
    row(VHOST_USER_SET_VRING_KICK, 'SET_VRING_KICK', 'vring-file', 'vring-file'),
    row(VHOST_USER_SET_VRING_CALL, 'SET_VRING_CALL', 'vring-file', 'vring-file'),
    row(VHOST_USER_SET_VRING_ERR, 'SET_VRING_ERR', 'vring-file', 'vring-file'),
    row(VHOST_USER_GET_PROTOCOL_FEATURES, 'GET_PROTOCOL_FEATURES', 'none', 'none', 'u64'),
    row(VHOST_USER_SET_PROTOCOL_FEATURES, 'SET_PROTOCOL_FEATURES', 'u64'),
    row(VHOST_USER_GET_QUEUE_NUM, 'GET_QUEUE_NUM', 'none', 'none', 'u64'),
    row(VHOST_USER_SET_VRING_ENABLE, 'SET_VRING_ENABLE', 'vring-state'),
    row(VHOST_USER_SEND_RARP, 'SEND_RARP', 'u64'),
    row(VHOST_USER_NET_SET_MTU, 'NET_SET_MTU', 'u64'),
    row(VHOST_USER_SET_BACKEND_REQ_FD, 'SET_BACKEND_REQ_FD', 'opaque', 'one'),
    row(VHOST_USER_IOTLB_MSG, 'IOTLB_MSG', 'iotlb', 'none', 'u64'),
    row(VHOST_USER_SET_VRING_ENDIAN, 'SET_VRING_ENDIAN', 'vring-state'),
    row(VHOST_USER_GET_CONFIG, 'GET_CONFIG', 'config', 'none', 'config'),
    row(VHOST_USER_SET_CONFIG, 'SET_CONFIG', 'config'),
    row(VHOST_USER_CREATE_CRYPTO_SESSION, 'CREATE_CRYPTO_SESSION', 'opaque'),
    row(VHOST_USER_CLOSE_CRYPTO_SESSION, 'CLOSE_CRYPTO_SESSION', 'opaque'),
    row(VHOST_USER_POSTCOPY_ADVISE, 'POSTCOPY_ADVISE', 'opaque'),
    row(VHOST_USER_POSTCOPY_LISTEN, 'POSTCOPY_LISTEN', 'opaque'),
    row(VHOST_USER_POSTCOPY_END, 'POSTCOPY_END', 'opaque'),
    row(VHOST_USER_GET_INFLIGHT_FD, 'GET_INFLIGHT_FD', 'inflight', 'none', 'inflight'),
    row(VHOST_USER_SET_INFLIGHT_FD, 'SET_INFLIGHT_FD', 'inflight', 'one'),
    row(VHOST_USER_GPU_SET_SOCKET, 'GPU_SET_SOCKET', 'opaque', 'one'),
    row(VHOST_USER_RESET_DEVICE, 'RESET_DEVICE', 'none'),
    row(VHOST_USER_VRING_KICK, 'VRING_KICK', 'vring-state'),
    row(VHOST_USER_GET_MAX_MEM_SLOTS, 'GET_MAX_MEM_SLOTS', 'none', 'none', 'u64'),
    row(VHOST_USER_ADD_MEM_REG, 'ADD_MEM_REG', 'memory-region', 'one'),
    row(VHOST_USER_REM_MEM_REG, 'REM_MEM_REG', 'memory-region', 'up-to-one'),
    row(VHOST_USER_SET_STATUS, 'SET_STATUS', 'u64'),
    row(VHOST_USER_GET_STATUS, 'GET_STATUS', 'none', 'none', 'u64'),
    row(VHOST_USER_GET_SHARED_OBJECT, 'GET_SHARED_OBJECT', 'opaque', 'none', 'u64'),
    row(VHOST_USER_SET_DEVICE_STATE_FD, 'SET_DEVICE_STATE_FD', 'opaque', 'one', 'u64'),
    row(VHOST_USER_CHECK_DEVICE_STATE, 'CHECK_DEVICE_STATE', 'none', 'none', 'u64'),
  ].map((r) => [r.id, r]),
);

/**
 * The table row of a request id, or `undefined` for an id vhost-user.rst does not define.
 *
 * @param id the header's `request`
 */
export function vhostUserRequestSpec(id: number): VhostUserRequestSpec | undefined {
  return VU_REQUEST_TABLE.get(id);
}

/**
 * The name of a request id for messages and logs: `'SET_MEM_TABLE'`, or `'request 99'` for an id the
 * protocol does not define.
 *
 * @param id the header's `request`
 */
export function vhostUserRequestName(id: number): string {
  return VU_REQUEST_TABLE.get(id)?.name ?? `request ${id}`;
}

/** Every defined request, in id order (for tables and property tests). */
export function vhostUserRequestSpecs(): readonly VhostUserRequestSpec[] {
  return [...VU_REQUEST_TABLE.values()];
}
