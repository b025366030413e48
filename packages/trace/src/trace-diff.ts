import type { OpName, VdpaErrno, JsonValue, OpEvent } from '@vdpa-kit/core-bus';
import { formatCall, formatJsonValue } from './timeline.js';
import type { Trace, TraceRecord } from './trace-format.js';

/** One driver-issued op of a trace as the diff sees it: the call with its result or error. */
export interface DiffOp {
  /** `seq` of the call event. */
  readonly seq: number;
  readonly dev: string;
  readonly op: OpName;
  readonly args: readonly JsonValue[];
  /** Encoded result (absent for void ops, errors and calls without a recorded end). */
  readonly ret?: JsonValue;
  /** Errno of a failed call. */
  readonly err?: VdpaErrno;
}

/** One line of a trace diff. */
export interface TraceDiffEntry {
  /**
   * `same`: the op, arguments and outcome match; `changed`: the op and arguments match but the
   * result or error differs; `onlyA` / `onlyB`: the op exists in one trace only.
   */
  readonly kind: 'same' | 'changed' | 'onlyA' | 'onlyB';
  readonly a?: DiffOp;
  readonly b?: DiffOp;
}

/** The alignment of two traces' driver ops. */
export interface TraceDiff {
  /** No `changed`, `onlyA` or `onlyB` entry. */
  readonly equal: boolean;
  readonly entries: TraceDiffEntry[];
}

/** Lines of context around a difference in {@link formatDiff}. */
const DIFF_CONTEXT = 3;

/** The driver-issued op calls of `records` (no `origin`), each with its return or error. */
function driverOps(records: readonly TraceRecord[]): DiffOp[] {
  const out: { call: OpEvent; end: OpEvent | undefined }[] = [];
  const open = new Map<string, number[]>();
  for (const r of records) {
    if (r.kind !== 'op' || r.origin !== undefined) continue;
    let stack = open.get(r.dev);
    if (stack === undefined) {
      stack = [];
      open.set(r.dev, stack);
    }
    if (r.phase === 'call') {
      stack.push(out.length);
      out.push({ call: r, end: undefined });
      continue;
    }
    let at = stack.length - 1;
    while (at >= 0 && out[stack[at]].call.op !== r.op) at--;
    if (at < 0) continue;
    out[stack[at]].end = r;
    stack.length = at;
  }
  return out.map(({ call, end }): DiffOp => {
    const op: { -readonly [K in keyof DiffOp]: DiffOp[K] } = {
      seq: call.seq,
      dev: call.dev,
      op: call.op,
      args: call.args ?? [],
    };
    if (end?.phase === 'error' && end.err !== undefined) op.err = end.err;
    else if (end?.ret !== undefined) op.ret = end.ret;
    return op;
  });
}

function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as readonly JsonValue[];
    const aa = a as readonly JsonValue[];
    return aa.length === bb.length && aa.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as { readonly [k: string]: JsonValue };
  const bo = b as { readonly [k: string]: JsonValue };
  const keys = Object.keys(ao);
  return (
    keys.length === Object.keys(bo).length &&
    keys.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]))
  );
}

/**
 * Myers' O((N+M)·D) shortest edit script between two integer sequences (after trimming the common
 * prefix and suffix), as the matched index pairs in order. Memory is O(D²): the band of each step.
 */
function matchPairs(a: readonly number[], b: readonly number[]): [number, number][] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < start; i++) pairs.push([i, i]);
  const n = endA - start;
  const m = endB - start;
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const bands: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    // v before step d, for diagonals -d-1..d+1 (index k + d + 1).
    bands.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[start + x] === b[start + y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  const middle: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const band = bands[d];
    const at = (k: number): number => band[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    // The snake of step d, then the one edit that led to it.
    const snakeX = prevK === k + 1 ? prevX : prevX + 1;
    while (x > snakeX) {
      x--;
      y--;
      middle.push([start + x, start + y]);
    }
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    middle.push([start + x, start + y]);
  }
  for (let i = middle.length - 1; i >= 0; i--) pairs.push(middle[i]);
  for (let i = 0; i < a.length - endA; i++) pairs.push([endA + i, endB + i]);
  return pairs;
}

