/**
 * A benchmark refused its parameters or could not run (a stack that cannot be built, a stall, a
 * replay that diverged, lost data). The CLI prints it as `vdpa-kit: <message>` and exits 1; the bin
 * entries print it and exit 2 for bad arguments.
 *
 * @example
 * throw new BenchError(`--runs ${runs} is not a positive integer`);
 */
export class BenchError extends Error {
  override readonly name = 'BenchError';

  /**
   * @param message lower-case description naming the offending value
   * @param options `cause`
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}
