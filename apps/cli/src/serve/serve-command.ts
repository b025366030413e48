import { GUEST_MEMORY, type JsonObject, type VdpaBus, VdpaError } from '@vdpa-kit/core-bus';
import { type NativeStatus, nativeStatus } from '@vdpa-kit/native-vhost';
import { recordToFile } from '@vdpa-kit/trace';
import {
  TRANSPORT_VHOST_BUS,
  VDPA_VHOST_DRIVER_NAME,
  type VhostBus,
  VhostUserServer,
} from '@vdpa-kit/transport-vhost';
import type { GuestMemory } from '@vdpa-kit/vring';
import type { ContainerModule } from 'inversify';
import type { Subscription } from 'rxjs';
import { composeCliStack } from '../compose.js';
import { CliError } from '../errors.js';
import { macOption } from '../mac-option.js';
import { mgmtdevNotFound } from '../mgmtdev-not-found.js';
import { runTraceHeader } from '../trace/run-trace-header.js';
import { formatLladdr } from '../vdpa/show-printers.js';
import { type ServePackets, formatServeStatus, serveStatusRecord } from './serve-status.js';

/** How often a terminal's status lines are refreshed with the packet counters, in ms. */
const TTY_REFRESH_MS = 1000;
/** Largest value of a MAC byte. */
const MAC_BYTE_MAX = 0xff;

/** Options of {@link serveDevices} (the `serve` command). */
export interface ServeOptions {
  /** `--mgmtdev`: the management device that creates the devices. */
  readonly mgmtdev: string;
  /** `--socket` (repeatable): one device per socket, named `vdpa0`, `vdpa1`, … */
  readonly sockets: readonly string[];
  /** `--mac`: the first device's MAC; each further device gets the next address. */
  readonly mac?: string;
  /** `--max-vqp`: the devices' max queue pairs. */
  readonly maxVqp?: number;
  /** `--client`: connect to listening front-ends (and reconnect) instead of listening. */
  readonly client: boolean;
  readonly plugins: readonly ContainerModule[];
  /** `--record`: the whole session as a trace file. */
  readonly record?: {
    readonly path: string;
    readonly pluginSpecs: readonly string[];
    readonly cwd: string;
    readonly env: NodeJS.ProcessEnv;
  };
  /** Status as JSON lines. */
  readonly json: boolean;
  /** Stdout is a terminal: status lines are refreshed with packet counters. */
  readonly tty: boolean;
  /** Writes one line to stdout. */
  readonly out: (line: string) => void;
  /** Resolves when serving must stop (SIGINT / SIGTERM). */
  readonly stop: Promise<void>;
  /** The addon loader (tests replace it). */
  readonly native?: () => NativeStatus;
}

/**
 * `vdpa-kit serve`: composes the stack with the vhost transport, adds one device per socket, makes
 * sure `vhost_vdpa` drives it (`bind`: a device without the `vhost` class id is refused with the
 * bus's error), serves each over vhost-user until `stop` resolves, then stops the servers (rings
 * stopped, fds closed, socket files removed) and deletes the devices.
 *
 * @throws CliError the addon is not built; the management device is unknown or refuses a device; the
 *   bus refuses to bind a device to `vhost_vdpa`; a socket cannot be listened on
 */
