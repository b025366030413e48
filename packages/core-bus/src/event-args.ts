import { encodeValue } from './event-codec.js';
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
 * Encodes the first `n` (0..4) of `a`..`d` with {@link encodeValue} into a frozen argument list
 * (internal; for ops whose arguments have no `outBytes` buffer). Spares the caller an argument array
 * and, for 0 arguments or one small index, any allocation at all.
 */
export function encodeArgList(
  n: number,
  a: unknown,
  b: unknown,
  c: unknown,
  d: unknown,
): readonly JsonValue[] {
  switch (n) {
    case 0:
      return NO_ARGS;
    case 1:
      return typeof a === 'number' && isSharedIndex(a) ? indexArgs(a) : Object.freeze([encodeValue(a)]);
    case 2:
      return Object.freeze([encodeValue(a), encodeValue(b)]);
    case 3:
      return Object.freeze([encodeValue(a), encodeValue(b), encodeValue(c)]);
    default:
      return Object.freeze([encodeValue(a), encodeValue(b), encodeValue(c), encodeValue(d)]);
  }
}
