import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VHOST_USER_GET_FEATURES,
  VHOST_USER_REPLY_MASK,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_VERSION,
} from '@vdpa-kit/virtio-spec';
import {
  decodeVhostUserHeader,
  decodeVhostUserPayload,
  encodeVhostUserMessage,
  encodeVhostUserPayload,
  encodeVhostUserReply,
  VU_MAX_PAYLOAD_SIZE,
  type VhostUserPayload,
  type VhostUserRegionWire,
} from './codec.js';
import { VhostUserError } from './errors.js';
import { type VhostUserLayout } from './requests.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const region: fc.Arbitrary<VhostUserRegionWire> = fc.record({
  guestPhysAddr: u64,
  memorySize: u64,
  userspaceAddr: u64,
  mmapOffset: u64,
});

const payloads: fc.Arbitrary<VhostUserPayload> = fc.oneof(
  fc.constant<VhostUserPayload>({ kind: 'none' }),
  fc.record({ kind: fc.constant('u64' as const), value: u64 }),
  fc.record({ kind: fc.constant('vring-state' as const), index: u32, num: u32 }),
  fc.record({
    kind: fc.constant('vring-addr' as const),
    index: u32,
    flags: u32,
    desc: u64,
    used: u64,
    avail: u64,
    log: u64,
  }),
  fc.record({ kind: fc.constant('vring-file' as const), index: u8, noFd: fc.boolean() }),
  fc.record({ kind: fc.constant('memory-table' as const), regions: fc.array(region, { maxLength: 8 }) }),
  fc.record({ kind: fc.constant('memory-region' as const), region }),
  fc.record({ kind: fc.constant('log' as const), mmapSize: u64, mmapOffset: u64 }),
  fc.record({
    kind: fc.constant('iotlb' as const),
    iova: u64,
    size: u64,
    uaddr: u64,
    perm: u8,
    type: u8,
  }),
  fc.uint8Array({ maxLength: 256 }).chain((payload) =>
    fc.record({
      kind: fc.constant('config' as const),
      offset: u32,
      size: fc.constant(payload.byteLength),
      flags: u32,
      payload: fc.constant(payload),
    }),
  ),
  fc.record({
    kind: fc.constant('inflight' as const),
    mmapSize: u64,
    mmapOffset: u64,
    numQueues: u16,
    queueSize: u16,
  }),
  fc.record({ kind: fc.constant('opaque' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);

function layoutOf(p: VhostUserPayload): VhostUserLayout {
  return p.kind;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof VhostUserError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('vhost-user payload codec', () => {
  it('round-trips every payload layout', () => {
    fc.assert(
      fc.property(payloads, (p) => {
        const bytes = encodeVhostUserPayload(p);
        expect(decodeVhostUserPayload(layoutOf(p), bytes, 'TEST')).toEqual(p);
      }),
    );
  });

  it('encodes every layout at its C size', () => {
    const sizes: [VhostUserPayload, number][] = [
      [{ kind: 'none' }, 0],
      [{ kind: 'u64', value: 1n }, 8],
      [{ kind: 'vring-state', index: 0, num: 256 }, 8],
      [{ kind: 'vring-addr', index: 0, flags: 0, desc: 0n, used: 0n, avail: 0n, log: 0n }, 40],
      [{ kind: 'vring-file', index: 1, noFd: true }, 8],
      [{ kind: 'memory-table', regions: [] }, 8],
      [
        {
          kind: 'memory-region',
          region: { guestPhysAddr: 0n, memorySize: 1n, userspaceAddr: 0n, mmapOffset: 0n },
        },
        40,
      ],
      [{ kind: 'log', mmapSize: 0n, mmapOffset: 0n }, 16],
      [{ kind: 'iotlb', iova: 0n, size: 0n, uaddr: 0n, perm: 3, type: 2 }, 32],
      [{ kind: 'config', offset: 0, size: 4, flags: 0, payload: new Uint8Array(4) }, 16],
      [{ kind: 'inflight', mmapSize: 0n, mmapOffset: 0n, numQueues: 2, queueSize: 256 }, 24],
    ];
    for (const [p, size] of sizes)
      expect([p.kind, encodeVhostUserPayload(p).byteLength]).toEqual([p.kind, size]);
  });

  it('lays fields out little-endian at the documented offsets', () => {
    const addr = encodeVhostUserPayload({
      kind: 'vring-addr',
      index: 1,
      flags: 0,
      desc: 0x7f0000001000n,
      used: 0x7f0000003000n,
      avail: 0x7f0000002000n,
      log: 0n,
    });
    const v = new DataView(addr.buffer);
    expect(v.getUint32(0, true)).toBe(1);
    expect(v.getBigUint64(8, true)).toBe(0x7f0000001000n);
    expect(v.getBigUint64(16, true)).toBe(0x7f0000003000n);
    expect(v.getBigUint64(24, true)).toBe(0x7f0000002000n);
    const file = encodeVhostUserPayload({ kind: 'vring-file', index: 3, noFd: true });
    expect(new DataView(file.buffer).getBigUint64(0, true)).toBe(0x103n);
    const iotlb = encodeVhostUserPayload({ kind: 'iotlb', iova: 1n, size: 2n, uaddr: 3n, perm: 3, type: 2 });
    expect([iotlb[24], iotlb[25]]).toEqual([3, 2]);
  });

  it('keeps u64 values above 2^53 exact', () => {
    const value = (1n << 63n) | 1n;
    const bytes = encodeVhostUserPayload({ kind: 'u64', value });
    expect(decodeVhostUserPayload('u64', bytes, 'SET_FEATURES')).toEqual({ kind: 'u64', value });
  });

  it('decodes the no-fd bit and the index of a vring file, ignoring the other bits', () => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, 0xffff_0000_0000_0105n, true);
    expect(decodeVhostUserPayload('vring-file', bytes, 'SET_VRING_CALL')).toEqual({
      kind: 'vring-file',
      index: 5,
      noFd: true,
    });
  });

  it('refuses a payload whose size does not match its layout', () => {
    const cases: [VhostUserLayout, number][] = [
      ['none', 8],
      ['u64', 4],
      ['u64', 16],
      ['vring-state', 4],
      ['vring-addr', 32],
      ['vring-file', 0],
      ['memory-region', 32],
      ['log', 8],
      ['iotlb', 26],
      ['inflight', 20],
      ['memory-table', 4],
      ['config', 8],
    ];
    for (const [layout, size] of cases) {
      expect([layout, size, codeOf(() => decodeVhostUserPayload(layout, new Uint8Array(size), 'X'))]).toEqual(
        [layout, size, 'BAD_PAYLOAD_SIZE'],
      );
    }
  });

  it('refuses a memory table whose size is not 8 + 32·nregions', () => {
    const table = encodeVhostUserPayload({
      kind: 'memory-table',
      regions: [{ guestPhysAddr: 0n, memorySize: 1n, userspaceAddr: 0n, mmapOffset: 0n }],
    });
    expect(codeOf(() => decodeVhostUserPayload('memory-table', table.slice(0, 39), 'SET_MEM_TABLE'))).toBe(
      'BAD_PAYLOAD_SIZE',
    );
    const padded = new Uint8Array(72);
    padded.set(table);
    expect(codeOf(() => decodeVhostUserPayload('memory-table', padded, 'SET_MEM_TABLE'))).toBe(
      'BAD_PAYLOAD_SIZE',
    );
  });

  it('refuses a memory table of more than 8 regions', () => {
    const bytes = new Uint8Array(8 + 9 * 32);
    new DataView(bytes.buffer).setUint32(0, 9, true);
    expect(codeOf(() => decodeVhostUserPayload('memory-table', bytes, 'SET_MEM_TABLE'))).toBe(
      'BAD_MEMORY_TABLE',
    );
  });

  it('refuses a config access above 256 bytes and one whose size field disagrees', () => {
    const big = new Uint8Array(12 + 257);
    new DataView(big.buffer).setUint32(4, 257, true);
    expect(codeOf(() => decodeVhostUserPayload('config', big, 'GET_CONFIG'))).toBe('BAD_PAYLOAD');
    const short = new Uint8Array(12 + 4);
    new DataView(short.buffer).setUint32(4, 8, true);
    expect(codeOf(() => decodeVhostUserPayload('config', short, 'GET_CONFIG'))).toBe('BAD_PAYLOAD_SIZE');
  });

  it('refuses to encode a value that does not fit its field', () => {
    expect(() => encodeVhostUserPayload({ kind: 'u64', value: 1n << 64n })).toThrow(RangeError);
    expect(() => encodeVhostUserPayload({ kind: 'vring-state', index: -1, num: 0 })).toThrow(RangeError);
    expect(() => encodeVhostUserPayload({ kind: 'vring-file', index: 256, noFd: false })).toThrow(RangeError);
    expect(() =>
      encodeVhostUserPayload({ kind: 'config', offset: 0, size: 3, flags: 0, payload: new Uint8Array(2) }),
    ).toThrow(RangeError);
  });
});

describe('vhost-user header', () => {
  it('round-trips request, flags and size', () => {
    fc.assert(
      fc.property(u32, u32, payloads, (request, flags, p) => {
        const bytes = encodeVhostUserMessage(request, flags, p);
        const header = decodeVhostUserHeader(bytes);
        expect(header).toEqual({ request, flags, size: bytes.byteLength - 12 });
      }),
    );
  });

  it('marks a reply with flags 0x5 exactly, as DPDK requires', () => {
    const reply = encodeVhostUserReply(VHOST_USER_GET_FEATURES, { kind: 'u64', value: 1n << 32n });
    expect(decodeVhostUserHeader(reply)).toEqual({
      request: VHOST_USER_GET_FEATURES,
      flags: VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
      size: 8,
    });
    expect(VHOST_USER_VERSION | VHOST_USER_REPLY_MASK).toBe(0x5);
  });

  it('bounds payloads by the largest layout: a full config access', () => {
    expect(VU_MAX_PAYLOAD_SIZE).toBe(12 + 256);
    const table = encodeVhostUserMessage(VHOST_USER_SET_MEM_TABLE, VHOST_USER_VERSION, {
      kind: 'memory-table',
      regions: Array.from({ length: 8 }, () => ({
        guestPhysAddr: 0n,
        memorySize: 0n,
        userspaceAddr: 0n,
        mmapOffset: 0n,
      })),
    });
    expect(table.byteLength - 12).toBeLessThanOrEqual(VU_MAX_PAYLOAD_SIZE);
  });
});
