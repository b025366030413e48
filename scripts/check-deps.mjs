#!/usr/bin/env node
// Architecture rules (docs/architecture.md, ../shared/DESIGN.md "Import rules"), checked on package.json
// dependencies and on every import in src/ and test/:
//   virtio-spec imports nothing at all (no dependencies; its own modules, and vitest/fast-check in tests)
//   vring       imports only virtio-spec (of ours), no rxjs, no inversify
//   core-bus    imports only vring and virtio-spec (of ours)
//   devices (device-*, hw-*) and transports (transport-*) import only core-bus, vring and virtio-spec,
//     never each other
//   plugin packages (devices, transports, hardware drivers) never create an inversify Container
//     (composition happens in apps/cli, in tests, and in core-bus's compose helper)
// Exit 1 with one line per violation. `--json` prints the violations as JSON.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const kindOf = (name) =>
  name === 'virtio-spec'
    ? 'spec'
    : name === 'vring'
      ? 'vring'
      : name === 'core-bus'
        ? 'core'
        : /^(device|hw)-/.test(name)
          ? 'device'
          : /^transport-/.test(name)
            ? 'transport'
            : 'app';

/** Returns the list of @vdpa-kit packages `kind` may import, or null for "anything". */
function allowed(kind) {
  switch (kind) {
    case 'spec':
      return [];
    case 'vring':
      return ['virtio-spec'];
    case 'core':
      return ['vring', 'virtio-spec'];
    case 'device':
    case 'transport':
      return ['vring', 'core-bus', 'virtio-spec'];
    default:
      return null;
  }
}
const FORBIDDEN_THIRD_PARTY = { vring: ['rxjs', 'inversify', 'reflect-metadata'] };
/** Test-only modules the spec package's tests may import (from the root devDependencies). */
const SPEC_TEST_IMPORTS = ['vitest', 'fast-check'];

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === 'node_modules' || e === 'dist') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e)) out.push(p);
  }
  return out;
}

export function check(rootDir = root) {
  const violations = [];
  for (const top of ['packages', 'apps']) {
    const base = join(rootDir, top);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const dir = join(base, name);
      const pkgFile = join(dir, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      const kind = top === 'apps' ? 'app' : kindOf(name);
      const ok = allowed(kind);
      const bad3p = FORBIDDEN_THIRD_PARTY[kind] ?? [];
      const deps = { ...pkg.dependencies, ...pkg.peerDependencies };
      for (const dep of Object.keys(deps)) {
        if (kind === 'spec') {
          violations.push(`${top}/${name}/package.json: spec package depends on ${dep}`);
          continue;
        }
        const ours = dep.startsWith('@vdpa-kit/') ? dep.slice('@vdpa-kit/'.length) : null;
        if (ours !== null && ok !== null && !ok.includes(ours)) {
          violations.push(`${top}/${name}/package.json: ${kind} package depends on @vdpa-kit/${ours}`);
        }
        if (bad3p.includes(dep))
          violations.push(`${top}/${name}/package.json: ${kind} package depends on ${dep}`);
      }
      for (const file of [
        ...walk(join(dir, 'src')),
        ...walk(join(dir, 'test')),
        ...walk(join(dir, 'bench')),
      ]) {
        const rel = relative(rootDir, file);
        const text = readFileSync(file, 'utf8');
        const isTest = /\.spec\.ts$|\/test\//.test(rel);
        for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
          const spec = m[1];
          const ours = spec.startsWith('@vdpa-kit/') ? spec.slice('@vdpa-kit/'.length).split('/')[0] : null;
          // Tests may compose with other packages' public APIs, except that vring stays self-contained.
          if (
            ours !== null &&
            ok !== null &&
            !ok.includes(ours) &&
            !(isTest && kind !== 'spec' && kind !== 'vring' && kind !== 'device' && kind !== 'transport')
          ) {
            violations.push(`${rel}: ${kind} package imports @vdpa-kit/${ours}`);
          }
          const third = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
          if (bad3p.includes(third)) violations.push(`${rel}: ${kind} package imports ${third}`);
          if (
            kind === 'spec' &&
            ours === null &&
            !spec.startsWith('.') &&
            !(isTest && SPEC_TEST_IMPORTS.includes(third))
          ) {
            violations.push(`${rel}: spec package imports ${third}`);
          }
        }
        if ((kind === 'device' || kind === 'transport') && !isTest && /new\s+Container\s*\(/.test(text)) {
          violations.push(
            `${rel}: plugin package creates an inversify Container (compose in apps/cli or tests)`,
          );
        }
        if (
          kind === 'core' &&
          !isTest &&
          /new\s+Container\s*\(/.test(text) &&
          !/compose-stack\.ts$/.test(rel)
        ) {
          violations.push(`${rel}: core-bus creates a Container outside its compose helper`);
        }
      }
    }
  }
  return violations;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const violations = check(process.argv.find((a, i) => i > 1 && !a.startsWith('--')) ?? root);
  if (process.argv.includes('--json')) console.log(JSON.stringify(violations));
  else for (const v of violations) console.error(`dependency rule: ${v}`);
  if (violations.length === 0 && !process.argv.includes('--json')) console.log('dependency rules: ok');
  process.exit(violations.length === 0 ? 0 : 1);
}
