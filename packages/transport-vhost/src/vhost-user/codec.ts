import {
  VHOST_MEMORY_BASELINE_NREGIONS,
  VHOST_USER_CONFIG_HDR_SIZE,
  VHOST_USER_HDR_SIZE,
  VHOST_USER_INFLIGHT_SIZE,
  VHOST_USER_IOTLB_SIZE,
  VHOST_USER_LOG_SIZE,
  VHOST_USER_MAX_CONFIG_SIZE,
  VHOST_USER_MEMORY_HDR_SIZE,
  VHOST_USER_MEMORY_REGION_SIZE,
  VHOST_USER_REPLY_MASK,
  VHOST_USER_SINGLE_REGION_SIZE,
  VHOST_USER_U64_SIZE,
  VHOST_USER_VERSION,
  VHOST_USER_VRING_ADDR_SIZE,
  VHOST_USER_VRING_IDX_MASK,
  VHOST_USER_VRING_NOFD_MASK,
  VHOST_USER_VRING_STATE_SIZE,
} from '@vdpa-kit/virtio-spec';
import { VhostUserError } from './errors.js';
import { type VhostUserLayout } from './requests.js';

/** The 12-byte message header (vhost-user.rst "Header"), host (little-endian) byte order. */
export interface VhostUserHeader {
  /** Request id. */
  readonly request: number;
  /** Version (bits 0–1), REPLY (0x4), NEED_REPLY (0x8). */
  readonly flags: number;
  /** Payload bytes that follow. */
  readonly size: number;
}

/** One memory region as it travels (vhost-user.rst "Memory region description"). */
export interface VhostUserRegionWire {
  /** Guest-physical address of the region's first byte. */
  readonly guestPhysAddr: bigint;
  /** Bytes of the region. */
  readonly memorySize: bigint;
  /** The front-end's virtual address of the region's first byte. */
  readonly userspaceAddr: bigint;
  /** Offset of the region's first byte in its fd. */
  readonly mmapOffset: bigint;
}

/** No payload. */
export interface VhostUserNonePayload {
  readonly kind: 'none';
}
/** A `u64` (features, status, queue count, protocol features, MTU, REPLY_ACK status). */
export interface VhostUserU64Payload {
  readonly kind: 'u64';
  readonly value: bigint;
}
/** Vring state: a ring index and a number (size, base, enable). */
export interface VhostUserVringStatePayload {
  readonly kind: 'vring-state';
  readonly index: number;
  readonly num: number;
}
/** Vring address: front-end virtual addresses of the three parts, and the log address. */
export interface VhostUserVringAddrPayload {
  readonly kind: 'vring-addr';
  readonly index: number;
  /** Bit 0 = `VHOST_VRING_F_LOG`. */
  readonly flags: number;
  readonly desc: bigint;
  readonly used: bigint;
  readonly avail: bigint;
  readonly log: bigint;
}
/** Kick/call/err file: the ring index (bits 0–7) and the no-fd bit (bit 8); other bits are ignored. */
export interface VhostUserVringFilePayload {
  readonly kind: 'vring-file';
  readonly index: number;
  readonly noFd: boolean;
}
/** Memory table: up to `VHOST_MEMORY_BASELINE_NREGIONS` regions. */
export interface VhostUserMemoryTablePayload {
  readonly kind: 'memory-table';
  readonly regions: readonly VhostUserRegionWire[];
}
/** A single memory region (ADD_MEM_REG / REM_MEM_REG). */
export interface VhostUserMemoryRegionPayload {
  readonly kind: 'memory-region';
  readonly region: VhostUserRegionWire;
}
/** Log description (SET_LOG_BASE). */
export interface VhostUserLogPayload {
  readonly kind: 'log';
  readonly mmapSize: bigint;
  readonly mmapOffset: bigint;
}
/** `struct vhost_iotlb_msg` (IOTLB_MSG). */
export interface VhostUserIotlbPayload {
  readonly kind: 'iotlb';
  readonly iova: bigint;
  readonly size: bigint;
  readonly uaddr: bigint;
  /** `VHOST_ACCESS_*`. */
  readonly perm: number;
  /** `VHOST_IOTLB_*`. */
  readonly type: number;
}
/** Device config space access: `size` bytes at `offset`; `payload.length === size`. */
export interface VhostUserConfigPayload {
  readonly kind: 'config';
  readonly offset: number;
  readonly size: number;
  /** `VHOST_SET_CONFIG_TYPE_*`. */
  readonly flags: number;
  readonly payload: Uint8Array;
}
/** Inflight description (GET/SET_INFLIGHT_FD). */
export interface VhostUserInflightPayload {
  readonly kind: 'inflight';
  readonly mmapSize: bigint;
  readonly mmapOffset: bigint;
  readonly numQueues: number;
  readonly queueSize: number;
}
/** The bytes of a request this layer does not decode. */
export interface VhostUserOpaquePayload {
  readonly kind: 'opaque';
  readonly bytes: Uint8Array;
}

