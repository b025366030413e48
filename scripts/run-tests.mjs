#!/usr/bin/env node
// Runs every test suite of the monorepo and ends with the line CI reads:
//   N passed, N failed, N skipped
// computed from the test reports (vitest JSON reports in reports/, node:test TAP for scripts/).
// With VDPA_KIT_PEER_TESTS set (anchor or 1) it also runs the real-peer suite (docs/peers.md).
// Exits non-zero if anything failed, if a package's suite produced no report, or if nothing ran.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reports = join(root, 'reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };

function run(cmd, args) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env }).status ?? 1;
}

// Packages with a test script: each must leave reports/vitest-<name>.json behind.
const expected = [];
for (const top of ['packages', 'apps']) {
  const dir = join(root, top);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const file = join(dir, name, 'package.json');
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).scripts?.test) expected.push(name);
  }
}

const nxStatus = run('npx', ['nx', 'run-many', '-t', 'test', '--parallel=2', '--outputStyle=stream']);
// The real-peer tests (DPDK testpmd, a QEMU guest; docs/peers.md) run after everything else, alone on
// the machine's CPUs, unless VDPA_KIT_PEER_TESTS is 0 (or false, no); =anchor runs the anchor only.
// Where they cannot be installed (not root) they report themselves skipped with the reason; under CI
// a skip is a failure.
const peerTests = (process.env.VDPA_KIT_PEER_TESTS ?? '1').trim().toLowerCase();
if (!['0', 'false', 'no'].includes(peerTests)) {
  expected.push('cli-peers');
  run('npm', ['run', 'test:peers', '-w', '@vdpa-kit/cli']);
}
const tap = spawnSync('node', ['--test', '--test-reporter=tap', 'scripts/test/'], {
  cwd: root,
  env,
  encoding: 'utf8',
});
writeFileSync(join(reports, 'scripts.tap'), tap.stdout ?? '');
process.stdout.write(tap.stdout ?? '');

let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
for (const name of expected) {
  const file = join(reports, `vitest-${name}.json`);
  if (!existsSync(file)) {
    failed++;
    problems.push(`${name}: no test report (the suite crashed or did not run)`);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A suite file that failed to load has no tests but a failed status.
  const brokenFiles = (r.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0,
  );
  for (const t of brokenFiles) {
    failed++;
    problems.push(`${name}: ${t.name} failed to load: ${String(t.message ?? '').split('\n')[0]}`);
  }
}
const count = (re) => Number((tap.stdout ?? '').match(re)?.[1] ?? 0);
passed += count(/^# pass (\d+)/m);
failed += count(/^# fail (\d+)/m) + count(/^# cancelled (\d+)/m);
skipped += count(/^# skipped (\d+)/m) + count(/^# todo (\d+)/m);
if (tap.status !== 0 && count(/^# fail (\d+)/m) === 0) {
  failed++;
  problems.push('scripts: node --test exited non-zero');
}
if (nxStatus !== 0 && failed === 0) {
  failed++;
  problems.push('nx run-many -t test exited non-zero without a failing test in the reports');
}

console.log('');
for (const p of problems) console.log(`problem: ${p}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
