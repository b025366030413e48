import { U64_LIMIT } from '@vdpa-kit/virtio-spec';
import { IOVA_MAX, U64_MAX } from './errors.js';
import type { IotlbMap } from './iotlb.js';

/** 2^32 as a bigint, to split a u64 into its u32 halves. */
const TWO_32N = 0x1_0000_0000n;
/** 2^53: the number start of an entry wholly above {@link IOVA_MAX} (greater than any number last). */
const ABOVE_NUMBERS = IOVA_MAX + 1;
/**
 * The number delta of an entry whose number IOVAs all land at or above 2^53 physically: `iova +
 * FAR_DELTA` is then at or above 2^53 too, which no guest-memory region holds.
 */
const FAR_DELTA = IOVA_MAX + 1;
const IOVA_MAX_N = BigInt(IOVA_MAX);

/**
 * The internal form of one {@link IotlbMap}, built once when the entry is added: number bounds and a
 * number delta for translating IOVAs below 2^53 without BigInt (the datapath), and the u32 halves of
 * its bounds and delta for translating any u64 IOVA (a descriptor address above 2^53) without BigInt.
 *
 * Number bounds are clamped: `last` at `IOVA_MAX`, `start` at 2^53, so an entry wholly above
 * `IOVA_MAX` has `start > last` and never holds a number IOVA, and one that runs past it holds exactly
 * its IOVAs up to `IOVA_MAX`.
 */
export class IotlbEntry {
  /** First IOVA, clamped at 2^53. */
  readonly start: number;
  /** Last IOVA (inclusive), clamped at `IOVA_MAX`. */
  readonly last: number;
  /**
   * `pa = iova + delta` for a number IOVA of the entry, `pa` taken modulo 2^64 as the kernel's u64
   * `map->addr - map->start + addr` is: exact whenever the result can be a guest-memory address (a
   * negative result stands for one at or above 2^64 − 2^53, beyond guest memory too).
   */
  readonly delta: number;
  /** `VHOST_ACCESS_*` bits (any u32, as the kernel stores it). */
  readonly perm: number;
  /**
   * First number IOVA this entry translates: its start, or past the reach of every lower-starting
   * entry (the kernel's `iotlb_translate` takes the lowest-starting entry holding an address). Set by
   * the owning IOTLB whenever its entries change.
   */
  from = 0;
  /** u32 halves of the first IOVA. */
  readonly startHi: number;
  readonly startLo: number;
  /** u32 halves of the last IOVA. */
  readonly lastHi: number;
  readonly lastLo: number;
  /** u32 halves of `(addr - start) mod 2^64`. */
  readonly deltaHi: number;
  readonly deltaLo: number;

  /** @param map the public entry (bigint bounds, already checked to be u64 with `start <= last`) */
  constructor(readonly map: IotlbMap) {
    const { start, last, addr } = map;
    this.start = start > IOVA_MAX_N ? ABOVE_NUMBERS : Number(start);
    this.last = last > IOVA_MAX_N ? IOVA_MAX : Number(last);
    this.perm = map.perm;
    const delta = (addr - start) & U64_MAX;
    if (delta <= IOVA_MAX_N) this.delta = Number(delta);
    else if (U64_LIMIT - delta <= IOVA_MAX_N) this.delta = -Number(U64_LIMIT - delta);
    else this.delta = FAR_DELTA;
    this.startHi = Number(start / TWO_32N);
    this.startLo = Number(start % TWO_32N);
    this.lastHi = Number(last / TWO_32N);
    this.lastLo = Number(last % TWO_32N);
    this.deltaHi = Number(delta / TWO_32N);
    this.deltaLo = Number(delta % TWO_32N);
  }
}
