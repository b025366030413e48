export {
  type OpName,
  type VdpaCallback,
  type VdpaConfigOps,
  type VdpaIovaRange,
  type VdpaMapFile,
  type VdpaNotificationArea,
  type VdpaVqState,
  type VdpaVqStatePacked,
  type VdpaVqStateSplit,
  type VendorStat,
} from './config-ops.js';
export { OP_TABLE, OP_NAMES, MANDATORY_OPS, isOpName, type OpMeta, type ValueKind } from './op-table.js';
export { VdpaError, VDPA_ERRNOS, isVdpaErrno, type VdpaErrno } from './errors.js';
export {
  BUS_OPS,
  CB_NAMES,
  MGMT_OPS,
  type BusEvent,
  type BusLifecycleEvent,
  type BusOp,
  type CbEvent,
  type CbName,
  type EventBase,
  type EventKind,
  type JsonObject,
  type JsonValue,
  type MgmtEvent,
  type MgmtOp,
  type OpEvent,
  type OpOrigin,
  type OpPhase,
} from './events.js';
export {
  encodeValue,
  encodeArgs,
  encodeResult,
  encodeIovaRange,
  toHex,
  fromHex,
  bigintToHex,
  HEX_BYTES,
} from './event-codec.js';
export { type Clock, SystemClock, LogicalClock } from './clock.js';
export type { Interceptor, OpCall, OpNext } from './interceptor.js';
export {
  type VdpaDevice,
  type VdpaAllocOptions,
  type VdpaClassId,
  VDPA_CLASS_IDS,
  isVdpaClassId,
  checkAllocOptions,
} from './vdpa-device.js';
export { IndexAllocator } from './index-allocator.js';
export type { VdpaDriver } from './vdpa-driver.js';
export type { DeviceHandle } from './device-handle.js';
export { VdpaBus } from './vdpa-bus.js';
export {
  type MgmtDevice,
  type MgmtDevInfo,
  type VdpaDevSetConfig,
  type VdpaDevAddRequest,
  type VdpaDevInfo,
  type VdpaDevConfigInfo,
  type VdpaNetConfigInfo,
  type VdpaBlkConfigInfo,
  type VdpaDevVstats,
} from './mgmt-device.js';
export type { VdpaDevSetAttrRequest } from './mgmt-registry.js';
export {
  VDPA_DEV_NET_ATTRS_MASK,
  buildDevSetConfig,
  checkMgmtdevAccepts,
  mgmtdevClasses,
  isValidEtherAddr,
  formatMac,
} from './mgmt-validation.js';
export {
  type Work,
  type WorkQueue,
  type WorkQueueMode,
  type WorkQueueOptions,
  createWorkQueue,
} from './work-queue.js';
export { type Logger, type LogLevel, type LogFields, nullLogger, consoleLogger } from './logger.js';
export {
  VDPA_BUS,
  GUEST_MEMORY,
  DMA_ALLOCATOR,
  WORK_QUEUE,
  LOGGER,
  CLOCK,
  VDPA_DRIVER,
  MGMT_DEVICE,
  CORE_BUS_OPTIONS,
} from './tokens.js';
export { coreBusModule, type CoreBusOptions, type ResolvedCoreBusOptions } from './module.js';
export { composeStack, type ComposedStack } from './compose-stack.js';
export {
  VDPA_VQ_NUM_MIN_DEFAULT,
  EVENT_FORMAT_VERSION,
  DEFAULT_GUEST_MEMORY_SIZE,
  PACKED_VQ_IDX_MAX,
} from './constants.js';
