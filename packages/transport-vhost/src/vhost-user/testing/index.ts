/** Fakes of the vhost-user layer for tests (meant for the package's `./testing` entry). */
export {
  FakeVhostUserBackend,
  type FakeBackendCall,
  type FakeVhostUserBackendOptions,
} from './fake-backend.js';
export { decodeReply, frontendMessage, type DecodedReply, type FrontendMessage } from './frontend.js';
export {
  DPDK_22_11_REGION,
  DPDK_22_11_START,
  DPDK_22_11_STOP,
  QEMU_7_2_ACKED,
  QEMU_7_2_REGIONS,
  QEMU_7_2_START,
  QEMU_7_2_STOP,
  QEMU_7_2_UVA,
  RECORDED_DEVICE_FEATURES,
  RECORDED_OFFERED_FEATURES,
  RECORDED_RING_NUM,
  type RecordedRequest,
} from './recorded-sequences.js';
export {
  FE_GPA,
  FE_RING_NUM,
  FE_SIZE,
  NativeFrontend,
  type NativeFrontendLayout,
  until,
} from './native-frontend.js';
