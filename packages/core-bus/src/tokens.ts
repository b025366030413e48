/**
 * inversify service identifiers of `@vdpa-kit/core-bus`. `Symbol.for` so that two copies of the
 * package in one process still agree.
 */

/** The `VdpaBus` singleton. */
export const VDPA_BUS = Symbol.for('@vdpa-kit/core-bus/VdpaBus');
/** The stack's `GuestMemory` (the "physical address space"). */
export const GUEST_MEMORY = Symbol.for('@vdpa-kit/core-bus/GuestMemory');
/**
 * The driver side's `DmaAllocator` over `GUEST_MEMORY` (the stack's `dma_alloc_coherent`): every
 * transport that puts rings and buffers in guest memory allocates from it, so two transports in one
 * stack never overlap.
 */
export const DMA_ALLOCATOR = Symbol.for('@vdpa-kit/core-bus/DmaAllocator');
/** The `WorkQueue` devices run their datapath on. */
export const WORK_QUEUE = Symbol.for('@vdpa-kit/core-bus/WorkQueue');
/** The `Logger`. */
export const LOGGER = Symbol.for('@vdpa-kit/core-bus/Logger');
/** The `Clock` stamping events. */
export const CLOCK = Symbol.for('@vdpa-kit/core-bus/Clock');
/** Multi-bound: every `VdpaDriver` (transport) a plugin contributes; `composeStack` registers them. */
export const VDPA_DRIVER = Symbol.for('@vdpa-kit/core-bus/VdpaDriver');
/** Multi-bound: every `MgmtDevice` a device plugin contributes; `composeStack` registers them. */
export const MGMT_DEVICE = Symbol.for('@vdpa-kit/core-bus/MgmtDevice');
/** The resolved `CoreBusOptions`. */
export const CORE_BUS_OPTIONS = Symbol.for('@vdpa-kit/core-bus/CoreBusOptions');
