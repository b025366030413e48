import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Builds the CLI and its project references (`tsc -b`, incremental) once before the suite, so the
 * end-to-end tests run `bin/vdpa-kit.js` against current sources.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync('npx', ['tsc', '-b', 'tsconfig.lib.json'], { cwd: root, stdio: 'inherit' });
}
