import { PeerProcess } from './peer-process.js';
import { parseGuestConsole, type GuestReport } from './parse.js';
import { type PeersManifest } from './peer-env.js';

/** One boot of the peer-test guest (a Debian 6.1 kernel + the busybox initramfs of install.sh). */
export interface GuestOptions {
  /** The vhost-user socket QEMU connects to (the back-end listens). */
  readonly socket: string;
  /** How many DHCPDISCOVER broadcasts /init sends (`vu.count=`). Default 5. */
  readonly broadcasts?: number;
  /** The guest NIC's MAC. Default 52:54:00:00:00:01. */
  readonly mac?: string;
  /** Guest RAM (MiB), shared with the back-end through a memfd. Default 256. */
  readonly memoryMb?: number;
  /** Pin QEMU to this CPU (taskset); unpinned when undefined. */
  readonly cpu?: number;
  /** Hard bound on the run. Default 120 s. */
  readonly boundSeconds?: number;
}

/** What a guest run produced. */
export interface GuestRun extends GuestReport {
  readonly exitCode: number | null;
  readonly wallSeconds: number;
  /** The console (QEMU's stdout and stderr). */
  readonly console: string;
}

/**
 * The QEMU 7.2 command line: TCG (this machine's KVM cannot boot stock kernels), guest RAM in a
 * shared memfd (vhost-user maps it), `vectors=0` on virtio-net-pci (QEMU 7.2 crashes in
 * msix_set_vector_notifiers at DRIVER_OK otherwise) and `romfile=` (no iPXE option ROM to load).
 */
export function guestArgs(manifest: PeersManifest, options: GuestOptions): string[] {
  const memory = options.memoryMb ?? 256;
  return [
    '-accel',
    'tcg',
    '-machine',
    'q35',
    '-cpu',
    'max',
    '-smp',
    '1',
    '-m',
    `${memory}M`,
    '-object',
    `memory-backend-memfd,id=mem0,size=${memory}M,share=on`,
    '-numa',
    'node,memdev=mem0',
    '-chardev',
    `socket,id=chr0,path=${options.socket}`,
    '-netdev',
    'vhost-user,id=net0,chardev=chr0,queues=1',
    '-device',
    `virtio-net-pci,netdev=net0,mac=${options.mac ?? '52:54:00:00:00:01'},vectors=0,romfile=`,
    '-kernel',
    manifest.kernel,
    '-initrd',
    manifest.initrd,
    '-append',
    `console=ttyS0 quiet ipv6.disable=1 panic=-1 vu.count=${options.broadcasts ?? 5}`,
    '-nographic',
    '-no-reboot',
    '-display',
    'none',
  ];
}

/**
 * Boots the guest against a listening vhost-user back-end and waits for /init to power it off.
 * @param manifest what install.sh built
 * @param options the run
 * @returns the guest's own eth0 counters and QEMU's exit
 */
export async function runGuest(manifest: PeersManifest, options: GuestOptions): Promise<GuestRun> {
  const started = Date.now();
  const args = guestArgs(manifest, options);
  const peer =
    options.cpu === undefined
      ? new PeerProcess(manifest.qemu, args, options.boundSeconds ?? 120, {}, 'qemu')
      : new PeerProcess(
          'taskset',
          ['-c', String(options.cpu), manifest.qemu, ...args],
          options.boundSeconds ?? 120,
          {},
          'qemu',
        );
  const exit = await peer.exited;
  return {
    ...parseGuestConsole(peer.output),
    exitCode: exit.code,
    wallSeconds: (Date.now() - started) / 1000,
    console: peer.output,
  };
}
