/**
 * Where the CLI reads its environment and writes its output: the process by default, buffers in
 * tests.
 */
export interface CliIo {
  /** Writes to stdout (text as is). */
  stdout(text: string): void;
  /** Writes to stderr (text as is). */
  stderr(text: string): void;
  /** The stream progress bars draw on (only used when it is a TTY). */
  readonly progressStream: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** The real process streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    progressStream: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}
