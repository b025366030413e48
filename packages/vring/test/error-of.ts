import { VringError } from '../src/errors.js';

/** The `VringError` that `fn` throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): VringError {
  try {
    fn();
  } catch (err) {
    if (err instanceof VringError) return err;
    throw err;
  }
  throw new Error('expected a VringError');
}
