import { VHOST_USER_NEED_REPLY_MASK } from '@vdpa-kit/virtio-spec';
import { decodeVhostUserPayload, type VhostUserPayload } from './codec.js';
import { VhostUserError } from './errors.js';
import { type VhostUserFrame } from './framer.js';
import { vhostUserRequestSpec, type VhostUserRequestSpec } from './requests.js';

/** A decoded, validated front-end message. */
export interface VhostUserMessage {
  /** The request's table row (id, name, layout, fd rule, reply rule). */
  readonly spec: VhostUserRequestSpec;
  /** Header flags as received. */
  readonly flags: number;
  /** The decoded payload (of `spec.layout`). */
  readonly payload: VhostUserPayload;
  /** Fd numbers received with the message, as many as `spec.fds` allows. */
  readonly fds: readonly number[];
}

/** True when the front-end set NEED_REPLY (0x8) on the message. */
export function needsReply(flags: number): boolean {
  return (flags & VHOST_USER_NEED_REPLY_MASK) !== 0;
}

function expectedFds(spec: VhostUserRequestSpec, payload: VhostUserPayload): { min: number; max: number } {
  switch (spec.fds) {
    case 'none':
      return { min: 0, max: 0 };
    case 'one':
      return { min: 1, max: 1 };
    case 'up-to-one':
      return { min: 0, max: 1 };
    case 'vring-file': {
      const n = payload.kind === 'vring-file' && payload.noFd ? 0 : 1;
      return { min: n, max: n };
    }
    case 'per-region': {
      const n = payload.kind === 'memory-table' ? payload.regions.length : 0;
      return { min: n, max: n };
    }
  }
}

/**
 * Decodes and validates one framed message: the request id must be defined, the payload must have
 * the request's layout and size, and the fds must be as many as the request takes (DPDK
 * `validate_msg_fds()`: exactly one per memory region, one on kick/call/err unless the no-fd bit is
 * set, none on requests that take none).
 *
 * @param frame a frame from {@link VhostUserFramer}
 * @throws VhostUserError `UNKNOWN_REQUEST`, `BAD_PAYLOAD_SIZE`, `BAD_PAYLOAD`, `BAD_MEMORY_TABLE`,
 *   `UNEXPECTED_FDS` (fds on a request that takes none), `TOO_MANY_FDS`, `MISSING_FDS`. The frame's
 *   fds stay the caller's to close.
 */
export function decodeVhostUserFrame(frame: VhostUserFrame): VhostUserMessage {
  const { header, payload: bytes, fds } = frame;
  const spec = vhostUserRequestSpec(header.request);
  if (spec === undefined) {
    throw new VhostUserError('UNKNOWN_REQUEST', `request ${header.request}`, 'no such vhost-user request');
  }
  const payload = decodeVhostUserPayload(spec.layout, bytes, spec.name);
  const { min, max } = expectedFds(spec, payload);
  if (fds.length > max) {
    throw max === 0
      ? new VhostUserError('UNEXPECTED_FDS', spec.name, `${fds.length} fds on a request that takes none`)
      : new VhostUserError('TOO_MANY_FDS', spec.name, `${fds.length} fds where the request takes ${max}`);
  }
  if (fds.length < min) {
    throw new VhostUserError('MISSING_FDS', spec.name, `${fds.length} fds where the request takes ${min}`);
  }
  return { spec, flags: header.flags, payload, fds };
}
