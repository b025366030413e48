#!/usr/bin/env node
// Scaffold a package in the house layout: node scripts/new-package.mjs <dir> "<description>" [dep ...]
// <dir> is packages/<name> or apps/<name>; deps are @vdpa-kit package names it imports.
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';

const [dir, description = '', ...deps] = process.argv.slice(2);
if (!dir || !/^(packages|apps)\/[a-z][a-z0-9-]*$/.test(dir)) {
  console.error(
    'usage: node scripts/new-package.mjs packages/<name>|apps/<name> "<description>" [@vdpa-kit/dep ...]',
  );
  process.exit(2);
}
if (existsSync(dir)) {
  console.error(`${dir} already exists`);
  process.exit(1);
}
const name = basename(dir);
const version = (d) =>
  JSON.parse(readFileSync(join('packages', d.replace('@vdpa-kit/', ''), 'package.json'), 'utf8')).version;
mkdirSync(join(dir, 'src'), { recursive: true });
const pkg = {
  name: `@vdpa-kit/${name}`,
  version: '0.1.0',
  description,
  type: 'module',
  license: 'MIT',
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
  files: ['dist', 'README.md'],
  scripts: {
    build: 'tsc -b tsconfig.lib.json',
    typecheck: 'tsc -p tsconfig.json',
    test: `vitest run --reporter=default --reporter=json --outputFile.json=../../reports/vitest-${name}.json`,
  },
  dependencies: Object.fromEntries(deps.map((d) => [d, version(d)])),
};
writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
const refs = deps.map((d) => ({ path: `../../packages/${d.replace('@vdpa-kit/', '')}/tsconfig.lib.json` }));
writeFileSync(
  join(dir, 'tsconfig.lib.json'),
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: {
        composite: true,
        rootDir: 'src',
        outDir: 'dist',
        tsBuildInfoFile: 'dist/.tsbuildinfo',
      },
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.spec.ts'],
      references: refs,
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { noEmit: true },
      include: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(
  join(dir, 'vitest.config.ts'),
  `import { defineConfig } from 'vitest/config';\n\nexport default defineConfig({\n  test: { include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'], pool: 'threads' },\n});\n`,
);
writeFileSync(join(dir, 'README.md'), `# @vdpa-kit/${name}\n\n${description}\n`);
console.log(`created ${dir}; add it to the root tsconfig build list if it is an app, then npm install`);
// Keep the generated files in the repository's format.
import { spawnSync } from 'node:child_process';
spawnSync('npx', ['prettier', '--write', '--log-level', 'warn', dir], { stdio: 'inherit' });
