// The peer anchor: DPDK's own vhost-user back-end against DPDK virtio-user and against a Linux guest
// under QEMU. These runs check the machine (packages, kernel, initramfs, CPU pinning, the testpmd
// and QEMU command lines of the harness) and measure the ceiling that `vdpa-kit serve` is compared
// with in the same run (docs/peers.md). Run with VDPA_KIT_PEER_TESTS=anchor or =1.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { runGuest } from './guest.js';
import { cpuPair, peerTestMode, requirePeers } from './peer-env.js';
import { figures, recordPeerResult } from './results.js';
import { runThenStop } from './settle.js';
import { removeTempDirs, tempSocket } from './sockets.js';
import { inFlightBound, sleep, Testpmd, type TestpmdOptions, type TestpmdResult } from './testpmd.js';

/** Seconds of traffic per testpmd run. */
const RUN_SECONDS = 5;

/** One DPDK↔DPDK run: virtio-user front-end and vhost back-end, each testpmd on its own CPU. */
interface DpdkPair {
  readonly name: string;
  readonly queues: number;
  readonly frontMode: string;
  readonly backMode: string;
  /** virtio-user `server=1` (it listens) and vhost `client=1`, instead of the default roles. */
  readonly frontListens?: boolean;
}

/**
 * Runs a {@link DpdkPair}: the listening side starts first and the other once the socket exists;
 * RUN_SECONDS of traffic; the front-end is stopped first, then the back-end.
 */
async function dpdkPair(
  testpmd: string,
  pair: DpdkPair,
): Promise<{ front: TestpmdResult; back: TestpmdResult }> {
  const [frontCpu, backCpu] = cpuPair();
  const socket = tempSocket();
  const q = pair.queues;
  const listens = pair.frontListens === true;
  const front: TestpmdOptions = {
    name: `${pair.name}-fe`,
    cpu: frontCpu,
    vdev: `net_virtio_user0,path=${socket},queues=${q}${listens ? ',server=1' : ''}`,
    forwardMode: pair.frontMode,
    txFirst: pair.frontMode === 'io',
    queues: q,
  };
  const back: TestpmdOptions = {
    name: `${pair.name}-be`,
    cpu: backCpu,
    vdev: `net_vhost0,iface=${socket},queues=${q}${listens ? ',client=1' : ''}`,
    forwardMode: pair.backMode,
    queues: q,
  };
  let frontRun: Testpmd | undefined;
  let backRun: Testpmd | undefined;
  const startFront = (): Testpmd => (frontRun = new Testpmd(testpmd, front));
  const startBack = (): Testpmd => (backRun = new Testpmd(testpmd, back));
  const first = listens ? startFront() : startBack();
  const [frontResult, backResult] = await runThenStop<[TestpmdResult | undefined, TestpmdResult | undefined]>(
    async () => {
      await first.process.waitFor(() => existsSync(socket), 30_000, `socket ${socket}`);
      const second = listens ? startBack() : startFront();
      await Promise.all([first.forwarding(), second.forwarding()]);
      await sleep(RUN_SECONDS * 1000);
    },
    // The front-end stops first, so the back-end sees the disconnect as in a real shutdown.
    [async () => frontRun?.stop(), async () => backRun?.stop()],
  );
  if (frontResult === undefined || backResult === undefined) throw new Error('a testpmd did not start');
  return { front: frontResult, back: backResult };
}

const mode = peerTestMode();
afterAll(removeTempDirs);

