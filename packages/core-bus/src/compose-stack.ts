import { Container, type ContainerModule } from 'inversify';
import type { MgmtDevice } from './mgmt-device.js';
import { type CoreBusOptions, coreBusModule } from './module.js';
import { MGMT_DEVICE, VDPA_BUS, VDPA_DRIVER } from './tokens.js';
import type { VdpaBus } from './vdpa-bus.js';
import type { VdpaDriver } from './vdpa-driver.js';

/** What {@link composeStack} returns. */
export interface ComposedStack {
  readonly container: Container;
  readonly bus: VdpaBus;
}

/**
 * Builds a stack: a new `Container` loaded with {@link coreBusModule} and the plugin `modules`, then
 * every bound `MGMT_DEVICE` and then every bound `VDPA_DRIVER` registered on the bus, in binding
 * order. The only place outside apps and tests that creates a `Container`; plugins never do.
 *
 * @param modules plugin modules (device plugins bind `MGMT_DEVICE`, transports `VDPA_DRIVER`)
 * @param options options of the core module
 * @throws VdpaError from registration (duplicate names, malformed drivers or mgmtdevs)
 * @example
 * const { bus } = composeStack([vdpasimModule(), transportVirtioModule()], { clock: 'logical' });
 * bus.devAdd('vdpasim_net', 'vdpa0');
 */
export function composeStack(
  modules: readonly ContainerModule[],
  options: CoreBusOptions = {},
): ComposedStack {
  const container = new Container();
  container.load(coreBusModule(options), ...modules);
  const bus = container.get<VdpaBus>(VDPA_BUS);
  for (const mdev of container.getAll<MgmtDevice>(MGMT_DEVICE, { optional: true }))
    bus.registerMgmtDevice(mdev);
  for (const driver of container.getAll<VdpaDriver>(VDPA_DRIVER, { optional: true }))
    bus.registerDriver(driver);
  return { container, bus };
}
