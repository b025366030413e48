// The vhost-user server over a real Unix socket: an in-process front-end written with the native
// addon (memfd guest RAM, eventfds) runs DPDK 22.11's start sequence against vdpasim_net, loops frames
// TX → RX through the device, stops, disconnects; bad peers are dropped while another device is served.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '@vdpa-kit/native-vhost';
import {
  VHOST_USER_F_PROTOCOL_FEATURES,
  VHOST_USER_SET_VRING_CALL,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_CTRL_VQ,
  bit,
} from '@vdpa-kit/virtio-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Logger } from '@vdpa-kit/core-bus';
import { VDPASIM_NET_MGMT, type VdpasimNetMgmt } from '@vdpa-kit/device-vdpasim';
import { VhostUserServer } from '../src/index.js';
import {
  frontendMessage,
  NativeFrontend,
  type NativeFrontendLayout,
  until,
} from '../src/vhost-user/testing/index.js';
import { addVdpasim, vhostStack, type VhostTestStack } from './harness.js';

const native = loadNative();

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

function captureLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      lines.push({ level, message, fields });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('VhostUserServer over a Unix socket', () => {
  let dir: string;
  let stack: VhostTestStack;
  let servers: VhostUserServer[];
  let logs: LogLine[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vdpa-vu-'));
    stack = vhostStack();
    servers = [];
    logs = [];
  });

  afterEach(() => {
    for (const s of servers) s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function serve(device: string, maxVqPairs?: number): VhostUserServer {
    if (maxVqPairs === undefined) addVdpasim(stack, device);
    else stack.bus.devAdd('vdpasim_net', device, { net: { maxVqPairs } });
    const server = new VhostUserServer({
      native,
      mem: stack.mem,
      device,
      socket: join(dir, `${device}.sock`),
      open: () => stack.vhostBus.open(device),
      logger: captureLogger(logs),
    });
    server.start();
    servers.push(server);
    return server;
  }

  /** The whole DPDK-style session on `server`: start, 5 frames looped, stop, disconnect. */
  async function loopFrames(
    server: VhostUserServer,
    options: { layout?: NativeFrontendLayout; polling?: boolean } = {},
  ): Promise<void> {
    const fe = NativeFrontend.connect(native, server.status.socket, options.layout);
    try {
      const offered = await fe.start();
      expect(offered & bit(VIRTIO_F_VERSION_1)).not.toBe(0n);
      expect(offered & bit(VHOST_USER_F_PROTOCOL_FEATURES)).not.toBe(0n);
      await until(() => server.status.runningRings.length === 2, 'both rings running');
      expect(server.status.state).toBe('connected');
      expect(server.status.protocolFeatures).toBe(0x10009n);

      if (options.polling === true) {
        fe.disableCalls(0);
        fe.disableCalls(1);
      }
      fe.postRx(8);
      const sent = fe.sendFrames(5, 200);
      const received: Uint8Array[] = [];
      await until(() => {
        received.push(...fe.receive());
        return received.length === 5;
      }, 'five frames back on RX');
      // vdpasim_net copies the whole buffer, header included (vdpasim_net_work()).
      expect(received).toEqual(sent);
      expect(fe.txDone()).toEqual([100, 101, 102, 103, 104]);
      if (options.polling === true) {
        // VRING_AVAIL_F_NO_INTERRUPT set, as DPDK's PMD sets it: no call reaches the fds.
        expect([fe.calls(0), fe.calls(1)]).toEqual([0, 0]);
      } else {
        // A Linux-style driver leaves interrupts on: the device called through both fds.
        expect(fe.calls(0)).toBeGreaterThan(0);
        expect(fe.calls(1)).toBeGreaterThan(0);
      }

      const bases = await fe.stop();
      expect(bases).toEqual([5, 5]);
      await until(() => server.status.runningRings.length === 0, 'rings stopped');
    } finally {
      fe.close();
    }
    await until(() => server.status.state === 'waiting', 'the server to see the disconnect');
  }

  it('serves vdpasim_net to a DPDK-style front-end: frames loop back, fds and socket cleaned up', async () => {
    const baseline = native.openFdCount();
    const server = serve('vdpa0');
    const sim = stack.container.get<VdpasimNetMgmt>(VDPASIM_NET_MGMT).device('vdpa0')!;
    const path = server.status.socket;
    expect(statSync(path).mode & 0o777).toBe(0o600);

    await loopFrames(server);
    expect(server.status.connections).toBe(1);
    expect(server.status.lastClose).toBe('peer disconnected');
    // The device's counters saw the traffic of both sessions.
    expect(stat(sim.stats.rxStats(0), 'rx packets')).toBe(5n);
    // A second connection on the same socket works the same (the file was released and reopened).
    await loopFrames(server);
    expect(server.status.connections).toBe(2);
    expect(stat(sim.stats.rxStats(0), 'rx packets')).toBe(10n);
    expect(stat(sim.stats.txStats(0), 'tx packets')).toBe(10n);
    // Only the listening socket is left open.
    expect(native.openFdCount()).toBe(baseline + 1);
    expect(stack.mem.regions().every((r) => r.gpa < 2 ** 40)).toBe(true);

    server.stop();
    expect(existsSync(path)).toBe(false);
    expect(server.status.state).toBe('stopped');
    expect(native.openFdCount()).toBe(baseline);
  });

  it('drops bad peers (garbage, too many fds, mid-message) while another device keeps working', async () => {
    const baseline = native.openFdCount();
    const bad = serve('vdpa0');
    const good = serve('vdpa1');
    // A front-end of the other device is connected and running throughout.
    const goodFe = NativeFrontend.connect(native, good.status.socket);
    await goodFe.start();
    await until(() => good.status.runningRings.length === 2, 'the good device running');

    // Garbage: a header with version 0.
    const g = native.connect(bad.status.socket);
    native.sendmsg(g, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    await until(() => bad.status.lastClose !== null && bad.status.state === 'waiting', 'garbage dropped');
    expect(peerGone(g)).toBe(true);
    native.close(g);

    // Nine fds on one message (vhost-user allows 8).
    const t = native.connect(bad.status.socket);
    const fds = Array.from({ length: 9 }, () => native.eventfd());
    const msg = frontendMessage(VHOST_USER_SET_VRING_CALL, { kind: 'vring-file', index: 0, noFd: false });
    native.sendmsg(t, msg.bytes, fds);
    fds.forEach((fd) => native.close(fd));
    await until(() => bad.status.connections === 2 && bad.status.state === 'waiting', 'too many fds dropped');
    expect(bad.status.lastClose).toBe('more than 8 fds on one message');
    expect(peerGone(t)).toBe(true);
    native.close(t);

    // Half a header, then gone.
    const m = native.connect(bad.status.socket);
    native.sendmsg(m, new Uint8Array([1, 0, 0, 0, 1, 0]));
    await until(() => bad.status.state === 'connected', 'connected');
    native.close(m);
    await until(() => bad.status.connections === 3 && bad.status.state === 'waiting', 'mid-message drop');
    expect(bad.status.lastClose).toBe('peer disconnected (mid-message)');
    expect(
      logs.filter((l) => l.level === 'error' && l.message === 'vhost-user connection closed'),
    ).toHaveLength(3);

    // The other device's session was untouched: its frames still loop.
    expect(good.status).toMatchObject({ state: 'connected', connections: 1, runningRings: [0, 1] });
    goodFe.postRx(4);
    const sent = goodFe.sendFrames(3, 64);
    const received: Uint8Array[] = [];
    await until(() => {
      received.push(...goodFe.receive());
      return received.length === 3;
    }, 'the good device looping');
    expect(received).toEqual(sent);
    goodFe.close();
    await until(() => good.status.state === 'waiting', 'the good front-end gone');
    // The device of the bad peers serves a full session afterwards.
    await loopFrames(bad);
    expect(native.openFdCount()).toBe(baseline + 2);
  });

  it('serves a QEMU 7.2 memory layout: two regions of one memfd, front-end addresses unlike guest ones', async () => {
    const baseline = native.openFdCount();
    const server = serve('vdpa0');
    await loopFrames(server, { layout: 'qemu' });
    server.stop();
    expect(native.openFdCount()).toBe(baseline);
  });

  it('sends no call to a front-end that set VRING_AVAIL_F_NO_INTERRUPT (a polling driver)', async () => {
    const server = serve('vdpa0');
    await loopFrames(server, { polling: true });
  });

  it('serves two queue pairs: the pair count reaches the device through a shadow control queue', async () => {
    const baseline = native.openFdCount();
    const server = serve('vdpa0', 2);
    const sim = stack.container.get<VdpasimNetMgmt>(VDPASIM_NET_MGMT).device('vdpa0')!;
    const fe = NativeFrontend.connect(native, server.status.socket);
    try {
      const offered = await fe.start(2);
      // The control queue stays the front-end's: not offered, and not one of the rings it addresses.
      expect(offered & bit(VIRTIO_NET_F_CTRL_VQ)).toBe(0n);
      await until(() => server.status.runningRings.length === 4, 'four rings running');
      expect(sim.activePairs).toBe(2);
      for (const pair of [0, 1]) {
        fe.postRx(4, 2048, pair);
        const sent = fe.sendFrames(3, 100 + pair, pair);
        const received: Uint8Array[] = [];
        await until(() => {
          received.push(...fe.receive(pair));
          return received.length === 3;
        }, `frames back on pair ${pair}`);
        expect(received).toEqual(sent);
      }
      expect(stat(sim.stats.rxStats(1), 'rx packets')).toBe(3n);
      expect(await fe.stop()).toEqual([3, 3, 3, 3]);
    } finally {
      fe.close();
    }
    await until(() => server.status.state === 'waiting', 'the disconnect');
    server.stop();
    expect(native.openFdCount()).toBe(baseline);
    expect(stack.mem.regions().every((r) => r.gpa < 2 ** 40)).toBe(true);
  });

  it('survives a device reset inside a connection (QEMU: status 0, bases read, rings set up again)', async () => {
    const server = serve('vdpa0');
    const fe = NativeFrontend.connect(native, server.status.socket, 'qemu');
    try {
      const offered = await fe.start();
      fe.postRx(8);
      fe.sendFrames(3, 80);
      const first: Uint8Array[] = [];
      await until(() => {
        first.push(...fe.receive());
        return first.length === 3;
      }, 'frames before the reset');
      expect(await fe.resetStop()).toEqual([3, 3]);
      await until(() => server.status.runningRings.length === 0, 'rings stopped by the reset');

      await fe.restart(offered & (bit(VIRTIO_F_VERSION_1) | bit(VHOST_USER_F_PROTOCOL_FEATURES)), [3, 3]);
      await until(() => server.status.runningRings.length === 2, 'rings running again');
      // The memory table survived the reset, and the rings went on from their bases.
      const sent = fe.sendFrames(2, 90);
      const second: Uint8Array[] = [];
      await until(() => {
        second.push(...fe.receive());
        return second.length === 2;
      }, 'frames after the reset');
      expect(second).toEqual(sent);
      expect(await fe.stop()).toEqual([5, 5]);
    } finally {
      fe.close();
    }
    await until(() => server.status.state === 'waiting', 'the disconnect');
  });

  it('drops the connection when the device is unbound, refuses while unbound, serves again once bound', async () => {
    const baseline = native.openFdCount();
    const server = serve('vdpa0');
    const fe = NativeFrontend.connect(native, server.status.socket);
    await fe.start();
    stack.bus.unbind('vdpa0');
    await until(() => server.status.state === 'waiting', 'the connection dropped');
    expect(server.status.lastClose).toBe('device removed from vhost_vdpa');
    expect(fe.peerClosed()).toBe(true);
    fe.close();

    const refused = native.connect(server.status.socket);
    await until(
      () => server.status.connections === 1 && server.status.lastClose?.startsWith('cannot open') === true,
      'refused',
    );
    expect(server.status.lastClose).toMatch(/^cannot open vdpa0: no vhost-vdpa device for vdpa0/);
    native.close(refused);

    stack.bus.bind('vdpa0', 'vhost_vdpa');
    await loopFrames(server);
    server.stop();
    expect(native.openFdCount()).toBe(baseline);
  });

  it('refuses a second front-end while one is connected', async () => {
    const server = serve('vdpa0');
    const first = NativeFrontend.connect(native, server.status.socket);
    await first.start();
    const second = native.connect(server.status.socket);
    await until(() => peerGone(second), 'the second front-end refused');
    native.close(second);
    expect(server.status.state).toBe('connected');
    expect(server.status.connections).toBe(1);
    first.close();
    await until(() => server.status.state === 'waiting', 'disconnect');
  });

  it('connects to a listening front-end with --client and reconnects with back-off', async () => {
    addVdpasim(stack, 'vdpa0');
    const path = join(dir, 'fe.sock');
    const server = new VhostUserServer({
      native,
      mem: stack.mem,
      device: 'vdpa0',
      socket: path,
      client: true,
      reconnectMinMs: 10,
      reconnectMaxMs: 40,
      open: () => stack.vhostBus.open('vdpa0'),
    });
    servers.push(server);
    server.start();
    // Nobody listens yet: the server keeps trying.
    await until(() => server.status.lastClose?.startsWith('connect:') === true, 'a failed attempt');
    const listener = native.listen(path);
    let conn: number | null = null;
    await until(() => (conn = native.accept(listener)) !== null, 'the back-end to connect');
    const fe = NativeFrontend.over(native, conn!);
    await fe.start();
    await until(() => server.status.runningRings.length === 2, 'rings running');
    fe.close();
    // It comes back after the front-end went away.
    let again: number | null = null;
    await until(() => (again = native.accept(listener)) !== null, 'the back-end to reconnect');
    native.close(again!);
    native.close(listener);
    server.stop();
    expect(server.status.state).toBe('stopped');
  });
});

function stat(stats: readonly { name: string; value: bigint }[], name: string): bigint | undefined {
  return stats.find((s) => s.name === name)?.value;
}

/** True when the back-end closed the connection. */
function peerGone(fd: number): boolean {
  for (;;) {
    let m;
    try {
      m = native.recvmsg(fd, 4096, 0);
    } catch {
      return true;
    }
    if (m === null) return false;
    if (m.eof) return true;
  }
}
