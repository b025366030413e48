import { MGMT_DEVICE } from '@vdpa-kit/core-bus';
import { ContainerModule } from 'inversify';
import { MvnetMgmtDevice } from './mvnet-mgmt-device.js';
import { MVNET_MGMT_DEVICE } from './tokens.js';

/**
 * The plugin: binds the `mvnet` management device to `MVNET_MGMT_DEVICE` and core-bus's `MGMT_DEVICE`.
 * @example composeStack([mvnetModule(), transportVirtioModule()]).bus.devAdd('mvnet', 'vdpa0');
 */
export function mvnetModule(): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(MVNET_MGMT_DEVICE).to(MvnetMgmtDevice).inSingletonScope();
    bind(MGMT_DEVICE).toService(MVNET_MGMT_DEVICE);
  });
}
