import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Compiles the CLI (`tsc -p tsconfig.lib.json`, incremental; the packages it depends on must be
 * built, as `nx run-many -t test` ensures with `^build`) once before the suite, so that the
 * end-to-end tests run `bin/vdpa-kit.js` against the current sources.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.lib.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
