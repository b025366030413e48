import { describe, expect, it } from 'vitest';
import { tempState, vdpaKit, vdpaKitInProcess } from './cli-harness.js';

describe('vdpa-kit run', () => {
  it.each([
    ['vdpasim_net', ['--max-vqp', '2', '--queues', '2'], 2],
    ['mvnet', [], 1],
  ])('drives checked traffic through %s and reports it as JSON', async (mgmtdev, extra, pairs) => {
    const run = await vdpaKit(tempState(), [
      'run',
      '--mgmtdev',
      mgmtdev,
      '--count',
      '5000',
      '--size',
      '256',
      '--json',
      ...extra,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      mgmtdev,
      dev: 'vdpa0',
      queuePairs: pairs,
      size: 256,
      tx: { packets: 5000, bytes: 5000 * 256 },
      rx: { packets: 5000, intact: 5000 },
      lost: 0,
      corrupt: 0,
      outOfOrder: 0,
      ok: true,
    });
    expect(report.mpps).toBeGreaterThan(0);
    expect(Object.keys(report.vendorStats as object).length).toBeGreaterThan(0);
    expect(run.stdout.endsWith('}\n')).toBe(true);
  });

  it('prints a text report with tables and paces to --rate', async () => {
    const run = await vdpaKitInProcess(tempState(), [
      'run',
      '--count',
      '300',
      '--rate',
      '3000',
      '--burst',
      '8',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('tx 300 packets');
    expect(run.stdout).toContain('lost 0 corrupt 0 out-of-order 0');
    expect(run.stdout).toContain('result: ok');
    expect(run.stdout).toMatch(/in (\d+\.\d) ms/);
    const ms = Number(/in (\d+\.\d) ms/.exec(run.stdout)?.[1]);
    // 300 frames at 3000/s cannot finish in less than ~100 ms.
    expect(ms).toBeGreaterThanOrEqual(90);
  });

  it('offers the kernel vdpasim_net features by default; --promisc provisions CTRL_RX', async () => {
    const args = ['run', '--mgmtdev', 'vdpasim_net', '--count', '50', '--json'];
    const [plain, promisc, explicit] = await Promise.all([
      vdpaKitInProcess(tempState(), args),
      vdpaKitInProcess(tempState(), [...args, '--promisc']),
      vdpaKitInProcess(tempState(), [...args, '--device-features', '0x308830028']),
    ]);
    const features = (r: { stdout: string }): bigint =>
      BigInt((JSON.parse(r.stdout) as { features: string }).features);
    const CTRL_RX = 1n << 18n;
    // vdpa_sim_net.c: VDPASIM_NET_FEATURES; the negotiated set also lacks what virtio-net does not take.
    expect(features(plain) & CTRL_RX).toBe(0n);
    expect(features(promisc) & CTRL_RX).toBe(CTRL_RX);
    expect(features(explicit)).toBe(features(plain));
    expect(promisc.code).toBe(0);
  });

  it('refuses bad options with one line', async () => {
    const [small, unknown, queues] = await Promise.all([
      vdpaKitInProcess(tempState(), ['run', '--size', '20']),
      vdpaKitInProcess(tempState(), ['run', '--mgmtdev', 'nope']),
      vdpaKitInProcess(tempState(), ['run', '--queues', '3']),
    ]);
    const [badHex, unsupported] = await Promise.all([
      vdpaKitInProcess(tempState(), ['run', '--device-features', 'xyz']),
      vdpaKitInProcess(tempState(), ['run', '--device-features', '0x1000000000000000']),
    ]);
    expect(badHex).toMatchObject({
      code: 1,
      stderr: 'vdpa-kit: --device-features xyz is not a hex u64\n',
    });
    // vdpa.c: vdpa_nl_cmd_dev_add_set_doit(): run's default MAC attribute needs VIRTIO_NET_F_MAC offered.
    expect(unsupported).toMatchObject({
      code: 1,
      stderr: 'vdpa-kit: vdpasim_net refused device vdpa0: missing features 0x20 for provided attributes\n',
    });
    expect(small).toMatchObject({
      code: 1,
      stderr: 'vdpa-kit: frame size 20 is not an integer in 60..9018\n',
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^vdpa-kit: management device nope not found \(loaded: vdpasim_net, mvnet; .*\)\n$/,
    );
    expect(queues).toMatchObject({
      code: 1,
      stderr: "vdpa-kit: --queues 3 is not in 1..1 (the device's max queue pairs)\n",
    });
  });
});

describe('vdpa-kit bench loopback', () => {
  it('reports the full stack against the in-run reference loop as JSON', async () => {
    const run = await vdpaKit(tempState(), [
      'bench',
      'loopback',
      '--size',
      '64',
      '--packets',
      '20000',
      '--runs',
      '1',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, number | unknown[]>;
    for (const key of ['size', 'mpps', 'referenceMpps', 'ratio', 'copyMops'])
      expect(typeof report[key]).toBe('number');
    expect(report.size).toBe(64);
    expect(report.runs).toHaveLength(1);
    expect(report.ratio).toBeCloseTo((report.mpps as number) / (report.referenceMpps as number), 6);
  });
});

describe('vdpa-kit bench ring and op-cost', () => {
  it('ring: one JSON line per size, the ratio against the reference loop of the same runs', async () => {
    const run = await vdpaKit(tempState(), [
      'bench',
      'ring',
      '--size',
      '64',
      '--packets',
      '3000',
      '--runs',
      '1',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]) as Record<string, number>;
    expect(r).toMatchObject({ size: 64, runs: 1, packets: 3000, goal: 0.6 });
    expect(r.ratio).toBeCloseTo(r.mpps / r.referenceMpps, 2);
  });

  it('op-cost: ns per op on every path and the ratio to the ceiling', async () => {
    const run = await vdpaKit(tempState(), ['bench', 'op-cost', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as Record<string, number>;
    for (const key of [
      'directNsPerOp',
      'handleNsPerOp',
      'subscribedNsPerOp',
      'subjectNextNs',
      'ratioToCeiling',
    ])
      expect(r[key]).toBeGreaterThan(0);
  });
});