export async function serveDevices(options: ServeOptions): Promise<void> {
  const status = (options.native ?? nativeStatus)();
  if (!status.available) throw new CliError(`serve needs the native addon: ${status.error.message}`);
  const native = status.native;
  if (options.sockets.length === 0) throw new CliError('serve needs at least one --socket PATH');
  if (new Set(options.sockets).size !== options.sockets.length) {
    throw new CliError('each --socket must be a different path');
  }
  const mac = options.mac === undefined ? undefined : macOption('--mac', options.mac);

  const { container, bus } = composeCliStack({ vhost: true, plugins: options.plugins });
  if (bus.mgmtdevs().every((m) => m.name !== options.mgmtdev)) mgmtdevNotFound(options.mgmtdev, bus);
  const recorder = options.record === undefined ? undefined : startRecording(bus, options, mac);
  const vhostBus = container.get<VhostBus>(TRANSPORT_VHOST_BUS);
  const mem = container.get<GuestMemory>(GUEST_MEMORY);
  const names = options.sockets.map((_, i) => `vdpa${i}`);
  const added: string[] = [];
  const servers: VhostUserServer[] = [];
  const subs: Subscription[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    for (const [i, name] of names.entries()) {
      addDevice(bus, options, name, mac === undefined ? undefined : nthMac(mac, i));
      added.push(name);
      bindVhost(bus, name);
    }
    for (const [i, name] of names.entries()) {
      const server = new VhostUserServer({
        native,
        mem,
        device: name,
        socket: options.sockets[i]!,
        client: options.client,
        open: () => vhostBus.open(name),
      });
      try {
        server.start();
      } catch (err) {
        throw new CliError(`cannot serve ${name} on ${options.sockets[i]!}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      servers.push(server);
      let last = '';
      subs.push(
        server.status$.subscribe((s) => {
          const record = serveStatusRecord(s, packets(bus, name, options.maxVqp ?? 1));
          const line = options.json ? JSON.stringify(record) : formatServeStatus(record);
          if (line === last) return;
          last = line;
          options.out(line);
        }),
      );
    }
    if (options.tty && !options.json) {
      timer = setInterval(() => {
        for (const s of servers) {
          if (s.status.state === 'connected')
            options.out(
              formatServeStatus(
                serveStatusRecord(s.status, packets(bus, s.status.device, options.maxVqp ?? 1)),
              ),
            );
        }
      }, TTY_REFRESH_MS);
    }
    await options.stop;
  } finally {
    if (timer !== undefined) clearInterval(timer);
    for (const s of servers) s.stop();
    subs.forEach((s) => s.unsubscribe());
    for (const name of added) {
      try {
        bus.devDel(name);
      } catch {
        // Stopping: a device that cannot be deleted goes with the process.
      }
    }
    recorder?.stop();
  }
}

/** `mac` plus `n` in its last byte (wrapping), so that several devices get distinct addresses. */
function nthMac(mac: Uint8Array, n: number): Uint8Array {
  const out = mac.slice();
  const last = out.length - 1;
  out[last] = (out[last]! + n) & MAC_BYTE_MAX;
  return out;
}

function addDevice(bus: VdpaBus, options: ServeOptions, name: string, mac: Uint8Array | undefined): void {
  const net = {
    ...(mac === undefined ? {} : { mac }),
    ...(options.maxVqp === undefined ? {} : { maxVqPairs: options.maxVqp }),
  };
  try {
    bus.devAdd(options.mgmtdev, name, Object.keys(net).length === 0 ? {} : { net });
  } catch (err) {
    throw new CliError(`${options.mgmtdev} refused device ${name}: ${VdpaError.from(err).message}`, {
      cause: err,
    });
  }
}

/** Makes `vhost_vdpa` drive `name`; the bus refuses a device whose class ids do not include `vhost`. */
function bindVhost(bus: VdpaBus, name: string): void {
  if (bus.driverOf(name) === VDPA_VHOST_DRIVER_NAME) return;
  try {
    bus.bind(name, VDPA_VHOST_DRIVER_NAME);
  } catch (err) {
    throw new CliError(`cannot serve ${name}: ${VdpaError.from(err).message}`, { cause: err });
  }
}

/** The device's packet counters: `rx packets` of the even queues, `tx packets` of the odd ones. */
function packets(bus: VdpaBus, name: string, pairs: number): ServePackets {
  let rx = 0n;
  let tx = 0n;
  for (let q = 0; q < 2 * pairs; q++) {
    let stats;
    try {
      stats = bus.devVstats(name, q).stats;
    } catch {
      continue;
    }
    const want = q % 2 === 0 ? 'rx packets' : 'tx packets';
    const value = stats.find((s) => s.name === want)?.value;
    if (typeof value !== 'bigint') continue;
    if (q % 2 === 0) rx += value;
    else tx += value;
  }
  return { rx, tx };
}

function startRecording(bus: VdpaBus, options: ServeOptions, mac: Uint8Array | undefined): { stop(): void } {
  const record = options.record!;
  const stack: JsonObject = {
    mgmtdev: options.mgmtdev,
    devs: options.sockets.map((_, i) => `vdpa${i}`),
    attrs: {
      ...(mac === undefined ? {} : { mac: formatLladdr(mac) }),
      ...(options.maxVqp === undefined ? {} : { maxVqPairs: options.maxVqp }),
    },
    transport: 'vhost',
    sockets: [...options.sockets],
    client: options.client,
  };
  try {
    const header = runTraceHeader({ ...record, datapath: 'coalesced', stack });
    return recordToFile(bus, record.path, { datapath: 'coalesced', header });
  } catch (err) {
    throw new CliError(`cannot record to ${record.path}: ${(err as Error).message}`, { cause: err });
  }
}
