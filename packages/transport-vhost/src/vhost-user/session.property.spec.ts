import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VHOST_USER_GET_VRING_BASE,
  VHOST_USER_SET_FEATURES,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_VRING_ADDR,
  VHOST_USER_SET_VRING_CALL,
  VHOST_USER_SET_VRING_ENABLE,
  VHOST_USER_SET_VRING_KICK,
} from '@vdpa-kit/virtio-spec';
import { encodeVhostUserPayload, type VhostUserPayload } from './codec.js';
import { VhostUserSession } from './session.js';
import { FakeVhostUserBackend } from './testing/fake-backend.js';

/** Well-formed messages a front-end sends, with the fds they take: they build up state to release. */
const wellFormed = fc
  .oneof(
    ...[0, 1].flatMap((index) => [
      fc.constant({
        request: VHOST_USER_SET_VRING_CALL,
        payload: { kind: 'vring-file', index, noFd: false } as const,
        fds: 1,
      }),
      fc.constant({
        request: VHOST_USER_SET_VRING_KICK,
        payload: { kind: 'vring-file', index, noFd: false } as const,
        fds: 1,
      }),
      fc.constant({
        request: VHOST_USER_SET_VRING_ENABLE,
        payload: { kind: 'vring-state', index, num: 1 } as const,
        fds: 0,
      }),
      fc.constant({
        request: VHOST_USER_GET_VRING_BASE,
        payload: { kind: 'vring-state', index, num: 0 } as const,
        fds: 0,
      }),
      fc.constant({
        request: VHOST_USER_SET_VRING_ADDR,
        payload: {
          kind: 'vring-addr',
          index,
          flags: 0,
          desc: 0x7f0000010000n,
          avail: 0x7f0000011000n,
          used: 0x7f0000012000n,
          log: 0n,
        } as const,
        fds: 0,
      }),
    ]),
    fc.constant({
      request: VHOST_USER_SET_MEM_TABLE,
      payload: {
        kind: 'memory-table',
        regions: [
          { guestPhysAddr: 0n, memorySize: 0x100000n, userspaceAddr: 0x7f0000000000n, mmapOffset: 0n },
        ],
      } as const,
      fds: 1,
    }),
    fc.constant({
      request: VHOST_USER_SET_FEATURES,
      payload: { kind: 'u64', value: 1n << 32n } as const,
      fds: 0,
    }),
  )
  .map((m) => ({
    request: m.request,
    flags: 0x1,
    payload: encodeVhostUserPayload(m.payload as VhostUserPayload),
    fds: m.fds,
  }));

/** Anything: any id, flags, payload bytes and fd count. */
const garbage = fc.record({
  request: fc.integer({ min: 0, max: 45 }),
  flags: fc.oneof(fc.constantFrom(0x1, 0x9), fc.integer({ min: 0, max: 0xff })),
  payload: fc.uint8Array({ maxLength: 80 }),
  fds: fc.integer({ min: 0, max: 3 }),
});

const peerMessage = fc.oneof({ arbitrary: wellFormed, weight: 4 }, { arbitrary: garbage, weight: 1 });

/** A backend method that refuses every call, or none. */
const failing = fc.constantFrom(
  null,
  'setMemTable',
  'setVringAddr',
  'setVringKick',
  'setVringCall',
  'setVringEnable',
  'getVringBase',
  'setFeatures',
);

function messageBytes(request: number, flags: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(12 + payload.byteLength);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, request, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, payload.byteLength, true);
  bytes.set(payload, 12);
  return bytes;
}

describe('VhostUserSession against arbitrary peer input', () => {
  it('never throws, and every fd it is given is closed exactly once by the end, whatever the backend refuses', () => {
    fc.assert(
      fc.property(
        fc.array(peerMessage, { maxLength: 30 }),
        fc.boolean(),
        failing,
        (messages, cutLast, fail) => {
          const backend = new FakeVhostUserBackend({ numVrings: 2 });
          backend.failOn(fail);
          const session = new VhostUserSession(backend);
          let nextFd = 1000;
          const given: number[] = [];
          const closed: number[] = [];
          messages.forEach((m, i) => {
            let bytes = messageBytes(m.request, m.flags, m.payload);
            if (cutLast && i === messages.length - 1)
              bytes = bytes.subarray(0, Math.max(1, bytes.byteLength >> 1));
            const fds = Array.from({ length: m.fds }, () => nextFd++);
            given.push(...fds);
            for (const step of session.receive(bytes, fds)) closed.push(...step.closeFds);
          });
          closed.push(...session.close('test over').closeFds);
          expect([...closed].sort()).toEqual([...given].sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});
