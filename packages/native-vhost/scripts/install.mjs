#!/usr/bin/env node
// The package's `install` script: builds the addon from source with node-gyp (npm's own copy) against the
// Node headers on the machine. No prebuilt binary is downloaded.
//
// A failed build (no python3, make or g++) must not break `npm ci` for everything else: the reason goes to
// build-failure.txt, which loadNative() puts in its error, and the script exits 0 with a warning. Under CI
// (CI set and not "false"/"0") a failed build fails the install, so CI never silently runs without it.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const failureNote = join(packageDir, 'build-failure.txt');
const PACKAGE = '@vdpa-kit/native-vhost';

/** Whether this runs under CI, as CI=true (and the usual CI=1) say. */
function underCi(env) {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
}

/** node-gyp's entry point: the one npm runs scripts with, else the copy bundled with this Node's npm. */
function nodeGypPath(env) {
  if (env.npm_config_node_gyp && existsSync(env.npm_config_node_gyp)) return env.npm_config_node_gyp;
  const bundled = join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  return existsSync(bundled) ? bundled : null;
}

/**
 * `--nodedir` for node-gyp unless npm already passes one (npm_config_nodedir): the prefix of this Node
 * when its headers are installed there (/usr/include/node on Debian's and NodeSource's packages), so
 * node-gyp never tries to download headers.
 */
function nodedirArgs(env) {
  if (env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** The line of node-gyp's output that says best why the build failed. */
function reasonOf(output, status) {
  const lines = output.split('\n').map((l) => l.trim());
  const patterns = [
    /error: .*/i,
    /: not found/i,
    /No such file or directory/i,
    /gyp ERR! stack Error: .*/,
    /gyp ERR! .*/,
  ];
  for (const re of patterns) {
    const hit = lines.find((l) => re.test(l));
    if (hit) return hit.replace(/^gyp ERR! (stack )?/, '');
  }
  return `node-gyp exited with status ${status}`;
}

function fail(reason, output) {
  writeFileSync(failureNote, `${reason}\n`);
  const message =
    `${PACKAGE}: the native addon was not built: ${reason}\n` +
    `${PACKAGE}: install python3, make and g++ and run npm rebuild ${PACKAGE}`;
  if (underCi(process.env)) {
    process.stderr.write(output);
    process.stderr.write(`${message}\n${PACKAGE}: CI is set, so a failed build fails the install\n`);
    process.exit(1);
  }
  process.stderr.write(`npm warn ${message.split('\n').join('\nnpm warn ')}\n`);
  process.stderr.write(`npm warn ${PACKAGE}: everything that does not need the addon keeps working\n`);
  process.exit(0);
}

rmSync(failureNote, { force: true });
const gyp = nodeGypPath(process.env);
if (gyp === null) fail('node-gyp was not found (it comes with npm)', '');
const result = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedirArgs(process.env)], {
  cwd: packageDir,
  encoding: 'utf8',
  env: process.env,
});
const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
if (result.error) fail(`node-gyp could not start: ${result.error.message}`, output);
if (result.status !== 0) fail(reasonOf(output, result.status), output);
if (!existsSync(join(packageDir, 'build', 'Release', 'vhost_native.node'))) {
  fail('node-gyp succeeded but build/Release/vhost_native.node is missing', output);
}
