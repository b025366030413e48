import {
  ETH_DEST_OFFSET,
  ETH_HLEN,
  ETH_P_802_EX1,
  ETH_SOURCE_OFFSET,
  ETH_TYPE_OFFSET,
  ETH_ZLEN,
} from '@vdpa-kit/virtio-spec';
import {
  PKTGEN_CSUM_OFFSET,
  PKTGEN_MAX_FRAME,
  PKTGEN_PAYLOAD_OFFSET,
  PKTGEN_QUEUE_OFFSET,
  PKTGEN_SEQ_OFFSET,
  PKTGEN_SOURCE_MAC,
} from '../constants.js';
import { CliError } from '../errors.js';
import { FNV1A_INIT, fnv1a } from './fnv1a.js';

const BYTE_MASK = 0xff;
/** Multiplier of the payload pattern (odd, so every byte value occurs). */
const PATTERN_STRIDE = 7;

/**
 * Checks a frame size for the generator: at least `ETH_ZLEN` (60) bytes, at most
 * `PKTGEN_MAX_FRAME`.
 * @throws CliError naming the size
 */
export function checkFrameSize(size: number): number {
  if (!Number.isInteger(size) || size < ETH_ZLEN || size > PKTGEN_MAX_FRAME) {
    throw new CliError(`frame size ${size} is not an integer in ${ETH_ZLEN}..${PKTGEN_MAX_FRAME}`);
  }
  return size;
}

/**
 * The FNV-1a hash of a generated frame: header bytes, payload bytes, then sequence and queue fields
 * (every byte but the checksum field), in that order.
 */
export function frameChecksum(frame: Uint8Array, start: number, length: number): number {
  let h = fnv1a(FNV1A_INIT, frame, start, start + ETH_HLEN);
  h = fnv1a(h, frame, start + PKTGEN_PAYLOAD_OFFSET, start + length);
  return fnv1a(h, frame, start + PKTGEN_SEQ_OFFSET, start + PKTGEN_CSUM_OFFSET);
}

/**
 * The packet generator of `vdpa-kit run`: Ethernet frames of one size to a destination MAC, each
 * carrying a per-queue sequence number, its queue-pair index and an FNV-1a checksum of the rest.
 * The frame buffer is reused; the header and payload hash is precomputed so that {@link fill} costs
 * a few stores and six hash steps, with no allocation.
 *
 * @example
 * const gen = new PacketGenerator(64, net.mac);
 * net.send(gen.fill(0, 0), 0);
 */
export class PacketGenerator {
  /** The reused frame; valid until the next {@link fill}. */
  readonly frame: Uint8Array;
  private readonly view: DataView;
  private readonly prefixHash: number;

  /**
   * @param size frame length in bytes (see {@link checkFrameSize})
   * @param dest destination MAC (the device's, so its MAC filter accepts the frames)
   * @throws CliError for a bad size or a MAC that is not 6 bytes
   */
  constructor(
    readonly size: number,
    dest: Uint8Array,
  ) {
    checkFrameSize(size);
    if (dest.length !== ETH_SOURCE_OFFSET - ETH_DEST_OFFSET)
      throw new CliError(`destination mac of ${dest.length} bytes is not 6 bytes`);
    this.frame = new Uint8Array(size);
    this.view = new DataView(this.frame.buffer);
    this.frame.set(dest, ETH_DEST_OFFSET);
    this.frame.set(PKTGEN_SOURCE_MAC, ETH_SOURCE_OFFSET);
    this.view.setUint16(ETH_TYPE_OFFSET, ETH_P_802_EX1);
    for (let i = PKTGEN_PAYLOAD_OFFSET; i < size; i++) this.frame[i] = (i * PATTERN_STRIDE) & BYTE_MASK;
    const h = fnv1a(FNV1A_INIT, this.frame, 0, ETH_HLEN);
    this.prefixHash = fnv1a(h, this.frame, PKTGEN_PAYLOAD_OFFSET, size);
  }

  /**
   * Writes sequence number `seq` and queue-pair index `queue` and the checksum into the frame.
   * @returns the frame
   */
  fill(queue: number, seq: number): Uint8Array {
    this.view.setUint32(PKTGEN_SEQ_OFFSET, seq);
    this.view.setUint16(PKTGEN_QUEUE_OFFSET, queue);
    this.view.setUint32(
      PKTGEN_CSUM_OFFSET,
      fnv1a(this.prefixHash, this.frame, PKTGEN_SEQ_OFFSET, PKTGEN_CSUM_OFFSET),
    );
    return this.frame;
  }
}
