// Tests of the dependency-rule check on throwaway trees (node:test; run by scripts/run-tests.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, importsOf } from '../check-deps.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('../check-deps.mjs', import.meta.url));

function tree(files) {
  const dir = mkdtempSync(join(tmpdir(), 'deps-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
/** A package.json: `deps` are its dependencies, `extra` any other fields (name, private, devDependencies). */
const pkg = (deps = {}, extra = {}) => JSON.stringify({ name: 'x', dependencies: deps, ...extra });
const imp = (spec) => `import { x } from '${spec}';\n`;
/** Asserts exactly one violation, matching `re`. */
function one(dir, re) {
  const v = check(dir);
  assert.equal(v.length, 1, v.join('\n'));
  assert.match(v[0], re);
}

test('a clean layout passes', () => {
  const dir = tree({
    'packages/vring/package.json': pkg(),
    'packages/vring/src/a.ts': "import { x } from './b.js';\n",
    'packages/core-bus/package.json': pkg({ '@vdpa-kit/vring': '0.1.0', rxjs: '^7' }),
    'packages/core-bus/src/compose-stack.ts': "import { Container } from 'inversify';\nnew Container();\n",
    'packages/device-mvnet/package.json': pkg({ '@vdpa-kit/core-bus': '0.1.0' }),
    'packages/device-mvnet/src/a.ts': "import { VdpaBus } from '@vdpa-kit/core-bus';\n",
  });
  assert.deepEqual(check(dir), []);
});

test('the real repository follows every rule: no benchmark code in a published src/', () => {
  // The benchmarks live in the private packages/bench (issue 12); nothing else may ship them.
  assert.deepEqual(check(repoRoot), []);
});

test('a relative import that leaves its package fails; one inside it passes', () => {
  const dir = tree({
    'packages/core-bus/package.json': pkg(),
    'packages/device-mvnet/package.json': pkg({ '@vdpa-kit/core-bus': '0.1.0' }),
    'packages/device-mvnet/src/a.ts': imp('./b.js') + imp('../test/fixture.js'),
    'packages/device-mvnet/test/a.spec.ts': imp('../../core-bus/src/vdpa-bus.js'),
  });
  one(
    dir,
    /^packages\/device-mvnet\/test\/a\.spec\.ts: relative import \.\.\/\.\.\/core-bus\/src\/vdpa-bus\.js leaves the package/,
  );
});

test('importsOf finds every form and tells static, type and dynamic imports apart', () => {
  const text = [
    "import { a,\n  b } from '@vdpa-kit/a';",
    "import type { T } from '@vdpa-kit/t';",
    "import { type U } from '@vdpa-kit/u';",
    "export { c } from '@vdpa-kit/c';",
    "export type { D } from '@vdpa-kit/d';",
    "export * as e from '@vdpa-kit/e';",
    "import '@vdpa-kit/side';",
    "const m = await import('@vdpa-kit/dyn');",
    "/** @typedef {import('@vdpa-kit/jsdoc').X} X */",
    "// we import the table from elsewhere, see 'notes'",
    "const s = Array.from('abc');",
  ].join('\n');
  assert.deepEqual(importsOf(text), [
    { spec: '@vdpa-kit/a', how: 'static' },
    { spec: '@vdpa-kit/t', how: 'type' },
    { spec: '@vdpa-kit/u', how: 'static' },
    { spec: '@vdpa-kit/c', how: 'static' },
    { spec: '@vdpa-kit/d', how: 'type' },
    { spec: '@vdpa-kit/e', how: 'static' },
    { spec: '@vdpa-kit/side', how: 'static' },
    { spec: '@vdpa-kit/dyn', how: 'dynamic' },
    { spec: '@vdpa-kit/jsdoc', how: 'dynamic' },
  ]);
});

test('importsOf finds a dynamic import of a template literal and a require() of a string', () => {
  const text = [
    'const a = await import(`@vdpa-kit/tpl`);',
    'const require = createRequire(import.meta.url);',
    "const b = require('@vdpa-kit/req');",
    'const c = require(`@vdpa-kit/req-tpl`);',
    // Not module loads: a method named require, a template with a substitution.
    "this.require('x > 0');",
    'const d = await import(`${base}/x.js`);',
  ].join('\n');
  assert.deepEqual(importsOf(text), [
    { spec: '@vdpa-kit/tpl', how: 'dynamic' },
    { spec: '@vdpa-kit/req', how: 'static' },
    { spec: '@vdpa-kit/req-tpl', how: 'static' },
  ]);
});

test('a device loading a transport with import() of a template literal or require() fails', () => {
  const v = check(
    tree({
      'packages/device-mvnet/package.json': pkg(),
      'packages/device-mvnet/src/a.ts': 'export const t = await import(`@vdpa-kit/transport-virtio`);\n',
      'packages/device-mvnet/src/b.ts':
        "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nexport const t = require('@vdpa-kit/transport-virtio');\n",
    }),
  );
  assert.deepEqual(v, [
    'packages/device-mvnet/src/a.ts: device package imports @vdpa-kit/transport-virtio',
    'packages/device-mvnet/src/b.ts: device package imports @vdpa-kit/transport-virtio',
  ]);
});

test('the command prints one line per violation, --json, and exits 1; "ok" and 0 on a clean tree', () => {
  const bad = tree({
    'packages/vring/package.json': pkg({ rxjs: '^7' }),
    'packages/vring/src/a.ts': imp('@vdpa-kit/core-bus'),
  });
  const r = spawnSync(process.execPath, [script, bad], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    'dependency rule: packages/vring/package.json: vring package depends on rxjs',
    'dependency rule: packages/vring/src/a.ts: vring package imports @vdpa-kit/core-bus',
  ]);
  const j = spawnSync(process.execPath, [script, bad, '--json'], { encoding: 'utf8' });
  assert.equal(j.status, 1);
  assert.equal(JSON.parse(j.stdout).length, 2);
  const good = tree({ 'packages/vring/package.json': pkg() });
  const g = spawnSync(process.execPath, [script, good], { encoding: 'utf8' });
  assert.equal(g.status, 0);
  assert.equal(g.stdout.trim(), 'dependency rules: ok');
});

test('rules for a kind with no package do not fire; imports of packages not yet created are judged by name', () => {
  const dir = tree({
    'packages/device-foo/package.json': pkg({ '@vdpa-kit/virtio-spec': '0.1.0' }),
    'packages/device-foo/src/a.ts': imp('@vdpa-kit/virtio-spec'),
  });
  assert.deepEqual(check(dir), []);
  one(
    tree({
      'packages/device-foo/package.json': pkg(),
      'packages/device-foo/src/a.ts': imp('@vdpa-kit/trace'),
    }),
    /device-foo\/src\/a\.ts: device package imports @vdpa-kit\/trace/,
  );
});

test('a package whose name no rule covers fails', () => {
  assert.deepEqual(check(tree({ 'packages/trace/package.json': pkg() })), []);
  one(
    tree({ 'packages/helpers/package.json': pkg() }),
    /packages\/helpers\/package\.json: no dependency rule covers a package named "helpers"/,
  );
});

// --- virtio-spec

test('virtio-spec with no dependencies, importing only itself and node builtins, passes', () => {
  const dir = tree({
    'packages/virtio-spec/package.json': pkg(
      {},
      { name: '@vdpa-kit/virtio-spec', devDependencies: { vitest: '^4' } },
    ),
    'packages/virtio-spec/src/virtio-ring.ts':
      "export const VRING_DESC_F_NEXT = 1;\nimport './virtio-net.js';\n",
    'packages/virtio-spec/src/virtio-ring.spec.ts':
      "import { it } from 'vitest';\nimport { x } from '@vdpa-kit/virtio-spec';\n",
    'packages/virtio-spec/scripts/gen.mjs': "import { readFileSync } from 'node:fs';\n",
  });
  assert.deepEqual(check(dir), []);
});

test('virtio-spec with any dependency fails', () => {
  one(
    tree({ 'packages/virtio-spec/package.json': pkg({ zod: '^4' }) }),
    /packages\/virtio-spec\/package\.json: spec package depends on zod/,
  );
  one(
    tree({
      'packages/virtio-spec/package.json': JSON.stringify({
        peerDependencies: { '@vdpa-kit/vring': '0.1.0' },
      }),
    }),
    /spec package depends on @vdpa-kit\/vring/,
  );
});

test('virtio-spec importing a third-party package in src/ or anything of ours, even in tests, fails', () => {
  const v = check(
    tree({
      'packages/virtio-spec/package.json': pkg(),
      'packages/virtio-spec/src/a.ts': "import { z } from 'zod';\n",
      'packages/virtio-spec/test/a.spec.ts': imp('@vdpa-kit/vring'),
    }),
  );
  assert.deepEqual(v, [
    'packages/virtio-spec/src/a.ts: spec package imports zod',
    'packages/virtio-spec/test/a.spec.ts: spec package imports @vdpa-kit/vring',
  ]);
});

// --- vring

test('vring may import virtio-spec', () => {
  const dir = tree({
    'packages/vring/package.json': pkg({ '@vdpa-kit/virtio-spec': '0.1.0' }),
    'packages/vring/src/a.ts': "import type { X } from '@vdpa-kit/virtio-spec';\n",
    'packages/vring/test/a.spec.ts': imp('@vdpa-kit/virtio-spec'),
  });
  assert.deepEqual(check(dir), []);
});

test('vring importing anything of ours or rxjs fails', () => {
  const dir = tree({
    'packages/vring/package.json': pkg({ rxjs: '^7' }),
    'packages/vring/src/a.ts':
      "import type { VdpaBus } from '@vdpa-kit/core-bus';\nimport { Subject } from 'rxjs/internal/Subject';\n",
  });
  const v = check(dir);
  assert.equal(v.length, 3);
  assert.ok(v.some((s) => /imports @vdpa-kit\/core-bus/.test(s)));
  assert.ok(v.some((s) => /imports rxjs/.test(s)));
});

test('vring importing core-bus or rxjs fails, type imports and tests included', () => {
  const dir = tree({
    'packages/vring/package.json': pkg({ rxjs: '^7' }),
    'packages/vring/src/a.ts':
      "import type { VdpaBus } from '@vdpa-kit/core-bus';\nimport { Subject } from 'rxjs/internal/Subject';\n",
    'packages/vring/test/b.spec.ts': "import { Container } from 'inversify';\n",
  });
  assert.deepEqual(check(dir), [
    'packages/vring/package.json: vring package depends on rxjs',
    'packages/vring/src/a.ts: vring package imports @vdpa-kit/core-bus',
    'packages/vring/src/a.ts: vring package imports rxjs',
    'packages/vring/test/b.spec.ts: vring package imports inversify',
  ]);
});

test('vring tests stay self-contained', () => {
  one(
    tree({
      'packages/vring/package.json': pkg(),
      'packages/vring/src/a.spec.ts': imp('@vdpa-kit/core-bus'),
    }),
    /vring\/src\/a\.spec\.ts: vring package imports @vdpa-kit\/core-bus/,
  );
});

// --- core-bus

test('core-bus may import vring and virtio-spec; its tests may compose with any package', () => {
  const dir = tree({
    'packages/core-bus/package.json': pkg({ '@vdpa-kit/vring': '0.1.0', '@vdpa-kit/virtio-spec': '0.1.0' }),
    'packages/core-bus/src/a.ts': imp('@vdpa-kit/vring') + imp('@vdpa-kit/virtio-spec'),
    'packages/core-bus/test/a.int.spec.ts': imp('@vdpa-kit/device-mvnet') + imp('@vdpa-kit/transport-virtio'),
  });
  assert.deepEqual(check(dir), []);
});

test('core-bus may not import a transport', () => {
  const dir = tree({
    'packages/core-bus/package.json': pkg(),
    'packages/core-bus/src/a.ts': "export { x } from '@vdpa-kit/transport-virtio';\n",
  });
  assert.match(check(dir)[0], /core package imports @vdpa-kit\/transport-virtio/);
});

test('core-bus may not depend on trace nor re-export a transport', () => {
  const v = check(
    tree({
      'packages/core-bus/package.json': pkg({ '@vdpa-kit/trace': '0.1.0' }),
      'packages/core-bus/src/a.ts': "export { x } from '@vdpa-kit/transport-virtio';\n",
    }),
  );
  assert.deepEqual(v, [
    'packages/core-bus/package.json: core package depends on @vdpa-kit/trace',
    'packages/core-bus/src/a.ts: core package imports @vdpa-kit/transport-virtio',
  ]);
});

// --- trace

test('trace may import core-bus, vring and virtio-spec; its tests may use a device', () => {
  const dir = tree({
    'packages/trace/package.json': pkg({ '@vdpa-kit/core-bus': '0.1.0', zod: '^4' }),
    'packages/trace/src/a.ts':
      imp('@vdpa-kit/core-bus') + imp('@vdpa-kit/vring') + imp('@vdpa-kit/virtio-spec'),
    'packages/trace/test/replay.int.spec.ts': imp('@vdpa-kit/device-vdpasim'),
  });
  assert.deepEqual(check(dir), []);
});

test('trace importing a device fails', () => {
  const v = check(
    tree({
      'packages/trace/package.json': pkg({ '@vdpa-kit/device-vdpasim': '0.1.0' }),
      'packages/trace/src/a.ts': imp('@vdpa-kit/device-vdpasim'),
    }),
  );
  assert.deepEqual(v, [
    'packages/trace/package.json: trace package depends on @vdpa-kit/device-vdpasim',
    'packages/trace/src/a.ts: trace package imports @vdpa-kit/device-vdpasim',
  ]);
});

// --- pci

test('pci may import virtio-spec and vring', () => {
  const dir = tree({
    'packages/pci/package.json': pkg({ '@vdpa-kit/vring': '0.1.0', '@vdpa-kit/virtio-spec': '0.1.0' }),
    'packages/pci/src/a.ts': imp('@vdpa-kit/vring') + imp('@vdpa-kit/virtio-spec'),
  });
  assert.deepEqual(check(dir), []);
});

test('pci importing core-bus fails', () => {
  one(
    tree({ 'packages/pci/package.json': pkg(), 'packages/pci/src/a.ts': imp('@vdpa-kit/core-bus') }),
    /pci\/src\/a\.ts: pci package imports @vdpa-kit\/core-bus/,
  );
});

// --- devices and hardware drivers

test('a device may import core-bus, vring, virtio-spec; a hardware driver also pci', () => {
  const dir = tree({
    'packages/device-mvnet/package.json': pkg({ '@vdpa-kit/virtio-spec': '0.1.0' }),
    'packages/device-mvnet/src/a.ts':
      imp('@vdpa-kit/core-bus') + imp('@vdpa-kit/vring') + imp('@vdpa-kit/virtio-spec'),
    'packages/hw-ifcvf/package.json': pkg({ '@vdpa-kit/pci': '0.1.0' }),
    'packages/hw-ifcvf/src/a.ts': imp('@vdpa-kit/pci') + imp('@vdpa-kit/core-bus'),
  });
  assert.deepEqual(check(dir), []);
});

test('a device-* package importing pci fails', () => {
  one(
    tree({ 'packages/device-mvnet/package.json': pkg({ '@vdpa-kit/pci': '0.1.0' }) }),
    /device-mvnet\/package\.json: device package depends on @vdpa-kit\/pci/,
  );
});

test('a device importing a transport fails, in package.json and in source', () => {
  const dir = tree({
    'packages/device-mvnet/package.json': pkg({ '@vdpa-kit/transport-virtio': '0.1.0' }),
    'packages/device-mvnet/src/a.ts': "import { VirtioNet } from '@vdpa-kit/transport-virtio';\n",
  });
  const v = check(dir);
  assert.equal(v.length, 2);
  assert.match(v[0], /device package depends on @vdpa-kit\/transport-virtio/);
  assert.match(v[1], /device-mvnet\/src\/a\.ts: device package imports @vdpa-kit\/transport-virtio/);
});

test('device tests may use core-bus testing helpers but not import a transport', () => {
  assert.deepEqual(
    check(
      tree({
        'packages/device-mvnet/package.json': pkg(),
        'packages/device-mvnet/test/stack.ts': imp('@vdpa-kit/core-bus/testing'),
      }),
    ),
    [],
  );
  one(
    tree({
      'packages/device-mvnet/package.json': pkg(
        {},
        { devDependencies: { '@vdpa-kit/transport-virtio': '0.1.0' } },
      ),
      'packages/device-mvnet/test/stack.int.spec.ts': imp('@vdpa-kit/transport-virtio'),
    }),
    /device-mvnet\/test\/stack\.int\.spec\.ts: device package imports @vdpa-kit\/transport-virtio/,
  );
});

test('a package.json "imports" alias is judged by the package it maps to', () => {
  const v = check(
    tree({
      'packages/device-mvnet/package.json': pkg(
        {},
        {
          imports: {
            '#transport': '@vdpa-kit/transport-virtio',
            '#net/*': { node: '@vdpa-kit/transport-virtio/*', default: './src/none.js' },
            '#own': './src/own.js',
          },
        },
      ),
      'packages/device-mvnet/src/a.ts': imp('#transport') + imp('#net/x.js') + imp('#own'),
      'packages/device-mvnet/src/own.ts': 'export const x = 1;\n',
    }),
  );
  assert.deepEqual(v, [
    'packages/device-mvnet/src/a.ts: device package imports @vdpa-kit/transport-virtio (through #transport)',
    'packages/device-mvnet/src/a.ts: device package imports @vdpa-kit/transport-virtio (through #net/x.js)',
  ]);
});

test("optionalDependencies follow the kind's rule (npm installs them), and a published one may not list the bench", () => {
  const v = check(
    tree({
      'packages/device-mvnet/package.json': pkg(
        {},
        { optionalDependencies: { '@vdpa-kit/transport-virtio': '0.1.0', '@vdpa-kit/bench': '0.1.0' } },
      ),
      'packages/vring/package.json': pkg({}, { optionalDependencies: { rxjs: '^7' } }),
    }),
  );
  assert.deepEqual(v, [
    'packages/device-mvnet/package.json: published package has the unpublished @vdpa-kit/bench in optionalDependencies',
    'packages/device-mvnet/package.json: device package depends on @vdpa-kit/transport-virtio',
    'packages/vring/package.json: vring package depends on rxjs',
  ]);
});

// --- transports

test('a transport may import core-bus, vring, virtio-spec and native-* packages', () => {
  const dir = tree({
    'packages/transport-vhost/package.json': pkg({ '@vdpa-kit/native-vhost': '0.1.0' }),
    'packages/transport-vhost/src/a.ts':
      imp('@vdpa-kit/core-bus') +
      imp('@vdpa-kit/vring') +
      imp('@vdpa-kit/virtio-spec') +
      imp('@vdpa-kit/native-vhost'),
  });
  assert.deepEqual(check(dir), []);
});

test('a transport importing trace fails', () => {
  one(
    tree({
      'packages/transport-vhost/package.json': pkg(),
      'packages/transport-vhost/src/a.ts': imp('@vdpa-kit/trace'),
    }),
    /transport-vhost\/src\/a\.ts: transport package imports @vdpa-kit\/trace/,
  );
});

test("a transport's test/ may import a real device listed in its devDependencies", () => {
  const dir = tree({
    'packages/transport-virtio/package.json': pkg(
      {},
      { devDependencies: { '@vdpa-kit/device-mvnet': '0.1.0' } },
    ),
    'packages/transport-virtio/test/net.int.spec.ts': imp('@vdpa-kit/device-mvnet'),
    'packages/transport-virtio/test/harness.ts': "import { mvnetModule } from '@vdpa-kit/device-mvnet';\n",
  });
  assert.deepEqual(check(dir), []);
});

test("a transport's test/ may import @vdpa-kit/trace listed in its devDependencies, its src/ may not", () => {
  const dir = tree({
    'packages/transport-virtio/package.json': pkg({}, { devDependencies: { '@vdpa-kit/trace': '0.1.0' } }),
    'packages/transport-virtio/test/trace.int.spec.ts': imp('@vdpa-kit/trace'),
    'packages/transport-virtio/src/a.ts': imp('@vdpa-kit/trace'),
  });
  const violations = check(dir);
  assert.equal(violations.length, 1);
  assert.match(violations[0], /transport-virtio\/src\/a\.ts: transport package imports @vdpa-kit\/trace/);
});

test("a transport's test/ importing @vdpa-kit/trace missing from its devDependencies fails", () => {
  one(
    tree({
      'packages/transport-virtio/package.json': pkg(),
      'packages/transport-virtio/test/trace.int.spec.ts': imp('@vdpa-kit/trace'),
    }),
    /transport-virtio\/test\/trace\.int\.spec\.ts: transport test imports @vdpa-kit\/trace, which is missing from devDependencies/,
  );
});

test("a device's test/ may import @vdpa-kit/trace listed in its devDependencies, its src/ and specs may not", () => {
  const dir = tree({
    'packages/device-vdpasim/package.json': pkg({}, { devDependencies: { '@vdpa-kit/trace': '0.1.0' } }),
    'packages/device-vdpasim/test/session.int.spec.ts': imp('@vdpa-kit/trace'),
    'packages/device-vdpasim/src/a.ts': imp('@vdpa-kit/trace'),
    'packages/device-vdpasim/src/a.spec.ts': imp('@vdpa-kit/trace'),
  });
  const violations = check(dir);
  assert.equal(violations.length, 2);
  assert.match(violations[0], /device-vdpasim\/src\/a\.spec\.ts: device package imports @vdpa-kit\/trace/);
  assert.match(violations[1], /device-vdpasim\/src\/a\.ts: device package imports @vdpa-kit\/trace/);
});

test("a device's test/ importing @vdpa-kit/trace missing from its devDependencies fails; another device stays refused", () => {
  const dir = tree({
    'packages/device-vdpasim/package.json': pkg(
      {},
      { devDependencies: { '@vdpa-kit/device-mvnet': '0.1.0' } },
    ),
    'packages/device-vdpasim/test/session.int.spec.ts': imp('@vdpa-kit/trace'),
    'packages/device-vdpasim/test/other.int.spec.ts': imp('@vdpa-kit/device-mvnet'),
  });
  const violations = check(dir);
  assert.equal(violations.length, 2);
  assert.match(
    violations[0],
    /device-vdpasim\/test\/other\.int\.spec\.ts: device package imports @vdpa-kit\/device-mvnet/,
  );
  assert.match(
    violations[1],
    /device-vdpasim\/test\/session\.int\.spec\.ts: device test imports @vdpa-kit\/trace, which is missing from devDependencies/,
  );
});

test("a transport's test/ importing a device missing from its devDependencies fails, naming it", () => {
  one(
    tree({
      'packages/transport-virtio/package.json': pkg(
        {},
        { devDependencies: { '@vdpa-kit/device-mvnet': '0.1.0' } },
      ),
      'packages/transport-virtio/test/net.int.spec.ts': imp('@vdpa-kit/device-vdpasim'),
    }),
    /transport-virtio\/test\/net\.int\.spec\.ts: transport test imports @vdpa-kit\/device-vdpasim, which is missing from devDependencies/,
  );
});

test('a transport importing a device fails from a spec beside its sources', () => {
  const dir = tree({
    'packages/transport-vhost/package.json': pkg(),
    'packages/transport-vhost/src/a.spec.ts': "import { Sim } from '@vdpa-kit/device-vdpasim';\n",
  });
  assert.match(check(dir)[0], /transport package imports @vdpa-kit\/device-vdpasim/);
});

test("a transport's src/ importing a device fails, specs included, even when it is a devDependency", () => {
  const v = check(
    tree({
      'packages/transport-virtio/package.json': pkg(
        {},
        { devDependencies: { '@vdpa-kit/device-mvnet': '0.1.0' } },
      ),
      'packages/transport-virtio/src/a.spec.ts': "import { Sim } from '@vdpa-kit/device-mvnet';\n",
      'packages/transport-virtio/src/testing/b.ts': imp('@vdpa-kit/device-mvnet'),
    }),
  );
  assert.deepEqual(v, [
    'packages/transport-virtio/src/a.spec.ts: transport package imports @vdpa-kit/device-mvnet',
    'packages/transport-virtio/src/testing/b.ts: transport package imports @vdpa-kit/device-mvnet',
  ]);
});

test("a transport's test/ may not import another transport", () => {
  one(
    tree({
      'packages/transport-virtio/package.json': pkg(
        {},
        { devDependencies: { '@vdpa-kit/transport-vhost': '0.1.0' } },
      ),
      'packages/transport-virtio/test/a.spec.ts': imp('@vdpa-kit/transport-vhost'),
    }),
    /transport-virtio\/test\/a\.spec\.ts: transport package imports @vdpa-kit\/transport-vhost/,
  );
});

// --- native addons

test('a native package may use third-party packages but nothing of ours', () => {
  assert.deepEqual(
    check(
      tree({
        'packages/native-vhost/package.json': pkg({ 'node-gyp-build': '^4' }),
        'packages/native-vhost/src/a.ts': "import load from 'node-gyp-build';\n",
      }),
    ),
    [],
  );
  one(
    tree({
      'packages/native-vhost/package.json': pkg(),
      'packages/native-vhost/src/a.ts': imp('@vdpa-kit/vring'),
    }),
    /native-vhost\/src\/a\.ts: native package imports @vdpa-kit\/vring/,
  );
});

// --- bench

test('a private bench package may import any package of ours but the apps', () => {
  const dir = tree({
    'packages/bench/package.json': pkg(
      {
        '@vdpa-kit/vring': '0.1.0',
        '@vdpa-kit/device-vdpasim': '0.1.0',
        '@vdpa-kit/transport-virtio': '0.1.0',
      },
      { name: '@vdpa-kit/bench', private: true },
    ),
    'packages/bench/src/ring-bench.ts':
      imp('@vdpa-kit/vring') + imp('@vdpa-kit/trace') + imp('@vdpa-kit/core-bus'),
    'packages/bench/src/bench/loopback-bench.ts':
      imp('@vdpa-kit/device-vdpasim') + imp('@vdpa-kit/transport-virtio'),
    'apps/cli/package.json': pkg(
      {},
      { name: '@vdpa-kit/cli', devDependencies: { '@vdpa-kit/bench': '0.1.0' } },
    ),
  });
  assert.deepEqual(check(dir), []);
});

test('a bench package importing an app fails', () => {
  one(
    tree({
      'packages/bench/package.json': pkg({}, { name: '@vdpa-kit/bench', private: true }),
      'packages/bench/src/a.ts': imp('@vdpa-kit/cli'),
      'apps/cli/package.json': pkg({}, { name: '@vdpa-kit/cli' }),
    }),
    /packages\/bench\/src\/a\.ts: bench package imports @vdpa-kit\/cli/,
  );
});

test('a bench package that is not private fails', () => {
  one(
    tree({ 'packages/bench/package.json': pkg({}, { name: '@vdpa-kit/bench' }) }),
    /packages\/bench\/package\.json: bench package must be "private": true/,
  );
  one(
    tree({ 'tools/bench/package.json': pkg({}, { name: '@vdpa-kit/bench', private: false }) }),
    /tools\/bench\/package\.json: bench package must be "private": true/,
  );
});

// --- apps

test('an app may load the bench package with import(), import its types, and list it as a dev/optional dependency', () => {
  const dir = tree({
    'apps/cli/package.json': pkg(
      { '@vdpa-kit/core-bus': '0.1.0' },
      {
        devDependencies: { '@vdpa-kit/bench': '0.1.0' },
        optionalDependencies: { '@vdpa-kit/bench': '0.1.0' },
      },
    ),
    'apps/cli/src/commands/benchmark.ts': [
      "import type { BenchResult } from '@vdpa-kit/bench';",
      "export type { RingBenchOptions } from '@vdpa-kit/bench';",
      "const bench = await import('@vdpa-kit/bench');",
      "import { composeStack } from '@vdpa-kit/core-bus';",
      "import { vdpasimModule } from '@vdpa-kit/device-vdpasim';",
    ].join('\n'),
    'apps/cli/src/commands/benchmark.spec.ts': imp('@vdpa-kit/bench'),
    'apps/cli/test/bench.int.spec.ts': imp('@vdpa-kit/bench'),
  });
  assert.deepEqual(check(dir), []);
});

test('an app importing the bench package statically in src/ fails', () => {
  const v = check(
    tree({
      'apps/cli/package.json': pkg(),
      'apps/cli/src/a.ts': imp('@vdpa-kit/bench'),
      'apps/cli/src/b.ts': "export { ringBench } from '@vdpa-kit/bench';\n",
      'apps/cli/src/c.ts': "import '@vdpa-kit/bench';\n",
      // With verbatimModuleSyntax an inline `type` leaves `import {} from '…'` behind: still a load.
      'apps/cli/src/d.ts': "import { type BenchResult } from '@vdpa-kit/bench/report';\n",
    }),
  );
  assert.equal(v.length, 4, v.join('\n'));
  for (const [i, f] of ['a', 'b', 'c', 'd'].entries()) {
    assert.equal(
      v[i],
      `apps/cli/src/${f}.ts: app imports @vdpa-kit/bench statically (load it with import() so the published CLI runs without it)`,
    );
  }
});

test("the bench package in an app's dependencies or peerDependencies fails", () => {
  const v = check(
    tree({
      'apps/cli/package.json': JSON.stringify({
        name: '@vdpa-kit/cli',
        private: true,
        dependencies: { '@vdpa-kit/bench': '0.1.0' },
        peerDependencies: { '@vdpa-kit/bench': '0.1.0' },
      }),
    }),
  );
  assert.equal(v.length, 2, v.join('\n'));
  assert.match(
    v[0],
    /apps\/cli\/package\.json: app has @vdpa-kit\/bench in dependencies \(only devDependencies/,
  );
  assert.match(v[1], /apps\/cli\/package\.json: app has @vdpa-kit\/bench in peerDependencies/);
});

// --- published packages and the bench package

test('a published package depending on the bench package fails; a private example is held by its device rule', () => {
  one(
    tree({
      'packages/trace/package.json': JSON.stringify({
        name: '@vdpa-kit/trace',
        peerDependencies: { '@vdpa-kit/bench': '0.1.0' },
      }),
    }),
    /packages\/trace\/package\.json: published package has the unpublished @vdpa-kit\/bench in peerDependencies/,
  );
  one(
    tree({ 'packages/native-x/package.json': pkg({ '@vdpa-kit/bench': '0.1.0' }) }),
    /native-x\/package\.json: published package has the unpublished @vdpa-kit\/bench in dependencies/,
  );
  // A private example is not published, but its device rule still keeps the bench package out.
  one(
    tree({ 'examples/plugin-x/package.json': pkg({ '@vdpa-kit/bench': '0.1.0' }, { private: true }) }),
    /examples\/plugin-x\/package\.json: example package depends on @vdpa-kit\/bench/,
  );
});

test('a published package with benchmark code in src/ fails', () => {
  const v = check(
    tree({
      'packages/vring/package.json': pkg(),
      'packages/vring/src/bench/ring-bench.ts': '',
      'packages/vring/src/bench/deep/bench-memory.ts': '',
      'packages/core-bus/package.json': pkg(),
      'packages/core-bus/src/bench-op-cost.ts': '',
      'packages/core-bus/src/channel/foo-bench.ts': '',
      'packages/core-bus/src/bench.ts': '',
      'apps/cli/package.json': pkg(),
      'apps/cli/src/trace/trace-bench-report.ts': '',
    }),
  );
  assert.deepEqual(v, [
    'packages/core-bus/src/bench-op-cost.ts: published package contains benchmark code',
    'packages/core-bus/src/bench.ts: published package contains benchmark code',
    'packages/core-bus/src/channel/foo-bench.ts: published package contains benchmark code',
    'packages/vring/src/bench/: published package contains benchmark code',
    'apps/cli/src/trace/trace-bench-report.ts: published package contains benchmark code',
  ]);
});

test('benchmark code outside src/, in a private package, or a name that only contains "bench" passes', () => {
  const dir = tree({
    'packages/vring/package.json': pkg(),
    'packages/vring/src/benchmark-notes.ts': '',
    'packages/vring/src/workbench.ts': '',
    'packages/vring/test/ring-bench.spec.ts': '',
    'packages/vring/bench/ring-bench.ts': '',
    'packages/bench/package.json': pkg({}, { name: '@vdpa-kit/bench', private: true }),
    'packages/bench/src/bench/ring-bench.ts': '',
    'examples/plugin-x/package.json': pkg({}, { private: true }),
    'examples/plugin-x/src/bench-x.js': '',
  });
  assert.deepEqual(check(dir), []);
});

// --- examples

test('an example follows the device rules in its top-level *.js, peerDependencies included', () => {
  assert.deepEqual(
    check(
      tree({
        'examples/plugin-null-net/package.json': JSON.stringify({
          private: true,
          peerDependencies: { '@vdpa-kit/core-bus': '0.1.0', '@vdpa-kit/vring': '0.1.0', inversify: '^8' },
        }),
        'examples/plugin-null-net/index.js':
          imp('@vdpa-kit/core-bus') + "/** @typedef {import('@vdpa-kit/vring').GuestMemory} GuestMemory */\n",
      }),
    ),
    [],
  );
  const v = check(
    tree({
      'examples/plugin-null-net/package.json': JSON.stringify({
        private: true,
        peerDependencies: { '@vdpa-kit/transport-virtio': '0.1.0' },
      }),
      'examples/plugin-null-net/index.js': "/** @typedef {import('@vdpa-kit/trace').Trace} Trace */\n",
      'examples/plugin-null-net/main.js': 'const c = new Container();\n',
    }),
  );
  assert.deepEqual(v, [
    'examples/plugin-null-net/package.json: example package depends on @vdpa-kit/transport-virtio',
    'examples/plugin-null-net/index.js: example package imports @vdpa-kit/trace',
    'examples/plugin-null-net/main.js: plugin package creates an inversify Container (compose in apps/cli or tests)',
  ]);
});

// --- containers

test('plugin and core-bus tests may create a container; core-bus in its compose helper', () => {
  const dir = tree({
    'packages/hw-ifcvf/package.json': pkg(),
    'packages/hw-ifcvf/test/a.int.spec.ts': 'const c = new Container();\n',
    'packages/transport-virtio/package.json': pkg(),
    'packages/transport-virtio/src/a.spec.ts': 'const c = new Container();\n',
    'packages/core-bus/package.json': pkg(),
    'packages/core-bus/src/compose-stack.ts': 'const c = new Container();\n',
    'packages/core-bus/test/a.spec.ts': 'const c = new Container();\n',
  });
  assert.deepEqual(check(dir), []);
});

test('a plugin creating a container fails; core-bus only in its compose helper', () => {
  const dir = tree({
    'packages/hw-ifcvf/package.json': pkg(),
    'packages/hw-ifcvf/src/m.ts': 'const c = new Container();\n',
    'packages/core-bus/package.json': pkg(),
    'packages/core-bus/src/bus.ts': 'const c = new Container({});\n',
  });
  const v = check(dir);
  assert.equal(v.length, 2);
  assert.ok(v.some((s) => /hw-ifcvf\/src\/m\.ts: plugin package creates an inversify Container/.test(s)));
  assert.ok(v.some((s) => /core-bus creates a Container outside its compose helper/.test(s)));
});

test('a transport creating a container in its bench/ fails too', () => {
  const dir = tree({
    'packages/hw-ifcvf/package.json': pkg(),
    'packages/hw-ifcvf/src/m.ts': 'const c = new Container();\n',
    'packages/transport-vhost/package.json': pkg(),
    'packages/transport-vhost/bench/m.ts': 'const c = new Container();\n',
    'packages/core-bus/package.json': pkg(),
    'packages/core-bus/src/bus.ts': 'const c = new Container({});\n',
  });
  assert.deepEqual(check(dir), [
    'packages/core-bus/src/bus.ts: core-bus creates a Container outside its compose helper',
    'packages/hw-ifcvf/src/m.ts: plugin package creates an inversify Container (compose in apps/cli or tests)',
    'packages/transport-vhost/bench/m.ts: plugin package creates an inversify Container (compose in apps/cli or tests)',
  ]);
});

test('virtio-spec imports nothing; every package may import it', () => {
  const ok = tree({
    'packages/virtio-spec/package.json': JSON.stringify({ name: 'x' }),
    'packages/virtio-spec/src/a.ts': "import { b } from './b.js';\n",
    'packages/virtio-spec/src/a.spec.ts': "import { it } from 'vitest';\nimport fc from 'fast-check';\n",
    'packages/vring/package.json': pkg({ '@vdpa-kit/virtio-spec': '0.1.0' }),
    'packages/vring/src/a.ts': "import { VIRTQ_DESC_F_NEXT } from '@vdpa-kit/virtio-spec';\n",
    'packages/core-bus/package.json': pkg({ '@vdpa-kit/virtio-spec': '0.1.0', '@vdpa-kit/vring': '0.1.0' }),
    'packages/core-bus/src/a.ts': "import { bit } from '@vdpa-kit/virtio-spec';\n",
    'packages/device-mvnet/package.json': pkg({ '@vdpa-kit/virtio-spec': '0.1.0' }),
    'packages/device-mvnet/src/a.ts': "import { ETH_ALEN } from '@vdpa-kit/virtio-spec';\n",
  });
  assert.deepEqual(check(ok), []);
  const bad = tree({
    'packages/virtio-spec/package.json': pkg({ '@vdpa-kit/vring': '0.1.0' }),
    'packages/virtio-spec/src/a.ts': "import { Iotlb } from '@vdpa-kit/vring';\nimport { z } from 'zod';\n",
    'packages/virtio-spec/src/b.spec.ts': "import { Subject } from 'rxjs';\n",
  });
  const v = check(bad);
  assert.equal(v.length, 4);
  assert.ok(v.some((s) => /package\.json: spec package depends on @vdpa-kit\/vring/.test(s)));
  assert.ok(v.some((s) => /src\/a\.ts: spec package imports @vdpa-kit\/vring/.test(s)));
  assert.ok(v.some((s) => /src\/a\.ts: spec package imports zod/.test(s)));
  assert.ok(v.some((s) => /src\/b\.spec\.ts: spec package imports rxjs/.test(s)));
});

test('vring importing anything of ours but virtio-spec still fails', () => {
  const dir = tree({
    'packages/vring/package.json': pkg({ '@vdpa-kit/virtio-spec': '0.1.0', '@vdpa-kit/core-bus': '0.1.0' }),
    'packages/vring/src/a.ts':
      "import { bit } from '@vdpa-kit/virtio-spec';\nimport { VdpaBus } from '@vdpa-kit/core-bus';\n",
  });
  const v = check(dir);
  assert.equal(v.length, 2);
  assert.ok(v.every((s) => /vring package (depends on|imports) @vdpa-kit\/core-bus/.test(s)));
});
