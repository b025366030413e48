import { VdpaError, type VdpaBus } from '@vdpa-kit/core-bus';
import { StateError } from '../errors.js';
import type { FoldedDevice, FoldedState } from './fold-state.js';

/**
 * Rebuilds the folded devices on `bus` through the real management path (`devAdd`, then `devSetAttr`
 * for a recorded MAC change), in the order they were added. A device whose management device is not
 * loaded in this invocation (a plugin left out) is not built: it is returned as a ghost, still owns
 * its name, and reappears when the plugin is loaded again.
 *
 * @returns the ghosts
 * @throws StateError naming the `dev_add` line when the bus refuses to rebuild a device
 */
export function replayState(bus: VdpaBus, state: FoldedState, path: string): FoldedDevice[] {
  const loaded = new Set(bus.mgmtdevs().map((m) => m.name));
  const ghosts: FoldedDevice[] = [];
  for (const dev of state.devices.values()) {
    if (!loaded.has(dev.mgmtdev)) {
      ghosts.push(dev);
      continue;
    }
    try {
      bus.devAdd(dev.mgmtdev, dev.name, dev.request);
      if (dev.setMac !== undefined) bus.devSetAttr(dev.name, { mac: dev.setMac });
    } catch (err) {
      const e = VdpaError.from(err);
      throw new StateError(
        `state file ${path} line ${dev.line}: cannot rebuild device ${dev.name} on ${dev.mgmtdev}: ${e.message}`,
        { line: dev.line, cause: e },
      );
    }
  }
  return ghosts;
}
