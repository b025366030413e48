// A composed test stack: core-bus (inline or microtask work queue) + this package's module + a driver
// that keeps the handles the bus gives it.
import {
  GUEST_MEMORY,
  composeStack,
  type DeviceHandle,
  type VdpaBus,
  type VdpaDevAddRequest,
  type WorkQueueMode,
} from '@vdpa-kit/core-bus';
import type { GuestMemory } from '@vdpa-kit/vring';
import type { Container } from 'inversify';
import { vdpasimModule } from '../src/module.js';
import { VDPASIM_NET_MGMT } from '../src/tokens.js';
import type { VdpasimNet } from '../src/vdpasim-net.js';
import type { VdpasimNetMgmt } from '../src/vdpasim-net-mgmt.js';
import type { VdpasimOptions } from '../src/vdpasim-options.js';
import { HandleCatcher } from './sim-net-driver.js';

/** Guest memory of test stacks: 8 MiB. */
const TEST_MEMORY_SIZE = 8 * 1024 * 1024;

export interface SimStack {
  readonly container: Container;
  readonly bus: VdpaBus;
  readonly mem: GuestMemory;
  readonly mgmt: VdpasimNetMgmt;
  readonly catcher: HandleCatcher;
  /** `dev add` on vdpasim_net, then the driver's handle and the simulator. */
  add(name: string, request?: VdpaDevAddRequest): { handle: DeviceHandle; sim: VdpasimNet };
}

export function simStack(
  options: { module?: VdpasimOptions; workQueue?: WorkQueueMode; memorySize?: number } = {},
): SimStack {
  const { container, bus } = composeStack([vdpasimModule(options.module)], {
    workQueue: options.workQueue ?? 'inline',
    clock: 'logical',
    memorySize: options.memorySize ?? TEST_MEMORY_SIZE,
  });
  const catcher = new HandleCatcher();
  bus.registerDriver(catcher);
  const mem = container.get<GuestMemory>(GUEST_MEMORY);
  const mgmt = container.get<VdpasimNetMgmt>(VDPASIM_NET_MGMT);
  return {
    container,
    bus,
    mem,
    mgmt,
    catcher,
    add(name, request = {}) {
      bus.devAdd('vdpasim_net', name, request);
      const sim = mgmt.device(name);
      if (sim === undefined) throw new Error(`no simulator ${name}`);
      return { handle: catcher.get(name), sim };
    },
  };
}
