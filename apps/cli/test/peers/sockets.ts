import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh vhost-user socket path in a new temporary directory (well under the 108-byte sun_path). */
export function tempSocket(name = 'vu.sock'): string {
  return join(mkdtempSync(join(tmpdir(), 'vdpa-kit-peer-')), name);
}