/** Every payload of vhost-user.rst "Message types" this layer decodes, by `kind`. */
export type VhostUserPayload =
  | VhostUserNonePayload
  | VhostUserU64Payload
  | VhostUserVringStatePayload
  | VhostUserVringAddrPayload
  | VhostUserVringFilePayload
  | VhostUserMemoryTablePayload
  | VhostUserMemoryRegionPayload
  | VhostUserLogPayload
  | VhostUserIotlbPayload
  | VhostUserConfigPayload
  | VhostUserInflightPayload
  | VhostUserOpaquePayload;

/** Largest payload this layer reads: a config access of `VHOST_USER_MAX_CONFIG_SIZE` bytes. */
export const VU_MAX_PAYLOAD_SIZE = Math.max(
  VHOST_USER_CONFIG_HDR_SIZE + VHOST_USER_MAX_CONFIG_SIZE,
  VHOST_USER_MEMORY_HDR_SIZE + VHOST_MEMORY_BASELINE_NREGIONS * VHOST_USER_MEMORY_REGION_SIZE,
);

const U64_MASK = (1n << 64n) - 1n;
const U32_LIMIT = 2 ** 32;
const U16_LIMIT = 2 ** 16;
const U8_LIMIT = 2 ** 8;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function sizeError(request: string, layout: VhostUserLayout, got: number, want: string): VhostUserError {
  return new VhostUserError(
    'BAD_PAYLOAD_SIZE',
    request,
    `payload of ${got} bytes does not match the ${layout} layout (${want} bytes)`,
  );
}

function expectSize(request: string, layout: VhostUserLayout, got: number, want: number): void {
  if (got !== want) throw sizeError(request, layout, got, String(want));
}

function readRegion(v: DataView, at: number): VhostUserRegionWire {
  return {
    guestPhysAddr: v.getBigUint64(at, true),
    memorySize: v.getBigUint64(at + 8, true),
    userspaceAddr: v.getBigUint64(at + 16, true),
    mmapOffset: v.getBigUint64(at + 24, true),
  };
}

function writeRegion(v: DataView, at: number, r: VhostUserRegionWire): void {
  v.setBigUint64(at, r.guestPhysAddr, true);
  v.setBigUint64(at + 8, r.memorySize, true);
  v.setBigUint64(at + 16, r.userspaceAddr, true);
  v.setBigUint64(at + 24, r.mmapOffset, true);
}

/**
 * Reads the 12-byte header at `offset` of `bytes` (which must hold 12 bytes there). No check: the
 * framer validates version and size.
 *
 * @param bytes a buffer holding the header
 * @param offset where the header starts
 */
export function decodeVhostUserHeader(bytes: Uint8Array, offset = 0): VhostUserHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset, VHOST_USER_HDR_SIZE);
  return { request: v.getUint32(0, true), flags: v.getUint32(4, true), size: v.getUint32(8, true) };
}

/**
 * Decodes a payload of `layout` from exactly its bytes.
 *
 * @param layout the request's layout (from the request table)
 * @param bytes the payload, `header.size` bytes
 * @param request the request's name, for errors
 * @throws VhostUserError `BAD_PAYLOAD_SIZE` when the size does not match the layout (a memory table
 *   must be 8 + 32·nregions bytes, a config access 12 + size), `BAD_MEMORY_TABLE` for more than
 *   `VHOST_MEMORY_BASELINE_NREGIONS` regions, `BAD_PAYLOAD` for a config access above
 *   `VHOST_USER_MAX_CONFIG_SIZE` bytes
 */
