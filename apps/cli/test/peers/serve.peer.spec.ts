// vdpa-kit's vhost-user server against real peers: DPDK 22.11 testpmd (virtio-user) and a Debian 6.1
// guest's virtio_net under QEMU 7.2, all through vdpasim_net, which loops every frame back (issue 14,
// "Tests with real peers"). Run with VDPA_KIT_PEER_TESTS=1; the anchor (anchor.peer.spec.ts) gives
// DPDK's own back-end's figures for the same runs.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { runGuest } from './guest.js';
import { cpuPair, peerTestMode, requirePeers } from './peer-env.js';
import { figures, recordPeerResult } from './results.js';
import { VdpaKitServe } from './serve.js';
import { runThenStop } from './settle.js';
import { removeTempDirs, tempSocket } from './sockets.js';
import { inFlightBound, sleep, Testpmd, type TestpmdResult } from './testpmd.js';
import { type PeerExit } from './peer-process.js';

/** Seconds of traffic per testpmd run. */
const RUN_SECONDS = 5;
/** What `serve` must take to stop on SIGTERM (issue 14: rings stopped, fds closed, socket removed). */
const STOP_MS = 2_000;
/**
 * Frames go to the broadcast address (`--eth-peer`): vdpasim_net's receive filter passes broadcast
 * whatever the device MAC (vdpa_sim_net.c: receive_filter()), and testpmd's `io` loop keeps it.
 */
const ETH_PEER = '--eth-peer=0,ff:ff:ff:ff:ff:ff';

const mode = peerTestMode();
afterAll(removeTempDirs);

/** The serve side's stop: the exit, its duration and whether the socket file is gone. */
interface ServeStop {
  readonly exit: PeerExit;
  readonly ms: number;
}

async function stopServe(serve: VdpaKitServe): Promise<ServeStop> {
  const started = Date.now();
  const exit = await serve.stop();
  return { exit, ms: Date.now() - started };
}

