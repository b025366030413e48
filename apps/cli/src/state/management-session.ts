import { type ComposedStack, type VdpaBus, VdpaError } from '@vdpa-kit/core-bus';
import type { ContainerModule } from 'inversify';
import { composeCliStack } from '../compose.js';
import { CliError } from '../errors.js';
import { cliModule } from '../module.js';
import { STATE_LOG } from '../tokens.js';
import { type FoldedDevice, type FoldedState, foldState } from './fold-state.js';
import { replayState } from './replay-state.js';
import type { NewStateEvent, StateEvent } from './state-event.js';
import { withStateLock } from './state-lock.js';
import type { StateLog } from './state-log.js';

/** Options of {@link withManagementState}. */
export interface ManagementOptions {
  /** The state file. */
  readonly statePath: string;
  /** `--plugin` modules. */
  readonly plugins: readonly ContainerModule[];
  /** `--bind virtio`: compose with the virtio transport so devices come up as they are rebuilt. */
  readonly bind?: boolean;
}

/** What a management command sees: the bus holding the rebuilt devices and the folded log. */
export interface ManagementView {
  readonly bus: VdpaBus;
  readonly state: FoldedState;
  /** Devices of the log whose management device is not loaded (they keep their names). */
  readonly ghosts: ReadonlyMap<string, FoldedDevice>;
}

/** A command's outcome: its value and, for a state change the bus accepted, the event to append. */
export interface ManagementOutcome<T> {
  readonly value: T;
  readonly event?: NewStateEvent;
}

/**
 * Runs one management command against the folded state, holding the state lock throughout:
 * compose the stack, lock, read and validate the log, fold it, rebuild the devices through the bus,
 * run `fn` (which validates a change by performing it on the bus), append the change's event, unlock.
 * Two invocations at once therefore never lose or corrupt an event.
 *
 * @returns `fn`'s value and the appended event, if any
 * @throws StateError for a corrupt log (nothing is appended), a replay the bus refuses, a lock or
 * write failure; whatever `fn` throws (nothing is appended)
 */
export async function withManagementState<T>(
  options: ManagementOptions,
  fn: (view: ManagementView) => ManagementOutcome<T>,
): Promise<{ readonly value: T; readonly appended: StateEvent | undefined }> {
  let stack: ComposedStack;
  try {
    stack = composeCliStack({
      plugins: [...options.plugins, cliModule({ statePath: options.statePath })],
      transport: options.bind === true,
    });
  } catch (err) {
    throw new CliError(`cannot compose the stack: ${VdpaError.from(err).message}`, { cause: err });
  }
  const { container, bus } = stack;
  const log = container.get<StateLog>(STATE_LOG);
  try {
    return await withStateLock(log.path, () => {
      const events = log.read();
      const state = foldState(events, log.path);
      const ghosts = new Map(replayState(bus, state, log.path).map((g) => [g.name, g]));
      const outcome = fn({ bus, state, ghosts });
      const appended = outcome.event === undefined ? undefined : log.append(outcome.event, events);
      return { value: outcome.value, appended };
    });
  } finally {
    bus.dispose();
  }
}
