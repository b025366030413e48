import {
  ETH_ALEN,
  ETH_DEST_OFFSET,
  ETH_HLEN,
  ETH_P_802_EX1,
  ETH_SOURCE_OFFSET,
  ETH_TYPE_OFFSET,
  ETH_ZLEN,
} from '@vdpa-kit/virtio-spec';
import { BENCH_MAX_FRAME, BENCH_SOURCE_MAC } from '../constants.js';
import { BenchError } from '../errors.js';

const BYTE_MASK = 0xff;
/** Multiplier of the payload pattern (odd, so every byte value occurs). */
const PAYLOAD_STEP = 7;

/**
 * Checks a frame size of the loopback benchmark: at least `ETH_ZLEN` (60) bytes, at most
 * `BENCH_MAX_FRAME` (1514).
 * @returns `size`
 * @throws BenchError naming the size
 */
export function checkFrameSize(size: number): number {
  if (!Number.isInteger(size) || size < ETH_ZLEN || size > BENCH_MAX_FRAME) {
    throw new BenchError(`frame size ${size} is not an integer in ${ETH_ZLEN}..${BENCH_MAX_FRAME}`);
  }
  return size;
}

/**
 * The frame the loopback benchmark sends over and over: `size` bytes to `dest` (the device's MAC, so
 * that its receive filter accepts it) from a locally administered source, EtherType 0x88b5 (local
 * experimental), then a byte pattern. Made once, outside the clock.
 *
 * @throws BenchError for a bad size or a MAC that is not 6 bytes
 * @example
 * net.send(benchFrame(64, mac), 0);
 */
export function benchFrame(size: number, dest: ArrayLike<number>): Uint8Array {
  checkFrameSize(size);
  if (dest.length !== ETH_ALEN)
    throw new BenchError(`destination mac of ${dest.length} bytes is not 6 bytes`);
  const frame = new Uint8Array(size);
  frame.set(dest, ETH_DEST_OFFSET);
  frame.set(BENCH_SOURCE_MAC, ETH_SOURCE_OFFSET);
  new DataView(frame.buffer).setUint16(ETH_TYPE_OFFSET, ETH_P_802_EX1);
  for (let i = ETH_HLEN; i < size; i++) frame[i] = (i * PAYLOAD_STEP) & BYTE_MASK;
  return frame;
}
