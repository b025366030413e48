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
export { encodeValue, encodeArgs, encodeResult, toHex, fromHex, bigintToHex } from './event-codec.js';
export { type Clock, SystemClock, LogicalClock } from './clock.js';
export {
  type Interceptor,
  type InterceptDecision,
  type OpCall,
  type OpOutcome,
  type CbCall,
} from './interceptor.js';
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
  VDPA_RESET_F_CLEAN_MAP,
  VDPA_VQ_NUM_MIN_DEFAULT,
  VDPA_ATTR_MGMTDEV_BUS_NAME,
  VDPA_ATTR_MGMTDEV_DEV_NAME,
  VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES,
  VDPA_ATTR_DEV_NAME,
  VDPA_ATTR_DEV_ID,
  VDPA_ATTR_DEV_VENDOR_ID,
  VDPA_ATTR_DEV_MAX_VQS,
  VDPA_ATTR_DEV_MAX_VQ_SIZE,
  VDPA_ATTR_DEV_MIN_VQ_SIZE,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VDPA_ATTR_DEV_NET_STATUS,
  VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
  VDPA_ATTR_DEV_NET_CFG_MTU,
  VDPA_ATTR_DEV_NEGOTIATED_FEATURES,
  VDPA_ATTR_DEV_MGMTDEV_MAX_VQS,
  VDPA_ATTR_DEV_SUPPORTED_FEATURES,
  VDPA_ATTR_DEV_QUEUE_INDEX,
  VDPA_ATTR_DEV_VENDOR_ATTR_NAME,
  VDPA_ATTR_DEV_VENDOR_ATTR_VALUE,
  VDPA_ATTR_DEV_FEATURES,
  VDPA_ATTR_DEV_BLK_CFG_CAPACITY,
  VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX,
  VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE,
  VDPA_ATTR_DEV_BLK_CFG_SEG_MAX,
  VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES,
  VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP,
  VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET,
  VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE,
  VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE,
  VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC,
  VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG,
  VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN,
  VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC,
  VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG,
  VDPA_ATTR_DEV_BLK_READ_ONLY,
  VDPA_ATTR_DEV_BLK_FLUSH,
  EVENT_FORMAT_VERSION,
  DEFAULT_GUEST_MEMORY_SIZE,
  U16_MAX,
  U32_MAX,
  PACKED_VQ_IDX_MAX,
} from './constants.js';
export {
  featureName,
  featureNames,
  statusNames,
  NET_FEATURE_NAMES,
  TRANSPORT_FEATURE_NAMES,
  STATUS_NAMES,
  TRACE_TRANSPORT_F_END,
} from './trace/feature-names.js';
