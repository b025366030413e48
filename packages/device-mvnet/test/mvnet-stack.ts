// A composed stack for the device tests: core-bus + mvnetModule, a fake virtio transport, a logger
// that collects warnings, and the guest memory rings are allocated from.
import type { GuestMemory } from '@vdpa-kit/vring';
import { GUEST_MEMORY, type LogFields, type Logger, composeStack } from '@vdpa-kit/core-bus';
import { FakeTransport } from '@vdpa-kit/core-bus/testing';
import { mvnetModule } from '../src/module.js';
import { LoopbackDriver, type LoopbackDriverOptions } from './loopback-driver.js';

const TEST_MEMORY_SIZE = 8 << 20;

/** One logged record. */
export interface LogRecord extends LogFields {
  readonly message: string;
}

/** Builds core-bus + mvnet with a `virtio_vdpa` fake transport registered. */
export function mvnetStack() {
  const warnings: LogRecord[] = [];
  const ignore = (): void => {};
  const logger: Logger = {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (message, fields) => warnings.push({ message, ...fields }),
  };
  const { bus, container } = composeStack([mvnetModule()], {
    memorySize: TEST_MEMORY_SIZE,
    clock: 'logical',
    logger,
  });
  const mem = container.get<GuestMemory>(GUEST_MEMORY);
  const virtio = new FakeTransport('virtio_vdpa', ['virtio']);
  bus.registerDriver(virtio);
  /** Adds device `name` and brings a loopback driver up on it. */
  const addWithDriver = (name = 'vdpa0', options?: LoopbackDriverOptions): LoopbackDriver => {
    bus.devAdd('mvnet', name);
    return new LoopbackDriver(virtio.handle(name), mem, options);
  };
  return { bus, container, mem, virtio, warnings, addWithDriver };
}
