/**
 * Constants of the CLI's trace commands (`run --record`, `trace …`) that are not
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
