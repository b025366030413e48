import { type ComposedStack, type WorkQueueMode, composeStack } from '@vdpa-kit/core-bus';
import { mvnetModule } from '@vdpa-kit/device-mvnet';
import { vdpasimModule } from '@vdpa-kit/device-vdpasim';
import { transportVhostModule } from '@vdpa-kit/transport-vhost';
import { transportVirtioModule } from '@vdpa-kit/transport-virtio';
import type { ContainerModule } from 'inversify';

/** Options of {@link composeCliStack}. */
export interface CliStackOptions {
  /** Third-party modules loaded with `--plugin`, after the built-in ones. */
  readonly plugins?: readonly ContainerModule[];
  /**
   * Register the virtio transport (`virtio_vdpa`), so that every device added binds to it and is
   * brought up by virtio-net. Off for plain management commands: like a kernel without
   * `virtio_vdpa` loaded, devices then stay unbound (no negotiated features).
   */
  readonly transport?: boolean;
  /**
   * Register the vhost transport (`vhost_vdpa`): devices whose class ids include `vhost` bind to it
   * and get a vhost-vdpa char device (what `serve` serves over vhost-user).
   */
  readonly vhost?: boolean;
  /** `inline` (default; deterministic) or `microtask`. */
  readonly workQueue?: WorkQueueMode;
  /** `clock` of the core module (default `system`). */
  readonly clock?: 'system' | 'logical';
  /** Ring size the virtio transport requests (default: the transport's). */
  readonly queueSize?: number;
}

/**
 * The composition root of the `vdpa-kit` binary: the only place that builds a stack. Loads core-bus
 * (through `composeStack`), the built-in device plugins (`vdpasim_net`, `mvnet`), optionally the
 * virtio transport, then the plugins, and registers every management device and driver on the bus.
 *
 * @throws VdpaError from registration (for example a plugin whose management device name is taken)
 * @example
 * const { bus, container } = composeCliStack({ transport: true });
 * bus.devAdd('vdpasim_net', 'vdpa0');
 */
export function composeCliStack(options: CliStackOptions = {}): ComposedStack {
  const modules: ContainerModule[] = [vdpasimModule(), mvnetModule()];
  if (options.transport === true) {
    modules.push(
      transportVirtioModule(options.queueSize === undefined ? {} : { queueSize: options.queueSize }),
    );
  }
  if (options.vhost === true) modules.push(transportVhostModule());
  modules.push(...(options.plugins ?? []));
  return composeStack(modules, {
    workQueue: options.workQueue ?? 'inline',
    clock: options.clock ?? 'system',
  });
}
