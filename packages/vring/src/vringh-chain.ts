import {
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_SIZE,
} from './constants.js';
import { IOVA_MAX, VringError } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import { VHOST_MAP_RO, VHOST_MAP_WO, type Iotlb, type IotlbAccess } from './iotlb.js';
import { Iov } from './iov.js';
import {
  VIRTQ_DESC_ADDR_OFF,
  VIRTQ_DESC_FLAGS_OFF,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_NEXT_OFF,
} from './split-ring-layout.js';

/** Largest u32: a chain's total length must fit a used element's `len` (§2.7.8). */
const U32_MAX = 0xffff_ffff;
/** 2^32, to assemble a u64 from its 32-bit halves without BigInt. */
const TWO_32 = 0x1_0000_0000;
/** Offset of the high 32-bit word inside a little-endian u64. */
const U64_HI_OFF = 4;
/** Largest high word of a u64 that is still below 2^53. */
const U64_SAFE_HI_MAX = 0x1f_ffff;
/** 2^53: one past the last IOVA. */
const IOVA_END = IOVA_MAX + 1;

/**
 * The descriptor-chain walk of the device side of a split virtqueue (the kernel's `__vringh_iov`),
 * used by `Vringh.getdesc`. It keeps the descriptor being read in fields and the indirect table
 * in a reused {@link Iov}, so a walk allocates nothing. Every step is bounded: at most `num` direct
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
  private readonly descBytes = new Uint8Array(VIRTQ_DESC_SIZE);
  private readonly descBytesView = new DataView(this.descBytes.buffer);

  // The descriptor being walked, as fields rather than an object.
  private dAddrLo = 0;
  private dAddrHi = 0;
  private dLen = 0;
  private dFlags = 0;
  private dNext = 0;

  /**
   * Walks the chain from `head` (`__vringh_iov`): readable buffers are translated with
   * `VHOST_MAP_RO` into `riov`, writable ones with `VHOST_MAP_WO` into `wiov`; an indirect descriptor
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
    for (;;) {
      if (++steps > max) {
        throw new VringError(
          'ELOOP',
          indirect
            ? `indirect table of head ${head} loops: more than its ${max} descriptors`
            : `chain of head ${head} loops: more than queue size ${max} descriptors`,
        );
      }
      if (indirect) this.loadIndirect(i);
      else this.load(table, i * VIRTQ_DESC_SIZE);
      const flags = this.dFlags;
      const len = this.dLen;

      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        if (indirect) {
          throw new VringError(
            'EINVAL',
            `descriptor ${i} in the indirect table of head ${head} is itself indirect`,
          );
        }
        if ((flags & VIRTQ_DESC_F_NEXT) !== 0) {
          throw new VringError('EINVAL', `descriptor ${i} of head ${head} sets both indirect and next`);
        }
        if (len === 0 || len % VIRTQ_DESC_SIZE !== 0) {
          throw new VringError(
            'EINVAL',
            `indirect table length ${len} of descriptor ${i} is not a non-zero multiple of ${VIRTQ_DESC_SIZE}`,
          );
        }
        const tableIov = this.indirectTable;
        tableIov.reset();
        iotlb.translate(this.bufferAddr(i, len), len, VHOST_MAP_RO, mem, tableIov);
        indirect = true;
        max = len / VIRTQ_DESC_SIZE;
        i = 0;
        steps = 0;
        continue;
      }

      let iov: Iov | null;
      let access: IotlbAccess;
      if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
        iov = wiov;
        access = VHOST_MAP_WO;
        writable = true;
      } else {
        if (writable) {
          throw new VringError('EINVAL', `readable descriptor ${i} of head ${head} follows a writable one`);
        }
        iov = riov;
        access = VHOST_MAP_RO;
      }
      if (iov === null) {
        const kind = access === VHOST_MAP_WO ? 'writable' : 'readable';
        throw new VringError(
          'EPROTO',
          `${kind} descriptor ${i} of head ${head} but no ${kind} iov was given`,
        );
      }
      if (len !== 0) {
        total += len;
        if (total > U32_MAX) {
          throw new VringError('EINVAL', `chain of head ${head} is ${total} bytes long, more than 2^32 - 1`);
        }
        iotlb.translate(this.bufferAddr(i, len), len, access, mem, iov);
      }

      if ((flags & VIRTQ_DESC_F_NEXT) === 0) return;
      i = this.dNext;
      if (i >= max) {
        throw new VringError(
          'EINVAL',
          `next ${i} of head ${head} is not below the ${indirect ? 'indirect ' : ''}table size ${max}`,
        );
      }
    }
  }

  /** Loads the descriptor at byte `off` of `view` into the `d*` fields. */
  private load(view: DataView, off: number): void {
    this.dAddrLo = view.getUint32(off + VIRTQ_DESC_ADDR_OFF, true);
    this.dAddrHi = view.getUint32(off + VIRTQ_DESC_ADDR_OFF + U64_HI_OFF, true);
    this.dLen = view.getUint32(off + VIRTQ_DESC_LEN_OFF, true);
    this.dFlags = view.getUint16(off + VIRTQ_DESC_FLAGS_OFF, true);
    this.dNext = view.getUint16(off + VIRTQ_DESC_NEXT_OFF, true);
  }

  /** Loads entry `i` of the indirect table, which may span several segments. */
  private loadIndirect(i: number): void {
    const t = this.indirectTable;
    let seg = 0;
    let off = i * VIRTQ_DESC_SIZE;
    while (off >= t.lens[seg]) off -= t.lens[seg++];
    const dst = this.descBytes;
    for (let k = 0; k < VIRTQ_DESC_SIZE; k++) {
      if (off === t.lens[seg]) {
        seg++;
        off = 0;
      }
      dst[k] = t.bufs[seg][t.offs[seg] + off];
      off++;
    }
    this.load(this.descBytesView, 0);
  }

  /**
   * The loaded descriptor's address as a number.
   * @throws VringError `ERANGE` when it is beyond 2^53 or `[addr, addr + len)` runs past it.
   */
  private bufferAddr(i: number, len: number): number {
    const hi = this.dAddrHi;
    const lo = this.dAddrLo;
    if (hi > U64_SAFE_HI_MAX) {
      throw new VringError(
        'ERANGE',
        `descriptor ${i} address 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is beyond 2^53`,
      );
    }
    const addr = hi * TWO_32 + lo;
    if (addr > IOVA_END - len) {
      throw new VringError('ERANGE', `descriptor ${i} range 0x${addr.toString(16)}+${len} runs past 2^53`);
    }
    return addr;
  }
}
