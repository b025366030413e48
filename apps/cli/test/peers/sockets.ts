import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** Removes every directory {@link tempDir} made (a peer spec's `afterAll`). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A new temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vdpa-kit-peer-'));
  made.push(dir);
  return dir;
}

/** A fresh vhost-user socket path in a new temporary directory (well under the 108-byte sun_path). */
export function tempSocket(name = 'vu.sock'): string {
  return join(tempDir(), name);
}
