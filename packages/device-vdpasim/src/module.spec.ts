import { MGMT_DEVICE, type MgmtDevice, type VdpaError, composeStack } from '@vdpa-kit/core-bus';
import { describe, expect, it } from 'vitest';
import { vdpasimModule } from './module.js';
import { VDPASIM_NET_MGMT, VDPASIM_OPTIONS } from './tokens.js';
import { VdpasimNetMgmt } from './vdpasim-net-mgmt.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as VdpaError).code;
  }
  return undefined;
}

describe('vdpasimModule', () => {
  it('contributes the vdpasim_net management device, registered by composeStack', () => {
    const { container, bus } = composeStack([vdpasimModule()]);
    const mgmts = container.getAll<MgmtDevice>(MGMT_DEVICE);
    expect(mgmts.map((m) => m.name)).toEqual(['vdpasim_net']);
    expect(container.get(VDPASIM_NET_MGMT)).toBe(mgmts[0]);
    expect(mgmts[0]).toBeInstanceOf(VdpasimNetMgmt);
    expect(bus.mgmtdevs().map((m) => m.name)).toEqual(['vdpasim_net']);
  });

  it('resolves defaults and passes options on', () => {
    const { container } = composeStack([vdpasimModule()]);
    expect(container.get(VDPASIM_OPTIONS)).toEqual({ workBudget: 64, maxIotlbEntries: 2048 });
    const tuned = composeStack([vdpasimModule({ workBudget: 5, maxIotlbEntries: 0 })]);
    expect(tuned.container.get(VDPASIM_OPTIONS)).toEqual({ workBudget: 5, maxIotlbEntries: 0 });
  });

  it('refuses bad options with EINVAL', () => {
    expect(codeOf(() => vdpasimModule({ workBudget: 0 }))).toBe('EINVAL');
    expect(codeOf(() => vdpasimModule({ workBudget: 1.5 }))).toBe('EINVAL');
    expect(codeOf(() => vdpasimModule({ maxIotlbEntries: -1 }))).toBe('EINVAL');
  });
});
