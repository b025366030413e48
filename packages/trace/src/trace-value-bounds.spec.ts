import { describe, expect, it } from 'vitest';
import { createTraceHeader, type TraceRecord } from './trace-format.js';
import { parseTrace } from './trace-reader.js';
import { serializeRecord } from './trace-writer.js';

// A trace recorded on Linux holds u64 values where the kernel's type is a u64 (vdpa.h: the features of
// set_driver_features() / get_device_features(), the iova, size and pa of dma_map() / dma_unmap())
// and non-negative integers where it is a u8/u16/u32 (set_vq_num(), set_status()): anything else is
// refused where it enters, naming the line, and the writer never writes what the reader refuses.
const header = createTraceHeader({ createdAt: new Date(0) });

function traceOf(rec: Record<string, unknown>): string {
  return `${JSON.stringify(header)}\n${JSON.stringify(rec)}\n`;
}

const base = { v: 1, seq: 1, ts: 0, dev: 'vdpa0', kind: 'op' };
const call = (op: string, args: unknown[]) => ({ ...base, op, phase: 'call', args });
const ret = (op: string, value: unknown) => ({ ...base, op, phase: 'return', ret: value });

describe('trace values bounded by the kernel types', () => {
  it.each([
    [
      'setDriverFeatures beyond 2^64 - 1 (vdpasim_set_driver_features(u64))',
      call('setDriverFeatures', ['0x1ffffffffffffffff']),
    ],
    ['a negative feature word', call('setDriverFeatures', ['-0x1'])],
    ['a getDeviceFeatures answer beyond 2^64 - 1', ret('getDeviceFeatures', '0x10000000000000000')],
    [
      'a dma_map iova beyond 2^64 - 1 (vdpasim_dma_map(u64 iova))',
      call('dmaMap', [0, '0x10000000000000000', '0x1000', '0x0', 3]),
    ],
    ['a fractional ring size (vdpasim_set_vq_num(u32))', call('setVqNum', [0, 1.5])],
    ['a negative ring size', call('setVqNum', [0, -1])],
    ['a fractional status (vdpasim_set_status(u8))', call('setStatus', [1.5])],
    ['a negative ring address', call('setVqAddress', [0, -4096, 0, 0])],
    ['a fractional status answer', ret('getStatus', 1.5)],
  ])('the reader refuses %s, naming line 2, and the writer refuses to write it', (_what, rec) => {
    expect(() => parseTrace(traceOf(rec))).toThrow(/line 2/);
    expect(() => serializeRecord(rec as unknown as TraceRecord)).toThrow(/cannot be written/);
  });

  it('accepts the extremes the kernel types hold', () => {
    const ok = [
      call('setDriverFeatures', ['0xffffffffffffffff']),
      call('dmaMap', [0, '0xfffffffffffff000', '0x1000', '0x0', 3]),
      call('setVqNum', [0, 0]),
      ret('getDeviceFeatures', '0x0'),
    ];
    for (const rec of ok) {
      expect(() => parseTrace(traceOf(rec))).not.toThrow();
      expect(serializeRecord(rec as unknown as TraceRecord)).toBe(JSON.stringify(rec));
    }
  });
});
