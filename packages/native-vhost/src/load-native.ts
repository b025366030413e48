import { constants } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingFunctions, type NativeBinding } from './binding.js';
import { NativeAddonMissingError, NativeError } from './errors.js';
import { NativeVhost } from './native-vhost.js';

/** Options of {@link loadNative} and {@link nativeStatus}. */
export interface LoadNativeOptions {
  /**
   * The compiled addon to load; default this package's `build/Release/vhost_native.node`. The install
   * script's failure note is read from `build-failure.txt` two directories above it.
   */
  readonly addonPath?: string;
}

/** The outcome of loading the addon: the API, or why it is not there. */
export type NativeStatus =
  | { readonly available: true; readonly native: NativeVhost }
  | { readonly available: false; readonly error: NativeAddonMissingError };

/** Where node-gyp puts the addon, from src/ or dist/ alike. */
const DEFAULT_ADDON = fileURLToPath(new URL('../build/Release/vhost_native.node', import.meta.url));

const require = createRequire(import.meta.url);
const cache = new Map<string, NativeStatus>();

/** The install script's note of why the build failed, if it left one. */
function buildFailure(addonPath: string): string | undefined {
  const note = join(dirname(addonPath), '..', '..', 'build-failure.txt');
  if (!existsSync(note)) return undefined;
  const text = readFileSync(note, 'utf8').trim();
  return text === '' ? undefined : text;
}

function load(addonPath: string): NativeStatus {
  const missing = (reason: string, cause?: unknown): NativeStatus => ({
    available: false,
    error: new NativeAddonMissingError(reason, { cause }),
  });
  if (process.platform !== 'linux') return missing(`it needs Linux, this is ${process.platform}`);
  if (!existsSync(addonPath)) {
    return missing(buildFailure(addonPath) ?? `${addonPath} does not exist (the install script did not run)`);
  }
  let loaded: unknown;
  try {
    loaded = require(addonPath);
  } catch (e) {
    return missing(`loading ${addonPath} failed: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const absent = missingFunctions(loaded);
  if (absent.length > 0) {
    return missing(`${addonPath} is a stale build: it lacks ${absent.join(', ')}`);
  }
  const binding = loaded as NativeBinding;
  binding.configure(NativeError, constants.MAX_LENGTH);
  return { available: true, native: new NativeVhost(binding) };
}

/**
 * Loads the addon once (per path and thread) and tells whether it is there. Never throws: a machine
 * without the addon gets `{available: false, error}` and everything else keeps working.
 *
 * @example
 * ```ts
 * const status = nativeStatus();
 * if (!status.available) console.error(status.error.message);
 * ```
 */
export function nativeStatus(options: LoadNativeOptions = {}): NativeStatus {
  const addonPath = options.addonPath ?? DEFAULT_ADDON;
  let status = cache.get(addonPath);
  if (status === undefined) {
    status = load(addonPath);
    cache.set(addonPath, status);
  }
  return status;
}

/**
 * The addon's API. Importing this package never loads the addon; this does.
 * @throws NativeAddonMissingError `the native addon @vdpa-kit/native-vhost is not built: <reason>;
 *   install python3, make and g++ and run npm rebuild @vdpa-kit/native-vhost`
 *
 * @example
 * ```ts
 * const native = loadNative();
 * const [a, b] = native.socketpair();
 * native.sendmsg(a, new Uint8Array([1]), [native.eventfd()]);
 * ```
 */
export function loadNative(options: LoadNativeOptions = {}): NativeVhost {
  const status = nativeStatus(options);
  if (!status.available) throw status.error;
  return status.native;
}
