import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VHOST_USER_GET_FEATURES,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_OWNER,
  VHOST_USER_SET_VRING_CALL,
  VHOST_USER_SET_VRING_NUM,
  VHOST_USER_VERSION,
} from '@vdpa-kit/virtio-spec';
import { encodeVhostUserMessage } from './codec.js';
import { VhostUserFramer, type VhostUserFrame } from './framer.js';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function header(request: number, flags: number, size: number): Uint8Array {
  const bytes = new Uint8Array(12);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, request, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, size, true);
  return bytes;
}

const STREAM = [
  encodeVhostUserMessage(VHOST_USER_SET_OWNER, VHOST_USER_VERSION, { kind: 'none' }),
  encodeVhostUserMessage(VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, { kind: 'none' }),
  encodeVhostUserMessage(VHOST_USER_SET_VRING_NUM, VHOST_USER_VERSION, {
    kind: 'vring-state',
    index: 1,
    num: 256,
  }),
  encodeVhostUserMessage(VHOST_USER_SET_MEM_TABLE, VHOST_USER_VERSION | 0x8, {
    kind: 'memory-table',
    regions: [{ guestPhysAddr: 0n, memorySize: 0x1000n, userspaceAddr: 0x7f0000000000n, mmapOffset: 0n }],
  }),
];

function summary(frames: readonly VhostUserFrame[]): unknown[] {
  return frames.map((f) => [f.header.request, f.header.flags, [...f.payload], f.fds]);
}

describe('VhostUserFramer', () => {
  it('cuts coalesced messages, giving a chunk fds to the message it starts', () => {
    const framer = new VhostUserFramer();
    const { frames, error } = framer.push(concat(STREAM), [7]);
    expect(error).toBeNull();
    expect(frames.map((f) => f.header.request)).toEqual([
      VHOST_USER_SET_OWNER,
      VHOST_USER_GET_FEATURES,
      VHOST_USER_SET_VRING_NUM,
      VHOST_USER_SET_MEM_TABLE,
    ]);
    expect(frames.map((f) => f.fds)).toEqual([[7], [], [], []]);
    expect(framer.partial).toBe(false);
  });

  it('reassembles a message split byte by byte, fds arriving with its first byte', () => {
    const framer = new VhostUserFramer();
    const bytes = STREAM[3]!;
    const frames: VhostUserFrame[] = [];
    for (let i = 0; i < bytes.byteLength; i++) {
      const r = framer.push(bytes.subarray(i, i + 1), i === 0 ? [11] : []);
      expect(r.error).toBeNull();
      frames.push(...r.frames);
      if (i < bytes.byteLength - 1) expect(framer.partial).toBe(true);
    }
    expect(summary(frames)).toEqual([[VHOST_USER_SET_MEM_TABLE, 9, [...bytes.subarray(12)], [11]]]);
  });

  it('yields the same messages however the stream is cut', () => {
    const whole = concat(STREAM);
    const expected = summary(new VhostUserFramer().push(whole).frames);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: whole.byteLength - 1 }), { maxLength: 12 }),
        (cuts) => {
          const points = [0, ...[...cuts].sort((a, b) => a - b), whole.byteLength];
          const framer = new VhostUserFramer();
          const frames: VhostUserFrame[] = [];
          for (let i = 0; i + 1 < points.length; i++) {
            frames.push(...framer.push(whole.subarray(points[i]!, points[i + 1]!)).frames);
          }
          expect(summary(frames)).toEqual(expected);
          expect(framer.partial).toBe(false);
        },
      ),
    );
  });

  it('refuses a version other than 1, keeping the fds for closing', () => {
    const framer = new VhostUserFramer();
    const { frames, error } = framer.push(concat([STREAM[0]!, header(VHOST_USER_SET_OWNER, 0x2, 0)]), [3]);
    expect(frames).toHaveLength(1);
    expect(error?.code).toBe('BAD_VERSION');
    // The chunk's fds went to the first (good) message.
    expect(frames[0]!.fds).toEqual([3]);
    const later = framer.push(STREAM[1]!, [4]);
    expect(later.frames).toEqual([]);
    expect(later.error?.code).toBe('BAD_VERSION');
    expect(framer.heldFds()).toEqual([4]);
  });

  it('refuses version 0 and 3 but ignores the reply and need-reply bits', () => {
    for (const flags of [0x0, 0x3]) {
      expect(new VhostUserFramer().push(header(VHOST_USER_SET_OWNER, flags, 0)).error?.code).toBe(
        'BAD_VERSION',
      );
    }
    expect(new VhostUserFramer().push(header(VHOST_USER_SET_OWNER, 0xd, 0)).error).toBeNull();
  });

  it('refuses a size above the largest payload as soon as the header is in', () => {
    const framer = new VhostUserFramer();
    const { error } = framer.push(header(VHOST_USER_SET_MEM_TABLE, 1, 269), [5, 6]);
    expect(error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error?.request).toBe('SET_MEM_TABLE');
    expect(framer.heldFds()).toEqual([5, 6]);
    expect(new VhostUserFramer().push(header(VHOST_USER_SET_MEM_TABLE, 1, 268)).error).toBeNull();
  });

  it('refuses more than 8 fds on one message', () => {
    const framer = new VhostUserFramer();
    const { error } = framer.push(STREAM[3]!.subarray(0, 4), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(error?.code).toBe('TOO_MANY_FDS');
    expect(framer.heldFds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('holds the fds of an incomplete message until asked', () => {
    const framer = new VhostUserFramer();
    const call = encodeVhostUserMessage(VHOST_USER_SET_VRING_CALL, 1, {
      kind: 'vring-file',
      index: 0,
      noFd: false,
    });
    expect(framer.push(call.subarray(0, 10), [42]).frames).toEqual([]);
    expect(framer.partial).toBe(true);
    expect(framer.heldFds()).toEqual([42]);
    expect(framer.heldFds()).toEqual([]);
  });
});
