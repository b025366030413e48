import { U16_MAX } from '@vdpa-kit/virtio-spec';
import { StateError } from '../errors.js';

/** Version of the state-log line format (`v`). */
export const STATE_FORMAT_VERSION = 1;

/** Operations recorded in the state log. */
export type StateOp = 'dev_add' | 'dev_del' | 'dev_set_attr';

interface StateEventBase {
  /** Format version, {@link STATE_FORMAT_VERSION}. */
  readonly v: typeof STATE_FORMAT_VERSION;
  /** 1-based sequence number, strictly increasing down the file. */
  readonly seq: number;
  /** ISO-8601 time of the append. */
  readonly ts: string;
}

/** `vdpa dev add`: the request as the user gave it (MAC as 12 hex digits, features as `0x…`). */
export interface DevAddStateEvent extends StateEventBase {
  readonly op: 'dev_add';
  readonly name: string;
  readonly mgmtdev: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly maxVqp?: number;
  readonly deviceFeatures?: string;
}

/** `vdpa dev del`. */
export interface DevDelStateEvent extends StateEventBase {
  readonly op: 'dev_del';
  readonly name: string;
}

/** `vdpa dev set name NAME mac MAC`. */
export interface DevSetAttrStateEvent extends StateEventBase {
  readonly op: 'dev_set_attr';
  readonly name: string;
  readonly mac: string;
}

/** One line of the state log. */
export type StateEvent = DevAddStateEvent | DevDelStateEvent | DevSetAttrStateEvent;

/** A new event before the log stamps `v`, `seq` and `ts`. */
export type NewStateEvent =
  | Omit<DevAddStateEvent, keyof StateEventBase>
  | Omit<DevDelStateEvent, keyof StateEventBase>
  | Omit<DevSetAttrStateEvent, keyof StateEventBase>;

const MAC_HEX = /^[0-9a-f]{12}$/;
const U64_HEX = /^0x[0-9a-f]{1,16}$/;
const KNOWN_KEYS: Readonly<Record<StateOp, readonly string[]>> = {
  dev_add: ['v', 'seq', 'ts', 'op', 'name', 'mgmtdev', 'mac', 'mtu', 'maxVqp', 'deviceFeatures'],
  dev_del: ['v', 'seq', 'ts', 'op', 'name'],
  dev_set_attr: ['v', 'seq', 'ts', 'op', 'name', 'mac'],
};

function isU16(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= U16_MAX;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Parses and validates one state-log line (a named record, checked field by field).
 *
 * @param text the line without its newline
 * @param where `<file> line <n>` for messages
 * @param lineNumber 1-based line number
 * @throws StateError naming the file, the line and what is wrong
 */
export function parseStateLine(text: string, where: string, lineNumber: number): StateEvent {
  const bad = (why: string): never => {
    throw new StateError(`state file ${where} is corrupt: ${why}`, { line: lineNumber });
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not a JSON object');
  const rec = value as Record<string, unknown>;
  if (rec.v !== STATE_FORMAT_VERSION)
    return bad(`version ${JSON.stringify(rec.v)} is not ${STATE_FORMAT_VERSION}`);
  if (typeof rec.seq !== 'number' || !Number.isSafeInteger(rec.seq) || rec.seq < 1) {
    return bad(`seq ${JSON.stringify(rec.seq)} is not a positive integer`);
  }
  if (typeof rec.ts !== 'string' || Number.isNaN(Date.parse(rec.ts)))
    return bad(`ts ${JSON.stringify(rec.ts)} is not a time`);
  const op = rec.op;
  if (op !== 'dev_add' && op !== 'dev_del' && op !== 'dev_set_attr')
    return bad(`op ${JSON.stringify(op)} is unknown`);
  for (const key of Object.keys(rec))
    if (!KNOWN_KEYS[op].includes(key)) bad(`field ${JSON.stringify(key)} is unknown for ${op}`);
  if (!isNonEmptyString(rec.name)) return bad(`name ${JSON.stringify(rec.name)} is not a non-empty string`);
  if (op === 'dev_add') {
    if (!isNonEmptyString(rec.mgmtdev))
      return bad(`mgmtdev ${JSON.stringify(rec.mgmtdev)} is not a non-empty string`);
    if (rec.mac !== undefined && !(typeof rec.mac === 'string' && MAC_HEX.test(rec.mac))) {
      bad(`mac ${JSON.stringify(rec.mac)} is not 12 lower-case hex digits`);
    }
    if (rec.mtu !== undefined && !isU16(rec.mtu)) bad(`mtu ${JSON.stringify(rec.mtu)} is not a u16`);
    if (rec.maxVqp !== undefined && !isU16(rec.maxVqp))
      bad(`maxVqp ${JSON.stringify(rec.maxVqp)} is not a u16`);
    if (
      rec.deviceFeatures !== undefined &&
      !(typeof rec.deviceFeatures === 'string' && U64_HEX.test(rec.deviceFeatures))
    ) {
      bad(`deviceFeatures ${JSON.stringify(rec.deviceFeatures)} is not a 0x-prefixed u64`);
    }
  }
  if (op === 'dev_set_attr' && !(typeof rec.mac === 'string' && MAC_HEX.test(rec.mac))) {
    bad(`mac ${JSON.stringify(rec.mac)} is not 12 lower-case hex digits`);
  }
  return rec as unknown as StateEvent;
}

/** One state-log line for `event`, newline included (field order: v, seq, ts, op, then the rest). */
export function formatStateLine(event: StateEvent): string {
  const { v, seq, ts, op, ...rest } = event;
  return `${JSON.stringify({ v, seq, ts, op, ...rest })}\n`;
}
