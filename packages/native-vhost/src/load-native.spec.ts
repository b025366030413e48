import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ERR_NATIVE_ADDON_NOT_BUILT, NativeAddonMissingError } from './errors.js';
import { loadNative, nativeStatus } from './load-native.js';
import { NativeVhost } from './native-vhost.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'native-vhost-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of what the published package holds for the build: package.json, binding.gyp, native/, scripts/. */
function copyOfPackage(name: string): string {
  const dir = join(scratch, name);
  for (const entry of ['package.json', 'binding.gyp', 'native', 'scripts']) {
    cpSync(join(packageDir, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}

/** Runs the install script in `dir` with `env` changes (undefined removes a variable). */
function install(dir: string, changes: Record<string, string | undefined>) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return spawnSync(process.execPath, ['scripts/install.mjs'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/** What a machine without a C compiler looks like to node-gyp's make. */
const NO_COMPILER = { CC: '/nonexistent/cc', CXX: '/nonexistent/c++', CI: undefined };
/** node-gyp's configure and make take seconds on a busy 2-core machine. */
const BUILD_TIMEOUT = 120_000;

describe('loadNative', () => {
  it('loads the addon built at install', () => {
    const status = nativeStatus();
    expect(status.available).toBe(true);
    expect(loadNative()).toBeInstanceOf(NativeVhost);
    expect(loadNative()).toBe(loadNative());
  });

  it('throws one clear error when the addon is missing, and nativeStatus says why without throwing', () => {
    const addonPath = join(scratch, 'nowhere', 'build', 'Release', 'vhost_native.node');
    const status = nativeStatus({ addonPath });
    expect(status.available).toBe(false);
    let caught: unknown;
    try {
      loadNative({ addonPath });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NativeAddonMissingError);
    expect(caught).toMatchObject({ code: ERR_NATIVE_ADDON_NOT_BUILT });
    expect((caught as Error).message).toBe(
      `the native addon @vdpa-kit/native-vhost is not built: ${addonPath} does not exist (the install ` +
        'script did not run); install python3, make and g++ and run npm rebuild @vdpa-kit/native-vhost',
    );
  });

  it(
    'without a compiler the install script warns, exits 0 and leaves the reason for loadNative',
    () => {
      const dir = copyOfPackage('no-compiler');
      const run = install(dir, NO_COMPILER);
      expect(run.status).toBe(0);
      expect(run.stderr).toMatch(/npm warn @vdpa-kit\/native-vhost: the native addon was not built: /);
      expect(run.stderr).toMatch(
        /install python3, make and g\+\+ and run npm rebuild @vdpa-kit\/native-vhost/,
      );
      const reason = readFileSync(join(dir, 'build-failure.txt'), 'utf8').trim();
      expect(reason).toMatch(/nonexistent\/cc/);
      const addonPath = join(dir, 'build', 'Release', 'vhost_native.node');
      expect(existsSync(addonPath)).toBe(false);
      expect(() => loadNative({ addonPath })).toThrow(
        `the native addon @vdpa-kit/native-vhost is not built: ${reason}; install python3, make and g++`,
      );
    },
    BUILD_TIMEOUT,
  );

  it(
    'under CI a failed build fails the install',
    () => {
      const dir = copyOfPackage('no-compiler-ci');
      const run = install(dir, { ...NO_COMPILER, CI: 'true' });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/CI is set, so a failed build fails the install/);
    },
    BUILD_TIMEOUT,
  );

  it(
    "builds outside npm too: finds npm's node-gyp and the headers of this Node by itself",
    () => {
      const dir = copyOfPackage('plain');
      const run = install(dir, { npm_config_nodedir: undefined, npm_config_node_gyp: undefined, CI: 'true' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(existsSync(join(dir, 'build-failure.txt'))).toBe(false);
      const status = nativeStatus({ addonPath: join(dir, 'build', 'Release', 'vhost_native.node') });
      expect(status.available).toBe(true);
    },
    BUILD_TIMEOUT,
  );
});
