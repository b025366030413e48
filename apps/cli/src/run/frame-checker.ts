import { PKTGEN_CSUM_OFFSET, PKTGEN_QUEUE_OFFSET, PKTGEN_SEQ_OFFSET } from '../constants.js';
import { frameChecksum } from './packet-generator.js';

/** Bits to shift for the bytes of a big-endian u32 / u16. */
const B3 = 24;
const B2 = 16;
const B1 = 8;
const U32_WRAP = 0x1_0000_0000;

/** Per-source-queue counters of a {@link FrameChecker}. */
export interface CheckedQueue {
  readonly queue: number;
  /** Frames that passed length and checksum. */
  intact: number;
  /** Of those, frames whose sequence number was not the next expected one. */
  outOfOrder: number;
  /** The next expected sequence number. */
  expected: number;
}

/**
 * Verifies every frame `run` receives: the length must be the generated size, the checksum must
 * match and the queue index must be one that sends; then the sequence number is compared with the
 * next one expected for that queue (a frame behind or ahead of it counts as out of order). Reads the
 * frame where it lies (no copy, no allocation).
 *
 * @example
 * const checker = new FrameChecker(64, 1);
 * net.onReceive((b) => { for (let i = 0; i < b.count; i++) checker.check(b.data[i], b.offsets[i], b.lengths[i]); });
 */
export class FrameChecker {
  /** Frames seen. */
  received = 0;
  /** Bytes seen. */
  receivedBytes = 0;
  /** Frames with a wrong length, checksum or queue index. */
  corrupt = 0;
  /** Per sending queue pair. */
  readonly queues: CheckedQueue[];

  /**
   * @param size the generated frame length
   * @param queues number of sending queue pairs
   */
  constructor(
    readonly size: number,
    queues: number,
  ) {
    this.queues = Array.from({ length: queues }, (_, queue) => ({
      queue,
      intact: 0,
      outOfOrder: 0,
      expected: 0,
    }));
  }

  /** Frames that passed every check. */
  get intact(): number {
    let n = 0;
    for (const q of this.queues) n += q.intact;
    return n;
  }

  /** Intact frames that arrived out of sequence. */
  get outOfOrder(): number {
    let n = 0;
    for (const q of this.queues) n += q.outOfOrder;
    return n;
  }

  /** Checks `bytes[offset, offset + length)`. */
  check(bytes: Uint8Array, offset: number, length: number): void {
    this.received++;
    this.receivedBytes += length;
    if (length !== this.size) {
      this.corrupt++;
      return;
    }
    const stored = readU32(bytes, offset + PKTGEN_CSUM_OFFSET);
    if (frameChecksum(bytes, offset, length) !== stored) {
      this.corrupt++;
      return;
    }
    const queue = (bytes[offset + PKTGEN_QUEUE_OFFSET] << B1) | bytes[offset + PKTGEN_QUEUE_OFFSET + 1];
    const q = this.queues[queue] as CheckedQueue | undefined;
    if (q === undefined) {
      this.corrupt++;
      return;
    }
    const seq = readU32(bytes, offset + PKTGEN_SEQ_OFFSET);
    q.intact++;
    if (seq !== q.expected) q.outOfOrder++;
    if (seq >= q.expected) q.expected = (seq + 1) % U32_WRAP;
  }
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << B3) | (b[at + 1] << B2) | (b[at + 2] << B1) | b[at + 3]) >>> 0;
}
