import { VdpaError } from '@vdpa-kit/core-bus';
import {
  VHOST_IOTLB_MSG,
  VHOST_IOTLB_MSG_IOVA_OFFSET,
  VHOST_IOTLB_MSG_PERM_OFFSET,
  VHOST_IOTLB_MSG_SIZE_OFFSET,
  VHOST_IOTLB_MSG_TYPE_OFFSET,
  VHOST_IOTLB_MSG_UADDR_OFFSET,
  VHOST_IOTLB_MSG_V2,
  VHOST_MSG_IOTLB_OFFSET,
  VHOST_MSG_V2_ASID_OFFSET,
  VHOST_MSG_V2_SIZE,
  U32_MAX,
  U64_LIMIT,
} from '@vdpa-kit/virtio-spec';

/** Largest u8. */
const LAST_U8 = 0xff;

/**
 * `struct vhost_iotlb_msg` plus the address space id of a `struct vhost_msg_v2`: what
 * `VhostVdpaDevice.processIotlbMsg` takes. u64 fields are bigints.
 */
export interface VhostIotlbMsg {
  /** `VHOST_IOTLB_UPDATE`, `_INVALIDATE`, `_BATCH_BEGIN`, `_BATCH_END` (others are refused). */
  readonly type: number;
  /** Address space id (0 unless `VHOST_BACKEND_F_IOTLB_ASID` was negotiated; default 0). */
  readonly asid?: number;
  /** First IOVA (u64). */
  readonly iova: bigint;
  /** Length in bytes (u64). */
  readonly size: bigint;
  /** Userspace address the IOVA maps to (u64): here a `GuestMemory` physical address. */
  readonly uaddr: bigint;
  /** `VHOST_ACCESS_RO`, `_WO` or `_RW`. */
  readonly perm: number;
}

/** A decoded `write()` buffer: which header it had and the message. */
export interface DecodedVhostMsg {
  /** `VHOST_IOTLB_MSG` (v1) or `VHOST_IOTLB_MSG_V2`. */
  readonly version: typeof VHOST_IOTLB_MSG | typeof VHOST_IOTLB_MSG_V2;
  /** The message; `asid` is the v2 header's (0 for v1, or when the caller says ASIDs are off). */
  readonly msg: VhostIotlbMsg;
}

const U32_BYTES = 4;

/**
 * Decodes the bytes of one `write()` on a vhost fd the way `vhost.c: vhost_chr_write_iter()` reads
 * them: the u32 type (1 = `struct vhost_msg`, 2 = `struct vhost_msg_v2`), the asid of a v2 message
 * only when `readAsid` (`VHOST_BACKEND_F_IOTLB_ASID` negotiated; otherwise it is skipped and 0), then
 * the 32-byte `struct vhost_iotlb_msg` at offset 8. Little-endian, as on x86-64.
 *
 * @param bytes the buffer written
 * @param readAsid whether the v2 `asid` is read
 * @throws VdpaError `EINVAL` for an unknown type or a buffer too short for its message (what
 * `vhost_chr_write_iter()` answers to a short copy)
 * @example
 * const { msg } = decodeVhostMsg(bytes, true); // { type: VHOST_IOTLB_UPDATE, asid: 1, iova: 0x1000n, ... }
 */
export function decodeVhostMsg(bytes: Uint8Array, readAsid: boolean): DecodedVhostMsg {
  if (!(bytes instanceof Uint8Array) || bytes.length < U32_BYTES) {
    throw new VdpaError('EINVAL', `vhost message of ${String(bytes?.length)} bytes has no type`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(0, true);
  if (version !== VHOST_IOTLB_MSG && version !== VHOST_IOTLB_MSG_V2) {
    throw new VdpaError('EINVAL', `vhost message type ${version} is neither 1 nor 2`);
  }
  const end = VHOST_MSG_IOTLB_OFFSET + VHOST_IOTLB_MSG_TYPE_OFFSET + 1;
  if (bytes.length < end) {
    throw new VdpaError('EINVAL', `vhost message of ${bytes.length} bytes is shorter than ${end}`);
  }
  const asid =
    version === VHOST_IOTLB_MSG_V2 && readAsid ? view.getUint32(VHOST_MSG_V2_ASID_OFFSET, true) : 0;
  const at = VHOST_MSG_IOTLB_OFFSET;
  return {
    version,
    msg: {
      type: view.getUint8(at + VHOST_IOTLB_MSG_TYPE_OFFSET),
      asid,
      iova: view.getBigUint64(at + VHOST_IOTLB_MSG_IOVA_OFFSET, true),
      size: view.getBigUint64(at + VHOST_IOTLB_MSG_SIZE_OFFSET, true),
      uaddr: view.getBigUint64(at + VHOST_IOTLB_MSG_UADDR_OFFSET, true),
      perm: view.getUint8(at + VHOST_IOTLB_MSG_PERM_OFFSET),
    },
  };
}

/**
 * Encodes `msg` as the 72 bytes of a `struct vhost_msg_v2` (what QEMU and DPDK write to a vhost-vdpa
 * fd), padding zeroed.
 * @throws VdpaError `ERANGE` for a field that does not fit its C type
 */
export function encodeVhostMsgV2(msg: VhostIotlbMsg): Uint8Array {
  const bytes = new Uint8Array(VHOST_MSG_V2_SIZE);
  const view = new DataView(bytes.buffer);
  const asid = msg.asid ?? 0;
  fits(asid, U32_MAX, 'asid');
  fits(msg.type, LAST_U8, 'iotlb message type');
  fits(msg.perm, LAST_U8, 'iotlb permission');
  view.setUint32(0, VHOST_IOTLB_MSG_V2, true);
  view.setUint32(VHOST_MSG_V2_ASID_OFFSET, asid, true);
  const at = VHOST_MSG_IOTLB_OFFSET;
  view.setBigUint64(at + VHOST_IOTLB_MSG_IOVA_OFFSET, u64(msg.iova, 'iova'), true);
  view.setBigUint64(at + VHOST_IOTLB_MSG_SIZE_OFFSET, u64(msg.size, 'size'), true);
  view.setBigUint64(at + VHOST_IOTLB_MSG_UADDR_OFFSET, u64(msg.uaddr, 'uaddr'), true);
  view.setUint8(at + VHOST_IOTLB_MSG_PERM_OFFSET, msg.perm);
  view.setUint8(at + VHOST_IOTLB_MSG_TYPE_OFFSET, msg.type);
  return bytes;
}

function fits(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new VdpaError('ERANGE', `${what} ${String(value)} does not fit in 0..${max}`);
  }
}

function u64(value: bigint, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= U64_LIMIT) {
    throw new VdpaError('ERANGE', `${what} ${String(value)} is not a u64`);
  }
  return value;
}