describe.skipIf(mode === 'off')(
  'peer anchor: DPDK vhost back-end (set VDPA_KIT_PEER_TESTS=anchor or 1)',
  () => {
    test('install: scripts/peers/install.sh provides testpmd, QEMU and the guest', (ctx) => {
      const m = requirePeers(ctx);
      expect(existsSync(m.testpmd)).toBe(true);
      expect(existsSync(m.qemu)).toBe(true);
      expect(existsSync(m.kernel)).toBe(true);
      expect(existsSync(m.initrd)).toBe(true);
      expect(m.kernelPackage).toMatch(/^linux-image-6\.1\.0-\d+-amd64$/);
      recordPeerResult('install', {
        seconds: Number(m.installSeconds.toFixed(1)),
        kernelPackage: m.kernelPackage,
        dpdk: m.dpdkVersion,
        qemu: m.qemuVersion,
      });
    });

    for (const queues of [1, 2]) {
      test(`testpmd virtio-user io loop ↔ testpmd vhost macswap, queues=${queues}`, async (ctx) => {
        const m = requirePeers(ctx);
        const started = Date.now();
        const { front, back } = await dpdkPair(m.testpmd, {
          name: `loop${queues}`,
          queues,
          frontMode: 'io',
          backMode: 'macswap',
        });
        recordPeerResult(`anchor dpdk↔dpdk io/macswap queues=${queues}`, {
          wallSeconds: (Date.now() - started) / 1000,
          front: figures(front),
          back: figures(back),
        });
        expect(front.rxPackets).toBeGreaterThan(1000);
        expect(front.txPackets).toBeGreaterThanOrEqual(front.rxPackets);
        expect(front.txPackets - front.rxPackets).toBeLessThanOrEqual(inFlightBound(queues));
        expect(back.rxPackets).toBeGreaterThanOrEqual(front.rxPackets);
        if (queues > 1) {
          // Every queue pair carried traffic, not just the first.
          expect(front.streams.map((s) => s.rxQueue).sort()).toEqual([...Array(queues).keys()]);
          for (const stream of front.streams) expect(stream.rxPackets).toBeGreaterThan(0);
        }
      });
    }

    test('testpmd virtio-user txonly → testpmd vhost rxonly (one direction)', async (ctx) => {
      const m = requirePeers(ctx);
      const started = Date.now();
      const { front, back } = await dpdkPair(m.testpmd, {
        name: 'txonly',
        queues: 1,
        frontMode: 'txonly',
        backMode: 'rxonly',
      });
      recordPeerResult('anchor dpdk→dpdk txonly/rxonly queues=1', {
        wallSeconds: (Date.now() - started) / 1000,
        front: figures(front),
        back: figures(back),
      });
      expect(back.rxPackets).toBeGreaterThan(1000);
      expect(back.rxPackets).toBeLessThanOrEqual(front.txPackets);
    });

    test('testpmd virtio-user server=1 ↔ testpmd vhost client=1 (the --client roles)', async (ctx) => {
      const m = requirePeers(ctx);
      const started = Date.now();
      const { front, back } = await dpdkPair(m.testpmd, {
        name: 'client',
        queues: 1,
        frontMode: 'io',
        backMode: 'macswap',
        frontListens: true,
      });
      recordPeerResult('anchor dpdk↔dpdk server=1/client=1 queues=1', {
        wallSeconds: (Date.now() - started) / 1000,
        front: figures(front),
        back: figures(back),
      });
      expect(front.rxPackets).toBeGreaterThan(1000);
      expect(front.txPackets - front.rxPackets).toBeLessThanOrEqual(inFlightBound(1));
    });

    test('QEMU + Linux virtio_net guest ↔ testpmd vhost macswap: the guest counts its frames back', async (ctx) => {
      const m = requirePeers(ctx);
      const [guestCpu, backCpu] = cpuPair();
      const socket = tempSocket();
      const broadcasts = 5;
      const back = new Testpmd(m.testpmd, {
        name: 'guest-be',
        cpu: backCpu,
        vdev: `net_vhost0,iface=${socket},queues=1`,
        forwardMode: 'macswap',
        memoryMb: 256,
        mbufs: 8192,
      });
      const started = Date.now();
      let guest: Awaited<ReturnType<typeof runGuest>> | undefined;
      const [backResult] = await runThenStop<[TestpmdResult]>(async () => {
        await back.process.waitFor(() => existsSync(socket), 30_000, `socket ${socket}`);
        await back.forwarding();
        guest = await runGuest(m, { socket, broadcasts, cpu: guestCpu === backCpu ? undefined : guestCpu });
      }, [() => back.stop()]);
      if (guest === undefined) throw new Error('the guest did not run');
      recordPeerResult('anchor qemu guest↔dpdk vhost macswap', {
        wallSeconds: (Date.now() - started) / 1000,
        qemuSeconds: guest.wallSeconds,
        guestUptime: guest.doneUptime,
        guest: guest.stats,
        back: figures(backResult),
      });
      expect(guest.errors, guest.console).toEqual([]);
      expect(guest.exitCode, guest.console).toBe(0);
      expect(guest.driver).toBe('virtio_net');
      expect(guest.link).toBe('up');
      expect(guest.stats?.['tx_packets'], guest.console).toBe(broadcasts);
      expect(guest.stats?.['rx_packets'], guest.console).toBe(broadcasts);
      expect(backResult.rxPackets).toBe(broadcasts);
      expect(backResult.txPackets).toBe(broadcasts);
    });
  },
);
