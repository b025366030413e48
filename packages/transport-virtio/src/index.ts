export { transportVirtioModule } from './module.js';
export { VIRTIO_BUS, VIRTIO_DRIVER, TRANSPORT_VIRTIO_OPTIONS } from './tokens.js';
export {
  resolveTransportVirtioOptions,
  type TransportVirtioOptions,
  type ResolvedTransportVirtioOptions,
} from './options.js';
export { VirtioError, type VirtioErrorReason } from './errors.js';
export {
  negotiateFeatures,
  checkTransportFeatures,
  hasFeature,
  VIRTIO_TRANSPORT_REQUIRED_FEATURES,
  VIRTIO_TRANSPORT_OPTIONAL_FEATURES,
} from './features.js';
export { VirtioDevice, type VirtioDeviceOptions, type FindVqsOptions } from './virtio-device.js';
export {
  setupVq,
  chooseQueueSize,
  type VirtqueueInfo,
  type PooledVirtqueueInfo,
  type VirtqueuePool,
  type VirtqueueOf,
  type VqSetupContext,
} from './virtio-vq-setup.js';
export type { VirtioDriver } from './virtio-driver.js';
export { VirtioBus } from './virtio-bus.js';
export { VirtioVdpaDriver, VIRTIO_VDPA_DRIVER_NAME } from './virtio-vdpa-driver.js';
export type { NetInterface, RxBatch, NetConfigSnapshot, NetQueueStats } from './net-interface.js';
export { VirtioNet, type VirtioNetOptions } from './virtio-net.js';
export { VirtioNetDriver, VIRTIO_NET_DRIVER_NAME, VIRTIO_NET_DRIVER_FEATURES } from './virtio-net-driver.js';
export {
  readNetProbeConfig,
  readNetStatus,
  generateMac,
  netConfigSnapshot,
  type NetConfig,
  type NetProbeConfig,
  type NetLinkStatus,
} from './virtio-net-config.js';
export { NetQueueCounters } from './net-queue-counters.js';
export { NetRxQueue, type RxSink } from './virtio-net-rx.js';
export { NetTxQueue } from './virtio-net-tx.js';
export { NetControlQueue } from './virtio-net-cvq.js';
export { DEFAULT_QUEUE_SIZE, CONFIG_GENERATION_RETRIES, DEFAULT_CVQ_TIMEOUT_MS } from './constants.js';
