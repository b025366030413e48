import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VdpasimNetFilter } from './vdpasim-net-filter.js';

const MAC = new Uint8Array([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
const HDR = 12;

function frameTo(dst: ArrayLike<number>, hdrLen = HDR): Uint8Array {
  const buf = new Uint8Array(hdrLen + 6);
  buf.set(dst, hdrLen);
  return buf;
}

describe('VdpasimNetFilter', () => {
  it('accepts its own MAC, broadcast and multicast by default, and nothing else', () => {
    const f = new VdpasimNetFilter(MAC);
    expect(f.accepts(frameTo(MAC), HDR + 6, HDR)).toBe(true);
    expect(f.accepts(frameTo([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), HDR + 6, HDR)).toBe(true);
    expect(f.accepts(frameTo([0x33, 0x33, 0, 0, 0, 1]), HDR + 6, HDR)).toBe(true);
    expect(f.accepts(frameTo([0x00, 0x11, 0x22, 0x33, 0x44, 0x56]), HDR + 6, HDR)).toBe(false);
  });

  it('compares every byte of the MAC, zero bytes included', () => {
    const zero = new VdpasimNetFilter(new Uint8Array(6));
    expect(zero.accepts(frameTo([0, 0, 0, 0, 0, 0]), HDR + 6, HDR)).toBe(true);
    expect(zero.accepts(frameTo([0, 0, 0, 0, 0, 1]), HDR + 6, HDR)).toBe(false);
  });

  it('reads the destination after the header length it is given', () => {
    const f = new VdpasimNetFilter(MAC);
    expect(f.accepts(frameTo(MAC, 10), 16, 10)).toBe(true);
    expect(f.accepts(frameTo(MAC, 10), 16, HDR)).toBe(false);
  });

  it('refuses frames shorter than header + address, even in promiscuous mode', () => {
    const f = new VdpasimNetFilter(MAC);
    f.promisc = true;
    expect(f.accepts(frameTo(MAC), HDR + 5, HDR)).toBe(false);
  });

  it('promisc accepts any unicast; allmulti off refuses multicast but not broadcast', () => {
    const f = new VdpasimNetFilter(MAC);
    f.promisc = true;
    expect(f.accepts(frameTo([2, 2, 2, 2, 2, 2]), HDR + 6, HDR)).toBe(true);
    f.promisc = false;
    f.allmulti = false;
    expect(f.accepts(frameTo([0x01, 0, 0x5e, 0, 0, 1]), HDR + 6, HDR)).toBe(false);
    expect(f.accepts(frameTo([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), HDR + 6, HDR)).toBe(true);
    f.reset();
    expect(f.promisc).toBe(false);
    expect(f.allmulti).toBe(true);
  });

  it('follows the MAC view it was given', () => {
    const config = new Uint8Array(24);
    const f = new VdpasimNetFilter(config.subarray(0, 6));
    config.set([2, 4, 6, 8, 10, 12]);
    expect(f.accepts(frameTo([2, 4, 6, 8, 10, 12]), HDR + 6, HDR)).toBe(true);
  });

  it('acceptsDest applies the same rule to an address read where it lies', () => {
    const f = new VdpasimNetFilter(MAC);
    const mem = new Uint8Array(64);
    mem.set(MAC, 40);
    mem.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 50);
    expect([f.acceptsDest(mem, 40), f.acceptsDest(mem, 50), f.acceptsDest(mem, 42)]).toEqual([
      true,
      true,
      false,
    ]);
    f.promisc = true;
    expect(f.acceptsDest(mem, 42)).toBe(true);
  });

  it('decides exactly as the reference rule for any destination and mode', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: HDR + 8 }),
        (mac, dst, promisc, allmulti, len) => {
          const f = new VdpasimNetFilter(mac);
          f.promisc = promisc;
          f.allmulti = allmulti;
          const buf = new Uint8Array(HDR + 8);
          buf.set(dst, HDR);
          const broadcast = dst.every((b) => b === 0xff);
          const multicast = (dst[0] & 1) === 1;
          const own = dst.every((b, i) => b === mac[i]);
          const expected =
            len >= HDR + 6 && (promisc || broadcast || (multicast && allmulti) || (!multicast && own));
          expect(f.accepts(buf, len, HDR)).toBe(expected);
        },
      ),
    );
  });
});
