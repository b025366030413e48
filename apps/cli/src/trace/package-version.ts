import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePlugin } from '../load-plugins.js';
import { UNKNOWN_VERSION } from './constants.js';

/** A package as a trace header names it. */
export interface PackageVersion {
  readonly name: string;
  readonly version: string;
}

/**
 * The name and version of the nearest `package.json` at or above `file` (a module's entry file).
 *
 * @returns `undefined` when no readable `package.json` with a name and a version is found
 */
export function packageVersionOf(file: string): PackageVersion | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkgFile = join(dir, 'package.json');
    if (existsSync(pkgFile)) {
      try {
        const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown>;
        if (typeof pkg.name === 'string' && typeof pkg.version === 'string')
          return { name: pkg.name, version: pkg.version };
      } catch {
        return undefined;
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The name and version of an installed package this CLI depends on (resolved from the CLI itself).
 *
 * @param name a package name such as `@vdpa-kit/device-vdpasim`
 * @returns `{ name, version: 'unknown' }` when it cannot be resolved
 */
export function dependencyVersion(name: string): PackageVersion {
  try {
    return packageVersionOf(fileURLToPath(import.meta.resolve(name))) ?? { name, version: UNKNOWN_VERSION };
  } catch {
    return { name, version: UNKNOWN_VERSION };
  }
}

/**
 * The name and version of a `--plugin` spec: its package's `package.json` when it has one, else the
 * spec itself with version `unknown`.
 *
 * @param spec the `--plugin` argument
 * @param cwd the directory relative paths are taken from
 */
export function pluginVersion(spec: string, cwd: string): PackageVersion {
  try {
    return packageVersionOf(resolvePlugin(spec, cwd)) ?? { name: spec, version: UNKNOWN_VERSION };
  } catch {
    return { name: spec, version: UNKNOWN_VERSION };
  }
}
