// Test helpers shared by the unit specs (src/*.spec.ts) and the integration tests (test/*.int.spec.ts):
// a composed stack (core-bus + transport-virtio + the device modules a test passes), core-bus's
// FakeDevice shaped as a net device, the bus events collected into an array, and frame builders.
// It imports no device package: unit specs use it, and they may not depend on a device.
import {
  type BusEvent,
  type Interceptor,
  type CoreBusOptions,
  GUEST_MEMORY,
  type OpEvent,
  type VdpaBus,
  WORK_QUEUE,
  type WorkQueue,
  composeStack,
} from '@vdpa-kit/core-bus';
import { FakeDevice, type FakeDeviceOptions } from '@vdpa-kit/core-bus/testing';
import { type GuestMemory } from '@vdpa-kit/vring';
import type { Container, ContainerModule } from 'inversify';
import {
  type TransportVirtioOptions,
  VIRTIO_BUS,
  type VirtioBus,
  type VirtioVdpaDriver,
  transportVirtioModule,
} from '../src/index.js';
import {
  bit,
  ETH_ALEN,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_VQS_PER_PAIR,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '@vdpa-kit/virtio-spec';

/** Guest memory of a test stack: plenty for a few devices with 256-entry rings. */
const TEST_MEMORY_SIZE = 16 * 1024 * 1024;

export interface TestStack {
  readonly container: Container;
  readonly bus: VdpaBus;
  readonly vbus: VirtioBus;
  readonly mem: GuestMemory;
  readonly wq: WorkQueue;
  readonly driver: VirtioVdpaDriver;
  /** Every bus event since the stack was composed. */
  readonly events: BusEvent[];
}

/** core-bus + transport-virtio + `modules` (device plugins), with a logical clock. */
export function makeStack(
  options: TransportVirtioOptions = {},
  core: CoreBusOptions = {},
  modules: readonly ContainerModule[] = [],
): TestStack {
  const { container, bus } = composeStack([...modules, transportVirtioModule(options)], {
    clock: 'logical',
    memorySize: TEST_MEMORY_SIZE,
    ...core,
  });
  const events: BusEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  return {
    container,
    bus,
    vbus: container.get<VirtioBus>(VIRTIO_BUS),
    mem: container.get<GuestMemory>(GUEST_MEMORY),
    wq: container.get<WorkQueue>(WORK_QUEUE),
    driver: bus.driver('virtio_vdpa') as VirtioVdpaDriver,
    events,
  };
}

/** The MAC of a fake net device unless told otherwise. */
export const FAKE_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

/** Options of {@link addFakeNet}: the net shape, then any FakeDevice option. */
export interface FakeNetOptions extends Omit<FakeDeviceOptions, 'config' | 'nvqs'> {
  readonly name?: string;
  /** Config MAC (default {@link FAKE_MAC}). */
  readonly mac?: Uint8Array;
  /** Config MTU (default 1500). */
  readonly mtu?: number;
  /** Config `max_virtqueue_pairs` and the data vq count (default 1). */
  readonly maxQueuePairs?: number;
  /** Config status LINK_UP (default true). */
  readonly linkUp?: boolean;
  /** Feature bits removed from the offer. */
  readonly withoutFeatures?: bigint;
  /** Runs before registration (the probe happens inside `register`): install interceptors here. */
  readonly setup?: (fake: FakeDevice) => void;
}

/**
 * A FakeDevice offering VERSION_1, ACCESS_PLATFORM, EVENT_IDX, INDIRECT_DESC, MAC, STATUS, MTU and a
 * control queue (CTRL_VQ, CTRL_RX, CTRL_MAC_ADDR; MQ with more than one pair), with a
 * `virtio_net_config` (§5.1.4), registered as `vdpa0` (→ probe). It has no datapath: it records ops,
 * counts kicks and never uses a buffer; misbehaviour comes from interceptors and its public fields.
 */
export function addFakeNet(s: TestStack, options: FakeNetOptions = {}): FakeDevice {
  const {
    name = 'vdpa0',
    mac = FAKE_MAC,
    mtu = 1500,
    maxQueuePairs = 1,
    linkUp = true,
    withoutFeatures = 0n,
    deviceFeatures,
    setup,
    ...rest
  } = options;
  let offer =
    bit(VIRTIO_F_VERSION_1) |
    bit(VIRTIO_F_ACCESS_PLATFORM) |
    bit(VIRTIO_RING_F_EVENT_IDX) |
    bit(VIRTIO_RING_F_INDIRECT_DESC) |
    bit(VIRTIO_NET_F_MAC) |
    bit(VIRTIO_NET_F_STATUS) |
    bit(VIRTIO_NET_F_MTU) |
    bit(VIRTIO_NET_F_CTRL_VQ) |
    bit(VIRTIO_NET_F_CTRL_RX) |
    bit(VIRTIO_NET_F_CTRL_MAC_ADDR);
  if (maxQueuePairs > 1) offer |= bit(VIRTIO_NET_F_MQ);
  const fake = new FakeDevice({
    deviceFeatures: (deviceFeatures ?? offer) & ~withoutFeatures,
    nvqs: VIRTIO_NET_VQS_PER_PAIR * maxQueuePairs + 1,
    config: netConfig({ mac, mtu, maxQueuePairs, linkUp }),
    ...rest,
  });
  setup?.(fake);
  fake.register(s.bus, { name, classIds: ['virtio'] });
  return fake;
}

/** A `virtio_net_config` (§5.1.4): MAC, status, `max_virtqueue_pairs`, MTU. */
export function netConfig(fields: {
  readonly mac: Uint8Array;
  readonly linkUp: boolean;
  readonly maxQueuePairs: number;
  readonly mtu: number;
}): Uint8Array {
  const config = new Uint8Array(VIRTIO_NET_CONFIG_SIZE);
  const view = new DataView(config.buffer);
  config.set(fields.mac.subarray(0, ETH_ALEN), VIRTIO_NET_CONFIG_MAC);
  view.setUint16(VIRTIO_NET_CONFIG_STATUS, fields.linkUp ? VIRTIO_NET_S_LINK_UP : 0, true);
  view.setUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, fields.maxQueuePairs, true);
  view.setUint16(VIRTIO_NET_CONFIG_MTU, fields.mtu, true);
  return config;
}

