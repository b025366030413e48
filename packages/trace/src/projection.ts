import { VIRTIO_CONFIG_S_FEATURES_OK, featureNames, statusNames } from '@vdpa-kit/virtio-spec';
import {
  type BusLifecycleEvent,
  type CbEvent,
  type JsonValue,
  type MgmtEvent,
  type OpEvent,
  bigintToHex,
  fromHex,
  toHex,
} from '@vdpa-kit/core-bus';
import type { DatapathRecord, TraceRecord } from './trace-format.js';

/** Projected state of one virtqueue. */
export interface VqProjection {
  num?: number;
  descArea?: number;
  driverArea?: number;
  deviceArea?: number;
  ready: boolean;
  /** `availIndex` of the last split vq state set or read. */
  state?: number;
  /** A callback is registered. */
  cb: boolean;
  /** Successful driver kicks (events and coalesced counts). */
  kicks: number;
  /** Delivered vq callbacks (events and coalesced counts). */
  callbacks: number;
}

/** Projected state of one device. */
export interface DeviceProjection {
  name: string;
  mgmtdev?: string;
  /** Bound driver (transport), if any. */
  driver?: string;
  /** Virtio device id, once read (`getDeviceId`): selects the feature-name table. */
  deviceId?: number;
  status: number;
  statusNames: string[];
  /** `0x…` hex of the offered features, once read. */
  deviceFeatures?: string;
  deviceFeatureNames: string[];
  /** `0x…` hex of the driver features, once set or read. */
  driverFeatures?: string;
  driverFeatureNames: string[];
  /** `FEATURES_OK` is set in the status. */
  featuresOk: boolean;
  vqs: Record<string, VqProjection>;
  /** Hex of the last-known config bytes from offset 0 (unknown bytes are `00`). */
  config: string;
  configGeneration?: number;
  /** Successful `reset` / `compatReset` calls (`setStatus(0)` only writes the status byte). */
  resets: number;
  /** Failed ops. */
  errors: number;
}

/** Projected state of the bus after a prefix of a trace. */
export interface BusProjection {
  /** `seq` of the last record folded in (-1 when none). */
  seq: number;
  devices: Record<string, DeviceProjection>;
  /** Registered drivers, in registration order. */
  drivers: string[];
  /** Registered management devices, in registration order. */
  mgmtdevs: string[];
}

/** Options of {@link projectTrace}. */
export interface ProjectionOptions {
  /** Fold only records with `seq <= atSeq` (default: all). */
  readonly atSeq?: number;
}

/** Mutable working state of one device while folding. */
interface DeviceState {
  readonly name: string;
  mgmtdev: string | undefined;
  driver: string | undefined;
  deviceId: number | undefined;
  status: number;
  deviceFeatures: bigint | undefined;
  driverFeatures: bigint | undefined;
  vqs: Map<number, VqProjection>;
  config: number[];
  configGeneration: number | undefined;
  resets: number;
  errors: number;
  /** Open op calls, innermost last (calls nest when a callback issues ops). */
  calls: OpEvent[];
}

function newDevice(name: string): DeviceState {
  return {
    name,
    mgmtdev: undefined,
    driver: undefined,
    deviceId: undefined,
    status: 0,
    deviceFeatures: undefined,
    driverFeatures: undefined,
    vqs: new Map(),
    config: [],
    configGeneration: undefined,
    resets: 0,
    errors: 0,
    calls: [],
  };
}

