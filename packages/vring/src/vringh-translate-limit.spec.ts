import { describe, expect, it, vi } from 'vitest';
import { VHOST_ACCESS_RW, VIRTQ_DESC_F_NEXT } from '@vdpa-kit/virtio-spec';
import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';
import { Iov } from './iov.js';
import { Vringh } from './vringh.js';

// vringh.c: vringh_getdesc_iotlb() records each buffer's address and length (__vringh_iov() with
// no_range_check()); only vringh_iov_pull_iotlb() / _push_iotlb() translate, and vdpasim_net_work()
// pulls at most PAGE_SIZE. So the cost of a chain is its descriptors plus the bytes the device moves,
// however many IOTLB entries its buffers span: `Iov.limit` bounds what getdesc translates.
const DESC = 0x1000;
const AVAIL = 0x2000;
const USED = 0x3000;
const PAGE = 0x1000;
const ENTRIES = 0x1000;
const IOVA = 2 ** 32;
const DESCS = 16;

/** A ring whose one chain has 16 readable descriptors, each over 4,096 aliasing 4 KiB IOTLB entries. */
function aliasedChain(): { vrh: Vringh; iotlb: Iotlb } {
  const mem = GuestMemory.create({ size: 0x10_0000 });
  const view = mem.regions()[0].view;
  const iotlb = new Iotlb();
  iotlb.addRange(0n, 0xf_ffffn, 0n, VHOST_ACCESS_RW);
  for (let k = 0; k < ENTRIES; k++) {
    const start = BigInt(IOVA + k * PAGE);
    iotlb.addRange(start, start + BigInt(PAGE - 1), BigInt(k % 2 === 0 ? 0x8000 : 0xa000), VHOST_ACCESS_RW);
  }
  const vrh = new Vringh();
  vrh.init({ num: DESCS, descAddr: DESC, availAddr: AVAIL, usedAddr: USED, eventIdx: false, mem, iotlb });
  for (let i = 0; i < DESCS; i++) {
    const off = DESC + 16 * i;
    view.setUint32(off, IOVA % 2 ** 32, true);
    view.setUint32(off + 4, Math.floor(IOVA / 2 ** 32), true);
    view.setUint32(off + 8, ENTRIES * PAGE, true);
    view.setUint16(off + 12, i < DESCS - 1 ? VIRTQ_DESC_F_NEXT : 0, true);
    view.setUint16(off + 14, i + 1, true);
  }
  view.setUint16(AVAIL + 4, 0, true);
  view.setUint16(AVAIL + 2, 1, true);
  return { vrh, iotlb };
}

describe('Iov.limit: what Vringh.getdesc translates (vringh.c: vringh_getdesc_iotlb())', () => {
  it('a chain over 65,536 IOTLB entries costs the limit, not the entries it spans', () => {
    const { vrh, iotlb } = aliasedChain();
    const lookups = vi.spyOn(iotlb, 'entryAt');
    const riov = new Iov();
    riov.limit = PAGE;
    expect(vrh.getdesc(riov, null)).toBe(0);
    expect(riov.totalLength).toBe(PAGE);
    expect(lookups.mock.calls.length).toBeLessThanOrEqual(4);
    // The walk still ran to the end of the chain: the next getdesc finds the ring empty.
    expect(vrh.lastAvailIdx).toBe(1);
  });

  it('translates a limit spanning entries entry by entry, and a limit of 0 nothing', () => {
    const { vrh } = aliasedChain();
    const riov = new Iov();
    riov.limit = 3 * PAGE + 5;
    expect(vrh.getdesc(riov, null)).toBe(0);
    expect(riov.totalLength).toBe(3 * PAGE + 5);
    expect(riov.count).toBe(4);
    const again = aliasedChain();
    const none = new Iov();
    none.limit = 0;
    expect(again.vrh.getdesc(none, null)).toBe(0);
    expect(none.totalLength).toBe(0);
  });

  it('keeps the limit across reset', () => {
    const iov = new Iov();
    iov.limit = 100;
    iov.reset();
    expect(iov.limit).toBe(100);
    expect(new Iov().limit).toBe(Number.MAX_SAFE_INTEGER);
  });
});
