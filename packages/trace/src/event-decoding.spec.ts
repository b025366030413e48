import {
  LogicalClock,
  VdpaBus,
  VdpaError,
  encodeValue,
  type JsonValue,
  type OpEvent,
} from '@vdpa-kit/core-bus';
import { FakeDevice, FakeTransport, collectEvents } from '@vdpa-kit/core-bus/testing';
import { Iotlb } from '@vdpa-kit/vring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPLAY_CALLBACK, decodeArgs, decodeResult, decodeValue, parseEvent } from './event-decoding.js';
import { VHOST_ACCESS_RO, VHOST_ACCESS_RW } from '@vdpa-kit/virtio-spec';

describe('decoding (trace input)', () => {
  it('decodes an encoded Iotlb back to its entries, exact over the whole u64 space', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, 0x8000n, VHOST_ACCESS_RO);
    const back = decodeValue('iotlb', encodeValue(tlb)) as Iotlb;
    expect(back.entries()).toEqual(tlb.entries());
    const identity = decodeValue('iotlb', encodeValue(Iotlb.identity())) as Iotlb;
    expect(identity.entries()).toEqual(Iotlb.identity().entries());
    expect(identity.isIdentity()).toBe(true);
    const high = decodeValue('iotlb', [
      { start: '0x20000000000001', last: '0xfffffffffffffffe', addr: '0x0000000000000000000001', perm: 1 },
    ]) as Iotlb;
    expect(high.entries()).toEqual([{ start: (1n << 53n) + 1n, last: (1n << 64n) - 2n, addr: 1n, perm: 1 }]);
  });

  it('round-trips u64 bigints', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        expect(decodeValue('bigint', encodeValue(v))).toBe(v);
      }),
    );
  });

  it('rejects malformed values with EINVAL', () => {
    const bad: Array<[Parameters<typeof decodeValue>[0], unknown]> = [
      ['bytes', 'abc'],
      ['bytes', 'zz'],
      ['bigint', '12'],
      ['bigint', 12],
      ['number', '1'],
      ['boolean', 1],
      ['callback', false],
      ['vqState', { kind: 'split', availIndex: 70000 }],
      [
        'vqState',
        { kind: 'packed', lastAvailCounter: 2, lastAvailIdx: 0, lastUsedCounter: 0, lastUsedIdx: 0 },
      ],
      ['vqState', { kind: 'ring' }],
      ['iotlb', [{ start: '0xa', last: '0x5', addr: '0x0', perm: VHOST_ACCESS_RW }]],
      ['iotlb', [{ start: 0, last: 4095, addr: 0, perm: VHOST_ACCESS_RW }]],
      ['iotlb', [{ start: '0x0', last: '0x10000000000000000', addr: '0x0', perm: VHOST_ACCESS_RW }]],
      ['iotlb', [{ start: '0x0', last: '0xfff', addr: '0x0', perm: 2 ** 32 }]],
      ['stats', [{ name: 'x', value: 5 }]],
      ['outBytes', -1],
    ];
    for (const [kind, json] of bad) {
      let code: string | undefined;
      try {
        decodeValue(kind, json);
      } catch (err) {
        code = err instanceof VdpaError ? err.code : 'other';
      }
      expect([kind, code]).toEqual([kind, 'EINVAL']);
    }
  });

  it('decodes callbacks to the replay placeholder and handles to null', () => {
    expect(decodeValue('callback', true)).toBe(REPLAY_CALLBACK);
    expect(decodeValue('callback', null)).toBeNull();
    expect(decodeValue('handle', true)).toBeNull();
    expect(decodeArgs('dmaMap', [0, '0x1000', '0x1000', '0x8000', VHOST_ACCESS_RW])).toEqual([
      0,
      0x1000n,
      0x1000n,
      0x8000n,
      VHOST_ACCESS_RW,
    ]);
    expect(() => decodeArgs('kickVq', [0, 1])).toThrow(VdpaError);
  });

  it('decodes every op event of a recorded session back to values the ops accept', () => {
    const bus = new VdpaBus(new LogicalClock());
    const t = new FakeTransport();
    bus.registerDriver(t);
    new FakeDevice().register(bus, { classIds: ['virtio'] });
    const log = collectEvents(bus);
    const h = t.handle('vdpa0');
    h.setDriverFeatures(0x100000000n);
    h.setVqAddress(0, 0x1000, 0x2000, 0x3000);
    h.setVqState(1, {
      kind: 'packed',
      lastAvailCounter: 1,
      lastAvailIdx: 5,
      lastUsedCounter: 0,
      lastUsedIdx: 4,
    });
    h.getVqState(1);
    h.setVqCb(0, () => undefined);
    h.setVqCb(1, null);
    const tlb = new Iotlb();
    tlb.addRange(0n, 0xfffn, 0x10000n, VHOST_ACCESS_RW);
    h.setMap(0, tlb);
    h.dmaMap(0, 0x2000n, 0x1000n, 0x20000n, VHOST_ACCESS_RW, { file: 'memfd:guest', offset: 0 });
    const buf = new Uint8Array(4);
    h.getConfig(0, buf);
    h.getVqAffinity(0);
    const json = JSON.parse(JSON.stringify(log.events)) as unknown[];
    const decoded = json.map((e) => parseEvent(e)).filter((e): e is OpEvent => e.kind === 'op');
    const calls = decoded.filter((e) => e.phase === 'call').map((e) => decodeArgs(e.op, e.args ?? []));
    expect(calls).toEqual([
      [0x100000000n],
      [0, 0x1000, 0x2000, 0x3000],
      [1, { kind: 'packed', lastAvailCounter: 1, lastAvailIdx: 5, lastUsedCounter: 0, lastUsedIdx: 4 }],
      [1],
      [0, REPLAY_CALLBACK],
      [1, null],
      [0, expect.any(Iotlb)],
      [0, 0x2000n, 0x1000n, 0x20000n, VHOST_ACCESS_RW, { file: 'memfd:guest', offset: 0 }],
      [0, new Uint8Array(4)],
      [0],
    ]);
    const rets = decoded.filter((e) => e.phase === 'return').map((e) => decodeResult(e.op, e.ret));
    expect(rets[3]).toEqual({
      kind: 'packed',
      lastAvailCounter: 1,
      lastAvailIdx: 5,
      lastUsedCounter: 0,
      lastUsedIdx: 4,
    });
    expect(rets[8]).toEqual(buf);
    expect(rets[9]).toBe(0n);
  });
});

