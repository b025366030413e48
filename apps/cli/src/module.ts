import { ContainerModule } from 'inversify';
import { StateLog } from './state/state-log.js';
import { STATE_LOG } from './tokens.js';

/** Options of {@link cliModule}. */
export interface CliModuleOptions {
  /** The state file (`--state`, or the default location). */
  readonly statePath: string;
}

/**
 * The CLI's own bindings, loaded by the composition root next to the plugins: `STATE_LOG` (the
 * management state log of this invocation).
 *
 * @example
 * const { container } = composeCliStack({ plugins: [cliModule({ statePath })] });
 * const log = container.get<StateLog>(STATE_LOG);
 */
export function cliModule(options: CliModuleOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<StateLog>(STATE_LOG).toConstantValue(new StateLog(options.statePath));
  });
}
