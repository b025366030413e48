import { VDPA_DRIVER, type VdpaDriver } from '@vdpa-kit/core-bus';
import { ContainerModule } from 'inversify';
import { TRANSPORT_VHOST_BUS } from './tokens.js';
import { VhostBus } from './vhost-bus.js';
import { VhostVdpaDriver } from './vhost-vdpa-driver.js';

/**
 * The transport-vhost `ContainerModule`: binds `VDPA_DRIVER` to the `vhost_vdpa` driver (class id
 * `vhost`) and `TRANSPORT_VHOST_BUS` to the {@link VhostBus} singleton the char devices are opened
 * from. Needs core-bus's module (`GUEST_MEMORY`, `LOGGER`); compose with `composeStack`.
 *
 * @example
 * const { container, bus } = composeStack([vdpasimModule(), transportVhostModule()]);
 * bus.devAdd('vdpasim_net', 'vdpa0');
 * const vhost = container.get<VhostBus>(TRANSPORT_VHOST_BUS).open('vdpa0');
 */
export function transportVhostModule(): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<VhostBus>(TRANSPORT_VHOST_BUS).to(VhostBus).inSingletonScope();
    bind<VdpaDriver>(VDPA_DRIVER).to(VhostVdpaDriver).inSingletonScope();
  });
}
