// Tests of the dependency-rule check on throwaway trees (node:test; run by scripts/run-tests.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from '../check-deps.mjs';

function tree(files) {
  const dir = mkdtempSync(join(tmpdir(), 'deps-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
const pkg = (deps = {}) => JSON.stringify({ name: 'x', dependencies: deps });

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

test('a transport importing a device fails, even from its tests', () => {
  const dir = tree({
    'packages/transport-vhost/package.json': pkg(),
    'packages/transport-vhost/src/a.spec.ts': "import { Sim } from '@vdpa-kit/device-vdpasim';\n",
  });
  assert.match(check(dir)[0], /transport package imports @vdpa-kit\/device-vdpasim/);
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

test('core-bus may not import a transport', () => {
  const dir = tree({
    'packages/core-bus/package.json': pkg(),
    'packages/core-bus/src/a.ts': "export { x } from '@vdpa-kit/transport-virtio';\n",
  });
  assert.match(check(dir)[0], /core package imports @vdpa-kit\/transport-virtio/);
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
