/**
 * The ring benchmark's payload check: every loop fills its TX buffers with a pattern that differs per
 * buffer and per byte before it starts the clock, and after stopping it checks that each RX buffer
 * holds the frame of the TX buffer it was paired with. In every loop both rings hand out their
 * buffers in the same order from buffer 0 (TX buffer j's frames go to RX buffer j), so the check costs
 * nothing inside the measured section and still catches a copy that is missing, short, misplaced or
 * from the wrong buffer.
 */

/** Byte `k` of TX buffer `j`'s frame. */
function patternByte(j: number, k: number): number {
  return (j * 31 + k * 7 + 1) & 0xff;
}

/** Writes the frames (`size` bytes each) of `count` TX buffers, `stride` bytes apart from `txOff`. */
export function fillPayloads(
  u8: Uint8Array,
  txOff: number,
  stride: number,
  count: number,
  size: number,
): void {
  for (let j = 0; j < count; j++) {
    const at = txOff + j * stride;
    for (let k = 0; k < size; k++) u8[at + k] = patternByte(j, k);
  }
}

/**
 * Checks that RX buffer `j` (from `rxOff`, `stride` apart) holds TX buffer `j`'s frame, for the first
 * `count` buffers. @throws Error naming the loop, the buffer and the byte that differs
 */
export function checkPayloads(
  loop: string,
  u8: Uint8Array,
  rxOff: number,
  stride: number,
  count: number,
  size: number,
): void {
  for (let j = 0; j < count; j++) {
    const at = rxOff + j * stride;
    for (let k = 0; k < size; k++) {
      if (u8[at + k] !== patternByte(j, k)) {
        throw new Error(
          `${loop} loop corrupted data: RX buffer ${j} byte ${k} is ${u8[at + k]}, not ${patternByte(j, k)}`,
        );
      }
    }
  }
}