function num(v: JsonValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function big(v: JsonValue | undefined): bigint | undefined {
  return typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? BigInt(v) : undefined;
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

class Folder {
  seq = -1;
  readonly devices = new Map<string, DeviceState>();
  readonly drivers: string[] = [];
  readonly mgmtdevs: string[] = [];

  apply(r: TraceRecord): void {
    this.seq = r.seq;
    if (r.kind !== 'bus' && r.kind !== 'mgmt' && this.gone.has(r.dev)) return;
    switch (r.kind) {
      case 'op':
        this.op(r);
        break;
      case 'cb':
        this.cb(r);
        break;
      case 'bus':
        this.bus(r);
        break;
      case 'mgmt':
        this.mgmt(r);
        break;
      case 'dp':
        this.dp(r);
        break;
    }
  }

  /** Devices unregistered and not registered again: their late events (`free`) are not folded. */
  private readonly gone = new Set<string>();

  private device(name: string): DeviceState {
    let d = this.devices.get(name);
    // A trace may start after the device was registered: it then appears with its first event.
    if (d === undefined) {
      d = newDevice(name);
      this.devices.set(name, d);
    }
    return d;
  }

  private vq(d: DeviceState, idx: number): VqProjection {
    let q = d.vqs.get(idx);
    if (q === undefined) {
      q = { ready: false, cb: false, kicks: 0, callbacks: 0 };
      d.vqs.set(idx, q);
    }
    return q;
  }

  private bus(r: BusLifecycleEvent): void {
    const driver = str(r.args?.driver);
    switch (r.op) {
      case 'device_registered': {
        if (r.dev === null) return;
        const d = newDevice(r.dev);
        d.mgmtdev = str(r.args?.mgmtdev);
        this.devices.set(r.dev, d);
        this.gone.delete(r.dev);
        return;
      }
      case 'device_unregistered':
        if (r.dev === null) return;
        this.devices.delete(r.dev);
        this.gone.add(r.dev);
        return;
      case 'driver_registered':
        if (driver !== undefined && !this.drivers.includes(driver)) this.drivers.push(driver);
        return;
      case 'driver_unregistered':
        if (driver !== undefined) remove(this.drivers, driver);
        return;
      case 'bind':
        if (r.dev !== null && !this.gone.has(r.dev)) this.device(r.dev).driver = driver;
        return;
      case 'unbind':
        if (r.dev !== null && !this.gone.has(r.dev)) this.device(r.dev).driver = undefined;
        return;
      default:
        return;
    }
  }

  private mgmt(r: MgmtEvent): void {
    if (r.phase !== 'return') return;
    const mgmtdev = str(r.args.mgmtdev);
    if (r.op === 'mgmtdev_registered' && mgmtdev !== undefined && !this.mgmtdevs.includes(mgmtdev))
      this.mgmtdevs.push(mgmtdev);
    else if (r.op === 'mgmtdev_unregistered' && mgmtdev !== undefined) remove(this.mgmtdevs, mgmtdev);
    else if (r.op === 'dev_add' && r.dev !== null && this.devices.has(r.dev) && mgmtdev !== undefined)
      this.device(r.dev).mgmtdev = mgmtdev;
  }

  private cb(r: CbEvent): void {
    if (r.op !== 'vqCb' || r.err !== undefined) return;
    const idx = num(r.args[0]);
    if (idx !== undefined) this.vq(this.device(r.dev), idx).callbacks++;
  }

  private dp(r: DatapathRecord): void {
    const d = this.device(r.dev);
    for (const [k, n] of Object.entries(r.kicks)) this.vq(d, Number(k)).kicks += n;
    for (const [k, n] of Object.entries(r.cbs)) this.vq(d, Number(k)).callbacks += n;
  }

  private op(r: OpEvent): void {
    const d = this.device(r.dev);
    if (r.phase === 'call') {
      d.calls.push(r);
      return;
    }
    // The matching call is the innermost open call of the same op (a trace may start mid-call).
    let at = d.calls.length - 1;
    while (at >= 0 && d.calls[at].op !== r.op) at--;
    const call = at >= 0 ? d.calls[at] : undefined;
    if (at >= 0) d.calls.length = at;
    if (r.phase === 'error') {
      d.errors++;
      return;
    }
    this.returned(d, r, call?.args ?? []);
  }

  /** Folds a successful op with its call arguments. */
  private returned(d: DeviceState, r: OpEvent, args: readonly JsonValue[]): void {
    const a0 = num(args[0]);
    switch (r.op) {
      case 'setStatus': {
        // vdpa_sim.c: vdpasim_set_status() stores the byte, 0 included; only the reset op clears the
        // features and the queues (vdpa_reset() → reset / compat_reset).
        const s = num(args[0]);
        if (s !== undefined) d.status = s;
        return;
      }
      case 'getStatus':
        if (num(r.ret) !== undefined) d.status = num(r.ret) as number;
        return;
      case 'reset':
      case 'compatReset':
        this.reset(d);
        return;
      case 'getDeviceId':
        d.deviceId = num(r.ret) ?? d.deviceId;
        return;
      case 'getDeviceFeatures':
        d.deviceFeatures = big(r.ret) ?? d.deviceFeatures;
        return;
      case 'setDriverFeatures':
        d.driverFeatures = big(args[0]) ?? d.driverFeatures;
        return;
      case 'getDriverFeatures':
        d.driverFeatures = big(r.ret) ?? d.driverFeatures;
        return;
      case 'getGeneration':
        d.configGeneration = num(r.ret) ?? d.configGeneration;
        return;
      case 'getConfig':
        if (a0 !== undefined && typeof r.ret === 'string') this.config(d, a0, r.ret);
        return;
      case 'setConfig':
        if (a0 !== undefined && typeof args[1] === 'string') this.config(d, a0, args[1]);
        return;
      default:
        break;
    }
    if (a0 === undefined) return;
    switch (r.op) {
      case 'setVqNum':
        this.vq(d, a0).num = num(args[1]);
        return;
      case 'setVqAddress': {
        const q = this.vq(d, a0);
        q.descArea = num(args[1]);
        q.driverArea = num(args[2]);
        q.deviceArea = num(args[3]);
        return;
      }
      case 'setVqReady':
        this.vq(d, a0).ready = args[1] === true;
        return;
      case 'getVqReady':
        if (typeof r.ret === 'boolean') this.vq(d, a0).ready = r.ret;
        return;
      case 'setVqCb':
        this.vq(d, a0).cb = args[1] === true;
        return;
      case 'setVqState':
        this.vq(d, a0).state = splitAvail(args[1]);
        return;
      case 'getVqState':
        this.vq(d, a0).state = splitAvail(r.ret);
        return;
      case 'kickVq':
        this.vq(d, a0).kicks++;
        return;
      default:
        return;
    }
  }

  private reset(d: DeviceState): void {
    d.status = 0;
    d.driverFeatures = undefined;
    d.resets++;
    for (const q of d.vqs.values()) {
      q.ready = false;
      q.cb = false;
      delete q.num;
      delete q.descArea;
      delete q.driverArea;
      delete q.deviceArea;
      delete q.state;
    }
  }

  private config(d: DeviceState, offset: number, hex: string): void {
    let bytes: Uint8Array;
    try {
      bytes = fromHex(hex);
    } catch {
      return;
    }
    while (d.config.length < offset + bytes.length) d.config.push(0);
    for (let i = 0; i < bytes.length; i++) d.config[offset + i] = bytes[i];
  }
}

function splitAvail(v: JsonValue | undefined): number | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as { readonly [k: string]: JsonValue };
  return o.kind === 'split' ? num(o.availIndex) : num(o.lastAvailIdx);
}

function remove(list: string[], name: string): void {
  const at = list.indexOf(name);
  if (at >= 0) list.splice(at, 1);
}

function project(d: DeviceState): DeviceProjection {
  const vqs: Record<string, VqProjection> = {};
  for (const idx of [...d.vqs.keys()].sort((a, b) => a - b))
    vqs[String(idx)] = { ...(d.vqs.get(idx) as VqProjection) };
  const out: DeviceProjection = {
    name: d.name,
    status: d.status,
    statusNames: statusNames(d.status),
    deviceFeatureNames: d.deviceFeatures === undefined ? [] : featureNames(d.deviceFeatures, d.deviceId),
    driverFeatureNames: d.driverFeatures === undefined ? [] : featureNames(d.driverFeatures, d.deviceId),
    featuresOk: (d.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0,
    vqs,
    config: toHex(Uint8Array.from(d.config)),
    resets: d.resets,
    errors: d.errors,
  };
  if (d.mgmtdev !== undefined) out.mgmtdev = d.mgmtdev;
  if (d.driver !== undefined) out.driver = d.driver;
  if (d.deviceId !== undefined) out.deviceId = d.deviceId;
  if (d.deviceFeatures !== undefined) out.deviceFeatures = bigintToHex(d.deviceFeatures);
  if (d.driverFeatures !== undefined) out.driverFeatures = bigintToHex(d.driverFeatures);
  if (d.configGeneration !== undefined) out.configGeneration = d.configGeneration;
  return out;
}

/**
 * Folds trace records into the state of the bus and its devices (the `trace show --at SEQ` and
 * `dev show` projection): bus membership (devices, drivers, mgmtdevs, bindings) and, per device, the
 * status (decoded), device and driver features (hex and by name, iproute2 names), vq configuration,
 * callbacks and traffic counts, the config bytes seen through `getConfig`/`setConfig`, the config
 * generation, resets and failed ops. Only successful ops change state; a reset (`reset`,
 * `compatReset`) clears the status, driver features and vq configuration, while `setStatus(0)` only
 * writes the status, as `vdpasim_set_status()` does.
 *
 * @param records trace records in order (a `Trace`'s `records`)
 * @param options `atSeq`: stop after the last record with `seq <= atSeq`
 * @returns a plain JSON-serialisable projection
 * @example
 * const state = projectTrace(readTrace('session.jsonl').records, { atSeq: 120 });
 * console.log(state.devices.vdpa0.statusNames);
 */
export function projectTrace(
  records: readonly TraceRecord[],
  options: ProjectionOptions = {},
): BusProjection {
  const folder = new Folder();
  const at = options.atSeq ?? Number.POSITIVE_INFINITY;
  for (const r of records) {
    if (r.seq > at) break;
    folder.apply(r);
  }
  const devices: Record<string, DeviceProjection> = {};
  for (const [name, d] of folder.devices) devices[name] = project(d);
  return { seq: folder.seq, devices, drivers: [...folder.drivers], mgmtdevs: [...folder.mgmtdevs] };
}
