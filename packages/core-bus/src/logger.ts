/** Severity of a log record, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields attached to a log record. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * The logging contract of vdpa-kit: a message plus structured fields. Injected under the `LOGGER`
 * token; libraries never write to the console themselves.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function discard(): void {
  // a null logger drops every record
}

/** A logger that drops everything (the default). */
export const nullLogger: Logger = Object.freeze({
  debug: discard,
  info: discard,
  warn: discard,
  error: discard,
});

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * A logger writing records at or above `level` to the console (stderr for every level, so that
 * stdout stays free for command output), as `level message {fields}`.
 *
 * @param level lowest level written (default `info`)
 * @example
 * const log = consoleLogger('debug');
 * log.info('device registered', { dev: 'vdpa0' });
 */
export function consoleLogger(level: LogLevel = 'info'): Logger {
  const min = LEVEL_RANK[level];
  const write =
    (l: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (LEVEL_RANK[l] < min) return;
      if (fields === undefined) console.error(`${l} ${message}`);
      else console.error(`${l} ${message}`, fields);
    };
  return Object.freeze({
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  });
}
