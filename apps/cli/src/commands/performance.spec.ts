import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliError } from '../errors.js';
import type { CommandContext } from '../trace/command-context.js';
import { type BenchLoader, type BenchModule, registerBenchmarkCommands } from './performance.js';

/** A program with only the `bench` commands, its output collected. */
function program(load: BenchLoader): { run: (args: string[]) => Promise<unknown>; out: () => string } {
  let stdout = '';
  const ctx: CommandContext = {
    io: {
      stdout: (s) => {
        stdout += s;
      },
      stderr: () => undefined,
      progressStream: process.stderr,
      env: {},
      cwd: process.cwd(),
    },
    exit: () => undefined,
    json: () => true,
    printJson: (v) => {
      stdout += `${JSON.stringify(v)}\n`;
    },
    plugins: () => Promise.resolve([]),
  };
  const root = new Command('vdpa-kit').exitOverride();
  const bench = registerBenchmarkCommands(root, ctx, load);
  for (const c of [bench, ...bench.commands])
    c.exitOverride().configureOutput({ writeOut: (s) => (stdout += s), writeErr: () => undefined });
  return { run: (args) => root.parseAsync(args, { from: 'user' }), out: () => stdout };
}

/** The error Node gives for `import()` of a package that is not installed. */
function notFound(pkg: string): Error {
  return Object.assign(
    new Error(`Cannot find package '${pkg}' imported from /x/dist/commands/performance.js`),
    {
      code: 'ERR_MODULE_NOT_FOUND',
    },
  );
}

describe('bench commands', () => {
  it('exit 2 with one clear line where @vdpa-kit/bench is not installed (a published CLI)', async () => {
    for (const sub of ['loopback', 'trace', 'ring', 'op-cost']) {
      const p = program(() => Promise.reject(notFound('@vdpa-kit/bench')));
      const err = await p.run(['bench', sub]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(2);
      expect((err as CliError).stderrLines()).toEqual([
        expect.stringMatching(
          /^vdpa-kit: benchmarks are only available in a source checkout of vdpa-kit: @vdpa-kit\/bench is not installed/,
        ),
      ]);
    }
  });

  it('still print their help without the package', async () => {
    const p = program(() => Promise.reject(notFound('@vdpa-kit/bench')));
    await expect(p.run(['bench', 'loopback', '--help'])).rejects.toMatchObject({
      code: 'commander.helpDisplayed',
    });
    expect(p.out()).toMatch(/^Usage: vdpa-kit bench loopback/);
  });

  it('pass on any other failure to load (a missing dependency of the package is not a published install)', async () => {
    const p = program(() => Promise.reject(notFound('cli-table3')));
    await expect(p.run(['bench', 'ring'])).rejects.toThrow("Cannot find package 'cli-table3'");
  });

  it('load the package once, take its defaults, and print its report', async () => {
    let loads = 0;
    const real = await import('@vdpa-kit/bench');
    const calls: unknown[] = [];
    const fake: BenchModule = {
      ...real,
      benchLoopback: (opts) => {
        calls.push(opts);
        return { size: opts.size } as ReturnType<BenchModule['benchLoopback']>;
      },
    };
    const p = program(() => {
      loads++;
      return Promise.resolve(fake);
    });
    await p.run(['bench', 'loopback', '--runs', '2']);
    expect(loads).toBe(1);
    expect(calls).toEqual([{ size: real.BENCH_DEFAULT_SIZE, packets: real.BENCH_DEFAULT_PACKETS, runs: 2 }]);
    expect(p.out()).toBe(`${JSON.stringify({ size: real.BENCH_DEFAULT_SIZE })}\n`);
  });

  it('turn a benchmark’s refusal into a one-line CLI error (exit 1)', async () => {
    const p = program(() => import('@vdpa-kit/bench'));
    const err = await p.run(['bench', 'ring', '--size', '4096']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(1);
    expect((err as CliError).message).toBe('--size 4096 is larger than the 2048-byte buffers');
  });
});
