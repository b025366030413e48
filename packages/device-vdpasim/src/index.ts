export {
  VDPASIM_QUEUE_ALIGN,
  VDPASIM_QUEUE_MAX,
  VDPASIM_VENDOR_ID,
  VDPASIM_FEATURES,
  VDPASIM_NET_FEATURES,
  VDPASIM_NET_SUPPORTED_FEATURES,
  VDPASIM_NET_MAX_VQP,
  VDPASIM_NET_MAX_SUPPORTED_VQS,
  VDPASIM_NET_BUFFER_SIZE,
  VDPASIM_NET_DEFAULT_MTU,
  VDPASIM_NET_NGROUPS,
  VDPASIM_NET_NAS,
  VDPASIM_DATAVQ_GROUP,
  VDPASIM_CVQ_GROUP,
  VDPASIM_NET_MGMTDEV_NAME,
  VDPASIM_DEFAULT_WORK_BUDGET,
  VDPASIM_DEFAULT_MAX_IOTLB_ENTRIES,
} from './constants.js';
export { Vdpasim, type VdpasimDevAttr, type VdpasimDeps } from './vdpasim.js';
export { VdpasimVirtqueue } from './vdpasim-vq.js';
export { VdpasimIommu } from './vdpasim-iommu.js';
export { VdpasimNet, type VdpasimNetOptions } from './vdpasim-net.js';
export { VdpasimNetFilter } from './vdpasim-net-filter.js';
export {
  VdpasimNetStats,
  VDPASIM_NET_RX_STAT_NAMES,
  VDPASIM_NET_TX_STAT_NAMES,
  VDPASIM_NET_CVQ_STAT_NAMES,
} from './vdpasim-net-stats.js';
export { VdpasimNetLoopback, type VdpasimNetDatapath } from './vdpasim-net-loopback.js';
export { VdpasimNetCvq, type VdpasimNetControl } from './vdpasim-net-cvq.js';
export { VdpasimNetMgmt } from './vdpasim-net-mgmt.js';
export {
  type VdpasimOptions,
  type ResolvedVdpasimOptions,
  resolveVdpasimOptions,
} from './vdpasim-options.js';
export { VDPASIM_OPTIONS, VDPASIM_NET_MGMT } from './tokens.js';
export { vdpasimModule } from './module.js';
