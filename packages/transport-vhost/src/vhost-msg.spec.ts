import fc from 'fast-check';
import {
  VHOST_ACCESS_RW,
  VHOST_IOTLB_MSG,
  VHOST_IOTLB_MSG_V2,
  VHOST_IOTLB_UPDATE,
  VHOST_MSG_V2_SIZE,
} from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { decodeVhostMsg, encodeVhostMsgV2 } from './vhost-msg.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('vhost_msg_v2 codec (vhost.c: vhost_chr_write_iter())', () => {
  it('round-trips every message through the 72 bytes, u64 fields exact', () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.integer({ min: 0, max: 255 }),
          asid: fc.integer({ min: 0, max: 0xffff_ffff }),
          iova: u64,
          size: u64,
          uaddr: u64,
          perm: fc.integer({ min: 0, max: 255 }),
        }),
        (msg) => {
          const bytes = encodeVhostMsgV2(msg);
          expect(bytes.length).toBe(VHOST_MSG_V2_SIZE);
          expect(decodeVhostMsg(bytes, true)).toEqual({ version: VHOST_IOTLB_MSG_V2, msg });
        },
      ),
    );
  });

  it('lays the fields out as the uAPI does: type, asid, then iova/size/uaddr/perm/type at offset 8', () => {
    const bytes = encodeVhostMsgV2({
      type: VHOST_IOTLB_UPDATE,
      asid: 1,
      iova: 0x1122334455667788n,
      size: 0x1000n,
      uaddr: 0x2000n,
      perm: VHOST_ACCESS_RW,
    });
    const view = new DataView(bytes.buffer);
    expect([view.getUint32(0, true), view.getUint32(4, true)]).toEqual([VHOST_IOTLB_MSG_V2, 1]);
    expect(view.getBigUint64(8, true)).toBe(0x1122334455667788n);
    expect([view.getUint8(32), view.getUint8(33)]).toEqual([VHOST_ACCESS_RW, VHOST_IOTLB_UPDATE]);
    expect(bytes.subarray(34).every((b) => b === 0)).toBe(true);
  });

  it('skips the asid unless IOTLB_ASID was negotiated, and reads v1 messages (asid 0)', () => {
    const bytes = encodeVhostMsgV2({
      type: VHOST_IOTLB_UPDATE,
      asid: 7,
      iova: 1n,
      size: 2n,
      uaddr: 3n,
      perm: 1,
    });
    expect(decodeVhostMsg(bytes, false).msg.asid).toBe(0);
    new DataView(bytes.buffer).setUint32(0, VHOST_IOTLB_MSG, true);
    expect(decodeVhostMsg(bytes, true)).toMatchObject({
      version: VHOST_IOTLB_MSG,
      msg: { asid: 0, iova: 1n },
    });
  });

  it('refuses an unknown header type or a short buffer with EINVAL, and unencodable fields with ERANGE', () => {
    const bytes = new Uint8Array(VHOST_MSG_V2_SIZE);
    new DataView(bytes.buffer).setUint32(0, 3, true);
    expect(() => decodeVhostMsg(bytes, true)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => decodeVhostMsg(new Uint8Array(3), true)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    const short = encodeVhostMsgV2({ type: 2, iova: 0n, size: 1n, uaddr: 0n, perm: 1 }).subarray(0, 33);
    expect(() => decodeVhostMsg(short, true)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => encodeVhostMsgV2({ type: 2, iova: 1n << 64n, size: 1n, uaddr: 0n, perm: 1 })).toThrow(
      expect.objectContaining({ code: 'ERANGE' }),
    );
    expect(() => encodeVhostMsgV2({ type: 256, iova: 0n, size: 1n, uaddr: 0n, perm: 1 })).toThrow(
      expect.objectContaining({ code: 'ERANGE' }),
    );
  });
});
