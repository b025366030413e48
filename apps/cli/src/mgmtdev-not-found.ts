import type { VdpaBus } from '@vdpa-kit/core-bus';
import { CliError } from './errors.js';

/**
 * Refuses a `--mgmtdev` the bus does not have, listing the ones it has (a plugin's management device
 * appears only with `--plugin`); `run`, `serve` and `trace verify` answer it alike.
 * @param mgmtdev the name asked for
 * @param bus the bus the command composed
 * @throws CliError always
 */
export function mgmtdevNotFound(mgmtdev: string, bus: VdpaBus): never {
  const known = bus
    .mgmtdevs()
    .map((m) => m.name)
    .join(', ');
  throw new CliError(`management device ${mgmtdev} not found (loaded: ${known}; a plugin's needs --plugin)`);
}
