import type { ContainerModule } from 'inversify';
import type { CliIo } from '../io.js';

/** What the `trace` and `bench` commands need from the program that registers them. */
export interface CommandContext {
  /** Where output goes. */
  readonly io: CliIo;
  /** Receives the exit status of the command that ran. */
  readonly exit: (code: number) => void;
  /** The global `-j` / `--json` flag. */
  readonly json: () => boolean;
  /** Prints `value` as one JSON document (pretty with `-p`), ending with a newline. */
  readonly printJson: (value: unknown) => void;
  /** The `--plugin` modules, loaded once. */
  readonly plugins: () => Promise<ContainerModule[]>;
}
