// The stack the integration tests drive: core-bus, this transport and the vdpasim_net management device
// (a devDependency, test/ only), plus a driver side written the way QEMU drives /dev/vhost-vdpa-N: rings
// and buffers in a region of guest memory, mapped at an IOVA of their own through IOTLB messages.
import { type BusEvent, DMA_ALLOCATOR, GUEST_MEMORY, type VdpaBus, composeStack } from '@vdpa-kit/core-bus';
import { collectEvents, type EventCollector } from '@vdpa-kit/core-bus/testing';
import {
  VDPASIM_NET_MGMT,
  type VdpasimNet,
  type VdpasimNetMgmt,
  vdpasimModule,
} from '@vdpa-kit/device-vdpasim';
import {
  VHOST_ACCESS_RW,
  VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_BATCH_END,
  VHOST_IOTLB_UPDATE,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  bit,
} from '@vdpa-kit/virtio-spec';
import { DmaAllocator, type GuestMemory, Virtqueue } from '@vdpa-kit/vring';
import type { Container } from 'inversify';
import {
  InProcessEventfd,
  TRANSPORT_VHOST_BUS,
  type VhostBus,
  type VhostVdpaDevice,
  transportVhostModule,
} from '../src/index.js';

/** A composed stack with the vhost transport. */
export interface VhostTestStack {
  readonly container: Container;
  readonly bus: VdpaBus;
  readonly vhostBus: VhostBus;
  readonly mem: GuestMemory;
  readonly dma: DmaAllocator;
  readonly log: EventCollector;
}

/** core-bus (logical clock, inline work queue) + transport-vhost + vdpasim_net. */
export function vhostStack(): VhostTestStack {
  const { container, bus } = composeStack([vdpasimModule(), transportVhostModule()], { clock: 'logical' });
  return {
    container,
    bus,
    vhostBus: container.get<VhostBus>(TRANSPORT_VHOST_BUS),
    mem: container.get<GuestMemory>(GUEST_MEMORY),
    dma: container.get<DmaAllocator>(DMA_ALLOCATOR),
    log: collectEvents(bus),
  };
}

/** `vdpa dev add name <name> mgmtdev vdpasim_net`; returns the simulator (bound to vhost_vdpa). */
export function addVdpasim(s: VhostTestStack, name = 'vdpa0'): VdpasimNet {
  s.bus.devAdd('vdpasim_net', name);
  const sim = s.container.get<VdpasimNetMgmt>(VDPASIM_NET_MGMT).device(name);
  if (sim === undefined) throw new Error(`vdpasim_net did not create ${name}`);
  return sim;
}

/** The op events of a driver (not the bus's or the management device's) on the log, as `[op, ...args]`. */
export function driverCalls(events: readonly BusEvent[]): unknown[][] {
  return events
    .filter((e) => e.kind === 'op' && e.phase === 'call' && e.origin === undefined)
    .map((e) => [e.op, ...((e as { args?: unknown[] }).args ?? [])]);
}

/** Where the driver's memory sits: guest-physical `gpa`, seen by the device at `iova`. */
export interface DriverRegion {
  readonly gpa: number;
  readonly iova: number;
  readonly size: number;
  /** Allocates from the region; its `dmaAddress` is the IOVA. */
  readonly dma: DmaAllocator;
}

/** Carves `size` bytes out of the stack's DMA allocator, to be mapped at `iova`. */
export function driverRegion(s: VhostTestStack, iova: number, size = 1 << 20): DriverRegion {
  const gpa = s.dma.alloc(size, 4096);
  return { gpa, iova, size, dma: new DmaAllocator(s.mem, { base: gpa, size, dmaOffset: iova - gpa }) };
}

/** The IOTLB message mapping `region` (RW) in `asid`. */
export function mapRegion(vhost: VhostVdpaDevice, region: DriverRegion, asid = 0): void {
  vhost.processIotlbMsg({
    type: VHOST_IOTLB_UPDATE,
    asid,
    iova: BigInt(region.iova),
    size: BigInt(region.size),
    uaddr: BigInt(region.gpa),
    perm: VHOST_ACCESS_RW,
  });
}

/** A ring of the driver side with its kick and call eventfds. */
export interface DriverRing {
  readonly vq: Virtqueue<number>;
  readonly kick: InProcessEventfd;
  readonly call: InProcessEventfd;
}

