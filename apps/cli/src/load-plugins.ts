import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ContainerModule } from 'inversify';
import { CliError } from './errors.js';

/** Export names tried, in order, after `default`. */
const PREFERRED_EXPORTS = ['plugin', 'module'];

function isContainerModule(value: unknown): value is ContainerModule {
  if (value instanceof ContainerModule) return true;
  // A plugin that resolved its own copy of inversify still hands over a usable module.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { load?: unknown }).load === 'function' &&
    typeof (value as { id?: unknown }).id === 'number'
  );
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec);
}

function resolvePath(spec: string, cwd: string): string {
  const path = resolve(cwd, spec);
  if (!existsSync(path)) throw new CliError(`plugin ${spec} not found: ${path} does not exist`);
  return statSync(path).isDirectory() ? packageEntry(path) : path;
}

/** The entry file of a package directory: `exports['.']` (import/default), `module`, `main`, `index.js`. */
function packageEntry(dir: string): string {
  const pkgFile = join(dir, 'package.json');
  if (existsSync(pkgFile)) {
    let pkg: Record<string, unknown>;
    try {
      pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`plugin package ${pkgFile} is not valid JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const exp = pkg.exports;
    const dot =
      typeof exp === 'object' && exp !== null && '.' in exp ? (exp as Record<string, unknown>)['.'] : exp;
    const fromExports =
      typeof dot === 'string'
        ? dot
        : typeof dot === 'object' && dot !== null
          ? ((dot as Record<string, unknown>).import ?? (dot as Record<string, unknown>).default)
          : undefined;
    for (const candidate of [fromExports, pkg.module, pkg.main]) {
      if (typeof candidate === 'string') return join(dir, candidate);
    }
  }
  return join(dir, 'index.js');
}

/** Finds `node_modules/<name>` walking up from `from`. */
function findPackageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Resolves `--plugin <spec>` to a file: a path (starting with `.` or `/`, relative to `cwd`; a
 * directory means its package entry) or a package name looked up in `node_modules` from `cwd`, then
 * from the CLI itself (a name that is no package but an existing relative path is taken as a path).
 *
 * @throws CliError when nothing is found
 */
export function resolvePlugin(spec: string, cwd: string): string {
  if (spec.length === 0) throw new CliError('plugin name is empty');
  if (isPathSpec(spec)) return resolvePath(spec, cwd);
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const subpath = parts.slice(spec.startsWith('@') ? 2 : 1).join('/');
  const here = dirname(new URL(import.meta.url).pathname);
  const dir = findPackageDir(name, cwd) ?? findPackageDir(name, here);
  if (dir === undefined) {
    // `examples/plugin` without `./`: a path after all.
    if (existsSync(resolve(cwd, spec))) return resolvePath(spec, cwd);
    throw new CliError(`plugin package ${spec} not found from ${cwd}`);
  }
  return subpath.length > 0 ? join(dir, subpath) : packageEntry(dir);
}

/**
 * Picks the `ContainerModule` a plugin module exports: `default`, then `plugin`/`module`, then any
 * other export; each may be a `ContainerModule` or a function (named `…Module` when not `default`)
 * that returns one when called without arguments.
 *
 * @throws CliError when there is none or a factory throws
 */
export function pickContainerModule(exports: Record<string, unknown>, spec: string): ContainerModule {
  const names = [
    'default',
    ...PREFERRED_EXPORTS,
    ...Object.keys(exports).filter((k) => k !== 'default' && !PREFERRED_EXPORTS.includes(k)),
  ];
  for (const name of names) {
    const value = exports[name];
    if (isContainerModule(value)) return value;
  }
  for (const name of names) {
    const value = exports[name];
    if (typeof value !== 'function' || (name !== 'default' && !/Module$/.test(name))) continue;
    let made: unknown;
    try {
      made = (value as () => unknown)();
    } catch (err) {
      throw new CliError(`plugin ${spec}: ${name}() threw: ${(err as Error).message}`, { cause: err });
    }
    if (isContainerModule(made)) return made;
  }
  throw new CliError(
    `plugin ${spec} exports no ContainerModule (default or named, or a function returning one)`,
  );
}

/**
 * Loads `--plugin` specs: resolves, `import()`s and picks each one's `ContainerModule`, in order.
 *
 * @param specs paths or package names
 * @param cwd base of relative paths (default `process.cwd()`)
 * @throws CliError with one clear line for the first plugin that cannot be loaded
 * @example
 * const modules = await loadPlugins(['./examples/plugin-null-net']);
 */
export async function loadPlugins(
  specs: readonly string[],
  cwd: string = process.cwd(),
): Promise<ContainerModule[]> {
  const modules: ContainerModule[] = [];
  for (const spec of specs) {
    const file = resolvePlugin(spec, cwd);
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      const first = String((err as Error).message ?? err).split('\n')[0];
      throw new CliError(`plugin ${spec} failed to load: ${first}`, { cause: err });
    }
    modules.push(pickContainerModule(exports, spec));
  }
  return modules;
}
