#!/usr/bin/env node
// One definition per constant (docs/architecture.md "virtio-spec"), checked on the source text:
//   1. a spec-named constant (whose name starts with one of SPEC_PREFIXES, bound by `const`, `let` or
//      `var`, a destructuring pattern, a later declarator of a list, or an enum member) is
//      defined only in packages/virtio-spec: every .ts/.js/.mjs file under packages/*/src, apps/*/src and
//      examples/ is checked, the tests beside the code included, at any nesting level;
//   2. the same constant name (UPPER_SNAKE_CASE, `const NAME =` at the top level of a module) is not
//      defined in the source of two packages (packages/*/src, apps/*/src, examples/*; `*.spec.ts` files
//      are tests and are not counted). A module-local alias of a spec constant that a hot path needs
//      (`const DEST_LEN = ETH_ALEN`) is fine as long as its name is neither a spec name nor repeated.
// The names in ALLOWED_SPEC_NAMES and ALLOWED_REPEATS are known exceptions, each with its reason.
// Exit 1 with one line per violation. `--json` prints the violations as JSON.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Name prefixes of the virtio spec and the Linux uAPI headers that packages/virtio-spec mirrors. */
export const SPEC_PREFIXES = [
  'VIRTIO_',
  'VIRTQ_',
  'VRING_',
  'VHOST_',
  'VDPA_ATTR_',
  'VDPA_CMD_',
  'ETH_',
  'RING_EVENT_',
];

/** The package that holds the spec constants. */
const SPEC_PACKAGE = 'packages/virtio-spec';

/** Names with a spec prefix that are not spec constants. */
const ALLOWED_SPEC_NAMES = new Map([
  ['VIRTIO_BUS', 'transport-virtio DI token'],
  ['VIRTIO_DRIVER', 'transport-virtio DI token'],
  ['VIRTIO_VDPA_DRIVER_NAME', "a driver's name ('virtio_vdpa'), not a spec value"],
  ['VIRTIO_NET_DRIVER_NAME', "a driver's name ('virtio_net'), not a spec value"],
  ['VIRTIO_NET_DRIVER_FEATURES', 'the features the virtio-net driver supports: a driver choice'],
  ['VIRTIO_TRANSPORT_REQUIRED_FEATURES', 'the features virtio_vdpa requires: a transport choice'],
  ['VIRTIO_TRANSPORT_OPTIONAL_FEATURES', 'the features virtio_vdpa accepts: a transport choice'],
]);

/** Names that several packages define on purpose: no spec value, and no package below them all to own it. */
const ALLOWED_REPEATS = new Map([
  ['BITS_PER_BYTE', 'a unit, module-local'],
  ['BYTE_MASK', 'a unit, module-local'],
  ['U32_BYTES', 'a unit, module-local'],
  ['HEX_RADIX', 'a unit, module-local'],
  ['NS_PER_MS', 'a unit, module-local'],
  ['NS_PER_SEC', 'a unit (the CLI and the private bench package, which may not import the CLI)'],
  ['PER_MEGA', 'a unit (the CLI and the private bench package, which may not import the CLI)'],
  ['PER_GIGA', 'a unit (the CLI and the private bench package, which may not import the CLI)'],
  [
    'COPY_WITHIN',
    "the copy builtin held module-local (vring's copies, the bench's ceilings copy the same way)",
  ],
  ['FNV_OFFSET', 'FNV-1a parameters of two unrelated hashes (a device name, a MAC seed)'],
  ['FNV_PRIME', 'FNV-1a parameters of two unrelated hashes (a device name, a MAC seed)'],
  ['NEEDS_CTRL_VQ', "each side's own features that need a control queue (a device's, a driver's)"],
  ['DEFAULT_VQ_NUM_MAX', "the queue size of each test fake's device"],
]);

