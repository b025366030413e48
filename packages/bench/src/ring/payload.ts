/**
 * The ring benchmark's payload check: every loop fills its TX buffers with a pattern that differs per
 * buffer and per byte before it starts the clock, and between slices (outside the clock) checks that
 * each RX buffer written since the last check holds the frame of the TX buffer it was paired with,
 * then poisons the RX frames, so that the next slice must write them again. In every loop both rings
 * hand out their buffers in the same order from buffer 0 (packet p goes from TX buffer p mod num to RX
 * buffer p mod num), so the check costs nothing inside the measured section and still catches a copy
 * that is missing, short, misplaced or from the wrong buffer.
 */

/** What the RX frames hold between a check and the next copy: no pattern byte run looks like it. */
const POISON = 0xa5;

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
 * Checks that RX buffers `first`, `first + 1`, ... (`count` of them, wrapping at `num`; from `rxOff`,
 * `stride` apart) hold the frames of the TX buffers of the same numbers.
 * @throws Error naming the loop, the buffer and the byte that differs
 */
export function checkPayloads(
  loop: string,
  u8: Uint8Array,
  rxOff: number,
  stride: number,
  count: number,
  size: number,
  first = 0,
  num = count,
): void {
  for (let i = 0; i < count; i++) {
    const j = (first + i) % num;
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

/** Overwrites the first `size` bytes of `count` RX buffers (from `rxOff`, `stride` apart) with poison. */
export function poisonPayloads(
  u8: Uint8Array,
  rxOff: number,
  stride: number,
  count: number,
  size: number,
): void {
  for (let j = 0; j < count; j++) u8.fill(POISON, rxOff + j * stride, rxOff + j * stride + size);
}

/**
 * What the payload check of one loop needs to know between two checks: where the packets since the
 * last check started in the rings, and how many there were.
 */
export class PayloadCheck {
  private first = 0;
  private since = 0;
  private total = 0;

  /**
   * @param loop the loop's name in error messages
   * @param num the rings' size (buffers per pool)
   * @param size the frame size
   */
  constructor(
    private readonly loop: string,
    private readonly num: number,
    private readonly size: number,
  ) {}

  /** Counts `packets` more packets moved. */
  moved(packets: number): void {
    this.since += packets;
    this.total += packets;
  }

  /**
   * Checks the RX buffers written since the last call (see the module comment), then poisons every
   * RX frame and starts counting again. @throws Error naming the buffer and byte that differ
   */
  checkAndPoison(u8: Uint8Array, rxOff: number, stride: number): void {
    const count = Math.min(this.since, this.num);
    checkPayloads(this.loop, u8, rxOff, stride, count, this.size, this.first, this.num);
    poisonPayloads(u8, rxOff, stride, this.num, this.size);
    this.first = this.total % this.num;
    this.since = 0;
  }
}
