export { VringError, IOVA_MAX, checkAddress, type VringErrno } from './errors.js';
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
export {
  Iotlb,
  VHOST_MAP_RO,
  VHOST_MAP_WO,
  VHOST_MAP_RW,
  type IotlbAccess,
  type IotlbMap,
  type IotlbOptions,
} from './iotlb.js';
