/**
 * Constants of the CLI's trace commands (`run --record`, `trace …`, `bench trace`) that are not
 * spec values.
 */

/** `run --record-datapath` default: kicks and callbacks coalesced into `dp` records. */
export const RECORD_DEFAULT_DATAPATH = 'coalesced';
/** The `run --record-datapath` modes. */
export const RECORD_DATAPATH_MODES = ['coalesced', 'full'] as const;
/** `run --clock` modes: wall-clock milliseconds, or a counter (deterministic traces). */
export const RUN_CLOCK_MODES = ['system', 'logical'] as const;
/**
 * Environment variable (reproducible-builds convention) giving a fixed trace `createdAt`, in seconds
 * since the epoch, so that re-recorded golden traces are byte-identical.
 */
export const SOURCE_DATE_EPOCH = 'SOURCE_DATE_EPOCH';
/** Milliseconds per second. */
export const MS_PER_SEC = 1000;
/** Version shown for a `--plugin` whose package.json could not be found. */
export const UNKNOWN_VERSION = 'unknown';

/** `bench trace --ops` default: config ops per timed recording run. */
export const BENCH_TRACE_DEFAULT_OPS = 50_000;
/** `bench trace --runs` default: timed runs (medians are reported). */
export const BENCH_TRACE_DEFAULT_RUNS = 5;
/** Ops of the untimed warm-up pass (JIT) before the timed runs. */
export const BENCH_TRACE_WARMUP_OPS = 20_000;
/** Batch size of the JSON Lines writer and of the writing ceiling (64 KiB). */
export const BENCH_TRACE_BATCH_BYTES = 65_536;
/** Goals of the issue: recorded ops/s ÷ writing ceiling, replayed events/s ÷ reading ceiling. */
export const BENCH_TRACE_GOALS = { record: 0.25, replay: 0.5 } as const;
