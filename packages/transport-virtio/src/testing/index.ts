export {
  LoopbackNetDevice,
  type LoopbackNetDeviceOptions,
  type LoopbackMisbehaviour,
} from './loopback-net-device.js';
export { LoopbackControl, type LoopbackCommand } from './loopback-control.js';
