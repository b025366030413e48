import { describe, expect, it } from 'vitest';
import {
  VHOST_USER_GET_FEATURES,
  VHOST_USER_REM_MEM_REG,
  VHOST_USER_SET_LOG_FD,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_OWNER,
  VHOST_USER_SET_VRING_KICK,
  VHOST_USER_SET_VRING_NUM,
  VHOST_USER_VERSION,
} from '@vdpa-kit/virtio-spec';
import { encodeVhostUserMessage, type VhostUserPayload } from './codec.js';
import { VhostUserError } from './errors.js';
import { VhostUserFramer } from './framer.js';
import { decodeVhostUserFrame } from './message.js';
import { vhostUserRequestName, vhostUserRequestSpecs } from './requests.js';

function decode(request: number, payload: VhostUserPayload, fds: number[] = []): unknown {
  const { frames } = new VhostUserFramer().push(
    encodeVhostUserMessage(request, VHOST_USER_VERSION, payload),
    fds,
  );
  try {
    return decodeVhostUserFrame(frames[0]!);
  } catch (err) {
    if (err instanceof VhostUserError) return `${err.code} ${err.request}`;
    throw err;
  }
}

const REGION = { guestPhysAddr: 0n, memorySize: 0x1000n, userspaceAddr: 0x1000n, mmapOffset: 0n };

describe('decodeVhostUserFrame', () => {
  it('names every defined request, 1 to 43', () => {
    expect(vhostUserRequestSpecs().map((s) => s.id)).toEqual(Array.from({ length: 43 }, (_, i) => i + 1));
    expect(vhostUserRequestName(VHOST_USER_SET_MEM_TABLE)).toBe('SET_MEM_TABLE');
    expect(vhostUserRequestName(99)).toBe('request 99');
  });

  it('refuses an unknown request', () => {
    expect(decode(0, { kind: 'none' })).toBe('UNKNOWN_REQUEST request 0');
    expect(decode(44, { kind: 'none' })).toBe('UNKNOWN_REQUEST request 44');
  });

  it("refuses a payload that does not match the request's layout", () => {
    expect(decode(VHOST_USER_SET_VRING_NUM, { kind: 'none' })).toBe('BAD_PAYLOAD_SIZE SET_VRING_NUM');
    expect(
      decode(VHOST_USER_SET_VRING_NUM, {
        kind: 'vring-addr',
        index: 0,
        flags: 0,
        desc: 0n,
        used: 0n,
        avail: 0n,
        log: 0n,
      }),
    ).toBe('BAD_PAYLOAD_SIZE SET_VRING_NUM');
    expect(decode(VHOST_USER_GET_FEATURES, { kind: 'u64', value: 0n })).toBe('BAD_PAYLOAD_SIZE GET_FEATURES');
  });

  it('refuses fds on a request that takes none', () => {
    expect(decode(VHOST_USER_SET_OWNER, { kind: 'none' }, [5])).toBe('UNEXPECTED_FDS SET_OWNER');
    expect(decode(VHOST_USER_SET_VRING_KICK, { kind: 'vring-file', index: 0, noFd: true }, [5])).toBe(
      'UNEXPECTED_FDS SET_VRING_KICK',
    );
  });

  it('refuses more or fewer fds than the request takes', () => {
    expect(decode(VHOST_USER_SET_VRING_KICK, { kind: 'vring-file', index: 0, noFd: false }, [5, 6])).toBe(
      'TOO_MANY_FDS SET_VRING_KICK',
    );
    expect(decode(VHOST_USER_SET_VRING_KICK, { kind: 'vring-file', index: 0, noFd: false })).toBe(
      'MISSING_FDS SET_VRING_KICK',
    );
    expect(decode(VHOST_USER_SET_MEM_TABLE, { kind: 'memory-table', regions: [REGION, REGION] }, [5])).toBe(
      'MISSING_FDS SET_MEM_TABLE',
    );
    expect(decode(VHOST_USER_SET_MEM_TABLE, { kind: 'memory-table', regions: [REGION] }, [5, 6])).toBe(
      'TOO_MANY_FDS SET_MEM_TABLE',
    );
    expect(decode(VHOST_USER_SET_LOG_FD, { kind: 'none' })).toBe('MISSING_FDS SET_LOG_FD');
  });

  it('accepts each request with the fds it takes', () => {
    const kick = decode(VHOST_USER_SET_VRING_KICK, { kind: 'vring-file', index: 1, noFd: false }, [9]);
    expect(kick).toMatchObject({
      spec: { name: 'SET_VRING_KICK' },
      payload: { index: 1, noFd: false },
      fds: [9],
    });
    expect(
      decode(VHOST_USER_SET_MEM_TABLE, { kind: 'memory-table', regions: [REGION, REGION] }, [5, 6]),
    ).toMatchObject({
      fds: [5, 6],
    });
    expect(decode(VHOST_USER_REM_MEM_REG, { kind: 'memory-region', region: REGION })).toMatchObject({
      fds: [],
    });
    expect(decode(VHOST_USER_REM_MEM_REG, { kind: 'memory-region', region: REGION }, [4])).toMatchObject({
      fds: [4],
    });
  });
});