/** Indices of the vqs of a FakeDevice that are ready. */
export function fakeReadyVqs(fake: FakeDevice): number[] {
  return fake.vqs.flatMap((vq, i) => (vq.ready ? [i] : []));
}

/** The `call` op events a driver issued on `dev` (core/bus/mgmt-originated ops left out). */
export function driverOps(events: readonly BusEvent[], dev = 'vdpa0'): OpEvent[] {
  return events.filter(
    (e): e is OpEvent => e.kind === 'op' && e.dev === dev && e.phase === 'call' && e.origin === undefined,
  );
}

/** The bus lifecycle event `op` about `dev`, last one. */
export function busEvent(events: readonly BusEvent[], op: string, dev = 'vdpa0'): BusEvent | undefined {
  return events.filter((e) => e.kind === 'bus' && e.op === op && e.dev === dev).at(-1);
}

/**
 * A deterministic Ethernet-like frame of `len` bytes whose content depends on `seq`; with `dst` its
 * destination address is `dst` (a device with a receive filter, like vdpasim_net, then accepts it).
 */
export function makeFrame(seq: number, len: number, dst?: Uint8Array): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seq * 31 + i * 7) & 0xff;
  if (dst !== undefined) f.set(dst.subarray(0, Math.min(ETH_ALEN, len)));
  return f;
}

/** Copies every frame of every batch delivered to `net.onReceive`, with its queue. */
export function collectFrames(net: {
  onReceive(
    h: (b: {
      queue: number;
      count: number;
      data: Uint8Array[];
      offsets: Uint32Array;
      lengths: Uint32Array;
    }) => void,
  ): () => void;
}): { frames: { queue: number; bytes: Uint8Array }[]; batches: number; stop: () => void } {
  const out = { frames: [] as { queue: number; bytes: Uint8Array }[], batches: 0, stop: () => {} };
  out.stop = net.onReceive((b) => {
    out.batches++;
    for (let i = 0; i < b.count; i++) {
      out.frames.push({ queue: b.queue, bytes: b.data[i].slice(b.offsets[i], b.offsets[i] + b.lengths[i]) });
    }
  });
  return out;
}

/** Lets queued microtasks and immediates run (for the `microtask` work queue). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** An interceptor answering every `getConfig` from `config` at the read's offset, without the device. */
export function answerConfig(config: Uint8Array): Interceptor {
  return (call, next) => {
    if (call.op !== 'getConfig') return next();
    const offset = call.args[0] as number;
    const buf = call.args[1] as Uint8Array;
    buf.set(config.subarray(offset, offset + buf.length));
    return undefined;
  };
}
