import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
const EMPTY_U16 = new Uint16Array(0);
const EMPTY_U32 = new Uint32Array(0);

/**
 * A split ring as a datapath primitive that works on many chains in one pass sees it
 * (`Vringh.ringStateForBatch`): the translated views of the three areas, the queue size, the next
 * available index to take and the next used index to write, and the ring's address space. The
 * primitive reads and writes through the views and reports what it did with
 * `Vringh.commitRingState(taken, completed)`; until then the ring is unchanged. Field offsets are the
 * spec's (§2.7): `avail.idx` at 2, `avail.ring` at 4, `used.ring` at 4, 8-byte used elements.
 *
 * The areas are also given as word arrays over the same bytes (`availWords`, `descWords`,
 * `usedWords`): indexing one costs less than a DataView access, which a loop over many chains feels.
 * The state is only given on a little-endian host, where the words read as the ring's little-endian
 * fields, and for areas placed in their memory buffer at a multiple of their word size: 2 bytes for the
 * available ring, 4 for the descriptor table and the used ring. The spec's ring alignment (§2.7: 16, 2
 * and 4 in IOVA space) gives that whenever the IOTLB and guest memory map at aligned offsets.
 */
export class VringhRingState {
  /** The available ring. */
  avail: DataView = EMPTY_VIEW;
  /** The descriptor table. */
  desc: DataView = EMPTY_VIEW;
  /** The used ring. */
  used: DataView = EMPTY_VIEW;
  /** The available ring as u16 words: `[1]` is `idx`, `[2 + i]` is `ring[i]`. */
  availWords: Uint16Array = EMPTY_U16;
  /**
   * The descriptor table as u32 words: descriptor `i` is `[4i]` address low, `[4i + 1]` address high,
   * `[4i + 2]` length, `[4i + 3]` flags (low half) and next (high half).
   */
  descWords: Uint32Array = EMPTY_U32;
  /** The used ring as u32 words: element `i` is `[1 + 2i]` id and `[2 + 2i]` length. */
  usedWords: Uint32Array = EMPTY_U32;
  /** Queue size. */
  num = 0;
  /** `last_avail_idx`: the next available entry to take. */
  lastAvail = 0;
  /** Where the next used element goes (`last_used_idx` plus the chains completed since). */
  usedIdx = 0;
  /** The address space of the ring's buffers. */
  iotlb: Iotlb = new Iotlb();
  /** The memory the address space maps into. */
  mem: GuestMemory = new GuestMemory();
}
