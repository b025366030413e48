export { FakeDevice, type FakeCall, type FakeDeviceOptions, type FakeVq } from './fake-device.js';
export { FakeMgmtDevice, type FakeMgmtDeviceOptions } from './fake-mgmt-device.js';
export { FakeTransport, type FakeTransportOptions, type FakeTransportRecord } from './fake-transport.js';
export { collectEvents, type EventCollector } from './collect-events.js';
export { negotiateTestFeatures, setupTestVq, type TestVqOptions } from './test-driver-vq.js';
