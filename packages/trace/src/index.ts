export {
  TRACE_FORMAT_VERSION,
  TRACE_FORMAT_NAME,
  TRACE_FRAMEWORK_NAME,
  TRACE_BATCH_BYTES_DEFAULT,
  TRACE_RECORD_KINDS,
  DATAPATH_MODES,
  isDatapathRecord,
  createTraceHeader,
  frameworkVersion,
  traceHeaderSchema,
  traceRecordSchema,
  opRecordSchema,
  cbRecordSchema,
  busRecordSchema,
  mgmtRecordSchema,
  datapathRecordSchema,
  busEventSchema,
  type DatapathMode,
  type DatapathRecord,
  type Trace,
  type TraceHeader,
  type TraceHeaderOptions,
  type TracePlugin,
  type TraceRecord,
} from './trace-format.js';
export { TraceError, type TraceErrorOptions } from './trace-error.js';
export { decodeValue, decodeArgs, decodeResult, parseEvent, REPLAY_CALLBACK } from './event-decoding.js';
export { parseTrace, parseTraceRecord, readTrace, isTraceRecord } from './trace-reader.js';
export { VALUE_KIND_SCHEMAS, OP_ARGS_SCHEMAS, OP_RESULT_SCHEMAS } from './value-schemas.js';
export { TraceWriter, serializeRecord, type TraceWriterOptions } from './trace-writer.js';
export {
  startRecording,
  recordToFile,
  type EventSource,
  type Recording,
  type RecordingOptions,
  type RecordToFileOptions,
  type TraceSink,
} from './trace-recorder.js';
export {
  failNth,
  corruptResult,
  flipLowBit,
  parseInjectSpec,
  type FailNthOptions,
  type CorruptResultOptions,
} from './fault-injection.js';
export {
  projectTrace,
  type BusProjection,
  type DeviceProjection,
  type VqProjection,
  type ProjectionOptions,
} from './projection.js';
export { formatTimeline, formatCall, formatJsonValue } from './timeline.js';
export { diffTraces, formatDiff, type DiffOp, type TraceDiff, type TraceDiffEntry } from './trace-diff.js';
export {
  DATAPATH_DEPENDENT_OPS,
  DATAPATH_DEPENDENT_AFTER_KICK_OPS,
  DatapathDependence,
  isDatapathDependent,
} from './datapath-dependent.js';
export {
  deviceScript,
  defaultTraceDevice,
  formatOutcome,
  sameJson,
  type RecordedOutcome,
  type ScriptCall,
  type ScriptCallback,
  type ScriptDatapath,
  type ScriptIncarnation,
  type ScriptItem,
} from './device-script.js';
export {
  ReplayDevice,
  type ReplayDeviceOptions,
  type ReplayDivergence,
  type ReplayExpectation,
  type ReplayRegistration,
} from './replay-device.js';
export {
  verifyTrace,
  formatDivergence,
  devAddRequestOf,
  type VerifyBusTarget,
  type VerifyDivergence,
  type VerifyFactoryTarget,
  type VerifyOptions,
  type VerifyOutcome,
  type VerifyReport,
  type VerifyTarget,
} from './verify-trace.js';
export {
  ReplayMgmtDevice,
  replayMgmtDevice,
  REPLAY_MGMTDEV_NAME,
  type ReplayMgmtDeviceOptions,
} from './replay-mgmt-device.js';
