#!/usr/bin/env node
// Architecture rules (docs/architecture.md "Dependency rules"), checked on every package.json and on every
// import in src/, test/, bench/ and scripts/ of each package (and the top-level *.js of an example).
// A package's kind comes from its directory name:
//   packages/virtio-spec  spec       nothing of ours, no dependencies at all, no third-party import
//                                    (its tests: vitest and fast-check only)
//   packages/vring        vring      only virtio-spec; never rxjs, inversify, reflect-metadata
//   packages/core-bus     core       only vring, virtio-spec
//   packages/trace        trace      only core-bus, vring, virtio-spec
//   packages/pci          pci        only virtio-spec, vring
//   packages/device-*     device     only core-bus, vring, virtio-spec (hw-* also pci)
//   packages/hw-*
//   packages/transport-*  transport  only core-bus, vring, virtio-spec, native-*
//   packages/native-*     native     nothing of ours
//   packages/bench        bench      anything of ours but apps; must be "private": true
//   apps/*                app        anything; @vdpa-kit/bench only through import() in src/ and only
//                                    in devDependencies/optionalDependencies
//   examples/*            example    the device rules, peerDependencies included
// Tests (test/ and *.spec.*) of core, trace and app packages may import any package of ours; a transport's
// test/ may import a device-* package or @vdpa-kit/trace listed in its devDependencies, a device's test/
// @vdpa-kit/trace listed in its devDependencies (to verify a recorded session against the device); every
// other test follows its package's rule. No published (non-private) package depends on @vdpa-kit/bench or has benchmark code in
// src/ (a `bench` directory or a file named `bench.*`, `*-bench.*`, `bench-*`). Plugin packages never
// create an inversify Container outside tests; core-bus only in compose-stack.ts.
// A relative import may not leave its package.
// `import type` counts as a dependency everywhere except for an app's import of @vdpa-kit/bench
// (erased at compile time, so the published CLI still loads without it).
// Exit 1 with one line per violation. `--json` prints the violations as JSON.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCOPE = '@vdpa-kit/';
const BENCH = `${SCOPE}bench`;
/** Directories that hold workspace packages, in report order (tools/ is where a bench package may live). */
const TOPS = ['packages', 'tools', 'apps', 'examples'];
/** Directories of a package whose sources are checked. */
const AREAS = ['src', 'test', 'bench', 'scripts'];
const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;
const SPEC = /\.(?:spec|test)\.(?:[cm]?[jt]s|tsx)$/;
/** A benchmark file or directory name: `bench`, `bench-op-cost.ts`, `ring-bench.ts`, `bench.ts`. */
const BENCH_NAME = /(^|[-.])bench([-.]|$)/;
const FORBIDDEN_THIRD_PARTY = { vring: ['rxjs', 'inversify', 'reflect-metadata'] };
/** Third-party modules the spec package's tests may import (from the root devDependencies). */
const SPEC_TEST_IMPORTS = ['vitest', 'fast-check'];
const BUILTINS = new Set(builtinModules);

/**
 * The kind of the package in `<top>/<name>`, or null when no rule covers that name.
 * @param {string} top packages, tools, apps or examples
 * @param {string} name the package's directory name
 */
export function kindOf(top, name) {
  if (top === 'apps') return 'app';
  if (top === 'examples') return 'example';
  if (name === 'virtio-spec') return 'spec';
  if (name === 'vring') return 'vring';
  if (name === 'core-bus') return 'core';
  if (name === 'trace') return 'trace';
  if (name === 'pci') return 'pci';
  if (name === 'bench') return 'bench';
  if (/^(device|hw)-/.test(name)) return 'device';
  if (/^transport-/.test(name)) return 'transport';
  if (/^native-/.test(name)) return 'native';
  return null;
}

/** Kinds of our packages each kind may import; null means any. hw-* adds pci (see mayImport). */
const MAY_IMPORT = {
  spec: [],
  vring: ['spec'],
  core: ['vring', 'spec'],
  trace: ['core', 'vring', 'spec'],
  pci: ['spec', 'vring'],
  device: ['core', 'vring', 'spec'],
  example: ['core', 'vring', 'spec'],
  transport: ['core', 'vring', 'spec', 'native'],
  native: [],
  bench: null,
  app: null,
};
/** Kinds whose tests may import any package of ours (they compose public APIs). */
const FREE_TESTS = new Set(['core', 'trace', 'app']);

