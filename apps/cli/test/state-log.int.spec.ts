import { appendFileSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StateLog } from '../src/state/state-log.js';
import { lines, tempState, vdpaKit, vdpaKitInProcess } from './cli-harness.js';

const PARALLEL = 8;

describe('state log under concurrent invocations', () => {
  it(`keeps all ${PARALLEL} devices added by ${PARALLEL} processes at once`, async () => {
    const state = tempState();
    const names = Array.from({ length: PARALLEL }, (_, i) => `vdpa${i}`);
    const runs = await Promise.all(
      names.map((name) => vdpaKit(state, ['dev', 'add', 'name', name, 'mgmtdev', 'vdpasim_net'])),
    );
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(names.map(() => [0, '']));
    const events = new StateLog(state).read();
    expect(events.map((e) => e.seq)).toEqual(names.map((_, i) => i + 1));
    expect(events.map((e) => e.name).sort()).toEqual([...names].sort());
    const show = await vdpaKit(state, ['dev', 'show']);
    expect(show.stdout.trim().split('\n')).toHaveLength(PARALLEL);
  });

  it('lets exactly one of two concurrent adds of the same name succeed', async () => {
    const state = tempState();
    const runs = await Promise.all(
      [0, 1].map(() => vdpaKit(state, ['dev', 'add', 'name', 'twin', 'mgmtdev', 'vdpasim_net'])),
    );
    expect(runs.map((r) => r.code).sort()).toEqual([0, 1]);
    expect(runs.find((r) => r.code === 1)?.stderr).toBe(lines('kernel answers: File exists'));
    expect(new StateLog(state).read()).toHaveLength(1);
  });

  it('refuses a corrupt log with one line naming the line number and appends nothing', async () => {
    const state = tempState();
    expect((await vdpaKitInProcess(state, ['dev', 'add', 'name', 'a', 'mgmtdev', 'vdpasim_net'])).code).toBe(
      0,
    );
    appendFileSync(state, '{"v":1,"seq":2,\n');
    const before = readFileSync(state, 'utf8');
    const run = await vdpaKitInProcess(state, ['dev', 'add', 'name', 'b', 'mgmtdev', 'vdpasim_net']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(lines(`vdpa-kit: state file ${state} line 2 is corrupt: not valid JSON`));
    expect(readFileSync(state, 'utf8')).toBe(before);
    const show = await vdpaKitInProcess(state, ['dev', 'show']);
    expect(show.code).toBe(1);
    expect(show.stderr.split('\n')).toHaveLength(2);
  });

  it('uses $VDPA_KIT_STATE when --state is not given', async () => {
    const state = tempState();
    const { execFile } = await import('node:child_process');
    const { BIN, REPO_ROOT } = await import('./cli-harness.js');
    const code = await new Promise<number>((resolve) => {
      execFile(
        process.execPath,
        [BIN, 'dev', 'add', 'name', 'env0', 'mgmtdev', 'mvnet'],
        { cwd: REPO_ROOT, env: { ...process.env, VDPA_KIT_STATE: state } },
        (err) => resolve(err === null ? 0 : 1),
      );
    });
    expect(code).toBe(0);
    expect(new StateLog(state).read().map((e) => e.name)).toEqual(['env0']);
  });
});
