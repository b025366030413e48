/**
 * inversify service identifiers of `@vdpa-kit/cli`. `Symbol.for` so that two copies of the package in
 * one process still agree.
 */

/** The `StateLog` of this invocation (the `--state` file). */
export const STATE_LOG = Symbol.for('@vdpa-kit/cli/StateLog');
