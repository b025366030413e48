/**
 * @packageDocumentation
 * The vhost transport: the `vhost_vdpa` analogue (drivers/vhost/vdpa.c) over the vDPA bus, and a
 * vhost-user back-end server so that DPDK and QEMU front-ends drive any device whose class ids include
 * `vhost`.
 */
export { transportVhostModule } from './module.js';
export { TRANSPORT_VHOST_BUS } from './tokens.js';
export { VhostBus, type VhostVdpaInfo } from './vhost-bus.js';
export { VhostVdpaDriver, VDPA_VHOST_DRIVER_NAME } from './vhost-vdpa-driver.js';
export { VhostVdpaDevice, type VhostReleaseReason, type VhostVdpaFileContext } from './vhost-vdpa-device.js';
export type { VhostVringState, VhostVringAddr, VhostVdpaSnapshot, VhostRingSnapshot } from './vhost-vring.js';
export { InProcessEventfd, type VhostEventfd, type VhostDoorbell, type VhostCall } from './vhost-eventfd.js';
export { decodeVhostMsg, encodeVhostMsgV2, type VhostIotlbMsg, type DecodedVhostMsg } from './vhost-msg.js';

// The vhost-user protocol layer (src/vhost-user/README.md): codec, framer, request table, memory
// table and the back-end session over "bytes + received fds"; the device lives behind VhostUserBackend.
export { VhostUserError, VU_ERROR_CODES, type VhostUserErrorCode } from './vhost-user/errors.js';
export {
  vhostUserRequestName,
  vhostUserRequestSpec,
  vhostUserRequestSpecs,
  type VhostUserFdRule,
  type VhostUserLayout,
  type VhostUserReplyRule,
  type VhostUserRequestSpec,
} from './vhost-user/requests.js';
export {
  decodeVhostUserHeader,
  decodeVhostUserPayload,
  encodeVhostUserMessage,
  encodeVhostUserPayload,
  encodeVhostUserReply,
  VU_MAX_PAYLOAD_SIZE,
  type VhostUserConfigPayload,
  type VhostUserHeader,
  type VhostUserInflightPayload,
  type VhostUserIotlbPayload,
  type VhostUserLogPayload,
  type VhostUserMemoryRegionPayload,
  type VhostUserMemoryTablePayload,
  type VhostUserNonePayload,
  type VhostUserOpaquePayload,
  type VhostUserPayload,
  type VhostUserRegionWire,
  type VhostUserU64Payload,
  type VhostUserVringAddrPayload,
  type VhostUserVringFilePayload,
  type VhostUserVringStatePayload,
} from './vhost-user/codec.js';
export { VhostUserFramer, type VhostUserFrame, type VhostUserFramerResult } from './vhost-user/framer.js';
export { decodeVhostUserFrame, needsReply, type VhostUserMessage } from './vhost-user/message.js';
export {
  VhostUserMemoryTable,
  type VhostUserMemoryRegion,
  type VhostUserMemoryTableOptions,
  type VhostUserRegionHit,
} from './vhost-user/memory-table.js';
export {
  applyVhostUserAction,
  type VhostUserAction,
  type VhostUserBackend,
  type VhostUserRingAddresses,
} from './vhost-user/backend.js';
export {
  VhostUserSession,
  type VhostUserClosed,
  type VhostUserSessionOptions,
  type VhostUserStep,
} from './vhost-user/session.js';
// The vhost-user server: the protocol session over a real socket and a vhost-vdpa file.
export { NativeEventfd } from './vhost-user/server/native-eventfd.js';
export {
  VU_MAPPED_REGION_BASE,
  VhostUserMappedMemory,
  type VhostUserMappedRegion,
} from './vhost-user/server/mapped-memory.js';
export { VhostUserVdpaBackend, type VhostUserVdpaBackendOptions } from './vhost-user/server/vdpa-backend.js';
export {
  VhostUserServer,
  type VhostUserServerOptions,
  type VhostUserServerStatus,
} from './vhost-user/server/server.js';
