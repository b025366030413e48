/**
 * A failure the CLI reports as one or more exact stderr lines and a non-zero exit status, without a
 * stack trace (unless `VDPA_KIT_DEBUG=1`). iproute2-compatible commands use `lines` to print the
 * kernel tool's exact text (possibly none: its number-parse failures are silent); every other error
 * is the single line `vdpa-kit: <message>`.
 *
 * @example
 * throw new CliError(`plugin ${spec} exports no ContainerModule`);
 * throw new CliError('unknown option', { lines: ['Unknown option "b"'] });
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** Process exit status (default 1). */
  readonly exitCode: number;
  /** Exact stderr lines; when absent the error prints as `vdpa-kit: <message>`. */
  readonly lines: readonly string[] | undefined;

  /**
   * @param message lower-case description naming the offending value
   * @param options `exitCode` (default 1), exact `lines`, `cause`
   */
  constructor(
    message: string,
    options: { exitCode?: number; lines?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
    this.lines = options.lines;
  }

  /** The stderr lines this error prints. */
  stderrLines(): readonly string[] {
    return this.lines ?? [`vdpa-kit: ${this.message}`];
  }
}

/**
 * The state log cannot be used: a corrupt or unreadable line, a failed replay, a lock that cannot
 * be taken. The message names the file and, for content errors, the 1-based line number.
 */
export class StateError extends CliError {
  /** 1-based line of the state file at fault, when there is one. */
  readonly line: number | undefined;

  /**
   * @param message what is wrong, naming the file and line
   * @param options the `line` at fault and a `cause`
   */
  constructor(message: string, options: { line?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.line = options.line;
  }
}
