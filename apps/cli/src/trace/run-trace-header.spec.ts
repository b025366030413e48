import { traceHeaderSchema } from '@vdpa-kit/trace';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PLUGIN_PACKAGES, runTraceHeader, traceCreatedAt } from './run-trace-header.js';

const CWD = new URL('../../../..', import.meta.url).pathname;

describe('traceCreatedAt', () => {
  it('takes SOURCE_DATE_EPOCH (seconds) when set, so golden traces are byte-stable', () => {
    expect(traceCreatedAt({ SOURCE_DATE_EPOCH: '0' })).toBe('1970-01-01T00:00:00.000Z');
    expect(traceCreatedAt({ SOURCE_DATE_EPOCH: '1700000000' })).toBe('2023-11-14T22:13:20.000Z');
  });

  it('is now without it', () => {
    const before = Date.now();
    const at = Date.parse(traceCreatedAt({}));
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(Number.isNaN(at)).toBe(false);
  });

  it('refuses a malformed SOURCE_DATE_EPOCH, naming it', () => {
    expect(() => traceCreatedAt({ SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(
      'SOURCE_DATE_EPOCH yesterday is not a count of seconds',
    );
  });
});

describe('runTraceHeader', () => {
  it('names the framework, the built-in plugins and each --plugin with versions, and passes the schema', () => {
    const header = runTraceHeader({
      stack: { mgmtdev: 'nullnet' },
      pluginSpecs: ['./examples/plugin-null-net', 'no-such-plugin-anywhere'],
      cwd: CWD,
      datapath: 'full',
      env: { SOURCE_DATE_EPOCH: '0' },
    });
    expect(traceHeaderSchema.safeParse(header).success).toBe(true);
    expect(header.framework.name).toBe('@vdpa-kit/core-bus');
    expect(header.framework.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(header.plugins.map((p) => p.name)).toEqual([
      ...BUILTIN_PLUGIN_PACKAGES,
      'vdpa-kit-plugin-null-net',
      'no-such-plugin-anywhere',
    ]);
    for (const p of header.plugins.slice(0, BUILTIN_PLUGIN_PACKAGES.length))
      expect(p.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(header.plugins[header.plugins.length - 1].version).toBe('unknown');
    expect(header).toMatchObject({
      stack: { mgmtdev: 'nullnet' },
      datapath: 'full',
      createdAt: '1970-01-01T00:00:00.000Z',
    });
  });
});
