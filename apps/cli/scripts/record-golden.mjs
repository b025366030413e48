#!/usr/bin/env node
// Regenerates the golden traces in test/fixtures/ with the built CLI (`npm run golden -w @vdpa-kit/cli`
// builds first): one `vdpa-kit run --record` session per built-in device — bring-up, a little checked
// traffic, control-queue commands where the device has a control queue, teardown (dev del). The
// logical clock and a fixed SOURCE_DATE_EPOCH make the files byte-stable, so a diff of a regenerated
// fixture shows exactly what changed in the devices or the transport.
//
//   node scripts/record-golden.mjs [--out DIR]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'vdpa-kit.js');
const outAt = process.argv.indexOf('--out');
const out = outAt >= 0 ? process.argv[outAt + 1] : join(root, 'test', 'fixtures');

/** Small traffic: enough for kicks and callbacks on every queue, fast to replay in CI. */
const COMMON = ['run', '--count', '64', '--size', '128', '--burst', '16', '--clock', 'logical', '--json'];

/** The golden sessions: the file name and the `run` options of each. */
const GOLDEN = [
  {
    file: 'golden-vdpasim_net.jsonl',
    args: [
      '--mgmtdev',
      'vdpasim_net',
      '--mac',
      '52:54:00:12:34:56',
      '--max-vqp',
      '2',
      '--queues',
      '2',
      '--set-mac',
      '52:54:00:ab:cd:ef',
      '--promisc',
    ],
  },
  { file: 'golden-mvnet.jsonl', args: ['--mgmtdev', 'mvnet'] },
];

for (const { file, args } of GOLDEN) {
  const path = join(out, file);
  const stdout = execFileSync(process.execPath, [bin, ...COMMON, ...args, '--record', path], {
    cwd: root,
    env: { ...process.env, SOURCE_DATE_EPOCH: '0', VDPA_KIT_DEBUG: '' },
    encoding: 'utf8',
  });
  const report = JSON.parse(stdout);
  if (report.ok !== true) throw new Error(`golden session ${file} did not pass its traffic check`);
  process.stdout.write(`${path}: ${report.tx.packets} frames, ${report.queuePairs} queue pair(s)\n`);
}
