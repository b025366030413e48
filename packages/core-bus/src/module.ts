import { DmaAllocator, GuestMemory } from '@vdpa-kit/vring';
import { ContainerModule } from 'inversify';
import { type Clock, LogicalClock, SystemClock } from './clock.js';
import { DEFAULT_GUEST_MEMORY_SIZE } from './constants.js';
import { type Logger, nullLogger } from './logger.js';
import {
  CLOCK,
  CORE_BUS_OPTIONS,
  DMA_ALLOCATOR,
  GUEST_MEMORY,
  LOGGER,
  VDPA_BUS,
  WORK_QUEUE,
} from './tokens.js';
import { VdpaBus } from './vdpa-bus.js';
import { type WorkQueue, type WorkQueueMode, createWorkQueue } from './work-queue.js';

/** Options of {@link coreBusModule}. */
export interface CoreBusOptions {
  /** Size in bytes of the `GUEST_MEMORY` region (default 64 MiB). */
  readonly memorySize?: number;
  /** Back guest memory with a SharedArrayBuffer (default false). */
  readonly sharedMemory?: boolean;
  /** `WORK_QUEUE` mode (default `inline`). */
  readonly workQueue?: WorkQueueMode;
  /** `CLOCK`: `system` (default), `logical` (deterministic), or an instance. */
  readonly clock?: 'system' | 'logical' | Clock;
  /** `LOGGER` (default `nullLogger`). */
  readonly logger?: Logger;
}

/** {@link CoreBusOptions} with defaults applied (bound under `CORE_BUS_OPTIONS`). */
export interface ResolvedCoreBusOptions {
  readonly memorySize: number;
  readonly sharedMemory: boolean;
  readonly workQueue: WorkQueueMode;
  readonly clock: 'system' | 'logical' | Clock;
  readonly logger: Logger;
}

/**
 * The core `ContainerModule`: binds `VDPA_BUS` (singleton `VdpaBus`), `GUEST_MEMORY` (one
 * `GuestMemory` per container, created on first use), `DMA_ALLOCATOR` (one `DmaAllocator` over all of
 * it, shared by the transports), `WORK_QUEUE` (singleton; run errors go to the
 * logger), `CLOCK`, `LOGGER` and `CORE_BUS_OPTIONS`. Plugins contribute `VDPA_DRIVER` and
 * `MGMT_DEVICE` bindings in their own modules; use {@link composeStack} to build a container.
 *
 * @example
 * // in a composition root (apps/cli, a test), on a container it created:
 * container.load(coreBusModule({ workQueue: 'inline', clock: 'logical' }), myPluginModule);
 * const bus = container.get<VdpaBus>(VDPA_BUS);
 */
export function coreBusModule(options: CoreBusOptions = {}): ContainerModule {
  const resolved: ResolvedCoreBusOptions = Object.freeze({
    memorySize: options.memorySize ?? DEFAULT_GUEST_MEMORY_SIZE,
    sharedMemory: options.sharedMemory ?? false,
    workQueue: options.workQueue ?? 'inline',
    clock: options.clock ?? 'system',
    logger: options.logger ?? nullLogger,
  });
  return new ContainerModule(({ bind }) => {
    bind<ResolvedCoreBusOptions>(CORE_BUS_OPTIONS).toConstantValue(resolved);
    bind<Logger>(LOGGER).toConstantValue(resolved.logger);
    bind<Clock>(CLOCK)
      .toDynamicValue(() => {
        const c = resolved.clock;
        return c === 'logical' ? new LogicalClock() : c === 'system' ? new SystemClock() : c;
      })
      .inSingletonScope();
    bind<GuestMemory>(GUEST_MEMORY)
      .toDynamicValue(() => GuestMemory.create({ size: resolved.memorySize, shared: resolved.sharedMemory }))
      .inSingletonScope();
    bind<DmaAllocator>(DMA_ALLOCATOR)
      .toDynamicValue((context) => new DmaAllocator(context.get<GuestMemory>(GUEST_MEMORY)))
      .inSingletonScope();
    bind<WorkQueue>(WORK_QUEUE)
      .toDynamicValue(() =>
        createWorkQueue(resolved.workQueue, {
          onError: (error) => resolved.logger.error('work failed', { error }),
        }),
      )
      .inSingletonScope();
    bind<VdpaBus>(VDPA_BUS).to(VdpaBus).inSingletonScope();
  });
}
