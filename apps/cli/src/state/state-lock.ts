import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { StateError } from '../errors.js';

/** Lock acquisition: up to this many retries with randomised exponential back-off. */
const LOCK_RETRIES = 200;
const LOCK_MIN_TIMEOUT_MS = 5;
const LOCK_MAX_TIMEOUT_MS = 100;
/** A lock whose holder stopped refreshing it for this long is stale and may be taken over. */
const LOCK_STALE_MS = 10_000;
/** How often the holder refreshes the lock's mtime. */
const LOCK_UPDATE_MS = 2_000;

/** Path of the lock guarding state file `statePath` (a directory created atomically by `mkdir`). */
export function stateLockPath(statePath: string): string {
  return `${statePath}.lock`;
}

/**
 * Runs `fn` holding the exclusive lock of the state file (`proper-lockfile`: an atomic `mkdir` of
 * `<state>.lock`, retried with back-off, refreshed while held, taken over when stale), so that
 * concurrent invocations fold, validate and append one at a time and never lose an event.
 *
 * @param statePath the state file
 * @param fn the critical section
 * @returns what `fn` returns
 * @throws StateError when the lock cannot be taken or was compromised; whatever `fn` throws
 * @example
 * await withStateLock(path, () => { const events = log.read(); log.append(event, events); });
 */
export async function withStateLock<T>(statePath: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    mkdirSync(dirname(statePath), { recursive: true });
  } catch (err) {
    throw new StateError(
      `cannot create the directory of state file ${statePath}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(statePath, {
      realpath: false,
      lockfilePath: stateLockPath(statePath),
      stale: LOCK_STALE_MS,
      update: LOCK_UPDATE_MS,
      retries: {
        retries: LOCK_RETRIES,
        minTimeout: LOCK_MIN_TIMEOUT_MS,
        maxTimeout: LOCK_MAX_TIMEOUT_MS,
        randomize: true,
      },
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    throw new StateError(`cannot lock state file ${statePath}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const result = await fn();
    if (compromised !== undefined) {
      throw new StateError(`lock of state file ${statePath} was compromised: ${compromised.message}`, {
        cause: compromised,
      });
    }
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}
