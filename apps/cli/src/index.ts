export { main, createProgram, cliVersion } from './cli.js';
export { type CliIo, processIo } from './io.js';
export { CliError, StateError } from './errors.js';
export { composeCliStack, type CliStackOptions } from './compose.js';
export { cliModule, type CliModuleOptions } from './module.js';
export { STATE_LOG } from './tokens.js';
export { loadPlugins, resolvePlugin, pickContainerModule } from './load-plugins.js';
export { StateLog } from './state/state-log.js';
export {
  STATE_FORMAT_VERSION,
  parseStateLine,
  formatStateLine,
  type StateEvent,
  type StateOp,
  type NewStateEvent,
  type DevAddStateEvent,
  type DevDelStateEvent,
  type DevSetAttrStateEvent,
} from './state/state-event.js';
export { withStateLock, stateLockPath } from './state/state-lock.js';
export { foldState, devAddRequest, type FoldedDevice, type FoldedState } from './state/fold-state.js';
export { replayState } from './state/replay-state.js';
export { defaultStatePath, STATE_FILE_NAME, STATE_DIR_NAME } from './state/default-state-path.js';
export {
  withManagementState,
  type ManagementOptions,
  type ManagementView,
  type ManagementOutcome,
} from './state/management-session.js';
export {
  runVdpaCommand,
  type VdpaCommandOptions,
  type VdpaCommandResult,
  type ManagementRunner,
} from './vdpa/vdpa-commands.js';
export { VdpaPrinter } from './vdpa/printer.js';
export { JsonWriter } from './vdpa/json-writer.js';
export {
  printFeatures,
  featureName,
  className,
  deviceTypeName,
  IPROUTE2_TRANSPORT_F_END,
} from './vdpa/feature-names.js';
export {
  printMgmtdev,
  printDev,
  printDevConfig,
  printDevVstats,
  queueType,
  formatLladdr,
} from './vdpa/show-printers.js';
export {
  parseVdpaArgs,
  parseMgmtdevHandle,
  matches,
  type VdpaOption,
  type VdpaOpts,
} from './vdpa/parse-args.js';
export { parseUnsigned, parseU16, parseU32, parseHexU64, parseLladdr } from './vdpa/parse-values.js';
export { kernelErrorLines, STRERROR, type VdpaRequest } from './vdpa/kernel-errors.js';
export { fnv1a, FNV1A_INIT } from './run/fnv1a.js';
export { PacketGenerator, checkFrameSize, frameChecksum } from './run/packet-generator.js';
export { FrameChecker, type CheckedQueue } from './run/frame-checker.js';
export { runTraffic, type TrafficOptions, type TrafficResult } from './run/traffic.js';
export { runStack, type RunOptions, type RunReport } from './run/run-command.js';
export { formatRunReport } from './run/run-report.js';
export { createProgress, type Progress } from './run/progress.js';
export { registerTraceCommands } from './trace/trace-commands.js';
export { readTraceFile } from './trace/trace-file.js';
export {
  showTrace,
  showTraceJson,
  type ShowTraceOptions,
  type TraceShowJson,
  type TraceStateJson,
} from './trace/trace-show.js';
export {
  verifyTraceFile,
  formatVerifyResult,
  recordedMgmtdev,
  type VerifyTraceOptions,
  type VerifyTraceResult,
} from './trace/trace-verify.js';
export { diffTraceFiles, formatDiffResult, type TraceDiffResult } from './trace/trace-diff.js';
export { parseInjectOptions, installFaults } from './trace/inject-faults.js';
