import { VDPA_ATTR_DEV_FEATURES, VIRTIO_ID_NET, bit } from '@vdpa-kit/virtio-spec';
import {
  type JsonValue,
  type MgmtDevice,
  VDPA_DEV_NET_ATTRS_MASK,
  type VdpaBus,
  type VdpaDevSetConfig,
  type VdpaDevice,
  VdpaError,
} from '@vdpa-kit/core-bus';
import { ReplayDevice, type ReplayDeviceOptions } from './replay-device.js';
import type { Trace } from './trace-format.js';

/** Default handle of the replay management device. */
export const REPLAY_MGMTDEV_NAME = 'replay';

/** Options of {@link ReplayMgmtDevice}. */
export interface ReplayMgmtDeviceOptions {
  /** Handle (default {@link REPLAY_MGMTDEV_NAME}). */
  readonly name?: string;
  /** Passed to every {@link ReplayDevice} (the incarnation is chosen by the mgmtdev). */
  readonly device?: Omit<ReplayDeviceOptions, 'incarnation'>;
}

function isHexBigint(value: JsonValue | undefined): value is string {
  return typeof value === 'string' && /^0x[0-9a-f]+$/i.test(value);
}

/** What a trace says about its devices: names in order of appearance, ids, features, vq counts. */
interface TraceDevices {
  readonly names: string[];
  readonly ids: Set<number>;
  features: bigint;
  maxVqs: number;
}

function surveyDevices(trace: Trace): TraceDevices {
  const out: TraceDevices = { names: [], ids: new Set(), features: 0n, maxVqs: 0 };
  const seen = (dev: string | null): void => {
    if (dev !== null && !out.names.includes(dev)) out.names.push(dev);
  };
  for (const r of trace.records) {
    if (r.kind === 'bus' && r.op === 'device_registered') {
      seen(r.dev);
      const nvqs = r.args?.nvqs;
      if (typeof nvqs === 'number') out.maxVqs = Math.max(out.maxVqs, nvqs);
    } else if (r.kind === 'mgmt' && r.op === 'mgmtdev_registered' && r.phase === 'return') {
      const info = r.ret;
      if (typeof info !== 'object' || info === null || Array.isArray(info)) continue;
      const { classIds, supportedFeatures, maxSupportedVqs } = info as Readonly<Record<string, JsonValue>>;
      if (Array.isArray(classIds)) for (const id of classIds) if (typeof id === 'number') out.ids.add(id);
      if (isHexBigint(supportedFeatures)) out.features |= BigInt(supportedFeatures);
      if (typeof maxSupportedVqs === 'number') out.maxVqs = Math.max(out.maxVqs, maxSupportedVqs);
    } else if (r.kind === 'op') {
      seen(r.dev);
      if (r.phase !== 'return') continue;
      if (r.op === 'getDeviceId' && typeof r.ret === 'number') out.ids.add(r.ret);
      if (r.op === 'getDeviceFeatures' && isHexBigint(r.ret)) out.features |= BigInt(r.ret);
    } else if (r.kind === 'dp') {
      seen(r.dev);
    }
  }
  return out;
}

/**
 * A management device whose `devAdd` creates {@link ReplayDevice}s answering from a trace: mock-mode
 * replay through the normal `dev add` path, so a transport can be tested against a recorded session
 * without the recorded device.
 *
 * `devAdd(name)` replays the recorded device of that name (or the trace's only device, whatever its
 * name), its next incarnation each time, registered with the recorded `nvqs`, class ids, groups and
 * address spaces. The id table, supported features and max vqs are what the trace shows; every `dev
 * add` attribute is accepted (attributes are not compared with the recording).
 *
 * @example
 * const mgmt = replayMgmtDevice(bus, loadTraceFixture('golden-vdpasim_net.jsonl'));
 * bus.registerDriver(transportUnderTest);
 * bus.devAdd('replay', 'vdpa0');
 * expect(mgmt.devices.get('vdpa0')?.divergence).toBeUndefined();
 */
export class ReplayMgmtDevice implements MgmtDevice {
  readonly name: string;
  readonly idTable: readonly number[];
  readonly configAttrMask: bigint = VDPA_DEV_NET_ATTRS_MASK | bit(VDPA_ATTR_DEV_FEATURES);
  readonly supportedFeatures: bigint;
  readonly maxSupportedVqs: number;
  /** The replay device created last under each name (kept after `devDel`, to inspect `remaining()`). */
  readonly devices = new Map<string, ReplayDevice>();
  private readonly recorded: readonly string[];
  private readonly incarnations = new Map<string, number>();

  /**
   * @param bus the bus to register created devices on
   * @param trace the recorded trace
   * @param options name, replay device options
   */
  constructor(
    private readonly bus: VdpaBus,
    private readonly trace: Trace,
    private readonly options: ReplayMgmtDeviceOptions = {},
  ) {
    const survey = surveyDevices(trace);
    this.name = options.name ?? REPLAY_MGMTDEV_NAME;
    this.idTable = Object.freeze(survey.ids.size > 0 ? [...survey.ids] : [VIRTIO_ID_NET]);
    this.supportedFeatures = survey.features;
    this.maxSupportedVqs = survey.maxVqs;
    this.recorded = Object.freeze(survey.names);
  }

  /**
   * Creates and registers the next incarnation of the recorded device `name`.
   * @throws VdpaError `ENODEV` when the trace has no such device (and more than one device),
   * `EINVAL` (`TraceError`) when every recorded incarnation was already created
   */
  devAdd(name: string, _config: VdpaDevSetConfig): VdpaDevice {
    const recorded = this.recorded.includes(name)
      ? name
      : this.recorded.length === 1
        ? this.recorded[0]
        : undefined;
    if (recorded === undefined) {
      throw new VdpaError(
        'ENODEV',
        `trace has no device ${name} (recorded: ${this.recorded.join(', ') || 'none'})`,
      );
    }
    const incarnation = this.incarnations.get(recorded) ?? 0;
    const mock = new ReplayDevice(this.trace, recorded, { ...this.options.device, incarnation });
    const reg = mock.registration;
    const dev = this.bus.allocDevice({
      ops: mock,
      name,
      classIds: reg.classIds,
      ngroups: reg.ngroups,
      nas: reg.nas,
      useVa: reg.useVa,
      mgmtdev: this.name,
    });
    try {
      this.bus.registerDevice(dev, reg.nvqs);
    } catch (err) {
      this.bus.releaseDevice(dev);
      throw err;
    }
    this.incarnations.set(recorded, incarnation + 1);
    this.devices.set(name, mock);
    return dev;
  }

  /** Unregisters a device it created. */
  devDel(dev: VdpaDevice): void {
    this.bus.unregisterDevice(dev);
  }
}

/**
 * Registers a {@link ReplayMgmtDevice} (handle `replay` by default) for `trace` on `bus`.
 * @returns the registered management device
 * @throws VdpaError `EEXIST` when a mgmtdev of that name exists
 * @example
 * const mgmt = replayMgmtDevice(bus, trace);
 * bus.devAdd('replay', 'vdpa0');
 */
export function replayMgmtDevice(
  bus: VdpaBus,
  trace: Trace,
  options: ReplayMgmtDeviceOptions = {},
): ReplayMgmtDevice {
  const mgmt = new ReplayMgmtDevice(bus, trace, options);
  bus.registerMgmtDevice(mgmt);
  return mgmt;
}
