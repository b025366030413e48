/**
 * One loop of the ring benchmark, set up once and then run in slices: the benchmark interleaves
 * short slices of every loop, so that a swing of the machine's load hits them all alike, and no slice
 * pays for setting up memory or for compiling again.
 */
export interface BenchLoop {
  /**
   * Moves `packets` more packets (or makes that many copies), carrying on from where the last call
   * stopped. @returns the nanoseconds it took
   * @throws Error if data was lost in this slice
   */
  run(packets: number): number;
  /**
   * Checks the bytes of the frames received since the last call (payload.ts), then poisons the
   * receive buffers so that the next run must write them again. Call it outside the clock.
   * @throws Error naming the first byte that differs
   */
  verify(): void;
}

/** Runs a fresh `loop` once for `packets` packets and checks it. @returns packets per second */
export function runOnce(loop: BenchLoop, packets: number): number {
  const ns = loop.run(packets);
  loop.verify();
  return (packets * 1e9) / ns;
}
