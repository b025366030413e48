// The real devices the integration tests drive (devDependencies of this package, test/ only): a stack
// with the mvnet and vdpasim_net management devices, `dev add` helpers and the device-side views a
// test reads (vendor statistics as `vdpa dev vstats show` gives them, vq readiness).
import type { CoreBusOptions, VdpaConfigOps, VdpaDevAddRequest } from '@vdpa-kit/core-bus';
import { mvnetModule } from '@vdpa-kit/device-mvnet';
import {
  VDPASIM_NET_MGMT,
  VDPASIM_NET_SUPPORTED_FEATURES,
  type VdpasimNet,
  type VdpasimNetMgmt,
  vdpasimModule,
} from '@vdpa-kit/device-vdpasim';
import { VIRTIO_NET_F_MQ, bit } from '@vdpa-kit/virtio-spec';
import type { TransportVirtioOptions } from '../src/index.js';
import { type TestStack, makeStack } from './harness.js';

/**
 * vdpasim_net's offer with RX mode (CTRL_RX): beyond the kernel's default offer (`VDPASIM_NET_FEATURES`),
 * so provisioned with `device_features` by the tests of RX-mode commands.
 */
export const WITH_RX_MODES = VDPASIM_NET_SUPPORTED_FEATURES & ~bit(VIRTIO_NET_F_MQ);

/** The MAC the tests provision on a device unless they test the MAC itself. */
export const DEVICE_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

/** core-bus + transport-virtio + the `mvnet` and `vdpasim_net` management devices. */
export function deviceStack(options: TransportVirtioOptions = {}, core: CoreBusOptions = {}): TestStack {
  return makeStack(options, core, [mvnetModule(), vdpasimModule()]);
}

/** `vdpa dev add name <name> mgmtdev vdpasim_net …` (→ probe); returns the simulator behind it. */
export function addVdpasim(s: TestStack, request: VdpaDevAddRequest = {}, name = 'vdpa0'): VdpasimNet {
  s.bus.devAdd('vdpasim_net', name, request);
  const sim = s.container.get<VdpasimNetMgmt>(VDPASIM_NET_MGMT).device(name);
  if (sim === undefined) throw new Error(`vdpasim_net did not create ${name}`);
  return sim;
}

/** `vdpa dev add name <name> mgmtdev mvnet …` (→ probe); returns the device's config ops. */
export function addMvnet(s: TestStack, request: VdpaDevAddRequest = {}, name = 'vdpa0'): VdpaConfigOps {
  const dev = s.bus.devAdd('mvnet', name, request);
  return dev.ops;
}

/** Adds a device of either kind with {@link DEVICE_MAC}; frames addressed to it pass any filter. */
export function addLoopbackDevice(s: TestStack, mgmtdev: 'mvnet' | 'vdpasim_net'): VdpaConfigOps {
  const request = { net: { mac: DEVICE_MAC } };
  return mgmtdev === 'mvnet' ? addMvnet(s, request) : addVdpasim(s, request);
}

/** Vendor statistic `stat` of vq `queue` of `dev` (`vdpa dev vstats show <dev> qidx <queue>`). */
export function vstat(s: TestStack, queue: number, stat: string, dev = 'vdpa0'): bigint {
  const found = s.bus.devVstats(dev, queue).stats.find((st) => st.name === stat);
  if (found === undefined) throw new Error(`vq ${queue} of ${dev} has no statistic "${stat}"`);
  return found.value;
}

/** Indices of the vqs of `ops` (a device's config ops) that are ready, asked of the device directly. */
export function readyVqs(ops: VdpaConfigOps, nvqs: number): number[] {
  return Array.from({ length: nvqs }, (_, i) => i).filter((i) => ops.getVqReady(i));
}
