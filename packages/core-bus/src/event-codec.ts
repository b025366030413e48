import { Iotlb } from '@vdpa-kit/vring';
import type { OpName } from './config-ops.js';
import { VdpaError } from './errors.js';
import type { JsonValue } from './events.js';
import { OP_TABLE } from './op-table.js';

/** A hex string of whole bytes, no prefix: how event records carry bytes (`toHex`, `fromHex`). */
export const HEX_BYTES = /^(?:[0-9a-f]{2})*$/i;
const HEX_RADIX = 16;
const BYTE_HEX_WIDTH = 2;

/** Lower-case hex of `bytes`, two digits per byte, no prefix. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(HEX_RADIX).padStart(BYTE_HEX_WIDTH, '0');
  return s;
}

/**
 * Parses a hex string of whole bytes (no prefix).
 * @throws VdpaError `EINVAL` for odd length or a non-hex digit
 */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_BYTES.test(hex))
    throw new VdpaError('EINVAL', `hex string ${JSON.stringify(hex)} is not whole bytes`);
  const out = new Uint8Array(hex.length / BYTE_HEX_WIDTH);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number.parseInt(hex.slice(i * BYTE_HEX_WIDTH, i * BYTE_HEX_WIDTH + BYTE_HEX_WIDTH), HEX_RADIX);
  }
  return out;
}

/** `"0x…"` lower-case hex of a bigint (negative values keep their sign: `"-0x…"`). */
export function bigintToHex(value: bigint): string {
  return value < 0n ? `-0x${(-value).toString(HEX_RADIX)}` : `0x${value.toString(HEX_RADIX)}`;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Encodes any value for an event record: bigint → `"0x…"`, `Uint8Array` (any byte view) → hex,
 * `Iotlb` → array of its entries, functions → `true`, `null`/`undefined` → `null`, non-finite
 * numbers → `null`, arrays and plain objects recursively (undefined fields dropped), and any other
 * object (an in-process handle such as `GuestMemory`) → `true`.
 *
 * @param value what to encode
 * @returns a JSON value (never throws)
 */
export function encodeValue(value: unknown): JsonValue {
  switch (typeof value) {
    case 'undefined':
      return null;
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return bigintToHex(value);
    case 'function':
      return true;
    case 'symbol':
      return value.toString();
    case 'object':
      break;
  }
  if (value === null) return null;
  const obj = value as object;
  if (ArrayBuffer.isView(obj)) return toHex(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength));
  if (obj instanceof Iotlb) return obj.entries().map((m) => encodeValue(m));
  if (Array.isArray(obj)) return obj.map((v: unknown) => encodeValue(v));
  if (!isPlainObject(obj)) return true;
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = encodeValue(v);
  return out;
}

/**
 * Encodes the positional arguments of op `op` (an `outBytes` buffer becomes its length).
 * @param op the op
 * @param args the arguments as passed
 */
export function encodeArgs(op: OpName, args: readonly unknown[]): JsonValue[] {
  const kinds = OP_TABLE[op].args;
  const out: JsonValue[] = new Array<JsonValue>(args.length);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    out[i] = kinds[i] === 'outBytes' && a instanceof Uint8Array ? a.length : encodeValue(a);
  }
  return out;
}

/**
 * The record of a `VdpaIovaRange` (value kind `iovaRange`): its two bounds and nothing else, in the
 * order of `struct vdpa_iova_range`, each as {@link encodeValue} writes it (a bigint as `"0x…"`).
 * A bound that is not a bigint is kept as `encodeValue` writes it, for the trace reader to refuse.
 * @example
 * encodeIovaRange({ first: 0n, last: 0xffff_ffff_ffff_ffffn }); // {"first":"0x0","last":"0xffffffffffffffff"}
 */
export function encodeIovaRange(range: unknown): JsonValue {
  if (typeof range !== 'object' || range === null) return encodeValue(range);
  const { first, last } = range as { readonly first?: unknown; readonly last?: unknown };
  return { first: encodeValue(first), last: encodeValue(last) };
}

/**
 * Encodes the result of op `op`: `undefined` for a void op, the output buffer's bytes for
 * `getConfig`, {@link encodeIovaRange} for `getIovaRange`, else {@link encodeValue} of the result.
 */
export function encodeResult(op: OpName, result: unknown, args: readonly unknown[]): JsonValue | undefined {
  const meta = OP_TABLE[op];
  if (meta.ret === 'void') return undefined;
  if (meta.ret === 'outBytes') {
    const at = meta.args.indexOf('outBytes');
    const buf = args[at];
    return buf instanceof Uint8Array ? toHex(buf) : null;
  }
  if (meta.ret === 'iovaRange') return encodeIovaRange(result);
  return encodeValue(result);
}
