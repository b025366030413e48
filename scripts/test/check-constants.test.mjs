// Tests of the one-constant-one-definition check on throwaway trees (node:test; scripts/run-tests.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from '../check-constants.mjs';

function tree(files) {
  const dir = mkdtempSync(join(tmpdir(), 'consts-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const SPEC = {
  'packages/virtio-spec/src/if-ether.ts': 'export const ETH_ALEN = 6;\n',
  'packages/virtio-spec/src/virtio-ring.ts':
    'export const VIRTQ_DESC_F_NEXT = 1;\nconst VIRTQ_EVENT_FIELD_SIZE = 2;\n',
  'packages/virtio-spec/src/limits.ts': 'export const U16_MAX = 0xffff;\n',
};

test('a tree where only virtio-spec defines spec constants passes', () => {
  const dir = tree({
    ...SPEC,
    'packages/vring/src/vringh.ts':
      "import { VIRTQ_DESC_F_NEXT } from '@vdpa-kit/virtio-spec';\n// Module-local copy for the hot path.\nconst F_NEXT = VIRTQ_DESC_F_NEXT;\n",
    'packages/device-vdpasim/src/loopback.ts':
      "import { ETH_ALEN } from '@vdpa-kit/virtio-spec';\nconst DEST_LEN = ETH_ALEN;\n",
    // Tests may repeat a fixture's name in several packages; a name may repeat inside one package.
    'packages/core-bus/src/a.spec.ts': 'const MAC = [0, 1, 2, 3, 4, 5];\n',
    'packages/device-vdpasim/src/b.spec.ts': 'const MAC = [0, 1, 2, 3, 4, 6];\n',
    'packages/vring/src/virtqueue.ts': 'const DESC_SIZE = 16;\n',
    'packages/vring/src/pooled.ts': 'const DESC_SIZE = 16;\n',
    // A spec-prefixed name that is not a spec constant, listed with its reason.
    'packages/transport-virtio/src/tokens.ts': "export const VIRTIO_BUS = Symbol.for('x');\n",
    // Test directories are not source.
    'packages/device-mvnet/test/driver.ts': 'const ETH_FRAME_MAX = 1514;\n',
  });
  assert.deepEqual(check(dir), []);
});

test('a spec-named constant outside virtio-spec fails, wherever it is defined', () => {
  const dir = tree({
    ...SPEC,
    'packages/core-bus/src/constants.ts': '/** Length. */\nexport const ETH_ALEN = 6;\n',
    'packages/transport-virtio/src/x.spec.ts': 'const VIRTQ_MAX = 32768;\n',
    'packages/vring/src/vringh.ts': 'function f() {\n  const VRING_X = 1;\n  return VRING_X;\n}\n',
    'apps/cli/src/constants.ts': 'export const ETH_P_802_EX1 = 0x88b5;\n',
    'examples/plugin/index.js': 'const VDPA_ATTR_DEV_NET_CFG_MTU = 13;\n',
  });
  const v = check(dir);
  // ETH_ALEN is also a second definition of virtio-spec's name: both rules report it.
  assert.equal(v.length, 6, v.join('\n'));
  assert.ok(
    v.includes(
      'constant ETH_ALEN is defined in 2 packages: packages/core-bus/src/constants.ts, packages/virtio-spec/src/if-ether.ts',
    ),
  );
  for (const [file, name] of [
    ['packages/core-bus/src/constants.ts', 'ETH_ALEN'],
    ['packages/transport-virtio/src/x.spec.ts', 'VIRTQ_MAX'],
    ['packages/vring/src/vringh.ts', 'VRING_X'],
    ['apps/cli/src/constants.ts', 'ETH_P_802_EX1'],
    ['examples/plugin/index.js', 'VDPA_ATTR_DEV_NET_CFG_MTU'],
  ]) {
    assert.ok(
      v.includes(
        `${file}: spec constant ${name} is defined outside packages/virtio-spec (import it from there)`,
      ),
      `${file} ${name}`,
    );
  }
});

test('the same constant name in the source of two packages fails', () => {
  const dir = tree({
    ...SPEC,
    'packages/core-bus/src/constants.ts': 'export const U16_MAX = 0xffff;\nexport const STEP = 1;\n',
    'packages/device-vdpasim/src/vdpasim.ts': 'const STEP = 2;\n',
    'apps/cli/src/parse.ts': 'export const STEP = 3;\n',
  });
  const v = check(dir);
  assert.deepEqual(v, [
    'constant STEP is defined in 3 packages: packages/core-bus/src/constants.ts, packages/device-vdpasim/src/vdpasim.ts, apps/cli/src/parse.ts',
    'constant U16_MAX is defined in 2 packages: packages/core-bus/src/constants.ts, packages/virtio-spec/src/limits.ts',
  ]);
});

test('a local alias under a spec name fails like a definition', () => {
  const dir = tree({
    ...SPEC,
    'packages/device-vdpasim/src/filter.ts':
      "import { ETH_ALEN } from '@vdpa-kit/virtio-spec';\nconst ETH_DEST_LEN = ETH_ALEN;\n",
  });
  assert.deepEqual(check(dir), [
    'packages/device-vdpasim/src/filter.ts: spec constant ETH_DEST_LEN is defined outside packages/virtio-spec (import it from there)',
  ]);
});

test('a spec constant defined by let or var, destructuring, several declarators or an enum member fails', () => {
  const dir = tree({
    ...SPEC,
    'packages/core-bus/src/a.ts': 'export let VIRTIO_F_A = 1;\nvar VIRTIO_F_B = 2;\n',
    'packages/core-bus/src/b.ts':
      'export const { VIRTIO_F_C, x: VIRTIO_F_D } = table;\nconst [VIRTQ_E] = [1];\n',
    'packages/core-bus/src/c.ts': 'export const ONE = 1,\n  VIRTIO_F_F = 2;\n',
    'packages/core-bus/src/d.ts':
      'export enum Feature {\n  VIRTIO_F_G = 3,\n  Other,\n  ETH_H\n}\nconst enum E { VRING_I = 1 }\n',
    // Reading a spec constant out of an object, under a name of one's own, is no definition.
    'packages/core-bus/src/e.ts':
      'const { VIRTIO_NET_F_MQ: mq } = spec;\nconst x = VIRTIO_NET_F_MQ, y = 2;\n',
  });
  const names = check(dir).map((v) => /^(\S+): spec constant (\w+) /.exec(v)?.slice(1).join(' '));
  assert.deepEqual(names.sort(), [
    'packages/core-bus/src/a.ts VIRTIO_F_A',
    'packages/core-bus/src/a.ts VIRTIO_F_B',
    'packages/core-bus/src/b.ts VIRTIO_F_C',
    'packages/core-bus/src/b.ts VIRTIO_F_D',
    'packages/core-bus/src/b.ts VIRTQ_E',
    'packages/core-bus/src/c.ts VIRTIO_F_F',
    'packages/core-bus/src/d.ts ETH_H',
    'packages/core-bus/src/d.ts VIRTIO_F_G',
    'packages/core-bus/src/d.ts VRING_I',
  ]);
});
