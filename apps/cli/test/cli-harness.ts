import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli.js';

/** The checked-in launcher. */
export const BIN = fileURLToPath(new URL('../bin/vdpa-kit.js', import.meta.url));
/** The repository root (for `--plugin ./examples/…`). */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** What one invocation of the binary produced. */
export interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** A fresh state file path in a new temporary directory. */
export function tempState(): string {
  return join(mkdtempSync(join(tmpdir(), 'vdpa-kit-e2e-')), 'state.jsonl');
}

/**
 * Runs `node bin/vdpa-kit.js --state <state> ...args` in a child process and collects its output.
 * @param options `cwd` (default the repository root), extra `env`
 */
export function vdpaKit(
  state: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--state', state, ...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: { ...process.env, VDPA_KIT_DEBUG: '', ...options.env },
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ stdout, stderr, code });
      },
    );
  });
}

/** Joins lines with `\n` and adds the final newline. */
export function lines(...text: string[]): string {
  return `${text.join('\n')}\n`;
}

/**
 * Runs the CLI's `main` in this process with captured output: the same code as the binary minus
 * process start-up, for the many error and usage cases (the reference examples run the binary).
 */
export async function vdpaKitInProcess(
  state: string,
  args: readonly string[],
  options: { readonly cwd?: string } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const progressStream = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: false });
  const code = await main(['--state', state, ...args], {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    progressStream: progressStream as unknown as NodeJS.WriteStream,
    env: { ...process.env, VDPA_KIT_STATE: '', VDPA_KIT_DEBUG: '' },
    cwd: options.cwd ?? REPO_ROOT,
  });
  return { stdout, stderr, code };
}
