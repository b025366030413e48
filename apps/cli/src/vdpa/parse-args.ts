import { CliError } from '../errors.js';
import { parseHexU64, parseLladdr, parseU16, parseU32 } from './parse-values.js';

/** What a `vdpa` command accepts (iproute2's `VDPA_OPT_*`). */
export type VdpaOption =
  'mgmtdevHandle' | 'devHandle' | 'name' | 'mgmtdev' | 'mac' | 'mtu' | 'maxVqp' | 'qidx' | 'deviceFeatures';

/** Parsed `vdpa` arguments (`struct vdpa_opts`); each present only when given. */
export interface VdpaOpts {
  /** Positional mgmtdev handle or the `mgmtdev` keyword: `name` or `bus/name`. */
  readonly mgmtdev?: string;
  /** Positional device handle (`dev show X`, `dev del X`, …) or the `name` keyword. */
  readonly dev?: string;
  readonly mac?: Uint8Array;
  readonly mtu?: number;
  readonly maxVqp?: number;
  readonly qidx?: number;
  readonly deviceFeatures?: bigint;
}

/** `matches(word, keyword) == 0`: `word` is a non-empty prefix of `keyword`. */
export function matches(word: string | undefined, keyword: string): boolean {
  return word !== undefined && word.length > 0 && keyword.startsWith(word);
}

/** The failure iproute2 reports with exactly these stderr lines (possibly none) and exit 1. */
function fail(...lines: string[]): never {
  throw new CliError(lines[0] ?? 'invalid argument', { lines });
}

/**
 * `vdpa_argv_handle`: a mgmtdev handle has at most one `/`.
 * @throws CliError with iproute2's three-line message otherwise
 */
export function parseMgmtdevHandle(word: string): string {
  if (word.split('/').length - 1 > 1) {
    fail(
      'Wrong vdpa mgmtdev identification string format',
      'Expected "mgmtdev_bus_name/mgmtdev_name"',
      'Expected "mgmtdev_name"',
    );
  }
  return word;
}

/**
 * `vdpa_argv_parse`: the positional handle first when `required` has one, then keyword/value pairs
 * while at least two words remain (a lone trailing word is ignored, as iproute2 does), then the
 * required-argument checks. Keywords: `name` and `mgmtdev` (and `max_vqp`, tested after `mac` and
 * `mtu`) match by prefix, `mac`, `mtu`, `qidx` and `device_features` exactly; a repeated keyword's
 * last value wins (a repeated `mac` writes over the earlier bytes, as `ll_addr_a2n` does).
 *
 * @param words the words after the command (`dev add name vdpa0 …` → `['name', 'vdpa0', …]`)
 * @param required options that must be present
 * @param optional options that may be present
 * @throws CliError with iproute2's exact stderr lines: `String parameter expected`,
 * `Unknown option "<word>"`, `"<group>" is invalid lladdr.`, `management device handle not set.`,
 * `device name is not set.`, the mgmtdev-handle format lines, or none for a bad number
 * @example
 * parseVdpaArgs(['name', 'vdpa0', 'mgmtdev', 'vdpasim_net'], ['name', 'mgmtdev'], ['mac', 'mtu', 'maxVqp']);
 */
export function parseVdpaArgs(
  words: readonly string[],
  required: readonly VdpaOption[],
  optional: readonly VdpaOption[],
): VdpaOpts {
  const all = new Set<VdpaOption>([...required, ...optional]);
  const opts: { -readonly [K in keyof VdpaOpts]: VdpaOpts[K] } = {};
  let i = 0;
  if (required.includes('mgmtdevHandle')) {
    if (words.length === 0) fail('vdpa identification ("mgmtdev_bus_name/mgmtdev_name") expected');
    opts.mgmtdev = parseMgmtdevHandle(words[0]);
    i = 1;
  } else if (required.includes('devHandle')) {
    if (words.length === 0) fail('String parameter expected');
    opts.dev = words[0];
    i = 1;
  }
  while (words.length - i > 1) {
    const key = words[i];
    const value = words[i + 1];
    if (matches(key, 'name') && all.has('name')) {
      opts.dev = value;
    } else if (matches(key, 'mgmtdev') && all.has('mgmtdev')) {
      opts.mgmtdev = parseMgmtdevHandle(value);
    } else if (key === 'mac' && all.has('mac')) {
      const parsed = parseLladdr(value, opts.mac);
      if ('invalid' in parsed) fail(`"${parsed.invalid}" is invalid lladdr.`);
      opts.mac = parsed.mac;
    } else if (key === 'mtu' && all.has('mtu')) {
      opts.mtu = parseU16(value) ?? fail();
    } else if (matches(key, 'max_vqp') && all.has('maxVqp')) {
      opts.maxVqp = parseU16(value) ?? fail();
    } else if (key === 'qidx' && all.has('qidx')) {
      opts.qidx = parseU32(value) ?? fail();
    } else if (key === 'device_features' && all.has('deviceFeatures')) {
      opts.deviceFeatures = parseHexU64(value) ?? fail();
    } else {
      fail(`Unknown option "${key}"`);
    }
    i += 2;
  }
  if (required.includes('mgmtdev') && opts.mgmtdev === undefined) fail('management device handle not set.');
  if ((required.includes('name') || required.includes('devHandle')) && opts.dev === undefined) {
    fail('device name is not set.');
  }
  return opts;
}
