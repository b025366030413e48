import { homedir } from 'node:os';
import { join } from 'node:path';

/** File name of the state log inside its directory. */
export const STATE_FILE_NAME = 'state.jsonl';
/** Directory name under the XDG state home. */
export const STATE_DIR_NAME = 'vdpa-kit';

/**
 * The default state file: `$VDPA_KIT_STATE`, else `$XDG_STATE_HOME/vdpa-kit/state.jsonl`, else
 * `~/.local/state/vdpa-kit/state.jsonl`. Empty variables count as unset.
 *
 * @param env the environment (default `process.env`)
 * @param home the home directory (default `os.homedir()`)
 */
export function defaultStatePath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const explicit = env.VDPA_KIT_STATE;
  if (explicit !== undefined && explicit.length > 0) return explicit;
  const xdg = env.XDG_STATE_HOME;
  const base = xdg !== undefined && xdg.length > 0 ? xdg : join(home, '.local', 'state');
  return join(base, STATE_DIR_NAME, STATE_FILE_NAME);
}
