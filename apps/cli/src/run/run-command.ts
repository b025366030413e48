import {
  VDPA_ATTR_DEV_FEATURES,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VIRTIO_NET_F_CTRL_RX,
  bit,
} from '@vdpa-kit/virtio-spec';
import {
  type JsonObject,
  type VdpaBus,
  VdpaError,
  type VendorStat,
  type WorkQueueMode,
} from '@vdpa-kit/core-bus';
import { type TraceHeader, recordToFile } from '@vdpa-kit/trace';
import {
  type NetInterface,
  type NetQueueStats,
  VIRTIO_BUS,
  type VirtioBus,
} from '@vdpa-kit/transport-virtio';
import type { ContainerModule } from 'inversify';
import { composeCliStack } from '../compose.js';
import {
  BITS_PER_BYTE,
  NS_PER_MS,
  NS_PER_SEC,
  PER_GIGA,
  PER_MEGA,
  RUN_DEFAULT_MAC,
  RUN_DEVICE_NAME,
} from '../constants.js';
import { CliError } from '../errors.js';
import { macOption } from '../mac-option.js';
import { mgmtdevNotFound } from '../mgmtdev-not-found.js';
import { installFaults, parseInjectOptions } from '../trace/inject-faults.js';
import { runTraceHeader } from '../trace/run-trace-header.js';
import { parseHexU64 } from '../vdpa/parse-values.js';
import { formatLladdr } from '../vdpa/show-printers.js';
import { checkFrameSize } from './packet-generator.js';
import type { Progress } from './progress.js';
import { type TrafficResult, runTraffic } from './traffic.js';

/** Options of {@link runStack} (the `run` command). */
export interface RunOptions {
  readonly mgmtdev: string;
  /** `--mac`: the device's MAC attribute (default `RUN_DEFAULT_MAC` where the mgmtdev accepts one). */
  readonly mac?: string;
  readonly mtu?: number;
  /** `--max-vqp`: device attribute. */
  readonly maxVqp?: number;
  /**
   * `--device-features`: the features the device offers (`vdpa dev add … device_features`); with
   * `--promisc` and none given, the management device's supported features when they hold CTRL_RX.
   */
  readonly deviceFeatures?: string;
  /** `--queues`: active queue pairs to set through the control queue and to send on. */
  readonly queues?: number;
  readonly count: number;
  readonly size: number;
  readonly burst: number;
  readonly rate: number;
  readonly workQueue: WorkQueueMode;
  readonly plugins: readonly ContainerModule[];
  /** Builds the progress display once the total is known. */
  readonly progress?: (total: number) => Progress;
  /** `--clock`: event timestamps from the wall clock (default) or a counter (deterministic traces). */
  readonly clock?: 'system' | 'logical';
  /** `--set-mac`: a MAC set through the control queue (`MAC_ADDR_SET`) after bring-up. */
  readonly setMac?: string;
  /** `--promisc`: promiscuous mode turned on through the control queue after bring-up. */
  readonly promisc?: boolean;
  /** `--inject`: fault specs (`OP:N:ERRNO`, `OP:N+:ERRNO`, `OP:N:corrupt`), installed before the device is added. */
  readonly inject?: readonly string[];
  /** `--record`: record the whole session, from `dev add` to `dev del`, as a trace file. */
  readonly record?: RunRecordOptions;
}

/** Where and how `run --record` writes its trace. */
export interface RunRecordOptions {
  /** The trace file (created or truncated). */
  readonly path: string;
  /** `--record-datapath`: kicks and callbacks coalesced (default) or every one recorded. */
  readonly datapath: TraceHeader['datapath'];
  /** The `--plugin` specs, named in the header with their versions. */
  readonly pluginSpecs: readonly string[];
  /** Directory `--plugin` paths are relative to. */
  readonly cwd: string;
  /** The environment (`SOURCE_DATE_EPOCH` fixes the header's `createdAt`). */
  readonly env: NodeJS.ProcessEnv;
}

