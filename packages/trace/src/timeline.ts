import type { JsonValue, OpEvent } from '@vdpa-kit/core-bus';
import type { TraceRecord } from './trace-format.js';

const HEX_BIGINT = /^-?0x[0-9a-f]+$/i;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$|^(?:0|[1-9][0-9]*)$/;

/**
 * A compact human-readable rendering of an encoded JSON value: numbers, booleans and `null` as is,
 * `0x…` bigint strings unquoted, other strings JSON-quoted, `[a, b]`, `{key: value}`.
 * @example
 * formatJsonValue({ mac: '001122334455', mtu: 9000 }); // '{mac: "001122334455", mtu: 9000}'
 */
export function formatJsonValue(value: JsonValue | undefined): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return HEX_BIGINT.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(formatJsonValue).join(', ')}]`;
  const entries = Object.entries(value as { readonly [k: string]: JsonValue });
  return `{${entries.map(([k, v]) => `${IDENTIFIER.test(k) ? k : JSON.stringify(k)}: ${formatJsonValue(v)}`).join(', ')}}`;
}

/**
 * An op call as `op(arg, arg)` from its encoded arguments.
 * @example
 * formatCall('setVqNum', [0, 256]); // 'setVqNum(0, 256)'
 */
export function formatCall(op: string, args: readonly JsonValue[] | undefined): string {
  return `${op}(${(args ?? []).map(formatJsonValue).join(', ')})`;
}

/** ` -> ret` / ` -> !ERRNO message` / `` (void success) of an op's end event. */
function formatOutcome(end: OpEvent | undefined): string {
  if (end === undefined) return ' -> (no return)';
  if (end.phase === 'error')
    return ` -> !${end.err ?? 'E?'}${end.message === undefined ? '' : ` ${end.message}`}`;
  return end.ret === undefined ? '' : ` -> ${formatJsonValue(end.ret)}`;
}

/** What one record says, without the seq/ts/dev columns; `undefined` for an op end merged into its call. */
function describeRecord(
  r: TraceRecord,
  ends: ReadonlyMap<OpEvent, OpEvent>,
  matched: ReadonlySet<OpEvent>,
): string | undefined {
  switch (r.kind) {
    case 'op': {
      const origin = r.origin === undefined ? '' : ` [${r.origin}]`;
      if (r.phase === 'call') return `${formatCall(r.op, r.args)}${formatOutcome(ends.get(r))}${origin}`;
      if (matched.has(r)) return undefined;
      // An end without its call (the trace started mid-call).
      return `${r.op}${formatOutcome(r)}${origin}`;
    }
    case 'cb':
      return `${formatCall(r.op, r.args)}${r.err === undefined ? '' : ` !${r.err}`}`;
    case 'bus':
      return `${r.op}${r.args === undefined ? '' : ` ${formatJsonValue(r.args)}`}${r.err === undefined ? '' : ` !${r.err}`}`;
    case 'mgmt':
      return `${r.op} ${formatJsonValue(r.args)}${
        r.phase === 'error'
          ? ` -> !${r.err ?? 'E?'}`
          : r.ret === undefined
            ? ''
            : ` -> ${formatJsonValue(r.ret)}`
      }`;
    case 'dp':
      return `kicks ${formatJsonValue(r.kicks)} callbacks ${formatJsonValue(r.cbs)}`;
  }
}

/** Pairs every op call with its return or error (innermost open call of the same device and op). */
function pairOps(records: readonly TraceRecord[]): { ends: Map<OpEvent, OpEvent>; matched: Set<OpEvent> } {
  const ends = new Map<OpEvent, OpEvent>();
  const matched = new Set<OpEvent>();
  const open = new Map<string, OpEvent[]>();
  for (const r of records) {
    if (r.kind !== 'op') continue;
    let stack = open.get(r.dev);
    if (stack === undefined) {
      stack = [];
      open.set(r.dev, stack);
    }
    if (r.phase === 'call') {
      stack.push(r);
      continue;
    }
    let at = stack.length - 1;
    while (at >= 0 && stack[at].op !== r.op) at--;
    if (at < 0) continue;
    ends.set(stack[at], r);
    matched.add(r);
    stack.length = at;
  }
  return { ends, matched };
}

/**
 * A readable timeline of trace records, one line per event: `seq  ts  dev  what`, where an op call
 * and its return or error share one line at the call's seq (`setVqNum(0, 256)`,
 * `getStatus() -> 15`, `setDriverFeatures(0x1) -> !EINVAL message`, origin-marked ops end with
 * `[core]`/`[bus]`/`[mgmt]`), callbacks read `vqCb(1)`, bus and management events show their
 * arguments, and a `dp` record reads `kicks {1: 40, 0: 2} callbacks {0: 2}`. Events not about one
 * device show `-` as the device.
 *
 * @param records trace records in order
 * @returns the lines (no newlines)
 * @example
 * for (const line of formatTimeline(readTrace('session.jsonl').records)) console.log(line);
 */
export function formatTimeline(records: readonly TraceRecord[]): string[] {
  const { ends, matched } = pairOps(records);
  let seqWidth = 1;
  let tsWidth = 1;
  let devWidth = 1;
  for (const r of records) {
    seqWidth = Math.max(seqWidth, String(r.seq).length);
    tsWidth = Math.max(tsWidth, String(r.ts).length);
    devWidth = Math.max(devWidth, (r.dev ?? '-').length);
  }
  const lines: string[] = [];
  for (const r of records) {
    const what = describeRecord(r, ends, matched);
    if (what === undefined) continue;
    lines.push(
      `${String(r.seq).padStart(seqWidth)}  ${String(r.ts).padStart(tsWidth)}  ${(r.dev ?? '-').padEnd(devWidth)}  ${what}`,
    );
  }
  return lines;
}
