import { VHOST_USER_HDR_SIZE, VHOST_USER_NEED_REPLY_MASK, VHOST_USER_VERSION } from '@vdpa-kit/virtio-spec';
import {
  decodeVhostUserHeader,
  decodeVhostUserPayload,
  encodeVhostUserMessage,
  type VhostUserHeader,
  type VhostUserPayload,
} from '../codec.js';
import { type VhostUserLayout } from '../requests.js';

/** One front-end message as a socket would deliver it: its bytes and the fds sent with them. */
export interface FrontendMessage {
  readonly bytes: Uint8Array;
  readonly fds: readonly number[];
}

/**
 * Builds a front-end message the way DPDK's virtio-user and QEMU send one (header, payload and fds
 * in one `sendmsg()`).
 *
 * @param request request id
 * @param payload the payload
 * @param options `needReply` sets NEED_REPLY (0x8); `fds` are the fd numbers sent with it
 */
export function frontendMessage(
  request: number,
  payload: VhostUserPayload = { kind: 'none' },
  options: { needReply?: boolean; fds?: readonly number[] } = {},
): FrontendMessage {
  const flags = VHOST_USER_VERSION | (options.needReply === true ? VHOST_USER_NEED_REPLY_MASK : 0);
  return { bytes: encodeVhostUserMessage(request, flags, payload), fds: options.fds ?? [] };
}

/** A reply read back: its header and its payload decoded with the expected layout. */
export interface DecodedReply {
  readonly header: VhostUserHeader;
  readonly payload: VhostUserPayload;
}

/**
 * Reads a back-end reply the way a front-end does.
 *
 * @param bytes the reply bytes (header and payload)
 * @param layout the payload layout expected (`u64` for REPLY_ACK)
 */
export function decodeReply(bytes: Uint8Array, layout: VhostUserLayout): DecodedReply {
  const header = decodeVhostUserHeader(bytes);
  const body = bytes.subarray(VHOST_USER_HDR_SIZE, VHOST_USER_HDR_SIZE + header.size);
  return { header, payload: decodeVhostUserPayload(layout, body, 'reply') };
}
