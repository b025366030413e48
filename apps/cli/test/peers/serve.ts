import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../cli-harness.js';
import { type PeerExit, PeerProcess } from './peer-process.js';
import { tempDir } from './sockets.js';

/**
 * A `vdpa-kit serve …` child process (the vhost-user server of issue 14), bounded like the other
 * peers. The arguments are the serve command's own: `--mgmtdev NAME --socket PATH [--client]
 * [--max-vqp N] …`.
 */
export class VdpaKitServe {
  /** The underlying process. */
  readonly process: PeerProcess;

  /**
   * Starts `node apps/cli/bin/vdpa-kit.js --state <fresh> serve ...args`.
   * @param args the serve arguments
   * @param boundSeconds hard bound on the process
   */
  constructor(
    readonly args: readonly string[],
    boundSeconds = 180,
  ) {
    const state = join(tempDir(), 'state.jsonl');
    this.process = new PeerProcess(
      process.execPath,
      [BIN, '--state', state, 'serve', ...args],
      boundSeconds,
      { VDPA_KIT_DEBUG: '' },
      'vdpa-kit serve',
    );
  }

  /**
   * Resolves once the server listens: its socket file exists.
   * @throws Error when serve exits first or the socket does not appear within `timeoutMs`
   */
  listening(socket: string, timeoutMs = 20_000): Promise<void> {
    return this.process.waitFor(() => existsSync(socket), timeoutMs, `socket ${socket}`);
  }

  /** SIGTERM, and the exit (the issue wants 0, the socket file removed, within 2 s). */
  stop(): Promise<PeerExit> {
    return this.process.stop('SIGTERM', 5_000);
  }
}
