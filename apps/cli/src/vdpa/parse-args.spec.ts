import { describe, expect, it } from 'vitest';
import { CliError } from '../errors.js';
import { matches, parseVdpaArgs } from './parse-args.js';

function stderrOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err.stderrLines();
    throw err;
  }
  throw new Error('expected a CliError');
}

const ADD_REQUIRED = ['mgmtdev', 'name'] as const;
const ADD_OPTIONAL = ['mac', 'mtu', 'maxVqp', 'deviceFeatures'] as const;

describe('matches', () => {
  it('is a non-empty prefix test', () => {
    expect(matches('m', 'mgmtdev')).toBe(true);
    expect(matches('mgmtdev', 'mgmtdev')).toBe(true);
    expect(matches('', 'mgmtdev')).toBe(false);
    expect(matches('mgmtdevx', 'mgmtdev')).toBe(false);
    expect(matches(undefined, 'dev')).toBe(false);
  });
});

describe('parseVdpaArgs (vdpa_argv_parse, cli-formats.md §1.4)', () => {
  it('parses dev add keywords, prefixes included', () => {
    const opts = parseVdpaArgs(
      [
        'n',
        'vdpa0',
        'm',
        'vdpasim_net',
        'mac',
        '00:11:22:33:44:55',
        'mtu',
        '9000',
        'ma',
        '4',
        'device_features',
        '0x300020000',
      ],
      ADD_REQUIRED,
      ADD_OPTIONAL,
    );
    expect(opts.dev).toBe('vdpa0');
    expect(opts.mgmtdev).toBe('vdpasim_net');
    expect(Array.from(opts.mac ?? [])).toEqual([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    expect(opts.mtu).toBe(9000);
    expect(opts.maxVqp).toBe(4);
    expect(opts.deviceFeatures).toBe(0x300020000n);
  });

  it('lets the last of a repeated keyword win and ignores a lone trailing word', () => {
    const opts = parseVdpaArgs(['name', 'a', 'mgmtdev', 'x', 'name', 'b', 'mtu'], ADD_REQUIRED, ADD_OPTIONAL);
    expect(opts.dev).toBe('b');
    expect(opts.mtu).toBeUndefined();
    expect(parseVdpaArgs(['vdpa0', 'junk'], ['devHandle'], []).dev).toBe('vdpa0');
  });

  it('reports two or more leftover words as an unknown option', () => {
    expect(stderrOf(() => parseVdpaArgs(['a', 'b', 'c'], ['devHandle'], []))).toEqual(['Unknown option "b"']);
    expect(stderrOf(() => parseVdpaArgs(['name', 'x', 'MAC', 'y'], ADD_REQUIRED, ADD_OPTIONAL))).toEqual([
      'Unknown option "MAC"',
    ]);
    // mtu is not a `dev set` keyword.
    expect(stderrOf(() => parseVdpaArgs(['name', 'x', 'mtu', '1500'], ['name'], ['mac']))).toEqual([
      'Unknown option "mtu"',
    ]);
  });

  it('checks required arguments in iproute2 order', () => {
    expect(stderrOf(() => parseVdpaArgs(['name', 'foo'], ADD_REQUIRED, ADD_OPTIONAL))).toEqual([
      'management device handle not set.',
    ]);
    expect(stderrOf(() => parseVdpaArgs(['mgmtdev', 'vdpasim_net'], ADD_REQUIRED, ADD_OPTIONAL))).toEqual([
      'device name is not set.',
    ]);
    expect(stderrOf(() => parseVdpaArgs([], ['devHandle'], []))).toEqual(['String parameter expected']);
  });

  it('fails silently on bad numbers and loudly on bad MACs', () => {
    for (const bad of [
      ['mtu', 'abc'],
      ['mtu', '70000'],
      ['mtu', '0x100'],
      ['device_features', 'xyz'],
    ]) {
      expect(
        stderrOf(() => parseVdpaArgs(['name', 'a', 'mgmtdev', 'b', ...bad], ADD_REQUIRED, ADD_OPTIONAL)),
      ).toEqual([]);
    }
    expect(stderrOf(() => parseVdpaArgs(['vdpa0', 'qidx', '0x1'], ['devHandle'], ['qidx']))).toEqual([]);
    // ll_addr_a2n() cuts the argument at each ':' before it prints the group that failed.
    expect(stderrOf(() => parseVdpaArgs(['name', 'a', 'mac', 'zz:11'], ['name'], ['mac']))).toEqual([
      '"zz" is invalid lladdr.',
    ]);
    expect(stderrOf(() => parseVdpaArgs(['name', 'a', 'mac', '00:11:zz:33'], ['name'], ['mac']))).toEqual([
      '"zz" is invalid lladdr.',
    ]);
  });

  // vdpa.c: vdpa_argv_mac() parses into opts->mac, so a second `mac` writes over the first one's bytes.
  it('writes a repeated mac over the earlier bytes, as ll_addr_a2n() fills opts->mac', () => {
    const mac = (...words: string[]): number[] =>
      Array.from(parseVdpaArgs(['name', 'a', ...words], ['name'], ['mac']).mac ?? []);
    expect(mac('mac', '11:22:33:44:55:66', 'mac', '1.2.3.4')).toEqual([1, 2, 3, 4, 0x55, 0x66]);
    expect(mac('mac', '11:22:33:44:55:66', 'mac', '2')).toEqual([2, 0x22, 0x33, 0x44, 0x55, 0x66]);
  });

  it('rejects a mgmtdev handle with two slashes', () => {
    expect(stderrOf(() => parseVdpaArgs(['a/b/c'], ['mgmtdevHandle'], []))).toEqual([
      'Wrong vdpa mgmtdev identification string format',
      'Expected "mgmtdev_bus_name/mgmtdev_name"',
      'Expected "mgmtdev_name"',
    ]);
    expect(parseVdpaArgs(['pci/0000:65:00.2'], ['mgmtdevHandle'], []).mgmtdev).toBe('pci/0000:65:00.2');
  });
});
