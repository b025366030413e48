import { VDPA_DRIVER, type VdpaDriver } from '@vdpa-kit/core-bus';
import { ContainerModule } from 'inversify';
import {
  type ResolvedTransportVirtioOptions,
  type TransportVirtioOptions,
  resolveTransportVirtioOptions,
} from './options.js';
import { TRANSPORT_VIRTIO_OPTIONS, VIRTIO_BUS, VIRTIO_DRIVER } from './tokens.js';
import { VirtioBus } from './virtio-bus.js';
import type { VirtioDriver } from './virtio-driver.js';
import { VirtioNetDriver } from './virtio-net-driver.js';
import { VirtioVdpaDriver } from './virtio-vdpa-driver.js';

/**
 * The transport-virtio `ContainerModule`: binds `VDPA_DRIVER` to the `virtio_vdpa` driver (class id
 * `virtio`), `VIRTIO_BUS` to the `VirtioBus` singleton, `VIRTIO_DRIVER` to the virtio-net driver, and
 * `TRANSPORT_VIRTIO_OPTIONS`. Needs core-bus's module (`GUEST_MEMORY`, `LOGGER`); compose with
 * `composeStack`.
 *
 * @param options ring size, control-queue timeout, DMA range
 * @throws VdpaError `EINVAL` for an invalid option
 * @example
 * const { container, bus } = composeStack([vdpasimModule(), transportVirtioModule({ queueSize: 512 })]);
 * bus.devAdd('vdpasim_net', 'vdpa0');
 * const net = container.get<VirtioBus>(VIRTIO_BUS).netDevice('vdpa0');
 */
export function transportVirtioModule(options: TransportVirtioOptions = {}): ContainerModule {
  const resolved = resolveTransportVirtioOptions(options);
  return new ContainerModule(({ bind }) => {
    bind<ResolvedTransportVirtioOptions>(TRANSPORT_VIRTIO_OPTIONS).toConstantValue(resolved);
    bind<VirtioDriver>(VIRTIO_DRIVER).to(VirtioNetDriver).inSingletonScope();
    bind<VirtioBus>(VIRTIO_BUS).to(VirtioBus).inSingletonScope();
    bind<VdpaDriver>(VDPA_DRIVER).to(VirtioVdpaDriver).inSingletonScope();
  });
}
