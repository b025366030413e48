import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Compiles the CLI (`tsc -p tsconfig.lib.json`; the packages it depends on must be built, as
 * `nx run-many -t test` ensures with `^build`) before the suite when its sources are newer than its
 * build, so that the end-to-end tests run `bin/vdpa-kit.js` against the current sources.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const buildInfo = join(root, 'dist', '.tsbuildinfo');
  const upToDate =
    existsSync(buildInfo) &&
    statSync(buildInfo).mtimeMs >=
      Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'tsconfig.lib.json')).mtimeMs);
  if (upToDate) return;
  execFileSync(
    process.execPath,
    [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.lib.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
