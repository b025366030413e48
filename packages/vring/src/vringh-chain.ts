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
import { Iov } from './iov.js';

/** A chain's total length must fit a used element's le32 `len` (§2.7.8); module-local copy of `U32_MAX`. */
const CHAIN_LEN_MAX = U32_MAX;

/** 2^32, to assemble a u64 from its 32-bit halves without BigInt. */
const TWO_32 = 0x1_0000_0000;
/** Offset of the high 32-bit word inside a little-endian u64. */
const U64_HI_OFF = 4;
/** Largest high word of a u64 that is still below 2^53. */
const U64_SAFE_HI_MAX = 0x1f_ffff;
/** 2^53: one past the last IOVA. */
const IOVA_END = IOVA_MAX + 1;

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

/**
 * The descriptor-chain walk of the device side of a split virtqueue (the kernel's `__vringh_iov`),
 * used by `Vringh.getdesc`. It reads the descriptor being walked into locals and keeps the indirect
 * table in a reused {@link Iov}, so a walk allocates nothing. Every step is bounded: at most `num` direct
 * descriptors and at most the table's entries inside an indirect table, else `ELOOP`.
 *
 * Spec rules enforced (§2.7.5): `next` inside the table; an indirect descriptor only as the last of
 * its chain (`INDIRECT` with `NEXT` is refused, §2.7.5.3.1), never inside an indirect table, with a
 * length that is a non-zero multiple of 16 (its `WRITE` flag is ignored); every readable descriptor
 * before every writable one (zero-length ones included); a total length below 2^32.
 *
 * @example
 * const chain = new VringhChain();
 * chain.gather(tableView, 256, head, riov, wiov, iotlb, mem);
 */
export class VringhChain {
  /** Segments of the indirect table being walked. */
  private readonly indirectTable = new Iov(1);
  /** One descriptor copied out of an indirect table, so it is parsed like a direct one. */
  private readonly descBytes = new Uint8Array(DESC_SIZE);
  private readonly descBytesView = new DataView(this.descBytes.buffer);

  /**
   * Walks the chain from `head` (`__vringh_iov`): readable buffers are translated with
   * `VHOST_ACCESS_RO` into `riov`, writable ones with `VHOST_ACCESS_WO` into `wiov`; an indirect descriptor
   * (last in its chain) switches to its table. The lists are not reset here.
   *
   * @param table the descriptor table, `16 · num` bytes
   * @param num queue size: entries of `table` and the step limit of the direct chain
   * @param head first descriptor, below `num`
   * @param riov list for readable buffers, or `null`
   * @param wiov list for writable buffers, or `null`
   * @param iotlb address space of buffers and indirect tables
   * @param mem guest memory the IOTLB maps into
   * @throws VringError `EINVAL`, `ELOOP`, `EPROTO`, `EPERM`, `EFAULT`, `ERANGE` as listed on
   * `Vringh.getdesc`; the lists keep what was gathered before the error.
   */
  gather(
    table: DataView,
    num: number,
    head: number,
    riov: Iov | null,
    wiov: Iov | null,
    iotlb: Iotlb,
    mem: GuestMemory,
  ): void {
    let indirect = false;
    let max = num;
    let i = head;
    let steps = 0;
    let writable = false;
    let total = 0;
    // The descriptor is read through `view` at `off`: the ring's table, or the copy of an entry of
    // an indirect table (which may span segments), so both are parsed by the same code.
    let view = table;
    let off = 0;
    for (;;) {
      if (++steps > max) throw loopError(head, max, indirect);
      if (indirect) {
        this.loadIndirect(i);
        view = this.descBytesView;
        off = 0;
      } else {
        off = i * DESC_SIZE;
      }
      const flags = view.getUint16(off + DESC_FLAGS, true);
      const len = view.getUint32(off + DESC_LEN, true);

      if ((flags & F_INDIRECT) !== 0) {
        checkIndirect(head, i, flags, len, indirect);
        const tableIov = this.indirectTable;
        tableIov.reset();
        iotlb.translate(bufferAddr(view, off, i, len), len, MAP_RO, mem, tableIov);
        indirect = true;
        max = len / DESC_SIZE;
        i = 0;
        steps = 0;
        continue;
      }

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
        iotlb.translate(bufferAddr(view, off, i, len), len, access, mem, iov);
      }

      if ((flags & F_NEXT) === 0) return;
      i = view.getUint16(off + DESC_NEXT, true);
      if (i >= max) throw nextError(head, i, max, indirect);
    }
  }

  /** Copies entry `i` of the indirect table, which may span several segments, into `descBytes`. */
  private loadIndirect(i: number): void {
    const t = this.indirectTable;
    let seg = 0;
    let off = i * DESC_SIZE;
    while (off >= t.lens[seg]) off -= t.lens[seg++];
    const dst = this.descBytes;
    for (let k = 0; k < DESC_SIZE; k++) {
      if (off === t.lens[seg]) {
        seg++;
        off = 0;
      }
      dst[k] = t.bufs[seg][t.offs[seg] + off];
      off++;
    }
  }
}

/**
 * The address of the descriptor at `off` of `view` as a number.
 * @throws VringError `ERANGE` when it is beyond 2^53 or `[addr, addr + len)` runs past it.
 */
function bufferAddr(view: DataView, off: number, i: number, len: number): number {
  const lo = view.getUint32(off + DESC_ADDR_LO, true);
  const hi = view.getUint32(off + DESC_ADDR_HI, true);
  if (hi > U64_SAFE_HI_MAX) throw addrError(i, hi, lo);
  const addr = hi * TWO_32 + lo;
  if (addr > IOVA_END - len) throw rangeError(i, addr, len);
  return addr;
}

/** Spec rules of an indirect descriptor (§2.7.5.3.1). @throws VringError `EINVAL` */
function checkIndirect(head: number, i: number, flags: number, len: number, nested: boolean): void {
  if (nested) {
    throw new VringError(
      'EINVAL',
      `descriptor ${i} in the indirect table of head ${head} is itself indirect`,
    );
  }
  if ((flags & F_NEXT) !== 0) {
    throw new VringError('EINVAL', `descriptor ${i} of head ${head} sets both indirect and next`);
  }
  if (len === 0 || len % DESC_SIZE !== 0) {
    throw new VringError(
      'EINVAL',
      `indirect table length ${len} of descriptor ${i} is not a non-zero multiple of ${DESC_SIZE}`,
    );
  }
}

// Error builders, out of line so the walk stays small enough for the JIT to inline and optimise.

function loopError(head: number, max: number, indirect: boolean): VringError {
  return new VringError(
    'ELOOP',
    indirect
      ? `indirect table of head ${head} loops: more than its ${max} descriptors`
      : `chain of head ${head} loops: more than queue size ${max} descriptors`,
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

function addrError(i: number, hi: number, lo: number): VringError {
  return new VringError(
    'ERANGE',
    `descriptor ${i} address 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is beyond 2^53`,
  );
}

function rangeError(i: number, addr: number, len: number): VringError {
  return new VringError('ERANGE', `descriptor ${i} range 0x${addr.toString(16)}+${len} runs past 2^53`);
}
