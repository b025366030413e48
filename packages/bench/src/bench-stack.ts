import { type ComposedStack, composeStack } from '@vdpa-kit/core-bus';
import { vdpasimModule } from '@vdpa-kit/device-vdpasim';
import { transportVirtioModule } from '@vdpa-kit/transport-virtio';
import type { ContainerModule } from 'inversify';

/** Options of {@link composeBenchStack}. */
export interface BenchStackOptions {
  /** Load the virtio transport (`virtio_vdpa` and virtio-net), so that the device binds to it. */
  readonly transport: boolean;
  /** `clock` of the core module (default `system`). */
  readonly clock?: 'system' | 'logical';
}

/**
 * The stack a benchmark runs on: core-bus's `composeStack` with `vdpasim_net` and, when asked, the
 * virtio transport, on the inline work queue (the device's work runs in the kick, in this thread).
 * Only what a benchmark needs of the CLI's composition root: no plugins, no `mvnet`.
 *
 * @throws VdpaError from registration
 * @example
 * const { bus, container } = composeBenchStack({ transport: true });
 * bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac } });
 */
export function composeBenchStack(options: BenchStackOptions): ComposedStack {
  const modules: ContainerModule[] = [vdpasimModule()];
  if (options.transport) modules.push(transportVirtioModule());
  return composeStack(modules, { workQueue: 'inline', clock: options.clock ?? 'system' });
}
