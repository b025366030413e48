import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const PEERS_REPO_ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

/** Exit code of scripts/peers/install.sh when the peers cannot be installed here (reason on stderr). */
export const PEERS_EXIT_SKIP = 77;

/**
 * Which peer tests run, from `VDPA_KIT_PEER_TESTS`: unset → all (the default: the README's test
 * command and CI run them); empty, `0`, `false` or `no` → none; `anchor` → only the DPDK↔DPDK and
 * QEMU↔DPDK anchor runs; anything else (`1`) → the anchors and the `vdpa-kit serve` peer tests.
 */
export type PeerTestMode = 'off' | 'anchor' | 'all';

/**
 * Reads {@link PeerTestMode} from the environment.
 * @param env the environment (default `process.env`)
 */
export function peerTestMode(env: NodeJS.ProcessEnv = process.env): PeerTestMode {
  const value = (env['VDPA_KIT_PEER_TESTS'] ?? '1').trim().toLowerCase();
  if (value === '' || value === '0' || value === 'false' || value === 'no') return 'off';
  return value === 'anchor' ? 'anchor' : 'all';
}

/** What scripts/peers/install.sh built (its manifest.json). */
export interface PeersManifest {
  readonly kernelPackage: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly testpmd: string;
  readonly qemu: string;
  readonly pmdDir: string;
  readonly dpdkVersion: string;
  readonly qemuVersion: string;
  /** Seconds the install script took in this run (0 when everything was cached). */
  readonly installSeconds: number;
}

/** The outcome of {@link preparePeers}: ready, or a reason to skip. */
export type PeersEnvironment =
  { readonly ok: true; readonly manifest: PeersManifest } | { readonly ok: false; readonly reason: string };

let prepared: PeersEnvironment | undefined;

/**
 * Runs scripts/peers/install.sh once per process (idempotent: about a second when everything is
 * there) and reads its manifest. Exit code 77 becomes `{ ok: false, reason }`; any other failure
 * throws, with the script's output.
 * @param timeoutMs bound on the script (a first install downloads ~100 MB of packages)
 */
export function preparePeers(timeoutMs = 900_000): PeersEnvironment {
  if (prepared !== undefined) return prepared;
  const script = join(PEERS_REPO_ROOT, 'scripts', 'peers', 'install.sh');
  const started = Date.now();
  const run = spawnSync('bash', [script], { encoding: 'utf8', timeout: timeoutMs, stdio: 'pipe' });
  const seconds = (Date.now() - started) / 1000;
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  if (run.status === PEERS_EXIT_SKIP) {
    const reason = output.match(/skipped: (.*)/)?.[1] ?? 'scripts/peers/install.sh exited 77';
    prepared = { ok: false, reason };
    return prepared;
  }
  if (run.status !== 0) {
    throw new Error(
      `scripts/peers/install.sh failed (status ${String(run.status)}, signal ${String(run.signal)}):\n${output}`,
    );
  }
  const dir = process.env['VDPA_KIT_PEERS_DIR'] ?? join(PEERS_REPO_ROOT, '.peers');
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new Error(`scripts/peers/install.sh left no ${manifestFile}`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Omit<PeersManifest, 'installSeconds'>;
  prepared = { ok: true, manifest: { ...manifest, installSeconds: /cached/.test(output) ? 0 : seconds } };
  return prepared;
}

/** The minimal test context {@link requirePeers} needs (vitest's `TestContext`). */
export interface SkippableContext {
  readonly skip: (note?: string) => never;
}

/**
 * Returns the manifest, or skips the calling test with the reason the peers are missing; under
 * `CI=true` a missing peer is a failure, not a skip.
 * @param ctx the vitest test context
 * @throws Error under CI when the peers cannot be installed
 */
export function requirePeers(ctx: SkippableContext): PeersManifest {
  const env = preparePeers();
  if (env.ok) return env.manifest;
  if (process.env['CI'] === 'true') throw new Error(`peer tests cannot run under CI: ${env.reason}`);
  return ctx.skip(`skipped: ${env.reason}`);
}

/**
 * The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status), so that the two
 * peers of a run can be pinned to different ones; `[0]` when it cannot be read.
 */
export function allowedCpus(): number[] {
  try {
    const list = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1] ?? '';
    const cpus: number[] = [];
    for (const part of list.split(',')) {
      const [from, to] = part.split('-').map(Number);
      if (from === undefined || Number.isNaN(from)) continue;
      for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu);
    }
    return cpus.length > 0 ? cpus : [0];
  } catch {
    return [0];
  }
}

/**
 * Two CPUs for the two sides of a run: the first two allowed ones (the same one twice on a
 * single-CPU machine).
 */
export function cpuPair(): readonly [number, number] {
  const cpus = allowedCpus();
  return [cpus[0] ?? 0, cpus[1] ?? cpus[0] ?? 0];
}