/**
 * Aligns the driver-issued ops of two traces (the same session on two devices, or two runs) and
 * reports where they differ. Each op call (ignoring `seq`, `ts` and `origin`-marked ops, which the
 * core regenerates) is keyed by `(op, args)`; a Myers shortest-edit alignment of the two key
 * sequences pairs the ops, and paired ops compare their results and errors. Coalesced `dp` records
 * (kick and callback counts) are not part of the alignment: notification suppression makes them
 * legitimately differ between devices.
 *
 * @param a the first trace (the reference)
 * @param b the second trace
 * @returns the entries in order; `equal` when every entry is `same`
 * @example
 * const diff = diffTraces(readTrace('a.jsonl'), readTrace('b.jsonl'));
 * if (!diff.equal) console.log(formatDiff(diff).join('\n'));
 */
export function diffTraces(a: Trace, b: Trace): TraceDiff {
  const opsA = driverOps(a.records);
  const opsB = driverOps(b.records);
  const ids = new Map<string, number>();
  const key = (o: DiffOp): number => {
    const k = `${o.op}\u0000${JSON.stringify(o.args)}`;
    let id = ids.get(k);
    if (id === undefined) {
      id = ids.size;
      ids.set(k, id);
    }
    return id;
  };
  const pairs = matchPairs(opsA.map(key), opsB.map(key));
  const entries: TraceDiffEntry[] = [];
  let i = 0;
  let j = 0;
  for (const [pi, pj] of [...pairs, [opsA.length, opsB.length] as [number, number]]) {
    while (i < pi) entries.push({ kind: 'onlyA', a: opsA[i++] });
    while (j < pj) entries.push({ kind: 'onlyB', b: opsB[j++] });
    if (pi >= opsA.length) break;
    const x = opsA[i++];
    const y = opsB[j++];
    const same = x.err === y.err && jsonEqual(x.ret, y.ret);
    entries.push({ kind: same ? 'same' : 'changed', a: x, b: y });
  }
  return { equal: entries.every((e) => e.kind === 'same'), entries };
}

function describeOp(o: DiffOp, withDev: boolean): string {
  const outcome =
    o.err !== undefined ? ` -> !${o.err}` : o.ret !== undefined ? ` -> ${formatJsonValue(o.ret)}` : '';
  return `${withDev ? `${o.dev} ` : ''}${formatCall(o.op, o.args)}${outcome}`;
}

/**
 * A unified-diff-like rendering of a {@link TraceDiff}: `--- a` / `+++ b`, then hunks headed
 * `@@ a seq X, b seq Y @@` with up to 3 unchanged ops of context (`  op(args) -> ret`), ops only in
 * A (`- …`), only in B (`+ …`), and changed outcomes as a `-` line and a `+` line. Device names are
 * shown when the traces involve more than one. An equal diff is the single line `no differences`.
 *
 * @example
 * formatDiff(diffTraces(a, b)).forEach((l) => console.log(l));
 */
export function formatDiff(diff: TraceDiff): string[] {
  if (diff.equal) return ['no differences'];
  const entries = diff.entries;
  const devs = new Set<string>();
  for (const e of entries) {
    if (e.a !== undefined) devs.add(e.a.dev);
    if (e.b !== undefined) devs.add(e.b.dev);
  }
  const withDev = devs.size > 1;
  const show = new Array<boolean>(entries.length).fill(false);
  entries.forEach((e, idx) => {
    if (e.kind === 'same') return;
    for (let k = Math.max(0, idx - DIFF_CONTEXT); k <= Math.min(entries.length - 1, idx + DIFF_CONTEXT); k++)
      show[k] = true;
  });
  const lines = ['--- a', '+++ b'];
  let inHunk = false;
  entries.forEach((e, idx) => {
    if (!show[idx]) {
      inHunk = false;
      return;
    }
    if (!inHunk) {
      inHunk = true;
      lines.push(`@@ a seq ${hunkSeq(entries, idx, 'a')}, b seq ${hunkSeq(entries, idx, 'b')} @@`);
    }
    if (e.kind === 'same') lines.push(`  ${describeOp(e.a as DiffOp, withDev)}`);
    if (e.a !== undefined && e.kind !== 'same') lines.push(`- ${describeOp(e.a, withDev)}`);
    if (e.b !== undefined && e.kind !== 'same') lines.push(`+ ${describeOp(e.b, withDev)}`);
  });
  return lines;
}

/** The seq of side `side` at entry `idx` (or of the next entry that has that side; `end` if none). */
function hunkSeq(entries: readonly TraceDiffEntry[], idx: number, side: 'a' | 'b'): string {
  for (let k = idx; k < entries.length; k++) {
    const o = entries[k][side];
    if (o !== undefined) return String(o.seq);
  }
  return 'end';
}