describe.skipIf(mode !== 'all')('vdpa-kit serve ↔ real peers (set VDPA_KIT_PEER_TESTS=1)', () => {
  for (const queues of [1, 2]) {
    test(`testpmd virtio-user io loop, queues=${queues} ↔ serve --mgmtdev vdpasim_net`, async (ctx) => {
      const m = requirePeers(ctx);
      const [frontCpu] = cpuPair();
      const socket = tempSocket();
      const serve = new VdpaKitServe([
        '--mgmtdev',
        'vdpasim_net',
        '--socket',
        socket,
        '--max-vqp',
        String(queues),
      ]);
      let front: Testpmd | undefined;
      const started = Date.now();
      const [frontResult, serveStop] = await runThenStop<[TestpmdResult | undefined, ServeStop]>(async () => {
        await serve.listening(socket);
        front = new Testpmd(m.testpmd, {
          name: `serve${queues}`,
          cpu: frontCpu,
          vdev: `net_virtio_user0,path=${socket},queues=${queues}`,
          forwardMode: 'io',
          txFirst: true,
          queues,
          extraArgs: [ETH_PEER],
        });
        await Promise.race([front.forwarding(), serve.process.failOnExit()]);
        await Promise.race([sleep(RUN_SECONDS * 1000), serve.process.failOnExit()]);
      }, [async () => front?.stop(), () => stopServe(serve)]);
      if (frontResult === undefined) throw new Error('testpmd did not start');
      recordPeerResult(`serve vdpasim_net ↔ testpmd io queues=${queues}`, {
        wallSeconds: (Date.now() - started) / 1000,
        front: figures(frontResult),
        serveStopMs: serveStop.ms,
      });
      expect(frontResult.rxPackets, serve.process.tail()).toBeGreaterThan(1000);
      expect(frontResult.txPackets).toBeGreaterThanOrEqual(frontResult.rxPackets);
      expect(frontResult.txPackets - frontResult.rxPackets).toBeLessThanOrEqual(inFlightBound(queues));
      if (queues > 1) {
        expect(frontResult.streams.map((s) => s.rxQueue).sort()).toEqual([...Array(queues).keys()]);
        for (const stream of frontResult.streams) expect(stream.rxPackets).toBeGreaterThan(0);
      }
      expect(serveStop.exit, serve.process.tail()).toEqual({ code: 0, signal: null });
      expect(serveStop.ms).toBeLessThan(STOP_MS);
      expect(existsSync(socket)).toBe(false);
    });
  }

  test('serve --client ↔ testpmd virtio-user server=1', async (ctx) => {
    const m = requirePeers(ctx);
    const [frontCpu] = cpuPair();
    const socket = tempSocket();
    // virtio-user server=1 creates the socket and blocks in start-up until serve connects.
    const front = new Testpmd(m.testpmd, {
      name: 'serve-client',
      cpu: frontCpu,
      vdev: `net_virtio_user0,path=${socket},queues=1,server=1`,
      forwardMode: 'io',
      txFirst: true,
      extraArgs: [ETH_PEER],
    });
    let serve: VdpaKitServe | undefined;
    const started = Date.now();
    const [frontResult, serveStop] = await runThenStop<[TestpmdResult, ServeStop | undefined]>(async () => {
      await front.process.waitFor(() => existsSync(socket), 30_000, `socket ${socket}`);
      serve = new VdpaKitServe(['--mgmtdev', 'vdpasim_net', '--socket', socket, '--client']);
      await Promise.race([front.forwarding(), serve.process.failOnExit()]);
      await Promise.race([sleep(RUN_SECONDS * 1000), serve.process.failOnExit()]);
    }, [() => front.stop(), async () => (serve === undefined ? undefined : stopServe(serve))]);
    recordPeerResult('serve --client vdpasim_net ↔ testpmd server=1 io', {
      wallSeconds: (Date.now() - started) / 1000,
      front: figures(frontResult),
      serveStopMs: serveStop?.ms,
    });
    expect(frontResult.rxPackets, serve?.process.tail()).toBeGreaterThan(1000);
    expect(frontResult.txPackets - frontResult.rxPackets).toBeLessThanOrEqual(inFlightBound(1));
    expect(serveStop?.exit, serve?.process.tail()).toEqual({ code: 0, signal: null });
    expect(serveStop?.ms).toBeLessThan(STOP_MS);
  });

  test('QEMU + Linux virtio_net guest ↔ serve --mgmtdev vdpasim_net: the guest counts its frames back', async (ctx) => {
    const m = requirePeers(ctx);
    const socket = tempSocket();
    const broadcasts = 5;
    const serve = new VdpaKitServe(['--mgmtdev', 'vdpasim_net', '--socket', socket]);
    let guest: Awaited<ReturnType<typeof runGuest>> | undefined;
    const started = Date.now();
    const [serveStop] = await runThenStop<[ServeStop]>(async () => {
      await serve.listening(socket);
      guest = await Promise.race([runGuest(m, { socket, broadcasts }), serve.process.failOnExit()]);
    }, [() => stopServe(serve)]);
    if (guest === undefined) throw new Error('the guest did not run');
    recordPeerResult('serve vdpasim_net ↔ qemu guest', {
      wallSeconds: (Date.now() - started) / 1000,
      qemuSeconds: guest.wallSeconds,
      guestUptime: guest.doneUptime,
      guest: guest.stats,
      serveStopMs: serveStop.ms,
    });
    expect(guest.errors, guest.console).toEqual([]);
    expect(guest.exitCode, guest.console).toBe(0);
    expect(guest.driver).toBe('virtio_net');
    expect(guest.link).toBe('up');
    expect(guest.stats?.['tx_packets'], guest.console).toBe(broadcasts);
    expect(guest.stats?.['rx_packets'], `${guest.console}\n--- serve:\n${serve.process.tail()}`).toBe(
      broadcasts,
    );
    expect(serveStop.exit, serve.process.tail()).toEqual({ code: 0, signal: null });
    expect(existsSync(socket)).toBe(false);
  });
});