const SPEC_NAME = String.raw`(?:${SPEC_PREFIXES.join('|')})[A-Za-z0-9_]*`;
const SPEC_CONST = new RegExp(
  String.raw`^[ \t]*(?:export\s+)?(?:const|let|var)\s+(${SPEC_NAME})\s*[:=]`,
  'gm',
);
/** A destructuring declaration: its pattern. */
const DESTRUCTURING = /^[ \t]*(?:export\s+)?(?:const|let|var)\s*([{[][^=;]*[}\]])\s*=/gm;
/** A name bound by a pattern: not a key renamed (`{ KEY: local }`). */
const PATTERN_BINDING = new RegExp(String.raw`\b(${SPEC_NAME})\b(?!\s*:)`, 'g');
/** A further declarator of a declaration list (`const A = 1, NAME = 2`). */
const LATER_DECLARATOR = new RegExp(String.raw`,\s*(${SPEC_NAME})\s*=(?![=>])`, 'g');
const ENUM_BODY = /\benum\s+[A-Za-z_$][\w$]*\s*\{([^}]*)\}/g;
const SPEC_NAME_ONLY = new RegExp(String.raw`^${SPEC_NAME}$`);

/**
 * The spec-named constants `text` defines: a `const`/`let`/`var` of that name, a name bound by a
 * destructuring declaration, a later declarator of a list, an enum member.
 * @param {string} text
 * @returns {string[]}
 */
export function specDefinitions(text) {
  const names = [];
  for (const m of text.matchAll(SPEC_CONST)) names.push(m[1]);
  for (const m of text.matchAll(DESTRUCTURING)) {
    for (const b of m[1].matchAll(PATTERN_BINDING)) names.push(b[1]);
  }
  for (const m of text.matchAll(LATER_DECLARATOR)) names.push(m[1]);
  for (const m of text.matchAll(ENUM_BODY)) {
    for (const member of m[1].split(',')) {
      const name = /^\s*([A-Za-z_$][\w$]*)/.exec(member)?.[1];
      if (name !== undefined && SPEC_NAME_ONLY.test(name)) names.push(name);
    }
  }
  return names;
}
const TOP_LEVEL_CONST = /^(?:export\s+)?const\s+([A-Z][A-Z0-9_]*)\s*[:=]/gm;

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === 'node_modules' || e === 'dist') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e) && !/\.d\.ts$/.test(e)) out.push(p);
  }
  return out;
}

/** Every package of the tree as `{ pkg, files }`, `pkg` relative to the root (`packages/vring`). */
function packages(rootDir) {
  const out = [];
  for (const [top, sub] of [
    ['packages', 'src'],
    ['apps', 'src'],
    ['examples', ''],
  ]) {
    const base = join(rootDir, top);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      if (!statSync(dir).isDirectory()) continue;
      out.push({ pkg: `${top}/${name}`, files: walk(join(dir, sub)).sort() });
    }
  }
  return out;
}

export function check(rootDir = root) {
  const violations = [];
  /** name -> [{ pkg, file }] of top-level definitions outside tests. */
  const defined = new Map();
  for (const { pkg, files } of packages(rootDir)) {
    for (const file of files) {
      const rel = relative(rootDir, file);
      const text = readFileSync(file, 'utf8');
      if (pkg !== SPEC_PACKAGE) {
        for (const name of specDefinitions(text)) {
          if (ALLOWED_SPEC_NAMES.has(name)) continue;
          violations.push(
            `${rel}: spec constant ${name} is defined outside ${SPEC_PACKAGE} (import it from there)`,
          );
        }
      }
      if (/\.spec\.ts$/.test(file)) continue;
      for (const m of text.matchAll(TOP_LEVEL_CONST)) {
        const sites = defined.get(m[1]) ?? [];
        if (!sites.some((s) => s.pkg === pkg)) sites.push({ pkg, rel });
        defined.set(m[1], sites);
      }
    }
  }
  for (const [name, sites] of [...defined].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (sites.length < 2 || ALLOWED_REPEATS.has(name)) continue;
    violations.push(
      `constant ${name} is defined in ${sites.length} packages: ${sites.map((s) => s.rel).join(', ')}`,
    );
  }
  return violations;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const violations = check(process.argv.find((a, i) => i > 1 && !a.startsWith('--')) ?? root);
  if (process.argv.includes('--json')) console.log(JSON.stringify(violations));
  else for (const v of violations) console.error(`constant rule: ${v}`);
  if (violations.length === 0 && !process.argv.includes('--json')) console.log('constant rules: ok');
  process.exit(violations.length === 0 ? 0 : 1);
}
