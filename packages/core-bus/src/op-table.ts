import type { OpName } from './config-ops.js';

/**
 * How a value crosses into an event record and back (see `encodeValue`, and `decodeValue` of
 * `@vdpa-kit/trace`):
 * - `number`, `boolean`, `string`: as is;
 * - `bigint`: `"0x…"` hex string (an unsigned value of any width: a CPU mask);
 * - `u64`: a bigint the kernel types `u64` (features, IOVAs), the same hex string, at most 2^64 − 1;
 * - `bytes`: an input `Uint8Array`, as a hex string;
 * - `outBytes`: an output buffer: its length in the call, its contents (hex) in the return;
 * - `callback`: `true` when set, `null` when cleared;
 * - `handle`: an in-process object (memory) recorded as `true`; replay supplies its own;
 * - `iotlb`: an `Iotlb`, as its entries;
 * - `iovaRange`: a `VdpaIovaRange`, as `{"first": "0x…", "last": "0x…"}` (its two u64s as hex strings);
 * - `vqState`, `stats`, `json`: plain records (bigints inside as hex strings);
 * - `void`: nothing.
 */
export type ValueKind =
  | 'number'
  | 'boolean'
  | 'string'
  | 'bigint'
  | 'u64'
  | 'bytes'
  | 'outBytes'
  | 'callback'
  | 'handle'
  | 'iotlb'
  | 'iovaRange'
  | 'vqState'
  | 'stats'
  | 'json'
  | 'void';

/** Metadata of one config op (include/linux/vdpa.h). */
export interface OpMeta {
  /** camelCase op name. */
  readonly name: OpName;
  /** Mandatory in the kernel's `vdpa_config_ops`. */
  readonly mandatory: boolean;
  /** Kernel version that introduced the op in its current form (`~` = approximate). */
  readonly since: string;
  /** Kinds of the positional arguments. */
  readonly args: readonly ValueKind[];
  /** How many of {@link args} a call must pass: all but `dmaMap`'s optional `opaque` (`vdpa_map_file`). */
  readonly minArgs: number;
  /** Kind of the result (`outBytes`: the filled output buffer). */
  readonly ret: ValueKind;
}

function op(
  name: OpName,
  mandatory: boolean,
  since: string,
  args: readonly ValueKind[],
  ret: ValueKind,
  minArgs = args.length,
): OpMeta {
  return Object.freeze({ name, mandatory, since, args: Object.freeze([...args]), minArgs, ret });
}

/**
 * Every op of {@link VdpaConfigOps} with its metadata, in the order of `struct vdpa_config_ops`. Used by the
 * config-ops channel to encode events and by `@vdpa-kit/trace` to decode and replay them.
 */
export const OP_TABLE: { readonly [K in OpName]: OpMeta } = Object.freeze({
  setVqAddress: op('setVqAddress', true, '5.7', ['number', 'number', 'number', 'number'], 'void'),
  setVqNum: op('setVqNum', true, '5.7', ['number', 'number'], 'void'),
  kickVq: op('kickVq', true, '5.7', ['number'], 'void'),
  kickVqWithData: op('kickVqWithData', false, '~6.4', ['number'], 'void'),
  setVqCb: op('setVqCb', true, '5.7', ['number', 'callback'], 'void'),
  setVqReady: op('setVqReady', true, '5.7', ['number', 'boolean'], 'void'),
  getVqReady: op('getVqReady', true, '5.7', ['number'], 'boolean'),
  setVqState: op('setVqState', true, '5.7', ['number', 'vqState'], 'void'),
  getVqState: op('getVqState', true, '5.7', ['number'], 'vqState'),
  getVendorVqStats: op('getVendorVqStats', false, '~5.19', ['number'], 'stats'),
  getVqNotification: op('getVqNotification', false, '~5.8', ['number'], 'json'),
  getVqIrq: op('getVqIrq', false, '~5.9', ['number'], 'number'),
  getVqSize: op('getVqSize', false, '~6.9', ['number'], 'number'),
  getVqAlign: op('getVqAlign', true, '5.7', [], 'number'),
  getVqGroup: op('getVqGroup', false, '5.19', ['number'], 'number'),
  getVqDescGroup: op('getVqDescGroup', false, '6.7', ['number'], 'number'),
  getDeviceFeatures: op('getDeviceFeatures', true, '5.17', [], 'u64'),
  getBackendFeatures: op('getBackendFeatures', false, '~6.6', [], 'u64'),
  setDriverFeatures: op('setDriverFeatures', true, '5.17', ['u64'], 'void'),
  getDriverFeatures: op('getDriverFeatures', true, '5.17', [], 'u64'),
  setConfigCb: op('setConfigCb', true, '5.7', ['callback'], 'void'),
  getVqNumMax: op('getVqNumMax', true, '5.7', [], 'number'),
  getVqNumMin: op('getVqNumMin', false, '~5.16', [], 'number'),
  getDeviceId: op('getDeviceId', true, '5.7', [], 'number'),
  getVendorId: op('getVendorId', true, '5.7', [], 'number'),
  getStatus: op('getStatus', true, '5.7', [], 'number'),
  setStatus: op('setStatus', true, '5.7', ['number'], 'void'),
  reset: op('reset', true, '~5.15', [], 'void'),
  compatReset: op('compatReset', false, '6.7', ['number'], 'void'),
  suspend: op('suspend', false, '~6.0', [], 'void'),
  resume: op('resume', false, '6.3', [], 'void'),
  getConfigSize: op('getConfigSize', true, '~5.15', [], 'number'),
  getConfig: op('getConfig', true, '5.7', ['number', 'outBytes'], 'outBytes'),
  setConfig: op('setConfig', true, '5.7', ['number', 'bytes'], 'void'),
  getGeneration: op('getGeneration', false, '5.7', [], 'number'),
  getIovaRange: op('getIovaRange', false, '~5.10', [], 'iovaRange'),
  setVqAffinity: op('setVqAffinity', false, '~6.5', ['number', 'bigint'], 'void'),
  getVqAffinity: op('getVqAffinity', false, '~6.5', ['number'], 'bigint'),
  setMap: op('setMap', false, '5.19', ['number', 'iotlb'], 'void'),
  dmaMap: op('dmaMap', false, '5.19', ['number', 'u64', 'u64', 'u64', 'number', 'json'], 'void', 5),
  dmaUnmap: op('dmaUnmap', false, '5.19', ['number', 'u64', 'u64'], 'void'),
  resetMap: op('resetMap', false, '6.7', ['number'], 'void'),
  setGroupAsid: op('setGroupAsid', false, '5.19', ['number', 'number'], 'void'),
  getVqDmaDev: op('getVqDmaDev', false, '6.3', ['number'], 'string'),
  bindMm: op('bindMm', false, '~6.4', ['handle'], 'void'),
  unbindMm: op('unbindMm', false, '~6.4', [], 'void'),
  free: op('free', false, '5.7', [], 'void'),
});

/** Every op name, in the order of `struct vdpa_config_ops`. */
export const OP_NAMES: readonly OpName[] = Object.freeze(Object.keys(OP_TABLE) as OpName[]);

/** Names of the mandatory ops. */
export const MANDATORY_OPS: readonly OpName[] = Object.freeze(OP_NAMES.filter((n) => OP_TABLE[n].mandatory));

/** True when `name` is the name of a config op. */
export function isOpName(name: unknown): name is OpName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(OP_TABLE, name);
}
