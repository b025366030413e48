import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lines, tempState, vdpaKit, vdpaKitInProcess } from './cli-harness.js';

const PLUGIN = './examples/plugin-null-net';

describe('--plugin', () => {
  it('loads the example plugin and shows its management device', async () => {
    const state = tempState();
    const run = await vdpaKit(state, ['--plugin', PLUGIN, 'mgmtdev', 'show', 'nullnet']);
    expect(run).toEqual({
      stdout: lines(
        'nullnet: ',
        '  supported_classes net',
        '  max_supported_vqs 2',
        '  dev_features MTU MAC STATUS VERSION_1 ACCESS_PLATFORM',
      ),
      stderr: '',
      code: 0,
    });
  });

  it('adds plugin devices; without the plugin they are kept (not built) and still own their name', async () => {
    const state = tempState();
    const add = await vdpaKitInProcess(state, [
      '--plugin',
      PLUGIN,
      'dev',
      'add',
      'name',
      'null0',
      'mgmtdev',
      'nullnet',
      'mac',
      '02:00:00:00:00:99',
    ]);
    expect(add).toEqual({ stdout: '', stderr: '', code: 0 });
    const [config, without, clash] = await Promise.all([
      vdpaKitInProcess(state, ['--plugin', PLUGIN, 'dev', 'config', 'show', 'null0']),
      vdpaKitInProcess(state, ['dev', 'show']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'null0', 'mgmtdev', 'vdpasim_net']),
    ]);
    expect(config.stdout).toBe(lines('null0: mac 02:00:00:00:00:99 link down link_announce false mtu 1500 '));
    expect(without).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(clash).toEqual({ stdout: '', stderr: lines('kernel answers: File exists'), code: 1 });
    const bound = await vdpaKitInProcess(state, [
      '--plugin',
      PLUGIN,
      'dev',
      'vstats',
      'show',
      'null0',
      'qidx',
      '1',
      '--bind',
      'virtio',
    ]);
    expect(bound.stdout).toMatch(/^null0: queue_type tx kicks \d+ \n$/);
  });

  it('reports a missing or unusable plugin in one line', async () => {
    const state = tempState();
    const bad = join(dirname(state), 'bad-plugin.mjs');
    writeFileSync(bad, 'export const answer = 42;\n');
    const [missing, useless] = await Promise.all([
      vdpaKitInProcess(state, ['--plugin', './no/such/plugin', 'mgmtdev', 'show']),
      vdpaKitInProcess(state, ['--plugin', bad, 'mgmtdev', 'show']),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^vdpa-kit: plugin \.\/no\/such\/plugin not found: .* does not exist\n$/);
    expect(useless).toEqual({
      stdout: '',
      stderr: lines(
        `vdpa-kit: plugin ${bad} exports no ContainerModule (default or named, or a function returning one)`,
      ),
      code: 1,
    });
  });
});
