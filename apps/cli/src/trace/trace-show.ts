import {
  type BusProjection,
  type Trace,
  type TraceHeader,
  type TraceRecord,
  formatTimeline,
  projectTrace,
} from '@vdpa-kit/trace';
import { formatProjection } from './format-projection.js';

/** Options of {@link showTrace}. */
export interface ShowTraceOptions {
  /** `--at SEQ`: the state after the last record with `seq ≤ SEQ` instead of the timeline. */
  readonly atSeq?: number;
}

/** What `trace show --json` prints without `--at`: the header, every record and the final state. */
export interface TraceShowJson {
  readonly file: string;
  readonly header: TraceHeader;
  readonly records: readonly TraceRecord[];
  readonly state: BusProjection;
}

/** What `trace show --json --at SEQ` prints: the state at that point. */
export interface TraceStateJson {
  readonly file: string;
  readonly atSeq: number;
  readonly state: BusProjection;
}

function headerLines(file: string, trace: Trace): string[] {
  const h = trace.header;
  const first = trace.records[0]?.seq;
  const last = trace.records[trace.records.length - 1]?.seq;
  const plugins = h.plugins.map((p) => `${p.name} ${p.version}`).join(', ');
  return [
    `# trace ${file}: ${h.format} v${h.v}, ${h.framework.name} ${h.framework.version}, created ${h.createdAt}, datapath ${h.datapath}`,
    `# plugins: ${plugins.length === 0 ? '-' : plugins}`,
    `# stack: ${JSON.stringify(h.stack)}`,
    `# ${trace.records.length} records${first === undefined ? '' : `, seq ${first}..${last}`}`,
  ];
}

/**
 * The text of `trace show`: a header summary (`#` lines) then the timeline (one line per record,
 * `formatTimeline`); with `atSeq`, the state at that point (`projectTrace`, {@link formatProjection}).
 *
 * @param file the file name as given (shown in the summary)
 * @param trace the parsed trace
 * @returns lines without newlines
 * @example
 * showTrace('session.jsonl', readTraceFile('session.jsonl'), { atSeq: 40 }).join('\n');
 */
export function showTrace(file: string, trace: Trace, options: ShowTraceOptions = {}): string[] {
  if (options.atSeq !== undefined) {
    return [
      `# trace ${file} at seq ${options.atSeq}`,
      ...formatProjection(projectTrace(trace.records, { atSeq: options.atSeq })),
    ];
  }
  return [...headerLines(file, trace), ...formatTimeline(trace.records)];
}

/**
 * The JSON of `trace show --json`: `{ file, header, records, state }`, or with `atSeq`
 * `{ file, atSeq, state }`.
 *
 * @param file the file name as given
 * @param trace the parsed trace
 */
export function showTraceJson(
  file: string,
  trace: Trace,
  options: ShowTraceOptions = {},
): TraceShowJson | TraceStateJson {
  if (options.atSeq !== undefined) {
    return { file, atSeq: options.atSeq, state: projectTrace(trace.records, { atSeq: options.atSeq }) };
  }
  return { file, header: trace.header, records: trace.records, state: projectTrace(trace.records) };
}
