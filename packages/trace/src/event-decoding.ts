import {
  BUS_OPS,
  CB_NAMES,
  EVENT_FORMAT_VERSION,
  MGMT_OPS,
  OP_TABLE,
  PACKED_VQ_IDX_MAX,
  U16_MAX,
  VdpaError,
  fromHex,
  isOpName,
  isVdpaErrno,
  type BusEvent,
  type JsonValue,
  type OpName,
  type ValueKind,
  type VdpaCallback,
  type VdpaVqState,
  type VendorStat,
} from '@vdpa-kit/core-bus';
import { Iotlb } from '@vdpa-kit/vring';

const HEX_BIGINT = /^0x[0-9a-f]+$/i;

function bad(kind: string, json: unknown): VdpaError {
  return new VdpaError('EINVAL', `trace value ${JSON.stringify(json) ?? String(json)} is not a ${kind}`);
}

function isRecord(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

function decodeNumber(json: unknown, kind = 'number'): number {
  if (typeof json !== 'number' || !Number.isFinite(json)) throw bad(kind, json);
  return json;
}

function decodeBigint(json: unknown): bigint {
  if (typeof json !== 'string' || !HEX_BIGINT.test(json)) throw bad('bigint hex string', json);
  return BigInt(json);
}

function decodeIndex(json: unknown, max: number, what: string): number {
  const n = decodeNumber(json, what);
  if (!Number.isInteger(n) || n < 0 || n > max) throw bad(what, json);
  return n;
}

function decodeVqState(json: unknown): VdpaVqState {
  if (!isRecord(json)) throw bad('vq state', json);
  if (json.kind === 'split')
    return { kind: 'split', availIndex: decodeIndex(json.availIndex, U16_MAX, 'u16 availIndex') };
  if (json.kind === 'packed') {
    return {
      kind: 'packed',
      lastAvailCounter: decodeIndex(json.lastAvailCounter, 1, 'wrap counter'),
      lastAvailIdx: decodeIndex(json.lastAvailIdx, PACKED_VQ_IDX_MAX, '15-bit index'),
      lastUsedCounter: decodeIndex(json.lastUsedCounter, 1, 'wrap counter'),
      lastUsedIdx: decodeIndex(json.lastUsedIdx, PACKED_VQ_IDX_MAX, '15-bit index'),
    };
  }
  throw bad('vq state', json);
}

function decodeStats(json: unknown): VendorStat[] {
  if (!Array.isArray(json)) throw bad('vendor stats list', json);
  return json.map((s: unknown): VendorStat => {
    if (!isRecord(s) || typeof s.name !== 'string') throw bad('vendor stat', s);
    return { name: s.name, value: decodeBigint(s.value) };
  });
}

function decodeIotlb(json: unknown): Iotlb {
  if (!Array.isArray(json)) throw bad('iotlb entry list', json);
  const tlb = new Iotlb();
  for (const m of json as unknown[]) {
    if (!isRecord(m)) throw bad('iotlb entry', m);
    try {
      tlb.addRange(
        decodeNumber(m.start),
        decodeNumber(m.last),
        decodeNumber(m.addr),
        decodeNumber(m.perm),
        m.opaque,
      );
    } catch (err) {
      const e = VdpaError.from(err);
      throw new VdpaError('EINVAL', `trace iotlb entry ${JSON.stringify(m)} is invalid: ${e.message}`, {
        cause: e,
      });
    }
  }
  return tlb;
}

/** Placeholder a decoded `callback` argument gets: replay substitutes a live callback. */
export const REPLAY_CALLBACK: VdpaCallback = () => undefined;

/**
 * Decodes a value of `kind` from an event record (the inverse of {@link encodeValue} given the kind).
 * A `callback` recorded as `true` decodes to {@link REPLAY_CALLBACK}; a `handle` decodes to `null`
 * (replay supplies its own); `outBytes` decodes a length to a zeroed buffer and a hex string to bytes.
 *
 * @throws VdpaError `EINVAL` when `json` is not a valid encoding of `kind` (trace input is validated here)
 */
export function decodeValue(kind: ValueKind, json: unknown): unknown {
  switch (kind) {
    case 'void':
      return undefined;
    case 'number':
      return decodeNumber(json);
    case 'boolean':
      if (typeof json !== 'boolean') throw bad('boolean', json);
      return json;
    case 'string':
      if (typeof json !== 'string') throw bad('string', json);
      return json;
    case 'bigint':
      return decodeBigint(json);
    case 'bytes':
      if (typeof json !== 'string') throw bad('hex string', json);
      return fromHex(json);
    case 'outBytes':
      if (typeof json === 'string') return fromHex(json);
      return new Uint8Array(decodeIndex(json, Number.MAX_SAFE_INTEGER, 'buffer length'));
    case 'callback':
      if (json === null) return null;
      if (json !== true) throw bad('callback marker', json);
      return REPLAY_CALLBACK;
    case 'handle':
      return null;
    case 'iotlb':
      return decodeIotlb(json);
    case 'vqState':
      return decodeVqState(json);
    case 'stats':
      return decodeStats(json);
    case 'json':
      return json;
  }
}

/**
 * Decodes the recorded arguments of a call event of `op` into values the op accepts.
 * @throws VdpaError `EINVAL` for a wrong argument count or a bad value
 */
export function decodeArgs(op: OpName, args: readonly JsonValue[]): unknown[] {
  const kinds = OP_TABLE[op].args;
  // Trailing optional arguments (dmaMap's opaque) may be absent.
  if (args.length > kinds.length)
    throw new VdpaError('EINVAL', `trace call of ${op} has ${args.length} arguments`);
  return args.map((a, i) => (kinds[i] === 'json' && a === null ? undefined : decodeValue(kinds[i], a)));
}

/**
 * Decodes the recorded `ret` of a return event of `op`.
 * @throws VdpaError `EINVAL` for a bad value
 */
export function decodeResult(op: OpName, ret: JsonValue | undefined): unknown {
  const kind = OP_TABLE[op].ret;
  return kind === 'void' ? undefined : decodeValue(kind, ret);
}

function optionalString(e: Record<string, unknown>, key: string): void {
  if (e[key] !== undefined && typeof e[key] !== 'string') throw bad(`${key} string`, e[key]);
}

/**
 * Validates a parsed JSON record (a trace line) as a {@link BusEvent} and returns it frozen.
 * @throws VdpaError `EINVAL` naming the first bad field
 */
export function parseEvent(value: unknown): BusEvent {
  if (!isRecord(value)) throw bad('event record', value);
  if (value.v !== EVENT_FORMAT_VERSION)
    throw new VdpaError('EINVAL', `event version ${String(value.v)} is not supported`);
  decodeIndex(value.seq, Number.MAX_SAFE_INTEGER, 'event seq');
  decodeNumber(value.ts, 'event ts');
  if (value.dev !== null && typeof value.dev !== 'string') throw bad('device name or null', value.dev);
  const op = value.op;
  const kind = value.kind;
  const known =
    kind === 'op'
      ? isOpName(op)
      : kind === 'cb'
        ? (CB_NAMES as readonly unknown[]).includes(op)
        : kind === 'bus'
          ? (BUS_OPS as readonly unknown[]).includes(op)
          : kind === 'mgmt'
            ? (MGMT_OPS as readonly unknown[]).includes(op)
            : false;
  if (!known)
    throw new VdpaError(
      'EINVAL',
      `event op ${JSON.stringify(op)} of kind ${JSON.stringify(kind)} is unknown`,
    );
  if ((kind === 'op' || kind === 'cb') && typeof value.dev !== 'string') throw bad('device name', value.dev);
  const phase = value.phase;
  if (kind === 'op' && phase !== 'call' && phase !== 'return' && phase !== 'error')
    throw bad('op phase', phase);
  if (kind === 'mgmt' && phase !== 'return' && phase !== 'error') throw bad('mgmt phase', phase);
  if (
    value.origin !== undefined &&
    value.origin !== 'core' &&
    value.origin !== 'bus' &&
    value.origin !== 'mgmt'
  ) {
    throw bad('op origin', value.origin);
  }
  const args = value.args;
  if (kind === 'op' || kind === 'cb') {
    if (args !== undefined && !Array.isArray(args)) throw bad('argument list', args);
    if (kind === 'op' && Array.isArray(args)) decodeArgs(op as OpName, args as JsonValue[]);
  } else if (args !== undefined && !isRecord(args)) {
    throw bad('argument record', args);
  }
  if (value.err !== undefined && !isVdpaErrno(value.err)) throw bad('errno', value.err);
  optionalString(value, 'message');
  return deepFreeze(value) as unknown as BusEvent;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