export function decodeVhostUserPayload(
  layout: VhostUserLayout,
  bytes: Uint8Array,
  request: string,
): VhostUserPayload {
  const v = view(bytes);
  const n = bytes.byteLength;
  switch (layout) {
    case 'none':
      expectSize(request, layout, n, 0);
      return { kind: 'none' };
    case 'u64':
      expectSize(request, layout, n, VHOST_USER_U64_SIZE);
      return { kind: 'u64', value: v.getBigUint64(0, true) };
    case 'vring-state':
      expectSize(request, layout, n, VHOST_USER_VRING_STATE_SIZE);
      return { kind: 'vring-state', index: v.getUint32(0, true), num: v.getUint32(4, true) };
    case 'vring-addr':
      expectSize(request, layout, n, VHOST_USER_VRING_ADDR_SIZE);
      return {
        kind: 'vring-addr',
        index: v.getUint32(0, true),
        flags: v.getUint32(4, true),
        desc: v.getBigUint64(8, true),
        used: v.getBigUint64(16, true),
        avail: v.getBigUint64(24, true),
        log: v.getBigUint64(32, true),
      };
    case 'vring-file': {
      expectSize(request, layout, n, VHOST_USER_U64_SIZE);
      // Only the low word matters: bits 0–7 index, bit 8 no-fd (DPDK VHOST_USER_VRING_IDX_MASK).
      const low = v.getUint32(0, true);
      return {
        kind: 'vring-file',
        index: low & VHOST_USER_VRING_IDX_MASK,
        noFd: (low & VHOST_USER_VRING_NOFD_MASK) !== 0,
      };
    }
    case 'memory-table': {
      if (n < VHOST_USER_MEMORY_HDR_SIZE) {
        throw sizeError(request, layout, n, `${VHOST_USER_MEMORY_HDR_SIZE} + 32·nregions`);
      }
      const nregions = v.getUint32(0, true);
      if (nregions > VHOST_MEMORY_BASELINE_NREGIONS) {
        throw new VhostUserError(
          'BAD_MEMORY_TABLE',
          request,
          `${nregions} regions exceed the ${VHOST_MEMORY_BASELINE_NREGIONS} a memory table holds`,
        );
      }
      expectSize(request, layout, n, VHOST_USER_MEMORY_HDR_SIZE + nregions * VHOST_USER_MEMORY_REGION_SIZE);
      const regions: VhostUserRegionWire[] = [];
      for (let i = 0; i < nregions; i++) {
        regions.push(readRegion(v, VHOST_USER_MEMORY_HDR_SIZE + i * VHOST_USER_MEMORY_REGION_SIZE));
      }
      return { kind: 'memory-table', regions };
    }
    case 'memory-region':
      expectSize(request, layout, n, VHOST_USER_SINGLE_REGION_SIZE);
      return { kind: 'memory-region', region: readRegion(v, VHOST_USER_U64_SIZE) };
    case 'log':
      expectSize(request, layout, n, VHOST_USER_LOG_SIZE);
      return { kind: 'log', mmapSize: v.getBigUint64(0, true), mmapOffset: v.getBigUint64(8, true) };
    case 'iotlb':
      expectSize(request, layout, n, VHOST_USER_IOTLB_SIZE);
      return {
        kind: 'iotlb',
        iova: v.getBigUint64(0, true),
        size: v.getBigUint64(8, true),
        uaddr: v.getBigUint64(16, true),
        perm: v.getUint8(24),
        type: v.getUint8(25),
      };
    case 'config': {
      if (n < VHOST_USER_CONFIG_HDR_SIZE) {
        throw sizeError(request, layout, n, `${VHOST_USER_CONFIG_HDR_SIZE} + size`);
      }
      const size = v.getUint32(4, true);
      if (size > VHOST_USER_MAX_CONFIG_SIZE) {
        throw new VhostUserError(
          'BAD_PAYLOAD',
          request,
          `config access of ${size} bytes exceeds ${VHOST_USER_MAX_CONFIG_SIZE}`,
        );
      }
      expectSize(request, layout, n, VHOST_USER_CONFIG_HDR_SIZE + size);
      return {
        kind: 'config',
        offset: v.getUint32(0, true),
        size,
        flags: v.getUint32(8, true),
        payload: bytes.slice(VHOST_USER_CONFIG_HDR_SIZE),
      };
    }
    case 'inflight':
      expectSize(request, layout, n, VHOST_USER_INFLIGHT_SIZE);
      return {
        kind: 'inflight',
        mmapSize: v.getBigUint64(0, true),
        mmapOffset: v.getBigUint64(8, true),
        numQueues: v.getUint16(16, true),
        queueSize: v.getUint16(18, true),
      };
    case 'opaque':
      return { kind: 'opaque', bytes: bytes.slice() };
  }
}