/** The report of one `run`, as printed with `--json`. */
export interface RunReport {
  readonly mgmtdev: string;
  readonly dev: string;
  readonly mac: string;
  readonly mtu: number;
  readonly linkUp: boolean;
  readonly maxQueuePairs: number;
  readonly queuePairs: number;
  readonly features: string;
  readonly workQueue: WorkQueueMode;
  readonly size: number;
  readonly burst: number;
  readonly rate: number;
  readonly tx: { readonly packets: number; readonly bytes: number };
  readonly rx: { readonly packets: number; readonly bytes: number; readonly intact: number };
  readonly drops: number;
  readonly errors: number;
  readonly lost: number;
  readonly corrupt: number;
  readonly outOfOrder: number;
  readonly backpressure: number;
  readonly stalled: boolean;
  readonly durationMs: number;
  readonly mpps: number;
  readonly gbps: number;
  readonly perQueue: TrafficResult['perQueue'];
  readonly queues: readonly NetQueueStats[];
  /** Vendor counters of each virtqueue (`dev vstats show`), by queue index. */
  readonly vendorStats: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** The trace written with `--record`. */
  readonly record?: { readonly file: string; readonly datapath: TraceHeader['datapath'] };
  /** The `--inject` specs that were installed. */
  readonly inject?: readonly string[];
  /** No frame lost or corrupt. */
  readonly ok: boolean;
}

function vendorStats(bus: VdpaBus, name: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const nvqs = bus.device(name)?.nvqs ?? 0;
  for (let q = 0; q < nvqs; q++) {
    let stats: readonly VendorStat[];
    try {
      stats = bus.devVstats(name, q).stats;
    } catch {
      continue;
    }
    out[String(q)] = Object.fromEntries(stats.map((s) => [s.name, Number(s.value)]));
  }
  return out;
}

/**
 * `vdpa-kit run`: composes a throw-away stack with the virtio transport (the state log is not
 * touched), adds device `vdpa0` on `mgmtdev` with the given attributes (MAC `RUN_DEFAULT_MAC` when
 * none is given and the management device accepts one), lets virtio-net bring it up,
 * sets the active queue pairs (and, when asked, the MAC and promiscuous mode) through the control
 * queue, drives traffic with the packet generator and checks every frame, then reports driver and
 * vendor counters.
 *
 * With `record`, a trace recorder is on from before `dev add` until after the closing `dev del`
 * (the teardown is part of the trace); with `inject`, fault-injecting interceptors are installed
 * before the device is added, so that bring-up already meets them.
 *
 * @throws CliError for bad options, a trace file that cannot be written, a device the bus refuses
 * or that no virtio-net driver bound, a control-queue command the device refuses
 * @example
 * const report = await runStack({ mgmtdev: 'vdpasim_net', count: 1000, size: 64, burst: 32, rate: 0, workQueue: 'inline', plugins: [] });
 */
