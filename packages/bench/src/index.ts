export { BenchError } from './errors.js';
export {
  BENCH_DEFAULT_SIZE,
  BENCH_DEFAULT_RUNS,
  BENCH_DEFAULT_PACKETS,
  BENCH_GOALS,
  BENCH_TRACE_DEFAULT_OPS,
  BENCH_TRACE_DEFAULT_RUNS,
  BENCH_TRACE_GOALS,
} from './constants.js';
export { composeBenchStack, type BenchStackOptions } from './bench-stack.js';
export {
  benchRing,
  ringBenchMain,
  RING_BENCH_DEFAULT_RUNS,
  RING_BENCH_DEFAULT_PACKETS,
  RING_BENCH_MAX_SIZE,
  type RingBenchOptions,
  type RingBenchReport,
} from './ring/ring-bench.js';
export { formatRingReport } from './ring/ring-report.js';
export { type BenchLoop, runOnce } from './ring/bench-loop.js';
export { referenceLoop, copyCeiling, createReferenceLoop, createCopyCeiling } from './ring/reference-loop.js';
export { createValidatedLoop } from './ring/validated-loop.js';
export { createPooledLoop } from './ring/pooled-loop.js';
export { benchOpCost, type OpCostBenchOptions, type OpCostBenchReport } from './op-cost/op-cost-bench.js';
export { formatOpCostReport } from './op-cost/op-cost-report.js';
export {
  benchLoopback,
  loopbackOnce,
  type LoopbackBenchOptions,
  type LoopbackBenchReport,
} from './loopback/loopback-bench.js';
export { formatLoopbackReport } from './loopback/loopback-report.js';
export { REFERENCE_CEILINGS, type ReferenceCeilings } from './loopback/ceilings.js';
export { benchFrame, checkFrameSize } from './loopback/bench-frame.js';
export {
  benchTrace,
  type TraceBenchOptions,
  type TraceBenchReport,
  type TraceBenchRun,
} from './trace/trace-bench.js';
export { formatTraceBenchReport } from './trace/trace-bench-report.js';
