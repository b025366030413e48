import {
  bit,
  VHOST_USER_F_PROTOCOL_FEATURES,
  VHOST_USER_GET_FEATURES,
  VHOST_USER_GET_PROTOCOL_FEATURES,
  VHOST_USER_GET_QUEUE_NUM,
  VHOST_USER_GET_STATUS,
  VHOST_USER_GET_VRING_BASE,
  VHOST_USER_SET_FEATURES,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_OWNER,
  VHOST_USER_SET_PROTOCOL_FEATURES,
  VHOST_USER_SET_STATUS,
  VHOST_USER_SET_VRING_ADDR,
  VHOST_USER_SET_VRING_BASE,
  VHOST_USER_SET_VRING_CALL,
  VHOST_USER_SET_VRING_ENABLE,
  VHOST_USER_SET_VRING_ERR,
  VHOST_USER_SET_VRING_KICK,
  VHOST_USER_SET_VRING_NUM,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '@vdpa-kit/virtio-spec';
import { type VhostUserPayload, type VhostUserRegionWire } from '../codec.js';
import { type VhostUserLayout } from '../requests.js';

/**
 * One request of a recorded front-end sequence: what was sent (with how many fds) and, when the
 * back-end answers, the reply layout and payload expected.
 */
export interface RecordedRequest {
  readonly request: number;
  readonly payload?: VhostUserPayload;
  readonly needReply?: boolean;
  readonly fds?: number;
  readonly reply?: { readonly layout: VhostUserLayout; readonly payload: VhostUserPayload };
}

const u64 = (value: bigint | number): VhostUserPayload => ({ kind: 'u64', value: BigInt(value) });
const state = (index: number, num: number): VhostUserPayload => ({ kind: 'vring-state', index, num });
const file = (index: number): VhostUserPayload => ({ kind: 'vring-file', index, noFd: false });
const ack = (ok = true): RecordedRequest['reply'] => ({ layout: 'u64', payload: u64(ok ? 0 : 1) });

/**
 * Front-end message sequences observed here with DPDK 22.11 testpmd (`net_virtio_user`) and QEMU 7.2
 * (`-netdev vhost-user`) against a vhost-user back-end, as request fixtures to replay into a
 * `VhostUserSession` with a 2-ring device. The order of the requests, their flags and fd counts are the
 * observed ones; addresses that the logs give only in part (QEMU's `0x7f…` mapping) are filled in with
 * plausible values of the same shape.
 */

/** The device side: a net device offering what DPDK's vhost PMD offered virtio-user. */
export const RECORDED_DEVICE_FEATURES =
  bit(VIRTIO_NET_F_MRG_RXBUF) |
  bit(VIRTIO_RING_F_INDIRECT_DESC) |
  bit(VIRTIO_F_VERSION_1) |
  bit(VIRTIO_F_IN_ORDER);
/** What GET_FEATURES answers for {@link RECORDED_DEVICE_FEATURES}. */
export const RECORDED_OFFERED_FEATURES = RECORDED_DEVICE_FEATURES | bit(VHOST_USER_F_PROTOCOL_FEATURES);
/** Ring size both front-ends set. */
export const RECORDED_RING_NUM = 256;

/** Ring `index`'s addresses, `base` + 0x10000 per ring, in the front-end's virtual space. */
function ringAddr(index: number, base: bigint): VhostUserPayload {
  const desc = base + 0x100000n + 0x10000n * BigInt(index);
  return { kind: 'vring-addr', index, flags: 0, desc, avail: desc + 0x1000n, used: desc + 0x2000n, log: 0n };
}

/** DPDK 22.11 virtio-user's one 512 MiB region, gpa == uva. */
export const DPDK_22_11_REGION: VhostUserRegionWire = {
  guestPhysAddr: 0x10063a000n,
  memorySize: 0x20000000n,
  userspaceAddr: 0x10063a000n,
  mmapOffset: 0n,
};
/**
 * DPDK 22.11 `net_virtio_user` (queues=1) start: NEED_REPLY on SET_MEM_TABLE and SET_STATUS;
 * 0x950008000 features and 0x10009 protocol features negotiated; both rings enabled, then DRIVER_OK.
 */
export const DPDK_22_11_START: readonly RecordedRequest[] = [
  { request: VHOST_USER_SET_OWNER },
  { request: VHOST_USER_GET_FEATURES, reply: { layout: 'u64', payload: u64(RECORDED_OFFERED_FEATURES) } },
  { request: VHOST_USER_GET_PROTOCOL_FEATURES, reply: { layout: 'u64', payload: u64(0x10009) } },
  { request: VHOST_USER_SET_PROTOCOL_FEATURES, payload: u64(0x10009) },
  { request: VHOST_USER_SET_VRING_CALL, payload: file(0), fds: 1 },
  { request: VHOST_USER_SET_VRING_CALL, payload: file(1), fds: 1 },
  { request: VHOST_USER_SET_FEATURES, payload: u64(0x950008000n) },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xb), needReply: true, reply: ack() },
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0xb) } },
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0xb) } },
  {
    request: VHOST_USER_SET_MEM_TABLE,
    payload: { kind: 'memory-table', regions: [DPDK_22_11_REGION] },
    needReply: true,
    fds: 1,
    reply: ack(),
  },
  ...[0, 1].flatMap((i): readonly RecordedRequest[] => [
    { request: VHOST_USER_SET_VRING_NUM, payload: state(i, RECORDED_RING_NUM) },
    { request: VHOST_USER_SET_VRING_BASE, payload: state(i, 0) },
    { request: VHOST_USER_SET_VRING_ADDR, payload: ringAddr(i, 0x10063a000n) },
    { request: VHOST_USER_SET_VRING_KICK, payload: file(i), fds: 1 },
  ]),
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, 1) },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, 1) },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xf), needReply: true, reply: ack() },
];
/**
 * DPDK 22.11 stop: both rings disabled, then their bases read. The replies expect ring 0 at 32 and
 * ring 1 at 64: advance the device that far before replaying.
 */