/** Backend features every test negotiates: v2 messages, batching, ASIDs. */
export const TEST_BACKEND_FEATURES =
  bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID);

/** Driver features the tests negotiate with vdpasim_net (it refuses features without ACCESS_PLATFORM). */
export const TEST_FEATURES = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

/** Options of {@link bringUp}. */
export interface BringUpOptions {
  /** Rings to set up (default RX 0 and TX 1). */
  readonly rings?: readonly number[];
  /** Called after FEATURES_OK, before the rings (ASID moves go here). */
  readonly beforeRings?: (vhost: VhostVdpaDevice) => void;
  /** The ASID the region is mapped in (default 0). */
  readonly asid?: number;
  /** Ring size (default 64). */
  readonly num?: number;
  /** Enable the rings after DRIVER_OK (`VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK` negotiated too). */
  readonly enableAfterDriverOk?: boolean;
}

/**
 * What QEMU's vhost-vdpa backend does to start a device: owner, backend features, ACK/DRIVER, features,
 * FEATURES_OK, the rings (num, addr, base, kick, call), the region mapped in one batch, the rings enabled,
 * DRIVER_OK.
 */
export function bringUp(
  vhost: VhostVdpaDevice,
  mem: GuestMemory,
  region: DriverRegion,
  options: BringUpOptions = {},
): DriverRing[] {
  const rings = options.rings ?? [0, 1];
  const num = options.num ?? 64;
  vhost.setOwner();
  vhost.setBackendFeatures(
    TEST_BACKEND_FEATURES |
      (options.enableAfterDriverOk === true ? bit(VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK) : 0n),
  );
  vhost.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  vhost.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  vhost.setFeatures(vhost.getFeatures() & TEST_FEATURES);
  vhost.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
  options.beforeRings?.(vhost);
  const out = rings.map((index) => {
    const kick = new InProcessEventfd();
    const call = new InProcessEventfd();
    const vq = Virtqueue.create<number>(mem, region.dma, {
      index,
      num,
      eventIdx: false,
      indirect: false,
      notify: () => kick.signal(),
    });
    const l = vq.deviceLayout;
    vhost.setVringNum({ index, num });
    vhost.setVringAddr({
      index,
      flags: 0,
      desc: BigInt(l.descAddr),
      avail: BigInt(l.availAddr),
      used: BigInt(l.usedAddr),
      log: 0n,
    });
    vhost.setVringBase({ index, num: 0 });
    vhost.setVringKick(index, kick);
    vhost.setVringCall(index, call);
    return { vq, kick, call };
  });
  const asid = options.asid ?? 0;
  vhost.processIotlbMsg({ type: VHOST_IOTLB_BATCH_BEGIN, asid, iova: 0n, size: 0n, uaddr: 0n, perm: 0 });
  mapRegion(vhost, region, asid);
  vhost.processIotlbMsg({ type: VHOST_IOTLB_BATCH_END, asid, iova: 0n, size: 0n, uaddr: 0n, perm: 0 });
  for (const index of rings) vhost.setVringEnable({ index, num: 1 });
  vhost.setStatus(
    VIRTIO_CONFIG_S_ACKNOWLEDGE |
      VIRTIO_CONFIG_S_DRIVER |
      VIRTIO_CONFIG_S_FEATURES_OK |
      VIRTIO_CONFIG_S_DRIVER_OK,
  );
  return out;
}

/** virtio-net header length with VERSION_1 (`struct virtio_net_hdr_v1`). */
export const NET_HDR_LEN = 12;

/** Writes a broadcast Ethernet frame of `len` bytes (after a zero virtio-net header) at `gpa`; returns its bytes. */
export function writeFrame(mem: GuestMemory, gpa: number, len: number, seed: number): Uint8Array {
  const frame = new Uint8Array(NET_HDR_LEN + len);
  frame.fill(0xff, NET_HDR_LEN, NET_HDR_LEN + 6);
  for (let i = NET_HDR_LEN + 6; i < frame.length; i++) frame[i] = (seed + i) & 0xff;
  mem.write(gpa, frame);
  return frame;
}

/**
 * The `code` of what `fn` throws (`'EINVAL'`, `'EPERM'`, …), or `'no error'` when it returns: lets a
 * test compare the errno a vhost ioctl fails with in one `expect`.
 */
export function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}
