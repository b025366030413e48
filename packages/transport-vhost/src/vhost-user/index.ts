/**
 * The vhost-user protocol layer: codec, framer, request table, memory table and the back-end session
 * state machine, pure TypeScript over "bytes + received fd numbers". The socket, fd passing and mmap
 * live below it (the native addon); the device lives behind {@link VhostUserBackend}.
 */
export { VhostUserError, VU_ERROR_CODES, type VhostUserErrorCode } from './errors.js';
export {
  vhostUserRequestName,
  vhostUserRequestSpec,
  vhostUserRequestSpecs,
  type VhostUserFdRule,
  type VhostUserLayout,
  type VhostUserReplyRule,
  type VhostUserRequestSpec,
} from './requests.js';
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
} from './codec.js';
export { VhostUserFramer, type VhostUserFrame, type VhostUserFramerResult } from './framer.js';
export { decodeVhostUserFrame, needsReply, type VhostUserMessage } from './message.js';
export {
  VhostUserMemoryTable,
  type VhostUserMemoryRegion,
  type VhostUserMemoryTableOptions,
  type VhostUserRegionHit,
} from './memory-table.js';
export {
  applyVhostUserAction,
  type VhostUserAction,
  type VhostUserBackend,
  type VhostUserRingAddresses,
} from './backend.js';
export {
  VhostUserSession,
  type VhostUserClosed,
  type VhostUserSessionOptions,
  type VhostUserStep,
} from './session.js';
