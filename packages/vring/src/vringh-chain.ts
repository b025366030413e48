import {
  U32_MAX,
  VHOST_ACCESS_RO,
  VHOST_ACCESS_WO,
  VIRTQ_DESC_ADDR_OFF,
  VIRTQ_DESC_FLAGS_OFF,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_NEXT_OFF,
  VIRTQ_DESC_SIZE,
} from '@vdpa-kit/virtio-spec';
import { IOVA_MAX, VringError } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import type { Iotlb, IotlbAccess } from './iotlb.js';
import { IotlbWindow } from './iotlb-window.js';
import { Iov } from './iov.js';
import type { VringhArea } from './vringh-area.js';

/** A chain's total length must fit a used element's le32 `len` (§2.7.8); module-local copy of `U32_MAX`. */
const CHAIN_LEN_MAX = U32_MAX;

/** 2^32, to assemble a u64 from its 32-bit halves without BigInt. */
const TWO_32 = 0x1_0000_0000;
/** Offset of the high 32-bit word inside a little-endian u64. */
const U64_HI_OFF = 4;
/** Largest high word of a u64 that is still below 2^53. */
const U64_SAFE_HI_MAX = 0x1f_ffff;

// Module-local copies of the descriptor layout and flags. An imported binding is a live module cell
// that optimised code loads and checks on every use; a local `const` folds to an immediate.
const DESC_SIZE = VIRTQ_DESC_SIZE;
const DESC_ADDR_LO = VIRTQ_DESC_ADDR_OFF;
const DESC_ADDR_HI = VIRTQ_DESC_ADDR_OFF + U64_HI_OFF;
const DESC_LEN = VIRTQ_DESC_LEN_OFF;
const DESC_FLAGS = VIRTQ_DESC_FLAGS_OFF;
const DESC_NEXT = VIRTQ_DESC_NEXT_OFF;
const F_NEXT = VIRTQ_DESC_F_NEXT;
const F_WRITE = VIRTQ_DESC_F_WRITE;
const F_INDIRECT = VIRTQ_DESC_F_INDIRECT;
const MAP_RO = VHOST_ACCESS_RO;
const MAP_WO = VHOST_ACCESS_WO;
/** `up_next` while the walk is on the ring's own table (the kernel's -1). */
const RING = -1;
/** `up_next` in an indirect table whose descriptor had no NEXT (the kernel's -2). */
const NO_NEXT = -2;

/**
 * The descriptor-chain walk of the device side of a split virtqueue (the kernel's `__vringh_iov()` with
 * `copydesc_iotlb()`), used by `Vringh.getdesc`. It reads the descriptor being walked into locals, and
 * every descriptor of an indirect table through the IOTLB on its own, keeping the last entry∩region
 * window ({@link IotlbWindow}), so a table over many IOTLB entries costs one lookup per entry it
 * touches, not a scan per descriptor; a walk allocates nothing.
 *
 * The kernel's rules (`__vringh_iov()`, `move_to_indirect()`, `return_from_indirect()`): an indirect
 * descriptor switches to its table (`len % 16 ≠ 0` is `EINVAL`; its `WRITE` flag is ignored; one with
 * `NEXT` resumes the ring's chain at `next` after the table, and a `next` of 0 there ends the chain,
 * as the kernel's `up_next > 0` test does); an indirect descriptor inside an indirect table is
 * `EINVAL`; `next` must be below the current table's size (`EINVAL`); a readable descriptor after a
 * writable one is `EINVAL`; a kind of buffer with no list is `EPROTO`; an indirect table's
 * descriptors are bounded by its entries (`ELOOP`). A descriptor that cannot be read is `EFAULT`.
 *
 * Deliberate differences (docs/kernel-differences.md): a chain is bounded by `num` descriptors
 * counting those of its indirect tables too (`ELOOP`; the kernel bounds the ring's descriptors by
 * `num` and each table by its own size, so a guest could make it walk 2^28 descriptors per chain);
 * buffers are translated here, not at `pull`/`push`; a chain's total length must stay below 2^32.
 *
 * @example
 * const chain = new VringhChain();
 * chain.gather(descArea, descArea.ensure(iotlb, mem), 256, head, riov, wiov, iotlb, mem);
 */
