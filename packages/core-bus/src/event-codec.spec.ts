import { VHOST_ACCESS_RO } from '@vdpa-kit/virtio-spec';
import { GuestMemory, Iotlb } from '@vdpa-kit/vring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeArgs, encodeIovaRange, encodeResult, encodeValue, fromHex, toHex } from './event-codec.js';

describe('encodeValue', () => {
  it('encodes bigints as 0x hex, bytes as hex, callbacks and handles as true', () => {
    expect(encodeValue(0x300000000n)).toBe('0x300000000');
    expect(encodeValue(0n)).toBe('0x0');
    expect(encodeValue(new Uint8Array([0, 0xab, 0x10]))).toBe('00ab10');
    expect(encodeValue(() => undefined)).toBe(true);
    expect(encodeValue(GuestMemory.create({ size: 4096 }))).toBe(true);
    expect(encodeValue(null)).toBeNull();
    expect(encodeValue(undefined)).toBeNull();
    expect(encodeValue(Number.NaN)).toBeNull();
    expect(encodeValue({ a: 1n, b: undefined, c: [new Uint8Array([1])] })).toEqual({ a: '0x1', c: ['01'] });
  });

  it('encodes an Iotlb as its entries, u64 bounds as hex strings', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, 0x8000n, VHOST_ACCESS_RO);
    expect(encodeValue(tlb)).toEqual([
      { start: '0x1000', last: '0x1fff', addr: '0x8000', perm: VHOST_ACCESS_RO },
    ]);
    expect(encodeValue(Iotlb.identity())).toEqual([
      { start: '0x0', last: '0x7fffffffffffffff', addr: '0x0', perm: 3 },
      { start: '0x8000000000000000', last: '0xffffffffffffffff', addr: '0x8000000000000000', perm: 3 },
    ]);
  });

  it('encodes op arguments and results by the op table', () => {
    const buf = new Uint8Array([5, 6, 7]);
    expect(encodeArgs('getConfig', [4, buf])).toEqual([4, 3]);
    expect(encodeResult('getConfig', undefined, [4, buf])).toBe('050607');
    expect(encodeArgs('setConfig', [4, buf])).toEqual([4, '050607']);
    expect(encodeResult('setStatus', undefined, [1])).toBeUndefined();
    expect(encodeResult('getVendorVqStats', [{ name: 'x', value: 255n }], [0])).toEqual([
      { name: 'x', value: '0xff' },
    ]);
  });
});

// include/linux/vdpa.h: struct vdpa_iova_range { u64 first; u64 last; }; dma_map / dma_unmap take u64s.
describe('64-bit IOVA values are recorded exactly', () => {
  it('records get_iova_range [0, ULLONG_MAX] as its two u64s in hex, nothing else', () => {
    const range = { first: 0n, last: (1n << 64n) - 1n };
    expect(JSON.stringify(encodeResult('getIovaRange', range, []))).toBe(
      '{"first":"0x0","last":"0xffffffffffffffff"}',
    );
    expect(encodeIovaRange({ ...range, extra: 1 })).toEqual({ first: '0x0', last: '0xffffffffffffffff' });
  });

  it('records dma_map and dma_unmap IOVA, size and address as hex strings', () => {
    expect(encodeArgs('dmaMap', [0, 0xffff_ffff_ffff_f000n, 0x1000n, (1n << 53n) + 1n, 3])).toEqual([
      0,
      '0xfffffffffffff000',
      '0x1000',
      '0x20000000000001',
      3,
    ]);
    expect(encodeArgs('dmaUnmap', [1, 0xffff_ffff_ffff_f000n, 0x1000n])).toEqual([
      1,
      '0xfffffffffffff000',
      '0x1000',
    ]);
  });
});

describe('hex', () => {
  it('round-trips bytes through hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(fromHex(toHex(bytes))).toEqual(bytes);
      }),
    );
  });
});
