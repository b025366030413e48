import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHexU64, parseLladdr, parseU16, parseU32 } from './parse-values.js';

describe('number parsing (get_u16/u32/u64 semantics)', () => {
  it('accepts whole decimal words in range, with leading blanks and a sign', () => {
    expect(parseU16('9000')).toBe(9000);
    expect(parseU16(' +68')).toBe(68);
    expect(parseU16('-0')).toBe(0);
    expect(parseU16('65535')).toBe(65535);
    expect(parseU32('4294967295')).toBe(4294967295);
  });

  it('rejects empty, trailing garbage, out of range, hex in base 10 and negatives', () => {
    for (const bad of ['', ' ', '12a', '65536', '0x10', '-1', '1 ']) expect(parseU16(bad)).toBeUndefined();
    expect(parseU32('4294967296')).toBeUndefined();
  });

  it('reads device_features as hex with an optional 0x', () => {
    expect(parseHexU64('300020000')).toBe(0x300020000n);
    expect(parseHexU64('0x300020000')).toBe(0x300020000n);
    expect(parseHexU64('ffffffffffffffff')).toBe((1n << 64n) - 1n);
    expect(parseHexU64('10000000000000000')).toBeUndefined();
    expect(parseHexU64('0x')).toBeUndefined();
  });

  it('round-trips every u16 and rejects every larger value (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), (n) => parseU16(String(n)) === n));
    fc.assert(
      fc.property(
        fc.integer({ min: 0x10000, max: Number.MAX_SAFE_INTEGER }),
        (n) => parseU16(String(n)) === undefined,
      ),
    );
  });
});

describe('parseLladdr (ll_addr_a2n)', () => {
  it('parses full, short (zero-padded) and 0x-prefixed groups', () => {
    expect(Array.from(parseLladdr('00:11:22:33:44:55') ?? [])).toEqual([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    expect(Array.from(parseLladdr('00:11:22') ?? [])).toEqual([0, 0x11, 0x22, 0, 0, 0]);
    expect(Array.from(parseLladdr('0x1:2:3:4:5:FF') ?? [])).toEqual([1, 2, 3, 4, 5, 0xff]);
  });

  it('rejects 7 groups, empty groups, a trailing colon, dashes, spaces and bytes > 255', () => {
    for (const bad of [
      '0:1:2:3:4:5:6',
      '00::11',
      '00:11:',
      '00-11-22-33-44-55',
      ' 00:11',
      '',
      '100:0',
      'g0:11',
    ]) {
      expect(parseLladdr(bad)).toBeUndefined();
    }
  });

  it('parses any formatted MAC back to its bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const text = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
        expect(Array.from(parseLladdr(text) ?? [])).toEqual(Array.from(bytes));
      }),
    );
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseLladdr(s);
        expect(r === undefined || r.length === 6).toBe(true);
      }),
    );
  });
});
