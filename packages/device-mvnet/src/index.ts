export { mvnetModule } from './module.js';
export { MVNET_MGMT_DEVICE } from './tokens.js';
export { MvnetMgmtDevice } from './mvnet-mgmt-device.js';
export { MvnetDevice, type MvnetDeviceOptions } from './mvnet-device.js';
export { MvnetLoopback, mvnetStats, type MvnetDatapathHost, type MvnetStats } from './mvnet-datapath.js';
export { MvnetVq } from './mvnet-datapath.js';
export { mvnetConfig, mvnetMac } from './mvnet-config.js';
export { MVNET_MGMTDEV_NAME, MVNET_NVQS, MVNET_RX_VQ, MVNET_TX_VQ, MVNET_FEATURES } from './constants.js';