// include/linux/vdpa.h: struct vdpa_iova_range { u64 first; u64 last; }, and dma_map / dma_unmap take
// u64 iova, size and pa; vdpa_sim.c: vdpasim_get_iova_range() answers last = ULLONG_MAX.
describe('64-bit IOVA values (get_iova_range, dma_map, dma_unmap) decode exactly', () => {
  const U64_MAX = (1n << 64n) - 1n;

  it('decodes get_iova_range [0, ULLONG_MAX] from its hex strings to the exact bigints', () => {
    expect(decodeResult('getIovaRange', { first: '0x0', last: '0xffffffffffffffff' })).toEqual({
      first: 0n,
      last: U64_MAX,
    });
    expect(decodeValue('iovaRange', encodeValue({ first: 1n << 53n, last: (1n << 53n) + 1n }))).toEqual({
      first: 1n << 53n,
      last: (1n << 53n) + 1n,
    });
  });

  it('round-trips every u64 range', () => {
    const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
    fc.assert(
      fc.property(u64, u64, (first, last) => {
        expect(decodeValue('iovaRange', encodeValue({ first, last }))).toEqual({ first, last });
      }),
    );
  });

  it('decodes dma_map and dma_unmap arguments above 2^53 exactly', () => {
    expect(
      decodeArgs('dmaMap', [1, '0xfffffffffffff000', '0x1000', '0x20000000000001', VHOST_ACCESS_RW]),
    ).toEqual([1, 0xffff_ffff_ffff_f000n, 0x1000n, (1n << 53n) + 1n, VHOST_ACCESS_RW]);
    expect(decodeArgs('dmaUnmap', [1, '0xfffffffffffff000', '0x1000'])).toEqual([
      1,
      0xffff_ffff_ffff_f000n,
      0x1000n,
    ]);
  });

  it.each([
    ['a last beyond 2^64-1', { first: '0x0', last: '0x1ffffffffffffffff' }, 'u64 hex string'],
    ['a number instead of a hex string', { first: 0, last: '0xffffffffffffffff' }, 'u64 hex string'],
    ['a number last', { first: '0x0', last: 4095 }, 'u64 hex string'],
    ['a hex string without 0x', { first: '0', last: 'ffff' }, 'u64 hex string'],
    ['a negative hex string', { first: '-0x1', last: '0xffff' }, 'u64 hex string'],
    ['a third field', { first: '0x0', last: '0xffff', size: '0x10000' }, 'vdpa_iova_range'],
    ['a missing last', { first: '0x0' }, 'missing u64 hex string'],
    ['an array', ['0x0', '0xffff'], 'vdpa_iova_range'],
    ['null', null, 'vdpa_iova_range'],
  ])('refuses %s with EINVAL naming the value', (_what, json, said) => {
    let err: unknown;
    try {
      decodeResult('getIovaRange', json as JsonValue);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VdpaError);
    expect((err as VdpaError).code).toBe('EINVAL');
    expect((err as VdpaError).message).toContain(said);
  });

  it('refuses dma_map arguments written as numbers', () => {
    expect(() => decodeArgs('dmaMap', [0, 0x1000, '0x1000', '0x0', VHOST_ACCESS_RW])).toThrow(
      'trace value 4096 is not a u64 hex string',
    );
  });
});

describe('parseEvent', () => {
  it('accepts valid records and freezes them', () => {
    const e = parseEvent({
      v: 1,
      seq: 3,
      ts: 10,
      dev: 'vdpa0',
      kind: 'op',
      op: 'kickVq',
      phase: 'call',
      args: [0],
    });
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen((e as OpEvent).args)).toBe(true);
    expect(
      parseEvent({
        v: 1,
        seq: 0,
        ts: 0,
        dev: null,
        kind: 'bus',
        op: 'driver_registered',
        args: { driver: 'x' },
      }).op,
    ).toBe('driver_registered');
  });

  it('rejects bad records naming the field', () => {
    const ok = { v: 1, seq: 3, ts: 10, dev: 'vdpa0', kind: 'op', op: 'kickVq', phase: 'call', args: [0] };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...ok, v: 2 }, /version 2/],
      [{ ...ok, seq: -1 }, /seq/],
      [{ ...ok, op: 'kick' }, /"kick"/],
      [{ ...ok, kind: 'bus' }, /kickVq/],
      [{ ...ok, phase: 'done' }, /phase/],
      [{ ...ok, err: 'EWHAT' }, /errno/],
      [{ ...ok, dev: null }, /device name/],
      [{ ...ok, args: [0, 1] }, /2 arguments/],
      [{ ...ok, origin: 'cli' }, /origin/],
      [{ ...ok, kind: 'mgmt', op: 'dev_add', phase: 'return', args: [] }, /argument record/],
    ];
    for (const [rec, msg] of cases) expect(() => parseEvent(rec)).toThrow(msg);
  });

  it('never throws anything but VdpaError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        try {
          parseEvent(json);
        } catch (err) {
          expect(err).toBeInstanceOf(VdpaError);
        }
      }),
    );
  });
});
