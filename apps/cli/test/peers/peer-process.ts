import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** How a {@link PeerProcess} ended. */
export interface PeerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Output kept per process: the tail, enough for the final statistics and the error that ended it. */
const MAX_OUTPUT = 4 * 1024 * 1024;

/**
 * A peer program (testpmd, QEMU, `vdpa-kit serve`) run under coreutils `timeout -k 5 BOUND`, so
 * that nothing outlives its bound even when the test process dies. Its standard input is a pipe
 * kept open until the process ends: testpmd quits at once when stdin reaches end of file.
 */
export class PeerProcess {
  /** The process's stdout and stderr, interleaved as they arrived. */
  output = '';
  /** Resolves when the process has exited. */
  readonly exited: Promise<PeerExit>;
  private readonly child: ChildProcessWithoutNullStreams;
  private exit: PeerExit | undefined;
  private readonly listeners = new Set<() => void>();

  /**
   * Starts `timeout -k 5 boundSeconds command ...args`.
   * @param command the program
   * @param args its arguments
   * @param boundSeconds the hard bound on its run time
   * @param env extra environment variables
   * @param label the name used in error messages (default the command)
   */
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly boundSeconds: number,
    env: NodeJS.ProcessEnv = {},
    readonly label: string = command,
  ) {
    this.child = spawn('timeout', ['-k', '5', String(boundSeconds), command, ...args], {
      stdio: 'pipe',
      env: { ...process.env, ...env },
    });
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString('utf8');
      if (this.output.length > MAX_OUTPUT) this.output = this.output.slice(-MAX_OUTPUT);
      for (const listener of this.listeners) listener();
    };
    this.child.stdout.on('data', append);
    this.child.stderr.on('data', append);
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.child.stdin.destroy();
        for (const listener of this.listeners) listener();
        resolve(this.exit);
      });
    });
  }

  /** The process id of the `timeout` wrapper. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True once the process has exited. */
  get done(): boolean {
    return this.exit !== undefined;
  }

  /** The last `lines` lines of output, for error messages. */
  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  /**
   * Resolves when `pattern` appears in the output, or `check()` returns true (polled every 100 ms).
   * @throws Error with the output's tail when the process exits first or `timeoutMs` passes
   */
  waitFor(pattern: RegExp | (() => boolean), timeoutMs: number, what = String(pattern)): Promise<void> {
    const matched = (): boolean => (typeof pattern === 'function' ? pattern() : pattern.test(this.output));
    return new Promise((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(listener);
        if (error) reject(error);
        else resolve();
      };
      const listener = (): void => {
        if (matched()) finish();
        else if (this.exit !== undefined) {
          finish(
            new Error(
              `${this.label} exited (code ${String(this.exit.code)}, signal ${String(this.exit.signal)}) before ${what}:\n${this.tail()}`,
            ),
          );
        }
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.label}: no ${what} within ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
      const poll = setInterval(listener, 100);
      this.listeners.add(listener);
      listener();
    });
  }

  /**
   * A promise that rejects when the process exits (with its output's tail) and never resolves: race
   * it against a wait on another peer, so that a peer dying ends the wait at once.
   */
  failOnExit(): Promise<never> {
    return this.exited.then((exit) => {
      throw new Error(
        `${this.label} exited early (code ${String(exit.code)}, signal ${String(exit.signal)}):\n${this.tail()}`,
      );
    });
  }

  /**
   * Sends `signal` once to the program itself. Not through `timeout`: it relays a signal both to
   * its child and to its process group, so the program would get it twice (and a program that
   * handles the first with `process.once` dies of the second). Falls back to `timeout` when the
   * program is not started yet or /proc has no children list.
   */
  private signalProgram(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    let children: number[] = [];
    try {
      if (pid !== undefined) {
        children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
          .split(/\s+/)
          .filter((s) => s !== '')
          .map(Number);
      }
    } catch {
      children = [];
    }
    if (children.length === 0) {
      this.child.kill(signal);
      return;
    }
    for (const child of children) {
      try {
        process.kill(child, signal);
      } catch {
        // Already gone: `timeout` then exits by itself.
      }
    }
  }

  /**
   * Sends `signal` to the program and waits for the exit (`timeout` exits with the program's status).
   * @param graceMs after this, SIGKILL to the whole process group (`timeout` leads its own group)
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<PeerExit> {
    if (this.exit !== undefined) return this.exit;
    this.signalProgram(signal);
    const timer = setTimeout(() => {
      try {
        if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        this.child.kill('SIGKILL');
      }
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
