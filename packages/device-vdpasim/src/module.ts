import { MGMT_DEVICE, type MgmtDevice } from '@vdpa-kit/core-bus';
import { ContainerModule } from 'inversify';
import { VDPASIM_NET_MGMT, VDPASIM_OPTIONS } from './tokens.js';
import { VdpasimNetMgmt } from './vdpasim-net-mgmt.js';
import {
  type ResolvedVdpasimOptions,
  type VdpasimOptions,
  resolveVdpasimOptions,
} from './vdpasim-options.js';

/**
 * The device-vdpasim `ContainerModule`: binds `VDPASIM_OPTIONS`, the `vdpasim_net` management device
 * (singleton under `VDPASIM_NET_MGMT`) and contributes it to core-bus's `MGMT_DEVICE` multi-binding,
 * so that `composeStack` registers it on the bus.
 *
 * @param options tuning of every simulated device (work budget, IOTLB limit)
 * @throws VdpaError `EINVAL` for bad options (see `resolveVdpasimOptions`)
 * @example
 * const { bus } = composeStack([vdpasimModule({ workBudget: 32 }), transportVirtioModule()]);
 * bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac: new Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x55]) } });
 */
export function vdpasimModule(options: VdpasimOptions = {}): ContainerModule {
  const resolved = resolveVdpasimOptions(options);
  return new ContainerModule(({ bind }) => {
    bind<ResolvedVdpasimOptions>(VDPASIM_OPTIONS).toConstantValue(resolved);
    bind<VdpasimNetMgmt>(VDPASIM_NET_MGMT).to(VdpasimNetMgmt).inSingletonScope();
    bind<MgmtDevice>(MGMT_DEVICE).toService(VDPASIM_NET_MGMT);
  });
}