export async function runStack(options: RunOptions): Promise<RunReport> {
  checkFrameSize(options.size);
  const explicitMac = options.mac === undefined ? undefined : macOption('--mac', options.mac);
  const cvqMac = options.setMac === undefined ? undefined : macOption('--set-mac', options.setMac);
  const explicitFeatures =
    options.deviceFeatures === undefined ? undefined : featuresOption(options.deviceFeatures);
  const faults = parseInjectOptions(options.inject ?? []);
  let stack;
  try {
    stack = composeCliStack({
      plugins: options.plugins,
      transport: true,
      workQueue: options.workQueue,
      clock: options.clock ?? 'system',
    });
  } catch (err) {
    throw new CliError(`cannot compose the stack: ${VdpaError.from(err).message}`, { cause: err });
  }
  const { bus, container } = stack;
  let recorder: { stop(): void } | undefined;
  let removeFaults: (() => void) | undefined;
  try {
    const mdev =
      bus.mgmtdevs().find((m) => m.name === options.mgmtdev) ?? mgmtdevNotFound(options.mgmtdev, bus);
    const acceptsMac = (mdev.configAttrMask & bit(VDPA_ATTR_DEV_NET_CFG_MACADDR)) !== 0n;
    const mac = explicitMac ?? (acceptsMac ? macOption('--mac', RUN_DEFAULT_MAC) : undefined);
    const deviceFeatures = explicitFeatures ?? (options.promisc === true ? rxModeFeatures(mdev) : undefined);
    if (options.record !== undefined) recorder = startRecording(bus, options, mac, deviceFeatures);
    removeFaults = installFaults(bus, faults);
    const net = addDevice(bus, container.get<VirtioBus>(VIRTIO_BUS), options, mac, deviceFeatures);
    const pairs = options.queues ?? net.queuePairs;
    if (!Number.isInteger(pairs) || pairs < 1 || pairs > net.maxQueuePairs) {
      throw new CliError(
        `--queues ${pairs} is not in 1..${net.maxQueuePairs} (the device's max queue pairs)`,
      );
    }
    if (pairs !== net.queuePairs)
      await controlCommand(net, `${pairs} queue pairs`, () => net.setQueuePairs(pairs));
    if (cvqMac !== undefined)
      await controlCommand(net, `mac ${formatLladdr(cvqMac)}`, () => net.setMac(cvqMac));
    if (options.promisc === true)
      await controlCommand(net, 'promiscuous mode', () => net.setRxMode('promisc', true));
    const progress = options.progress?.(options.count);
    let result: TrafficResult;
    try {
      result = await runTraffic(net, {
        count: options.count,
        size: options.size,
        burst: options.burst,
        rate: options.rate,
        queues: pairs,
        microtask: options.workQueue === 'microtask',
        onProgress: progress === undefined ? undefined : (s, r) => progress.update(s, r),
      });
    } finally {
      progress?.stop();
    }
    const queues = net.stats();
    const seconds = Number(result.durationNs) / NS_PER_SEC;
    const report: RunReport = {
      mgmtdev: options.mgmtdev,
      dev: net.name,
      mac: formatLladdr(net.mac),
      mtu: net.mtu,
      linkUp: net.linkUp,
      maxQueuePairs: net.maxQueuePairs,
      queuePairs: net.queuePairs,
      features: `0x${net.features.toString(16)}`,
      workQueue: options.workQueue,
      size: options.size,
      burst: options.burst,
      rate: options.rate,
      tx: { packets: result.sent, bytes: result.sentBytes },
      rx: { packets: result.received, bytes: result.receivedBytes, intact: result.intact },
      drops: queues.reduce((n, q) => n + q.drops, 0),
      errors: queues.reduce((n, q) => n + q.errors, 0),
      lost: result.lost,
      corrupt: result.corrupt,
      outOfOrder: result.outOfOrder,
      backpressure: result.backpressure,
      stalled: result.stalled,
      durationMs: Number(result.durationNs) / NS_PER_MS,
      mpps: seconds > 0 ? result.intact / seconds / PER_MEGA : 0,
      gbps: seconds > 0 ? (result.receivedBytes * BITS_PER_BYTE) / seconds / PER_GIGA : 0,
      perQueue: result.perQueue,
      queues,
      vendorStats: vendorStats(bus, net.name),
      ...(options.record === undefined
        ? {}
        : { record: { file: options.record.path, datapath: options.record.datapath } }),
      ...(options.inject === undefined || options.inject.length === 0 ? {} : { inject: options.inject }),
      ok: result.lost === 0 && result.corrupt === 0,
    };
    net.close();
    // The teardown (driver remove, reset, dev_del) belongs to a recorded session.
    if (recorder !== undefined) deleteDevice(bus, net.name);
    return report;
  } finally {
    removeFaults?.();
    recorder?.stop();
    bus.dispose();
  }
}

/** `--device-features`: hex u64 as `vdpa dev add … device_features` takes it. */
function featuresOption(text: string): bigint {
  const v = parseHexU64(text);
  if (v === undefined) throw new CliError(`--device-features ${text} is not a hex u64`);
  return v;
}

/**
 * What `--promisc` provisions when `--device-features` is not given: promiscuous mode needs CTRL_RX,
 * which a device may support without offering it by default (vdpasim_net offers the kernel's
 * `VDPASIM_NET_FEATURES`, without CTRL_RX); so ask for everything the management device supports.
 * Nothing is provisioned when it takes no `device_features` or does not support CTRL_RX: the control
 * command then fails with the device's own answer.
 */
