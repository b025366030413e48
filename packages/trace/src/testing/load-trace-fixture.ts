import { fileURLToPath } from 'node:url';
import { readTrace } from '../trace-reader.js';
import type { Trace } from '../trace-format.js';

/**
 * Reads and validates a trace file kept as a test fixture (a golden trace).
 *
 * @param path a file path (relative to the working directory) or a `file:` URL, such as
 *   `new URL('./fixtures/golden-vdpasim_net.jsonl', import.meta.url)`
 * @returns the parsed trace
 * @throws TraceError naming the line of a bad record; VdpaError when the file cannot be read
 * @example
 * const trace = loadTraceFixture(new URL('../test/fixtures/session.jsonl', import.meta.url));
 * expectReplay(trace, { bus, mgmtdev: 'vdpasim_net' });
 */
export function loadTraceFixture(path: string | URL): Trace {
  return readTrace(typeof path === 'string' ? path : fileURLToPath(path));
}
