import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RING_EVENT_FLAGS_DESC,
  RING_EVENT_FLAGS_DISABLE,
  RING_EVENT_FLAGS_ENABLE,
  U16_MASK,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VIRTQ_AVAIL_ALIGN,
  VIRTQ_AVAIL_ELEM_SIZE,
  VIRTQ_AVAIL_FLAGS_OFF,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_AVAIL_IDX_OFF,
  VIRTQ_AVAIL_RING_OFF,
  VIRTQ_DESC_ADDR_OFF,
  VIRTQ_DESC_ALIGN,
  VIRTQ_DESC_FLAGS_OFF,
  VIRTQ_DESC_F_AVAIL,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_USED,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_NEXT_OFF,
  VIRTQ_DESC_SIZE,
  VIRTQ_EVENT_FIELD_SIZE,
  VIRTQ_MAX_SIZE,
  VIRTQ_USED_ALIGN,
  VIRTQ_USED_ELEM_ID_OFF,
  VIRTQ_USED_ELEM_LEN_OFF,
  VIRTQ_USED_ELEM_SIZE,
  VIRTQ_USED_FLAGS_OFF,
  VIRTQ_USED_F_NO_NOTIFY,
  VIRTQ_USED_IDX_OFF,
  VIRTQ_USED_RING_OFF,
  vringAvailEventOffset,
  vringAvailRingOffset,
  vringAvailSize,
  vringDescSize,
  vringNeedEvent,
  vringUsedEventOffset,
  vringUsedRingOffset,
  vringUsedSize,
} from './virtio-ring.js';

const U16 = 0x10000;

describe('virtio_ring.h values', () => {
  it('are the bit values of §2.7.5, §2.7.6, §2.7.8 and §2.8', () => {
    expect([VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT]).toEqual([1, 2, 4]);
    expect([VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_USED_F_NO_NOTIFY]).toEqual([1, 1]);
    expect([VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX]).toEqual([28, 29]);
    expect([VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_USED]).toEqual([0x80, 0x8000]);
    expect([RING_EVENT_FLAGS_ENABLE, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_DESC]).toEqual([0, 1, 2]);
    expect([VIRTQ_DESC_ALIGN, VIRTQ_AVAIL_ALIGN, VIRTQ_USED_ALIGN, VIRTQ_MAX_SIZE]).toEqual([
      16, 2, 4, 32768,
    ]);
  });

  it('lay the descriptor and the used element out field after field', () => {
    // {le64 addr, le32 len, le16 flags, le16 next}
    expect(VIRTQ_DESC_ADDR_OFF + 8).toBe(VIRTQ_DESC_LEN_OFF);
    expect(VIRTQ_DESC_LEN_OFF + 4).toBe(VIRTQ_DESC_FLAGS_OFF);
    expect(VIRTQ_DESC_FLAGS_OFF + 2).toBe(VIRTQ_DESC_NEXT_OFF);
    expect(VIRTQ_DESC_NEXT_OFF + 2).toBe(VIRTQ_DESC_SIZE);
    // {le32 id, le32 len}
    expect(VIRTQ_USED_ELEM_ID_OFF + 4).toBe(VIRTQ_USED_ELEM_LEN_OFF);
    expect(VIRTQ_USED_ELEM_LEN_OFF + 4).toBe(VIRTQ_USED_ELEM_SIZE);
    // {le16 flags, le16 idx, ring[]}
    expect(VIRTQ_AVAIL_FLAGS_OFF + 2).toBe(VIRTQ_AVAIL_IDX_OFF);
    expect(VIRTQ_AVAIL_IDX_OFF + 2).toBe(VIRTQ_AVAIL_RING_OFF);
    expect(VIRTQ_USED_FLAGS_OFF + 2).toBe(VIRTQ_USED_IDX_OFF);
    expect(VIRTQ_USED_IDX_OFF + 2).toBe(VIRTQ_USED_RING_OFF);
    expect([VIRTQ_AVAIL_ELEM_SIZE, VIRTQ_EVENT_FIELD_SIZE]).toEqual([2, 2]);
  });
});

describe('split ring sizes', () => {
  it('are 16·Q, 6 + 2·Q and 6 + 8·Q', () => {
    expect(vringDescSize(256)).toBe(4096);
    expect(vringAvailSize(256)).toBe(518);
    expect(vringUsedSize(256)).toBe(2054);
    expect(vringDescSize(1)).toBe(16);
    expect(vringAvailSize(1)).toBe(8);
    expect(vringUsedSize(1)).toBe(14);
  });
});

describe('field offsets', () => {
  it('follow §2.7.5, §2.7.6 and §2.7.8', () => {
    expect([VIRTQ_DESC_ADDR_OFF, VIRTQ_DESC_LEN_OFF, VIRTQ_DESC_FLAGS_OFF, VIRTQ_DESC_NEXT_OFF]).toEqual([
      0, 8, 12, 14,
    ]);
    expect([VIRTQ_AVAIL_FLAGS_OFF, VIRTQ_AVAIL_IDX_OFF, VIRTQ_AVAIL_RING_OFF]).toEqual([0, 2, 4]);
    expect([VIRTQ_USED_FLAGS_OFF, VIRTQ_USED_IDX_OFF, VIRTQ_USED_RING_OFF]).toEqual([0, 2, 4]);
    expect(vringAvailRingOffset(3)).toBe(10);
    expect(vringUsedRingOffset(3)).toBe(28);
    expect(vringUsedEventOffset(256)).toBe(4 + 2 * 256);
    expect(vringAvailEventOffset(256)).toBe(4 + 8 * 256);
  });

  it('put the event fields in the last two bytes of their ring', () => {
    for (let q = 1; q <= 32768; q *= 2) {
      expect(vringUsedEventOffset(q) + 2).toBe(vringAvailSize(q));
      expect(vringAvailEventOffset(q) + 2).toBe(vringUsedSize(q));
    }
  });
});

describe('U16_MASK', () => {
  it('wraps a ring index modulo 2^16', () => {
    expect(U16_MASK).toBe(2 ** 16 - 1);
    expect((0xffff + 1) & U16_MASK).toBe(0);
    expect((3 - 5) & U16_MASK).toBe(0xfffe);
  });
});

/** `event` in `[old, new)` modulo 2^16, by walking the interval: the definition, not the formula. */
function inWindow(event: number, newIdx: number, old: number): boolean {
  for (let i = old; i !== newIdx; i = (i + 1) % U16) if (i === event) return true;
  return false;
}

describe('vringNeedEvent', () => {
  it.each([
    [0, 1, 0, true],
    [0, 0, 0, false],
    [1, 1, 0, false],
    [5, 10, 0, true],
    [9, 10, 0, true],
    [10, 10, 0, false],
    [4, 10, 5, false],
    [65535, 0, 65535, true],
    [0, 2, 65534, true],
    [65534, 2, 65534, true],
    [1, 2, 65534, true],
    [2, 2, 65534, false],
    [65533, 2, 65534, false],
  ])('event %i, new %i, old %i -> %s', (event, newIdx, old, expected) => {
    expect(vringNeedEvent(event, newIdx, old)).toBe(expected);
  });

  it('is true exactly when the event index lies in [old, new) modulo 2^16', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: -10, max: 310 }),
        (old, step, eventOff) => {
          const newIdx = (old + step) % U16;
          const event = (old + eventOff + U16) % U16;
          expect(vringNeedEvent(event, newIdx, old)).toBe(inWindow(event, newIdx, old));
        },
      ),
    );
  });
});
