import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/**
 * A split ring as a datapath primitive that works on many chains in one pass sees it
 * (`Vringh.ringStateForBatch`): the translated views of the three areas, the queue size, the next
 * available index to take and the next used index to write, and the ring's address space. The
 * primitive reads and writes through the views and reports what it did with
 * `Vringh.commitRingState(taken, completed)`; until then the ring is unchanged. Field offsets are the
 * spec's (§2.7): `avail.idx` at 2, `avail.ring` at 4, `used.ring` at 4, 8-byte used elements.
 */
export class VringhRingState {
  /** The available ring. */
  avail: DataView = EMPTY_VIEW;
  /** The descriptor table. */
  desc: DataView = EMPTY_VIEW;
  /** The used ring. */
  used: DataView = EMPTY_VIEW;
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
