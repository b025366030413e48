export { VringError, IOVA_MAX, checkAddress, checkU64, type VringErrno } from './errors.js';
export {
  GuestMemory,
  readU64,
  writeU64,
  type GuestMemoryOptions,
  type MemoryBacking,
  type MemoryRegion,
} from './guest-memory.js';
export { DmaAllocator, type DmaAllocatorOptions } from './dma-allocator.js';
export { Iov } from './iov.js';
export { Iotlb, type IotlbAccess, type IotlbMap, type IotlbOptions } from './iotlb.js';
export {
  type SplitRingLayout,
  vringSize,
  legacyLayout,
  validateLayout,
  checkQueueSize,
} from './split-ring-layout.js';
export { Virtqueue } from './virtqueue.js';
export { VirtqueueCore } from './virtqueue-core.js';
export { PooledVirtqueue, type SlotArray } from './pooled-virtqueue.js';
export type { PooledVirtqueueOptions } from './pooled-virtqueue-options.js';
export type { VirtqueueOptions } from './virtqueue-options.js';
export { BufferList } from './virtqueue-buffer-list.js';
export { Vringh, type VringhInitOptions } from './vringh.js';
export { VringhRingState } from './vringh-ring-state.js';
export {
  VringhLoopback,
  type VringhLoopbackFilter,
  type VringhLoopbackStop,
  VRINGH_LOOPBACK_BUDGET,
  VRINGH_LOOPBACK_EMPTY,
  VRINGH_LOOPBACK_SLOW,
} from './vringh-loopback.js';
export type { DeviceVirtqueue } from './vringh-device-virtqueue.js';
