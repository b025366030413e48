import { type JsonObject } from '@vdpa-kit/core-bus';
import { type TraceHeader, createTraceHeader } from '@vdpa-kit/trace';
import { MS_PER_SEC, SOURCE_DATE_EPOCH } from './constants.js';
import { type PackageVersion, dependencyVersion, pluginVersion } from './package-version.js';

/** The built-in plugins of the `vdpa-kit` binary, as a trace header lists them. */
export const BUILTIN_PLUGIN_PACKAGES = [
  '@vdpa-kit/device-vdpasim',
  '@vdpa-kit/device-mvnet',
  '@vdpa-kit/transport-virtio',
] as const;

/** What {@link runTraceHeader} describes. */
export interface RunTraceHeaderOptions {
  /** The stack, free-form: mgmtdev, device attributes, transport, work queue, clock… */
  readonly stack: JsonObject;
  /** `--plugin` specs, resolved to name and version where they have a package.json. */
  readonly pluginSpecs: readonly string[];
  /** Directory `--plugin` paths are relative to. */
  readonly cwd: string;
  readonly datapath: TraceHeader['datapath'];
  /** The environment: `SOURCE_DATE_EPOCH` (seconds) fixes `createdAt` for reproducible traces. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * `createdAt` of a trace: now, or `SOURCE_DATE_EPOCH` (seconds since the epoch) when set, so that
 * a re-recorded golden trace is byte-identical.
 *
 * @throws Error when `SOURCE_DATE_EPOCH` is set but not a non-negative integer
 */
export function traceCreatedAt(env: NodeJS.ProcessEnv): string {
  const epoch = env[SOURCE_DATE_EPOCH];
  if (epoch === undefined || epoch === '') return new Date().toISOString();
  if (!/^\d+$/.test(epoch)) throw new Error(`${SOURCE_DATE_EPOCH} ${epoch} is not a count of seconds`);
  return new Date(Number(epoch) * MS_PER_SEC).toISOString();
}

/**
 * The header `run --record` writes (`createTraceHeader`): format v1, core-bus as the framework, the built-in plugin
 * packages and every `--plugin` with their versions, the stack description and the datapath mode.
 *
 * @throws Error for a malformed `SOURCE_DATE_EPOCH`
 * @example
 * const header = runTraceHeader({ stack: { mgmtdev: 'vdpasim_net' }, pluginSpecs: [], cwd: '.', datapath: 'coalesced', env: process.env });
 */
export function runTraceHeader(options: RunTraceHeaderOptions): TraceHeader {
  const plugins: PackageVersion[] = [
    ...BUILTIN_PLUGIN_PACKAGES.map((name) => dependencyVersion(name)),
    ...options.pluginSpecs.map((spec) => pluginVersion(spec, options.cwd)),
  ];
  return createTraceHeader({
    plugins,
    stack: options.stack,
    createdAt: traceCreatedAt(options.env),
    datapath: options.datapath,
  });
}