export const DPDK_22_11_STOP: readonly RecordedRequest[] = [
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, 0) },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, 0) },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(0, 0),
    reply: { layout: 'vring-state', payload: state(0, 32) },
  },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(1, 0),
    reply: { layout: 'vring-state', payload: state(1, 64) },
  },
];

/** Where QEMU 7.2 mapped the 256 MiB guest memfd (the log shows `0x7f…`; this value is one such). */
export const QEMU_7_2_UVA = 0x7f4a40000000n;
/** QEMU 7.2's two regions of one memfd, around the VGA hole: gpa 0–0xa0000 and 0xc0000–256 MiB. */
export const QEMU_7_2_REGIONS: readonly VhostUserRegionWire[] = [
  { guestPhysAddr: 0n, memorySize: 0xa0000n, userspaceAddr: QEMU_7_2_UVA, mmapOffset: 0n },
  {
    guestPhysAddr: 0xc0000n,
    memorySize: 0xff40000n,
    userspaceAddr: QEMU_7_2_UVA + 0xc0000n,
    mmapOffset: 0xc0000n,
  },
];
/** The features QEMU 7.2 acks of {@link RECORDED_OFFERED_FEATURES}. */
export const QEMU_7_2_ACKED =
  bit(VIRTIO_F_VERSION_1) | bit(VHOST_USER_F_PROTOCOL_FEATURES) | bit(VIRTIO_NET_F_MRG_RXBUF);
/**
 * QEMU 7.2 `-netdev vhost-user,queues=1` start with a Linux 6.1 guest: NEED_REPLY on SET_MEM_TABLE,
 * SET_VRING_CALL again after each ring is set up, SET_VRING_ERR fds, ten SET_VRING_ENABLEs before
 * SET_FEATURES (the log records their count and that both values occur; the order here is one such
 * order).
 */
export const QEMU_7_2_START: readonly RecordedRequest[] = [
  { request: VHOST_USER_GET_FEATURES, reply: { layout: 'u64', payload: u64(RECORDED_OFFERED_FEATURES) } },
  { request: VHOST_USER_GET_PROTOCOL_FEATURES, reply: { layout: 'u64', payload: u64(0x10009) } },
  { request: VHOST_USER_SET_PROTOCOL_FEATURES, payload: u64(0x10009) },
  { request: VHOST_USER_GET_QUEUE_NUM, reply: { layout: 'u64', payload: u64(1) } },
  { request: VHOST_USER_SET_OWNER },
  { request: VHOST_USER_GET_FEATURES, reply: { layout: 'u64', payload: u64(RECORDED_OFFERED_FEATURES) } },
  ...[0, 1].flatMap((i): readonly RecordedRequest[] => [
    { request: VHOST_USER_SET_VRING_CALL, payload: file(i), fds: 1 },
    { request: VHOST_USER_SET_VRING_ERR, payload: file(i), fds: 1 },
  ]),
  ...[0, 1, 0, 1, 1].flatMap((on): readonly RecordedRequest[] => [
    { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, on) },
    { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, on) },
  ]),
  { request: VHOST_USER_SET_FEATURES, payload: u64(QEMU_7_2_ACKED) },
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0) } },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xb) },
  {
    request: VHOST_USER_SET_MEM_TABLE,
    payload: { kind: 'memory-table', regions: QEMU_7_2_REGIONS },
    needReply: true,
    fds: 2,
    reply: ack(),
  },
  ...[0, 1].flatMap((i): readonly RecordedRequest[] => [
    { request: VHOST_USER_SET_VRING_NUM, payload: state(i, RECORDED_RING_NUM) },
    { request: VHOST_USER_SET_VRING_BASE, payload: state(i, 0) },
    { request: VHOST_USER_SET_VRING_ADDR, payload: ringAddr(i, QEMU_7_2_UVA) },
    { request: VHOST_USER_SET_VRING_KICK, payload: file(i), fds: 1 },
    { request: VHOST_USER_SET_VRING_CALL, payload: file(i), fds: 1 },
  ]),
  { request: VHOST_USER_GET_STATUS, reply: { layout: 'u64', payload: u64(0xb) } },
  { request: VHOST_USER_SET_STATUS, payload: u64(0xf) },
];
/**
 * QEMU 7.2 stop: status 0 first, then the bases (replies expect 5 on both rings: advance the device
 * that far before replaying), then both rings disabled.
 */
export const QEMU_7_2_STOP: readonly RecordedRequest[] = [
  { request: VHOST_USER_SET_STATUS, payload: u64(0) },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(0, 0),
    reply: { layout: 'vring-state', payload: state(0, 5) },
  },
  {
    request: VHOST_USER_GET_VRING_BASE,
    payload: state(1, 0),
    reply: { layout: 'vring-state', payload: state(1, 5) },
  },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(0, 0) },
  { request: VHOST_USER_SET_VRING_ENABLE, payload: state(1, 0) },
];