function checkU64(value: bigint, what: string): void {
  if (value < 0n || value > U64_MASK) throw new RangeError(`${what} ${value} is not a u64`);
}

function checkUint(value: number, limit: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= limit) {
    throw new RangeError(`${what} ${value} does not fit its field`);
  }
}

function payloadSize(p: VhostUserPayload): number {
  switch (p.kind) {
    case 'none':
      return 0;
    case 'u64':
    case 'vring-file':
      return VHOST_USER_U64_SIZE;
    case 'vring-state':
      return VHOST_USER_VRING_STATE_SIZE;
    case 'vring-addr':
      return VHOST_USER_VRING_ADDR_SIZE;
    case 'memory-table':
      return VHOST_USER_MEMORY_HDR_SIZE + p.regions.length * VHOST_USER_MEMORY_REGION_SIZE;
    case 'memory-region':
      return VHOST_USER_SINGLE_REGION_SIZE;
    case 'log':
      return VHOST_USER_LOG_SIZE;
    case 'iotlb':
      return VHOST_USER_IOTLB_SIZE;
    case 'config':
      return VHOST_USER_CONFIG_HDR_SIZE + p.payload.byteLength;
    case 'inflight':
      return VHOST_USER_INFLIGHT_SIZE;
    case 'opaque':
      return p.bytes.byteLength;
  }
}

function checkRegion(r: VhostUserRegionWire): void {
  checkU64(r.guestPhysAddr, 'guest_phys_addr');
  checkU64(r.memorySize, 'memory_size');
  checkU64(r.userspaceAddr, 'userspace_addr');
  checkU64(r.mmapOffset, 'mmap_offset');
}

