import {
  OP_TABLE,
  VdpaError,
  fromHex,
  type BusEvent,
  type JsonValue,
  type OpName,
  type ValueKind,
  type VdpaCallback,
} from '@vdpa-kit/core-bus';
import { busEventSchema } from './trace-format.js';
import { TraceError } from './trace-error.js';
import { recordProblem } from './trace-issues.js';
import { VALUE_KIND_SCHEMAS, argsProblem, iotlbOf, resultProblem, valueProblem } from './value-schemas.js';

/** Placeholder a decoded `callback` argument gets: replay substitutes a live callback. */
export const REPLAY_CALLBACK: VdpaCallback = () => undefined;

/** Throws `EINVAL` with the schema's message of `problem`, if any. */
function check(problem: string | undefined): void {
  if (problem !== undefined) throw new VdpaError('EINVAL', problem);
}

/** The value of a `json` that {@link VALUE_KIND_SCHEMAS} accepts as `kind`. */
function valueOf(kind: ValueKind, json: unknown): unknown {
  switch (kind) {
    case 'void':
      return undefined;
    case 'bigint':
    case 'u64':
      return BigInt(json as string);
    case 'bytes':
      return fromHex(json as string);
    case 'outBytes':
      return typeof json === 'string' ? fromHex(json) : new Uint8Array(json as number);
    case 'callback':
      return json === null ? null : REPLAY_CALLBACK;
    case 'handle':
      return null;
    case 'iotlb':
      return iotlbOf(json as Parameters<typeof iotlbOf>[0]);
    case 'iovaRange': {
      const range = json as { readonly first: string; readonly last: string };
      return { first: BigInt(range.first), last: BigInt(range.last) };
    }
    case 'stats':
      return (json as readonly { name: string; value: string }[]).map((s) => ({
        name: s.name,
        value: BigInt(s.value),
      }));
    case 'vqState':
      // The schema's output: the state's own fields only.
      return VALUE_KIND_SCHEMAS.vqState.parse(json);
    case 'number':
    case 'boolean':
    case 'string':
    case 'json':
      return json;
  }
}

/**
 * Decodes a value of `kind` from an event record (the inverse of `encodeValue` given the kind),
 * after checking it against {@link VALUE_KIND_SCHEMAS}. A `callback` recorded as `true` decodes to
 * {@link REPLAY_CALLBACK}; a `handle` decodes to `null` (replay supplies its own); `outBytes` decodes
 * a length to a zeroed buffer and a hex string to bytes.
 *
 * @throws VdpaError `EINVAL` when `json` is not a valid encoding of `kind` (trace input is validated here)
 */
export function decodeValue(kind: ValueKind, json: unknown): unknown {
  check(valueProblem(kind, json));
  return valueOf(kind, json);
}

/**
 * Decodes the recorded arguments of a call event of `op` into values the op accepts.
 * @throws VdpaError `EINVAL` for a wrong argument count or a bad value
 */
export function decodeArgs(op: OpName, args: readonly JsonValue[]): unknown[] {
  check(argsProblem(op, args));
  const kinds = OP_TABLE[op].args;
  return args.map((a, i) => (kinds[i] === 'json' && a === null ? undefined : valueOf(kinds[i], a)));
}

/**
 * Decodes the recorded `ret` of a return event of `op`.
 * @throws VdpaError `EINVAL` for a bad value
 */
export function decodeResult(op: OpName, ret: JsonValue | undefined): unknown {
  check(resultProblem(op, ret));
  return valueOf(OP_TABLE[op].ret, ret);
}

/**
 * Validates a parsed JSON record (a trace line) as a {@link BusEvent} with `busEventSchema` (a trace
 * record that is not a `dp` record) and returns it deep-frozen.
 * @throws TraceError (`EINVAL`) naming the first bad field, as a trace reader does
 * @example
 * const event = parseEvent(JSON.parse(line));
 */
export function parseEvent(value: unknown): BusEvent {
  const result = busEventSchema.safeParse(value);
  if (!result.success) throw new TraceError(recordProblem(result.error, value), { cause: result.error });
  return deepFreeze(value) as BusEvent;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