export class VringhChain {
  /** One descriptor copied out of guest memory when it is not read in place. */
  private readonly descBytes = new Uint8Array(DESC_SIZE);
  private readonly descBytesView: DataView = new DataView(this.descBytes.buffer);
  /** The entry∩region window of the indirect table being walked. */
  private readonly tableWindow = new IotlbWindow();
  /** Segments of one indirect descriptor that lies outside any window (across entries or regions). */
  private readonly tableScratch = new Iov(1);

  /**
   * Walks the chain from `head` (`__vringh_iov`): readable buffers are translated with
   * `VHOST_ACCESS_RO` into `riov`, writable ones with `VHOST_ACCESS_WO` into `wiov`. The lists are not
   * reset here.
   *
   * @param desc the descriptor table, `16 · num` bytes
   * @param direct whether `desc.view` holds the table (`desc.ensure` answered true)
   * @param num queue size: entries of the ring's table and the descriptor bound of a chain
   * @param head first descriptor, below `num`
   * @param riov list for readable buffers, or `null`
   * @param wiov list for writable buffers, or `null`
   * @param iotlb address space of buffers and indirect tables
   * @param mem guest memory the IOTLB maps into
   * @throws VringError `EINVAL`, `ELOOP`, `EPROTO`, `EPERM`, `EFAULT` as listed on `Vringh.getdesc`;
   * the lists keep what was gathered before the error.
   */
  gather(
    desc: VringhArea,
    direct: boolean,
    num: number,
    head: number,
    riov: Iov | null,
    wiov: Iov | null,
    iotlb: Iotlb,
    mem: GuestMemory,
  ): void {
    const table = desc.view;
    const bytes = this.descBytes;
    const copy = this.descBytesView;
    this.tableWindow.revalidate(iotlb, mem);
    // The kernel's walk state: `upNext` is RING while on the ring's table, else the index to resume at
    // after the indirect table (NO_NEXT when its descriptor had no NEXT); `max` is the current table's
    // size; `inTable` counts the current indirect table's descriptors (`indirect_count`).
    let upNext = RING;
    let max = num;
    let inTable = 0;
    let walked = 0;
    let tableHi = 0;
    let tableLo = 0;
    let i = head;
    let writable = false;
    let total = 0;
    for (;;) {
      // The descriptor is read through `view` at `off`: the ring's table in place, or a copy.
      let view = copy;
      let off = 0;
      if (upNext !== RING) {
        this.readIndirect(tableHi, tableLo, i, head, iotlb, mem);
      } else if (direct) {
        view = table;
        off = i * DESC_SIZE;
      } else {
        desc.read(iotlb, mem, i * DESC_SIZE, bytes, DESC_SIZE);
      }
      const flags = view.getUint16(off + DESC_FLAGS, true);
      const len = view.getUint32(off + DESC_LEN, true);

      if ((flags & F_INDIRECT) !== 0) {
        // move_to_indirect()
        if (upNext !== RING) throw nestedError(head, i);
        if (len % DESC_SIZE !== 0) throw indirectLenError(head, i, len);
        upNext = (flags & F_NEXT) !== 0 ? view.getUint16(off + DESC_NEXT, true) : NO_NEXT;
        tableLo = view.getUint32(off + DESC_ADDR_LO, true);
        tableHi = view.getUint32(off + DESC_ADDR_HI, true);
        max = len / DESC_SIZE;
        i = 0;
        continue;
      }

      // The kernel counts the ring's descriptors against num and a table's against its size; the
      // whole chain, tables included, is bounded by num here too (the budget).
      if (upNext !== RING) inTable++;
      if (++walked > num || inTable > max) throw loopError(head, upNext !== RING ? max : num, inTable > max);

      let iov: Iov | null;
      let access: IotlbAccess;
      if ((flags & F_WRITE) !== 0) {
        iov = wiov;
        access = MAP_WO;
        writable = true;
      } else {
        if (writable) throw orderError(head, i);
        iov = riov;
        access = MAP_RO;
      }
      if (iov === null) throw noIovError(head, i, access);
      if (len !== 0) {
        total += len;
        if (total > CHAIN_LEN_MAX) throw tooLongError(head, total);
        // Only the bytes the device may touch are translated (`Iov.limit`); the walk goes on.
        const room = iov.limit - iov.totalLength;
        if (room > 0) {
          const n = len < room ? len : room;
          const lo = view.getUint32(off + DESC_ADDR_LO, true);
          const hi = view.getUint32(off + DESC_ADDR_HI, true);
          if (hi <= U64_SAFE_HI_MAX) iotlb.translate(hi * TWO_32 + lo, n, access, mem, iov);
          else iotlb.translateU64(hi, lo, n, access, mem, iov);
        }
      }

      if ((flags & F_NEXT) !== 0) {
        i = view.getUint16(off + DESC_NEXT, true);
      } else if (upNext > 0) {
        // return_from_indirect()
        i = upNext;
        upNext = RING;
        max = num;
        inTable = 0;
      } else {
        return;
      }
      if (i >= max) throw nextError(head, i, max, upNext !== RING);
    }
  }

