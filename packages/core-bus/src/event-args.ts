import type { OpName } from './config-ops.js';
import { encodeArgs } from './event-codec.js';
import type { JsonValue } from './events.js';

/**
 * Largest small index whose one-element argument list is shared between events (exclusive): covers
 * vq indices of every device the project models and 8-bit status values, the arguments of the ops
 * and callbacks that run per batch (`kickVq`, `vqCb`, `getVqReady`, `setStatus`).
 */
const SHARED_INDEX_ARGS_LIMIT = 1024;

/** The argument list of a call without arguments, shared by every such event. */
export const NO_ARGS: readonly JsonValue[] = Object.freeze([]);

const sharedIndexArgs: (readonly JsonValue[] | undefined)[] = Array.from(
  { length: SHARED_INDEX_ARGS_LIMIT },
  (): undefined => undefined,
);

function isSharedIndex(value: number): boolean {
  // `-0` is excluded: a shared `[0]` would compare unequal to `[-0]` under `Object.is`.
  return Number.isInteger(value) && value >= 0 && value < SHARED_INDEX_ARGS_LIMIT && !Object.is(value, -0);
}

/**
 * The frozen one-element list `[index]` (internal). Lists of small indices are built once and shared
 * by every event that carries them, so a `kickVq` or `vqCb` event allocates no argument array.
 * @param index the vq index, recorded as given (callback events record it unencoded)
 */
export function indexArgs(index: number): readonly JsonValue[] {
  if (!isSharedIndex(index)) return Object.freeze([index]);
  let args = sharedIndexArgs[index];
  if (args === undefined) {
    args = Object.freeze([index]);
    sharedIndexArgs[index] = args;
  }
  return args;
}

/**
 * The encoded argument list of an op's `call` event (internal), frozen: {@link encodeArgs}, except that
 * no arguments and one small index share a list built once, so that a `kickVq` event allocates no
 * argument array.
 */
export function encodeOpArgs(op: OpName, args: readonly unknown[]): readonly JsonValue[] {
  if (args.length === 0) return NO_ARGS;
  const a = args[0];
  if (args.length === 1 && typeof a === 'number' && isSharedIndex(a)) return indexArgs(a);
  return Object.freeze(encodeArgs(op, args));
}
