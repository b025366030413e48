// `vdpa-kit serve` end to end: the binary in a child process serves vdpasim_net on a Unix socket, an
// in-process vhost-user front-end (native addon, memfd RAM) loops frames through it, then SIGTERM
// stops it cleanly; the recorded session verifies. Also: mvnet refused with the bus's error, and the missing-addon error.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadNative, nativeStatus } from '@vdpa-kit/native-vhost';
import { NativeFrontend, until } from '@vdpa-kit/transport-vhost/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { serveDevices } from '../src/serve/serve-command.js';
import { BIN, REPO_ROOT, tempState, vdpaKit } from './cli-harness.js';

const native = loadNative();

interface Served {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function serve(args: readonly string[]): Served {
  const child = spawn(process.execPath, [BIN, '--state', tempState(), '--json', 'serve', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, VDPA_KIT_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, lines, exited };
}

describe('vdpa-kit serve', () => {
  let dir: string | undefined;
  let served: Served | undefined;

  afterEach(() => {
    if (served !== undefined && served.child.exitCode === null) served.child.kill('SIGKILL');
    served = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves vdpasim_net to a vhost-user front-end and stops on SIGTERM (exit 0, socket removed)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vdpa-kit-serve-'));
    const socket = join(dir, 'vdpa0.sock');
    const trace = join(dir, 'serve.jsonl');
    served = serve(['--mgmtdev', 'vdpasim_net', '--socket', socket, '--record', trace]);
    const s = served;
    await until(() => s.lines.some((l) => l.state === 'waiting'), 'the server to listen', 20_000);
    expect(existsSync(socket)).toBe(true);

    const fe = NativeFrontend.connect(native, socket);
    try {
      await fe.start();
      fe.postRx(8);
      const sent = fe.sendFrames(5, 300);
      const received: Uint8Array[] = [];
      await until(() => {
        received.push(...fe.receive());
        return received.length === 5;
      }, 'five frames back');
      expect(received).toEqual(sent);
      expect(await fe.stop()).toEqual([5, 5]);
    } finally {
      fe.close();
    }
    await until(() => s.lines.some((l) => l.connections === 1 && l.state === 'waiting'), 'the disconnect');
    expect(s.lines.some((l) => l.state === 'connected')).toBe(true);

    const sentAt = Date.now();
    s.child.kill('SIGTERM');
    const { code, at } = await s.exited;
    expect(code).toBe(0);
    expect(at - sentAt).toBeLessThan(2000);
    expect(existsSync(socket)).toBe(false);
    expect(s.lines.at(-1)).toMatchObject({ device: 'vdpa0', state: 'stopped' });

    // The served session was recorded from dev add to dev del, and replays against vdpasim_net.
    const verify = await vdpaKit(tempState(), ['trace', 'verify', trace, '--mgmtdev', 'vdpasim_net']);
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toMatch(/: ok\n$/);
    expect(verify.code).toBe(0);
  });

  it('refuses mvnet with the bus error (mvnet has no vhost class id)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vdpa-kit-serve-'));
    const run = await vdpaKit(tempState(), ['serve', '--mgmtdev', 'mvnet', '--socket', join(dir, 'm.sock')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'vdpa-kit: cannot serve vdpa0: driver vhost_vdpa serves vhost but device vdpa0 is virtio\n',
    );
    expect(existsSync(join(dir, 'm.sock'))).toBe(false);
  });

  it('says clearly when the native addon is not built', async () => {
    const missing = nativeStatus({ addonPath: '/nonexistent/build/Release/vhost_native.node' });
    const attempt = serveDevices({
      mgmtdev: 'vdpasim_net',
      sockets: ['/tmp/never.sock'],
      client: false,
      plugins: [],
      json: false,
      tty: false,
      out: () => undefined,
      stop: Promise.resolve(),
      native: () => missing,
    });
    await expect(attempt).rejects.toBeInstanceOf(CliError);
    await expect(attempt).rejects.toThrow(
      /^serve needs the native addon: the native addon @vdpa-kit\/native-vhost is not built/,
    );
  });
});