/**
 * Whether package `pkg` may depend on a package of ours of kind `target`.
 * @param {{kind: string, name: string}} pkg
 * @param {string | null} target
 */
function mayImport(pkg, target) {
  if (pkg.kind === 'bench') return target !== 'app';
  const ok = MAY_IMPORT[pkg.kind];
  if (ok === null) return true;
  if (ok === undefined || target === null) return false;
  return ok.includes(target) || (target === 'pci' && pkg.name.startsWith('hw-'));
}

/** Every path under `dir` (files and directories), skipping node_modules, dist and dot-directories. */
function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir).sort()) {
    if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    const p = join(dir, e);
    const isDir = lstatSync(p).isDirectory();
    out.push({ path: p, name: e, isDir });
    if (isDir) walk(p, out);
  }
  return out;
}

/**
 * Every module specifier in `text`, with how it is imported: `static` (import/export … from, a
 * side-effect import, or `require('…')`), `type` (import type / export type, erased) or `dynamic`
 * (import('…') or import(`…`), also in JSDoc type expressions).
 * @param {string} text
 * @returns {{spec: string, how: 'static' | 'type' | 'dynamic'}[]}
 */
export function importsOf(text) {
  const found = [];
  // Static forms start a line (so a word "import" in a comment does not count), and the clause between
  // the keyword and `from` holds no quote, semicolon or parenthesis, so a match cannot run across
  // statements or into `import(`.
  for (const m of text.matchAll(
    /^[ \t]*(?:import|export)\b\s*(type\b)?[^;'"`()]*?\bfrom\s*(['"])([^'"]+)\2/gm,
  )) {
    found.push({ index: m.index, spec: m[3], how: m[1] ? 'type' : 'static' });
  }
  for (const m of text.matchAll(/^[ \t]*import\s*(['"])([^'"]+)\1/gm)) {
    found.push({ index: m.index, spec: m[2], how: 'static' });
  }
  // A template literal without substitutions names a module as a string does.
  for (const m of text.matchAll(/\bimport\s*\(\s*(?:(['"])([^'"]+)\1|`([^`$]+)`)/g)) {
    found.push({ index: m.index, spec: m[2] ?? m[3], how: 'dynamic' });
  }
  // require() (from createRequire) loads the module when the line runs: a dependency like a static
  // import. Not a method named require (`this.require(…)`).
  for (const m of text.matchAll(/(?<![.\w$])require\s*\(\s*(?:(['"])([^'"]+)\1|`([^`$]+)`)/g)) {
    found.push({ index: m.index, spec: m[2] ?? m[3], how: 'static' });
  }
  return found.sort((a, b) => a.index - b.index).map(({ spec, how }) => ({ spec, how }));
}

/** The package name a bare specifier refers to, or null for relative paths, URLs and node builtins. */
function packageOf(spec) {
  if (/^[./#]/.test(spec) || spec.includes(':') || BUILTINS.has(spec.split('/')[0])) return null;
  return spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
}

/** Every string a package.json `imports` target holds (a string, conditions, fallback arrays). */
function targetStrings(target, out = []) {
  if (typeof target === 'string') out.push(target);
  else if (Array.isArray(target)) for (const t of target) targetStrings(t, out);
  else if (typeof target === 'object' && target !== null)
    for (const t of Object.values(target)) targetStrings(t, out);
  return out;
}

/**
 * An import as the modules it may load: a `#` specifier is replaced by what the package.json
 * `imports` field maps it to (an exact key, else the longest `*` pattern, as Node resolves it), under
 * every condition, each marked `via` the alias; any other import is itself.
 * @param {unknown} imports the package.json `imports` field
 * @param {{spec: string, how: string}} imp
 * @returns {{spec: string, how: string, via?: string}[]}
 */
function throughImports(imports, imp) {
  if (!imp.spec.startsWith('#') || typeof imports !== 'object' || imports === null) return [imp];
  let targets;
  if (Object.hasOwn(imports, imp.spec)) targets = targetStrings(imports[imp.spec]);
  else {
    let best;
    for (const key of Object.keys(imports)) {
      const star = key.indexOf('*');
      if (star < 0) continue;
      const head = key.slice(0, star);
      const tail = key.slice(star + 1);
      if (!imp.spec.startsWith(head) || !imp.spec.endsWith(tail) || imp.spec.length < key.length - 1)
        continue;
      if (best === undefined || head.length > best.head.length) best = { key, head, tail };
    }
    if (best === undefined) return [imp];
    const match = imp.spec.slice(best.head.length, imp.spec.length - best.tail.length);
    targets = targetStrings(imports[best.key]).map((t) => t.split('*').join(match));
  }
  // Targets inside the package (`./…`) are its own files.
  return targets.filter((t) => !t.startsWith('.')).map((spec) => ({ spec, how: imp.how, via: imp.spec }));
}

/** Reads every package under TOPS: directory, kind, package.json. */
function packagesOf(rootDir, violations) {
  const pkgs = [];
  for (const top of TOPS) {
    const base = join(rootDir, top);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      const pkgFile = join(dir, 'package.json');
      if (!existsSync(pkgFile)) continue;
      let json;
      try {
        json = JSON.parse(readFileSync(pkgFile, 'utf8'));
      } catch (e) {
        violations.push(`${top}/${name}/package.json: not valid JSON (${e.message})`);
        continue;
      }
      pkgs.push({ top, name, dir, kind: kindOf(top, name), json });
    }
  }
  return pkgs;
}

/**
 * Checks the dependency rules on the monorepo at `rootDir`.
 * @param {string} [rootDir]
 * @returns {string[]} one message per violation, paths relative to `rootDir`
 */
export function check(rootDir = root) {
  const violations = [];
  const pkgs = packagesOf(rootDir, violations);
  // The kind of a package of ours by its npm name; a package not in the tree (yet) by its directory name.
  const byName = new Map(pkgs.filter((p) => p.json.name).map((p) => [p.json.name, p.kind]));
  const kindOfDep = (dep) =>
    byName.has(dep) ? byName.get(dep) : kindOf('packages', dep.slice(SCOPE.length));

  for (const pkg of pkgs) {
    const { top, name, dir, kind, json } = pkg;
    const where = `${top}/${name}/package.json`;
    const label = kind ?? 'unclassified';
    const published = json.private !== true;
    if (kind === null) {
      violations.push(
        `${where}: no dependency rule covers a package named "${name}" (see docs/architecture.md)`,
      );
    }
    if (kind === 'bench' && published) {
      violations.push(`${where}: bench package must be "private": true (it is never published)`);
    }

    // package.json: @vdpa-kit/bench first (its own rule), then the kind's rule on everything else.
    const benchRuled = new Set();
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      if (!json[field] || !(BENCH in json[field])) continue;
      if (kind === 'app') {
        // An app loads the bench with import() and may list it as optional.
        if (field === 'optionalDependencies') continue;
        violations.push(
          `${where}: app has ${BENCH} in ${field} (only devDependencies or optionalDependencies: its bench command loads it with import())`,
        );
        benchRuled.add(BENCH);
      } else if (published && kind !== 'bench') {
        violations.push(`${where}: published package has the unpublished ${BENCH} in ${field}`);
        benchRuled.add(BENCH);
      }
    }
    const bad3p = FORBIDDEN_THIRD_PARTY[kind] ?? [];
    // npm installs optional dependencies too: they are dependencies for the rules.
    const deps = { ...json.dependencies, ...json.peerDependencies, ...json.optionalDependencies };
    for (const dep of Object.keys(deps)) {
      if (benchRuled.has(dep) || dep === json.name) continue;
      const ours = dep.startsWith(SCOPE);
      if (
        (ours && kind !== null && !mayImport(pkg, kindOfDep(dep))) ||
        (!ours && (kind === 'spec' || bad3p.includes(dep)))
      ) {
        violations.push(`${where}: ${label} package depends on ${dep}`);
      }
    }

    // Benchmark code in a published package's src/ (it would ship in dist).
    if (published && kind !== 'bench') {
      const benchDirs = [];
      for (const e of walk(join(dir, 'src'))) {
        if (benchDirs.some((d) => e.path.startsWith(d + sep)) || !BENCH_NAME.test(e.name)) continue;
        const rel = relative(rootDir, e.path).split(sep).join('/');
        if (e.isDir) benchDirs.push(e.path);
        violations.push(`${rel}${e.isDir ? '/' : ''}: published package contains benchmark code`);
      }
    }

    if (kind === null) continue;
    const files = AREAS.flatMap((a) => walk(join(dir, a))).filter((e) => !e.isDir && SOURCE.test(e.name));
    if (kind === 'example') {
      for (const e of readdirSync(dir).sort()) {
        if (/\.[cm]?js$/.test(e)) files.push({ path: join(dir, e), name: e, isDir: false });
      }
    }
    const devDeps = json.devDependencies ?? {};
    for (const { path, name: fileName } of files) {
      const rel = relative(rootDir, path).split(sep).join('/');
      const area = relative(dir, path).split(sep)[0];
      const isSpec = SPEC.test(fileName);
      const isTest = area === 'test' || isSpec;
      const text = readFileSync(path, 'utf8');
      for (const { spec, how, via } of importsOf(text).flatMap((i) => throughImports(json.imports, i))) {
        const through = via === undefined ? '' : ` (through ${via})`;
        // A relative path out of the package would bypass every rule below: packages meet by name only.
        if (spec.startsWith('.') && relative(dir, join(path, '..', spec)).startsWith('..')) {
          violations.push(`${rel}: relative import ${spec} leaves the package (import it by package name)`);
          continue;
        }
        const dep = packageOf(spec);
        if (dep === null || dep === json.name) continue;
        if (dep.startsWith(SCOPE)) {
          const target = kindOfDep(dep);
          if (kind === 'app') {
            if (dep === BENCH && how === 'static' && area === 'src' && !isSpec) {
              violations.push(
                `${rel}: app imports ${BENCH} statically${through} (load it with import() so the published CLI runs without it)`,
              );
            }
          } else if (isTest && FREE_TESTS.has(kind)) {
            // Tests of the core, trace and apps may compose with any package's public API.
          } else if (
            area === 'test' &&
            ((kind === 'transport' && (target === 'device' || target === 'trace')) ||
              (kind === 'device' && target === 'trace'))
          ) {
            if (!(dep in devDeps)) {
              violations.push(
                `${rel}: ${kind} test imports ${dep}${through}, which is missing from devDependencies`,
              );
            }
          } else if (!mayImport(pkg, target)) {
            violations.push(`${rel}: ${label} package imports ${dep}${through}`);
          }
        } else if (bad3p.includes(dep) || (kind === 'spec' && !(isTest && SPEC_TEST_IMPORTS.includes(dep)))) {
          violations.push(`${rel}: ${label} package imports ${dep}${through}`);
        }
      }
      if (!isTest && /new\s+Container\s*\(/.test(text)) {
        if (kind === 'device' || kind === 'transport' || kind === 'example') {
          violations.push(
            `${rel}: plugin package creates an inversify Container (compose in apps/cli or tests)`,
          );
        } else if (kind === 'core' && !/(^|\/)compose-stack\.ts$/.test(rel)) {
          violations.push(`${rel}: core-bus creates a Container outside its compose helper`);
        }
      }
    }
  }
  return [...new Set(violations)];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const violations = check(process.argv.find((a, i) => i > 1 && !a.startsWith('--')) ?? root);
  if (process.argv.includes('--json')) console.log(JSON.stringify(violations));
  else for (const v of violations) console.error(`dependency rule: ${v}`);
  if (violations.length === 0 && !process.argv.includes('--json')) console.log('dependency rules: ok');
  process.exit(violations.length === 0 ? 0 : 1);
}
