import {
  VHOST_MEMORY_BASELINE_NREGIONS,
  VHOST_USER_HDR_SIZE,
  VHOST_USER_VERSION,
  VHOST_USER_VERSION_MASK,
} from '@vdpa-kit/virtio-spec';
import { decodeVhostUserHeader, VU_MAX_PAYLOAD_SIZE, type VhostUserHeader } from './codec.js';
import { VhostUserError } from './errors.js';
import { vhostUserRequestName } from './requests.js';

/** One whole message cut from the stream: its header, its payload bytes and the fds that came with it. */
export interface VhostUserFrame {
  /** The header as received. */
  readonly header: VhostUserHeader;
  /** Exactly `header.size` bytes. */
  readonly payload: Uint8Array;
  /** Fd numbers received with the message (owned by whoever takes the frame). */
  readonly fds: readonly number[];
}

/** What {@link VhostUserFramer.push} produced from one chunk. */
export interface VhostUserFramerResult {
  /** The messages completed by the chunk, in order. */
  readonly frames: readonly VhostUserFrame[];
  /**
   * A framing error after those frames, or `null`. Framing errors are fatal: the stream cannot be
   * re-synchronised, so the connection must be closed and {@link VhostUserFramer.heldFds} closed.
   */
  readonly error: VhostUserError | null;
}

/**
 * Cuts a vhost-user byte stream into messages (vhost-user.rst "Header"; the reads of DPDK
 * `read_vhost_message()` and libvhost-user `vu_message_read_default()`).
 *
 * Fds: the front-end sends a message's header, payload and fds in one `sendmsg()` (DPDK and QEMU do),
 * and the fds received with a chunk are given to the message in progress at the chunk's first byte (or
 * starting there); later messages completed by the same chunk get none. A Unix stream socket does glue
 * a later `sendmsg()`'s bytes and fds onto a longer `recvmsg()` (`unix_stream_read_generic()` stops
 * only after the skb carrying fds), so the caller must read up to message boundaries — the header,
 * then exactly its payload, as DPDK's `read_vhost_message()` does (`VhostUserServer` does).
 *
 * Refused here, fatally: a version other than 1 (`BAD_VERSION`), a `size` above the largest payload
 * any request takes (`PAYLOAD_TOO_LARGE`), more fds on one message than
 * `VHOST_MEMORY_BASELINE_NREGIONS` (`TOO_MANY_FDS`; libvhost-user's control buffer holds no more).
 * Per-request checks (id, layout size, fd count) are {@link decodeVhostUserFrame}'s.
 *
 * @example
 * const framer = new VhostUserFramer();
 * const { frames, error } = framer.push(bytes, fds);
 */
export class VhostUserFramer {
  private buffer = new Uint8Array(0);
  private fds: number[] = [];
  private failure: VhostUserError | null = null;

  /**
   * Appends a chunk and returns the messages it completes.
   *
   * @param chunk bytes as received (copied; the caller may reuse it)
   * @param fds fd numbers received with the chunk; once given they are the framer's until returned
   *   in a frame or by {@link heldFds}
   */
  push(chunk: Uint8Array, fds: readonly number[] = []): VhostUserFramerResult {
    this.fds.push(...fds);
    if (this.failure !== null) return { frames: [], error: this.failure };
    const joined = new Uint8Array(this.buffer.byteLength + chunk.byteLength);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.byteLength);
    this.buffer = joined;

    const frames: VhostUserFrame[] = [];
    let at = 0;
    for (;;) {
      const error = this.check(at);
      if (error !== null) {
        this.failure = error;
        this.buffer = this.buffer.slice(at);
        return { frames, error };
      }
      if (this.buffer.byteLength - at < VHOST_USER_HDR_SIZE) break;
      const header = decodeVhostUserHeader(this.buffer, at);
      const end = at + VHOST_USER_HDR_SIZE + header.size;
      if (this.buffer.byteLength < end) break;
      frames.push({
        header,
        payload: this.buffer.slice(at + VHOST_USER_HDR_SIZE, end),
        fds: this.fds,
      });
      this.fds = [];
      at = end;
    }
    this.buffer = this.buffer.slice(at);
    return { frames, error: null };
  }

  /** True when bytes of an incomplete message are buffered (a disconnect now is mid-message). */
  get partial(): boolean {
    return this.buffer.byteLength > 0;
  }

  /**
   * The fds the framer still holds (of an incomplete or refused message) and forgets them: the
   * caller closes them.
   */
  heldFds(): number[] {
    const held = this.fds;
    this.fds = [];
    return held;
  }

  /** The fatal error of the message starting at `at`, as far as its bytes so far tell. */
  private check(at: number): VhostUserError | null {
    const have = this.buffer.byteLength - at;
    const header = have >= VHOST_USER_HDR_SIZE ? decodeVhostUserHeader(this.buffer, at) : null;
    const name = header === null ? '' : vhostUserRequestName(header.request);
    if (this.fds.length > VHOST_MEMORY_BASELINE_NREGIONS) {
      return new VhostUserError(
        'TOO_MANY_FDS',
        name,
        `${this.fds.length} fds on one message exceed ${VHOST_MEMORY_BASELINE_NREGIONS}`,
      );
    }
    if (header === null) return null;
    const version = header.flags & VHOST_USER_VERSION_MASK;
    if (version !== VHOST_USER_VERSION) {
      return new VhostUserError(
        'BAD_VERSION',
        name,
        `protocol version ${version} is not ${VHOST_USER_VERSION}`,
      );
    }
    if (header.size > VU_MAX_PAYLOAD_SIZE) {
      return new VhostUserError(
        'PAYLOAD_TOO_LARGE',
        name,
        `payload size ${header.size} exceeds the largest payload (${VU_MAX_PAYLOAD_SIZE} bytes)`,
      );
    }
    return null;
  }
}