function writePayload(v: DataView, p: VhostUserPayload, bytes: Uint8Array): void {
  switch (p.kind) {
    case 'none':
      return;
    case 'u64':
      checkU64(p.value, 'u64');
      v.setBigUint64(0, p.value, true);
      return;
    case 'vring-state':
      checkUint(p.index, U32_LIMIT, 'index');
      checkUint(p.num, U32_LIMIT, 'num');
      v.setUint32(0, p.index, true);
      v.setUint32(4, p.num, true);
      return;
    case 'vring-addr':
      checkUint(p.index, U32_LIMIT, 'index');
      checkUint(p.flags, U32_LIMIT, 'flags');
      for (const [k, x] of [
        ['desc', p.desc],
        ['used', p.used],
        ['avail', p.avail],
        ['log', p.log],
      ] as const) {
        checkU64(x, k);
      }
      v.setUint32(0, p.index, true);
      v.setUint32(4, p.flags, true);
      v.setBigUint64(8, p.desc, true);
      v.setBigUint64(16, p.used, true);
      v.setBigUint64(24, p.avail, true);
      v.setBigUint64(32, p.log, true);
      return;
    case 'vring-file':
      checkUint(p.index, VHOST_USER_VRING_IDX_MASK + 1, 'index');
      v.setUint32(0, p.index | (p.noFd ? VHOST_USER_VRING_NOFD_MASK : 0), true);
      return;
    case 'memory-table':
      if (p.regions.length > VHOST_MEMORY_BASELINE_NREGIONS) {
        throw new RangeError(`${p.regions.length} regions exceed ${VHOST_MEMORY_BASELINE_NREGIONS}`);
      }
      v.setUint32(0, p.regions.length, true);
      p.regions.forEach((r, i) => {
        checkRegion(r);
        writeRegion(v, VHOST_USER_MEMORY_HDR_SIZE + i * VHOST_USER_MEMORY_REGION_SIZE, r);
      });
      return;
    case 'memory-region':
      checkRegion(p.region);
      writeRegion(v, VHOST_USER_U64_SIZE, p.region);
      return;
    case 'log':
      checkU64(p.mmapSize, 'mmap_size');
      checkU64(p.mmapOffset, 'mmap_offset');
      v.setBigUint64(0, p.mmapSize, true);
      v.setBigUint64(8, p.mmapOffset, true);
      return;
    case 'iotlb':
      checkU64(p.iova, 'iova');
      checkU64(p.size, 'size');
      checkU64(p.uaddr, 'uaddr');
      checkUint(p.perm, U8_LIMIT, 'perm');
      checkUint(p.type, U8_LIMIT, 'type');
      v.setBigUint64(0, p.iova, true);
      v.setBigUint64(8, p.size, true);
      v.setBigUint64(16, p.uaddr, true);
      v.setUint8(24, p.perm);
      v.setUint8(25, p.type);
      return;
    case 'config':
      if (p.size !== p.payload.byteLength) {
        throw new RangeError(`config size ${p.size} differs from its ${p.payload.byteLength} payload bytes`);
      }
      checkUint(p.offset, U32_LIMIT, 'offset');
      checkUint(p.flags, U32_LIMIT, 'flags');
      v.setUint32(0, p.offset, true);
      v.setUint32(4, p.size, true);
      v.setUint32(8, p.flags, true);
      bytes.set(p.payload, VHOST_USER_CONFIG_HDR_SIZE);
      return;
    case 'inflight':
      checkU64(p.mmapSize, 'mmap_size');
      checkU64(p.mmapOffset, 'mmap_offset');
      checkUint(p.numQueues, U16_LIMIT, 'num_queues');
      checkUint(p.queueSize, U16_LIMIT, 'queue_size');
      v.setBigUint64(0, p.mmapSize, true);
      v.setBigUint64(8, p.mmapOffset, true);
      v.setUint16(16, p.numQueues, true);
      v.setUint16(18, p.queueSize, true);
      return;
    case 'opaque':
      bytes.set(p.bytes);
      return;
  }
}

/**
 * Serializes a payload into its wire bytes (padding zeroed).
 *
 * @param payload the payload
 * @throws RangeError when a field does not fit its width (a caller's bug, never peer input)
 */
export function encodeVhostUserPayload(payload: VhostUserPayload): Uint8Array {
  const bytes = new Uint8Array(payloadSize(payload));
  writePayload(view(bytes), payload, bytes);
  return bytes;
}

/**
 * Serializes a whole message: the header (`size` from the payload) followed by the payload.
 *
 * @param request request id
 * @param flags header flags; the version bits are the caller's (use `VHOST_USER_VERSION`)
 * @param payload the payload
 * @example
 * encodeVhostUserMessage(VHOST_USER_SET_OWNER, VHOST_USER_VERSION, { kind: 'none' });
 */
export function encodeVhostUserMessage(
  request: number,
  flags: number,
  payload: VhostUserPayload,
): Uint8Array {
  const body = encodeVhostUserPayload(payload);
  const bytes = new Uint8Array(VHOST_USER_HDR_SIZE + body.byteLength);
  const v = view(bytes);
  v.setUint32(0, request, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, body.byteLength, true);
  bytes.set(body, VHOST_USER_HDR_SIZE);
  return bytes;
}

/**
 * Serializes a back-end reply: the request id echoed, `flags = VERSION | REPLY` (exactly 0x5, which
 * DPDK's `vhost_user_read()` requires), the payload.
 *
 * @param request the id of the request answered
 * @param payload the reply payload
 */
export function encodeVhostUserReply(request: number, payload: VhostUserPayload): Uint8Array {
  return encodeVhostUserMessage(request, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, payload);
}
