// Test helpers shared by the specs: a composed stack (core-bus + transport-virtio), a loopback device on
// it, the bus events collected into an array, and frame builders.
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
import type { GuestMemory } from '@vdpa-kit/vring';
import type { Container } from 'inversify';
import {
  type TransportVirtioOptions,
  VIRTIO_BUS,
  type VirtioBus,
  type VirtioVdpaDriver,
  transportVirtioModule,
} from '../src/index.js';
import { LoopbackNetDevice, type LoopbackNetDeviceOptions } from '../src/testing/index.js';

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

export function makeStack(options: TransportVirtioOptions = {}, core: CoreBusOptions = {}): TestStack {
  const { container, bus } = composeStack([transportVirtioModule(options)], {
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

export type LoopbackOptions = Omit<LoopbackNetDeviceOptions, 'mem' | 'workQueue'> & {
  readonly name?: string;
  /** Set before registration (the probe happens inside `register`). */
  readonly setup?: (device: LoopbackNetDevice) => void;
};

/** Creates a loopback device on the stack's memory and work queue and registers it (→ probe). */
export function addLoopback(s: TestStack, options: LoopbackOptions = {}): LoopbackNetDevice {
  const { name = 'vdpa0', setup, ...rest } = options;
  const device = new LoopbackNetDevice({ mem: s.mem, workQueue: s.wq, ...rest });
  setup?.(device);
  device.register(s.bus, { name, classIds: ['virtio'] });
  return device;
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

/** A deterministic Ethernet-like frame of `len` bytes whose content depends on `seq`. */
export function makeFrame(seq: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seq * 31 + i * 7) & 0xff;
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

/** An interceptor answering every `getConfig` with the start of `config`, without the device. */
export function answerConfig(config: Uint8Array): Interceptor {
  return (call, next) => {
    if (call.op !== 'getConfig') return next();
    const buf = call.args[1] as Uint8Array;
    buf.set(config.subarray(0, buf.length));
    return undefined;
  };
}
