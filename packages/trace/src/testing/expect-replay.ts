import type { VdpaConfigOps } from '@vdpa-kit/core-bus';
import {
  type VerifyDivergence,
  type VerifyOptions,
  type VerifyReport,
  type VerifyTarget,
  formatDivergence,
  verifyTrace,
} from '../verify-trace.js';
import { formatOutcome } from '../device-script.js';
import type { Trace } from '../trace-format.js';

/**
 * The error {@link expectReplay} throws: an assertion error (`name: 'AssertionError'`) whose
 * `expected` / `actual` are the formatted outcomes, so test runners show them side by side.
 */
export class ReplayAssertionError extends Error {
  override readonly name = 'AssertionError';
  /** The recorded outcome, formatted (`ok`, a value or `!ERRNO`). */
  readonly expected: string;
  /** The live outcome, formatted. */
  readonly actual: string;

  /**
   * @param report the failed verification
   * @param divergence its divergence
   */
  constructor(
    readonly report: VerifyReport,
    readonly divergence: VerifyDivergence,
  ) {
    super(`trace replay of device ${report.dev} failed: ${formatDivergence(divergence)}`);
    this.expected = formatOutcome(divergence.expected);
    this.actual = formatOutcome(divergence.actual);
  }
}

/**
 * Asserts that `trace` replays (verify mode) against a device factory or a live target: runs
 * `verifyTrace` and throws a {@link ReplayAssertionError} with the formatted divergence when it is not
 * ok.
 *
 * @param trace the recorded trace
 * @param target a device factory (`() => new MyDevice()`) or a `VerifyTarget`
 * @param options `strict`, `dev`, `guestMemory`
 * @returns the report when ok
 * @throws ReplayAssertionError on a divergence; whatever `verifyTrace` throws on bad input
 * @example
 * const trace = loadTraceFixture(new URL('./fixtures/bring-up.jsonl', import.meta.url));
 * expectReplay(trace, () => new MyVendorDevice());
 */
export function expectReplay(
  trace: Trace,
  target: (() => VdpaConfigOps) | VerifyTarget,
  options: VerifyOptions = {},
): VerifyReport {
  const report = verifyTrace(trace, typeof target === 'function' ? { factory: target } : target, options);
  if (report.divergence !== undefined) throw new ReplayAssertionError(report, report.divergence);
  return report;
}
