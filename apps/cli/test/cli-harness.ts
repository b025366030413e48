import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
      { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, VDPA_KIT_DEBUG: '', ...options.env }, encoding: 'utf8' },
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