function rxModeFeatures(mdev: { configAttrMask: bigint; supportedFeatures: bigint }): bigint | undefined {
  const provisionable = (mdev.configAttrMask & bit(VDPA_ATTR_DEV_FEATURES)) !== 0n;
  const supportsRx = (mdev.supportedFeatures & bit(VIRTIO_NET_F_CTRL_RX)) !== 0n;
  return provisionable && supportsRx ? mdev.supportedFeatures : undefined;
}

function startRecording(
  bus: VdpaBus,
  options: RunOptions,
  mac: Uint8Array | undefined,
  deviceFeatures: bigint | undefined,
): { stop(): void } {
  const record = options.record as RunRecordOptions;
  const stack: JsonObject = {
    mgmtdev: options.mgmtdev,
    dev: RUN_DEVICE_NAME,
    attrs: {
      ...(mac === undefined ? {} : { mac: formatLladdr(mac) }),
      ...(options.mtu === undefined ? {} : { mtu: options.mtu }),
      ...(options.maxVqp === undefined ? {} : { maxVqPairs: options.maxVqp }),
      ...(deviceFeatures === undefined ? {} : { deviceFeatures: `0x${deviceFeatures.toString(16)}` }),
    },
    transport: 'virtio',
    workQueue: options.workQueue,
    clock: options.clock ?? 'system',
    queues: options.queues ?? null,
    cvq: {
      ...(options.setMac === undefined ? {} : { mac: options.setMac }),
      ...(options.promisc === true ? { promisc: true } : {}),
    },
    traffic: { count: options.count, size: options.size, burst: options.burst, rate: options.rate },
    inject: [...(options.inject ?? [])],
  };
  let header: TraceHeader;
  try {
    header = runTraceHeader({ ...record, stack });
  } catch (err) {
    throw new CliError((err as Error).message, { cause: err });
  }
  try {
    return recordToFile(bus, record.path, { datapath: record.datapath, header });
  } catch (err) {
    throw new CliError(`cannot record to ${record.path}: ${(err as Error).message}`, { cause: err });
  }
}

async function controlCommand(net: NetInterface, what: string, command: () => Promise<void>): Promise<void> {
  try {
    await command();
  } catch (err) {
    throw new CliError(`device ${net.name} refused ${what}: ${VdpaError.from(err).message}`, { cause: err });
  }
}

function deleteDevice(bus: VdpaBus, name: string): void {
  try {
    bus.devDel(name);
  } catch (err) {
    throw new CliError(`cannot delete device ${name}: ${VdpaError.from(err).message}`, { cause: err });
  }
}

function addDevice(
  bus: VdpaBus,
  vbus: VirtioBus,
  options: RunOptions,
  mac: Uint8Array | undefined,
  deviceFeatures: bigint | undefined,
): NetInterface {
  const net = {
    ...(mac === undefined ? {} : { mac }),
    ...(options.mtu === undefined ? {} : { mtu: options.mtu }),
    ...(options.maxVqp === undefined ? {} : { maxVqPairs: options.maxVqp }),
  };
  try {
    bus.devAdd(options.mgmtdev, RUN_DEVICE_NAME, {
      ...(deviceFeatures === undefined ? {} : { deviceFeatures }),
      ...(Object.keys(net).length === 0 ? {} : { net }),
    });
  } catch (err) {
    throw new CliError(
      `${options.mgmtdev} refused device ${RUN_DEVICE_NAME}: ${VdpaError.from(err).message}`,
      { cause: err },
    );
  }
  const iface = vbus.netDevice(RUN_DEVICE_NAME);
  if (iface === undefined) {
    const driver = bus.driverOf(RUN_DEVICE_NAME);
    throw new CliError(
      `device ${RUN_DEVICE_NAME} on ${options.mgmtdev} has no virtio-net interface (bus driver: ${driver ?? 'none'})`,
    );
  }
  return iface;
}
