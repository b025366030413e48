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

// Expected values were taken from iproute2's lib/ll_addr.c: ll_addr_a2n() and lib/utils.c: get_addr_1()
// compiled against glibc 2.36 (sscanf "%x" into an int, strtoul) and run on each input.
describe('parseLladdr (ll_addr_a2n)', () => {
  const bytes = (arg: string, previous?: Uint8Array): number[] | string => {
    const r = parseLladdr(arg, previous);
    return 'mac' in r ? Array.from(r.mac) : r.invalid;
  };

  it('parses full and short groups; the groups not given keep the earlier bytes (zero at first)', () => {
    expect(bytes('00:11:22:33:44:55')).toEqual([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    expect(bytes('00:11:22')).toEqual([0, 0x11, 0x22, 0, 0, 0]);
    expect(bytes('0x1:2:3:4:5:FF')).toEqual([1, 2, 3, 4, 5, 0xff]);
    expect(bytes('aa', new Uint8Array([1, 2, 3, 4, 5, 6]))).toEqual([0xaa, 2, 3, 4, 5, 6]);
  });

  it('reads each group with sscanf("%x"): blanks, a sign, 0x and trailing garbage are accepted', () => {
    expect(bytes(' 1')).toEqual([1, 0, 0, 0, 0, 0]);
    expect(bytes('+5')).toEqual([5, 0, 0, 0, 0, 0]);
    expect(bytes('-0')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(bytes('0X1f')).toEqual([0x1f, 0, 0, 0, 0, 0]);
    expect(bytes('55zz')).toEqual([0x55, 0, 0, 0, 0, 0]);
    expect(bytes('0x')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(bytes('0xg')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(bytes('0x:1')).toEqual([0, 1, 0, 0, 0, 0]);
    expect(bytes('1 2:3')).toEqual([1, 3, 0, 0, 0, 0]);
    expect(bytes('00-11-22-33-44-55')).toEqual([0, 0, 0, 0, 0, 0]);
    // the int keeps the low 32 bits of strtoul's unsigned long
    expect(bytes('100000000')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(bytes('1000000ff')).toEqual([0xff, 0, 0, 0, 0, 0]);
    expect(bytes('-100000000')).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('ignores what follows a sixth group', () => {
    expect(bytes('1:2:3:4:5:6:7')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(bytes('1:2:3:4:5:6:zz')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(bytes('1:2:3:4:5:6:')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(bytes('1:2:3:4:5:6 x')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a group sscanf cannot read or outside 0-255, quoting that group alone', () => {
    const refused: [string, string][] = [
      ['', ''],
      [' ', ' '],
      ['1:', ''],
      [':1', ''],
      ['00::11', ''],
      ['g', 'g'],
      ['zz:11', 'zz'],
      ['00:11:zz:33', 'zz'],
      ['x5', 'x5'],
      ['+', '+'],
      ['+x', '+x'],
      ['-1', '-1'],
      ['-0x5', '-0x5'],
      ['100', '100'],
      ['100:0', '100'],
      ['7fffffff', '7fffffff'],
      ['80000000', '80000000'],
      ['ffffffffffffffff', 'ffffffffffffffff'],
      ['10000000000000000', '10000000000000000'],
      ['-ffffffffffffffffff', '-ffffffffffffffffff'],
      ['-1000000ff', '-1000000ff'],
      ['default', 'default'],
    ];
    for (const [arg, quoted] of refused) expect(bytes(arg), arg).toBe(quoted);
  });

  it('reads an argument with a dot as an IPv4 address into the first 4 bytes (get_addr_ipv4)', () => {
    expect(bytes('1.2.3.4')).toEqual([1, 2, 3, 4, 0, 0]);
    expect(bytes('1.2')).toEqual([1, 2, 0, 0, 0, 0]);
    expect(bytes('0x10.010.8.1')).toEqual([0x10, 8, 8, 1, 0, 0]);
    expect(bytes(' 1.2')).toEqual([1, 2, 0, 0, 0, 0]);
    expect(bytes('-0.1')).toEqual([0, 1, 0, 0, 0, 0]);
    expect(bytes('1.2.3.+4')).toEqual([1, 2, 3, 4, 0, 0]);
    expect(bytes('1.2.3. 4')).toEqual([1, 2, 3, 4, 0, 0]);
    expect(bytes('0.0.0.0')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(bytes('1.2.3.4', new Uint8Array([9, 9, 9, 9, 0x55, 0x66]))).toEqual([1, 2, 3, 4, 0x55, 0x66]);
  });

  it('refuses a bad IPv4 address, quoting the whole argument', () => {
    for (const bad of [
      '1.',
      '.1',
      '1..2',
      '1.2.3.4.5',
      '08.1.1.1',
      '256.1.1.1',
      '1.2.3.-1',
      '1.2.3.4:5',
      '1.2.3.4 ',
      '1.2.3.0x',
      '0x.1',
      '. ',
      'a.b',
      '4294967296.1',
      '18446744073709551616.1',
    ]) {
      expect(bytes(bad), bad).toBe(bad);
    }
  });

  it('parses any formatted MAC back to its bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (mac) => {
        const text = Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
        expect(bytes(text)).toEqual(Array.from(mac));
      }),
    );
  });

  it('never throws on arbitrary input and always answers 6 bytes or a quoted part of it (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseLladdr(s);
        expect('mac' in r ? r.mac.length === 6 : s.includes(r.invalid)).toBe(true);
      }),
    );
  });
});