  /**
   * Copies descriptor `i` of the indirect table at u64 `hi:lo` into `descBytes`, through the table
   * window when it holds it.
   * @throws VringError `EFAULT` when it does not translate (`copydesc_iotlb`)
   */
  private readIndirect(
    hi: number,
    lo: number,
    i: number,
    head: number,
    iotlb: Iotlb,
    mem: GuestMemory,
  ): void {
    const dst = this.descBytes;
    const offset = i * DESC_SIZE;
    if (hi <= U64_SAFE_HI_MAX && hi * TWO_32 + lo <= IOVA_MAX - offset - (DESC_SIZE - 1)) {
      const addr = hi * TWO_32 + lo + offset;
      const w = this.tableWindow;
      if (w.cover(iotlb, mem, addr, DESC_SIZE, MAP_RO)) {
        const b = w.bytes;
        const o = addr + w.delta;
        for (let k = 0; k < DESC_SIZE; k++) dst[k] = b[o + k];
        return;
      }
    }
    // The descriptor's address, hi:lo + offset, in u64 arithmetic (it may wrap, as a pointer does).
    let aLo = lo + offset;
    let aHi = hi;
    if (aLo >= TWO_32) {
      aLo -= TWO_32;
      aHi = (aHi + 1) % TWO_32;
    }
    const iov = this.tableScratch;
    iov.reset();
    try {
      iotlb.translateU64(aHi, aLo, DESC_SIZE, MAP_RO, mem, iov);
    } catch (err) {
      if (err instanceof VringError) {
        throw new VringError(
          'EFAULT',
          `descriptor ${i} in the indirect table of head ${head}: ${err.message}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    iov.pull(dst, 0, DESC_SIZE);
  }
}

function nestedError(head: number, i: number): VringError {
  return new VringError('EINVAL', `descriptor ${i} in the indirect table of head ${head} is itself indirect`);
}

function indirectLenError(head: number, i: number, len: number): VringError {
  return new VringError(
    'EINVAL',
    `indirect table length ${len} of descriptor ${i} of head ${head} is not a multiple of ${DESC_SIZE}`,
  );
}

// Error builders, out of line so the walk stays small enough for the JIT to inline and optimise.

function loopError(head: number, max: number, inTable: boolean): VringError {
  return new VringError(
    'ELOOP',
    inTable
      ? `indirect table of head ${head} loops: more than its ${max} descriptors`
      : `chain of head ${head} loops: more than queue size ${max} descriptors, indirect ones included`,
  );
}

function orderError(head: number, i: number): VringError {
  return new VringError('EINVAL', `readable descriptor ${i} of head ${head} follows a writable one`);
}

function noIovError(head: number, i: number, access: IotlbAccess): VringError {
  const kind = access === MAP_WO ? 'writable' : 'readable';
  return new VringError('EPROTO', `${kind} descriptor ${i} of head ${head} but no ${kind} iov was given`);
}

function tooLongError(head: number, total: number): VringError {
  return new VringError('EINVAL', `chain of head ${head} is ${total} bytes long, more than 2^32 - 1`);
}

function nextError(head: number, i: number, max: number, indirect: boolean): VringError {
  return new VringError(
    'EINVAL',
    `next ${i} of head ${head} is not below the ${indirect ? 'indirect ' : ''}table size ${max}`,
  );
}
