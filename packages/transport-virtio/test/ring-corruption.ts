// Ring-protocol violations against real devices, written into guest memory at the right moment. A used
// ring (the device's side) is corrupted after the device wrote it and before the driver reads it: on
// the vq callback event, which the bus emits just before it calls the driver's callback (core-bus
// config-channel.ts wrapCallback). An available ring (the driver's side) is corrupted when the driver
// kicks, before the device reads it. Ring addresses come from the driver's own setVqNum /
// setVqAddress ops. Direct descriptors only (mvnet and vdpasim_net do not offer INDIRECT_DESC).
import type { BusEvent, Interceptor, VdpaBus } from '@vdpa-kit/core-bus';
import { type GuestMemory } from '@vdpa-kit/vring';
import { filter, take } from 'rxjs';
import { driverOps } from './harness.js';
import {
  VIRTQ_AVAIL_ELEM_SIZE,
  VIRTQ_AVAIL_IDX_OFF,
  VIRTQ_AVAIL_RING_OFF,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_FLAGS_OFF,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_NEXT_OFF,
  VIRTQ_DESC_SIZE,
  VIRTQ_USED_ELEM_ID_OFF,
  VIRTQ_USED_ELEM_LEN_OFF,
  VIRTQ_USED_ELEM_SIZE,
  VIRTQ_USED_IDX_OFF,
  VIRTQ_USED_RING_OFF,
} from '@vdpa-kit/virtio-spec';

/** Ring indices are free-running u16 (virtio 1.2 §2.7). */
const U16_MASK = 0xffff;

/** Where the driver put the split ring of one vq. */
export interface VqRing {
  readonly num: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

/** The ring of vq `idx` of `dev`, from the last `setVqNum` / `setVqAddress` the driver issued. */
export function vqRing(events: readonly BusEvent[], idx: number, dev = 'vdpa0'): VqRing {
  const ops = driverOps(events, dev).filter((e) => e.args?.[0] === idx);
  const num = ops.filter((e) => e.op === 'setVqNum').at(-1)?.args?.[1];
  const addr = ops.filter((e) => e.op === 'setVqAddress').at(-1)?.args;
  if (typeof num !== 'number' || addr === undefined) throw new Error(`vq ${idx} of ${dev} was not set up`);
  return { num, desc: addr[1] as number, avail: addr[2] as number, used: addr[3] as number };
}

/** Runs `corrupt` once, on the next used-buffer callback of vq `idx` of `dev`, before the driver's. */
export function beforeNextVqCallback(bus: VdpaBus, idx: number, corrupt: () => void, dev = 'vdpa0'): void {
  bus.events$
    .pipe(
      filter((e) => e.kind === 'cb' && e.op === 'vqCb' && e.dev === dev && e.args[0] === idx),
      take(1),
    )
    .subscribe(corrupt);
}

/** Guest address of used element `slot` (taken modulo the ring size). */
function usedElem(ring: VqRing, slot: number): number {
  return ring.used + VIRTQ_USED_RING_OFF + (slot & (ring.num - 1)) * VIRTQ_USED_ELEM_SIZE;
}

/**
 * Publishes the last used element again: the driver takes the first copy, after which its id is no
 * longer in flight (`virtqueue_get_buf`'s "id is not a head" check).
 */
export function repeatLastUsed(mem: GuestMemory, ring: VqRing): void {
  const idx = mem.readU16(ring.used + VIRTQ_USED_IDX_OFF);
  const last = usedElem(ring, idx - 1);
  const next = usedElem(ring, idx);
  mem.writeU32(next + VIRTQ_USED_ELEM_ID_OFF, mem.readU32(last + VIRTQ_USED_ELEM_ID_OFF));
  mem.writeU32(next + VIRTQ_USED_ELEM_LEN_OFF, 0);
  mem.writeU16(ring.used + VIRTQ_USED_IDX_OFF, (idx + 1) & U16_MASK);
}

/** Makes the last used element report one byte more than its chain's device-writable bytes. */
export function overstateLastUsedLen(mem: GuestMemory, ring: VqRing): void {
  const last = usedElem(ring, mem.readU16(ring.used + VIRTQ_USED_IDX_OFF) - 1);
  let room = 0;
  // Walk the chain (a receive buffer: every descriptor is device-writable), at most num links.
  let d = mem.readU32(last + VIRTQ_USED_ELEM_ID_OFF);
  for (let n = 0; n < ring.num; n++) {
    const at = ring.desc + d * VIRTQ_DESC_SIZE;
    room += mem.readU32(at + VIRTQ_DESC_LEN_OFF);
    if ((mem.readU16(at + VIRTQ_DESC_FLAGS_OFF) & VIRTQ_DESC_F_NEXT) === 0) break;
    d = mem.readU16(at + VIRTQ_DESC_NEXT_OFF);
  }
  mem.writeU32(last + VIRTQ_USED_ELEM_LEN_OFF, room + 1);
}

/**
 * An interceptor that, on the next kick of vq `idx`, makes the available entry the driver published
 * last name a head beyond the queue, which the device must refuse (vringh.c `__vringh_get_head` checks
 * head < num), before the device reads it.
 */
export function corruptLastAvailOnKick(mem: GuestMemory, ring: () => VqRing, idx: number): Interceptor {
  let done = false;
  return (call, next) => {
    if (!done && call.op === 'kickVq' && call.args[0] === idx && call.origin === undefined) {
      done = true;
      const r = ring();
      const availIdx = mem.readU16(r.avail + VIRTQ_AVAIL_IDX_OFF);
      const slot = (availIdx - 1) & (r.num - 1);
      mem.writeU16(r.avail + VIRTQ_AVAIL_RING_OFF + slot * VIRTQ_AVAIL_ELEM_SIZE, r.num + 5);
    }
    return next();
  };
}
