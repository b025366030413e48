import type * as Bench from '@vdpa-kit/bench';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import type { CommandContext } from '../trace/command-context.js';
import { PROGRAM } from '../vdpa/usage.js';
import { integerArgument } from './integer-argument.js';

/** The benchmark package: private, in the repository only, never a dependency of the published CLI. */
export const BENCH_PACKAGE = '@vdpa-kit/bench';

/** What `@vdpa-kit/bench` exports. */
export type BenchModule = typeof Bench;

/** Loads the benchmark package (a test gives a loader that fails as a published install's would). */
export type BenchLoader = () => Promise<BenchModule>;

/**
 * Loads `@vdpa-kit/bench` with a dynamic import, so that the CLI runs (every other command) where the
 * package is absent: a published install, which has no benchmark code.
 */
export const loadBenchPackage: BenchLoader = () => import('@vdpa-kit/bench');

/** Exit status of a `bench` command when the benchmark package is absent (a usage error). */
const EXIT_NO_BENCH = 2;

/** Whether `err` is Node's failure to find the benchmark package itself (not one of its imports). */
function benchMissing(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    err.message.includes(`'${BENCH_PACKAGE}'`)
  );
}

/** The option defaults each subcommand takes from the benchmark package (shown in its help). */
function defaultsOf(bench: BenchModule, command: string): Readonly<Record<string, number>> {
  switch (command) {
    case 'loopback':
      return {
        '--size': bench.BENCH_DEFAULT_SIZE,
        '--packets': bench.BENCH_DEFAULT_PACKETS,
        '--runs': bench.BENCH_DEFAULT_RUNS,
      };
    case 'trace':
      return { '--ops': bench.BENCH_TRACE_DEFAULT_OPS, '--runs': bench.BENCH_TRACE_DEFAULT_RUNS };
    case 'ring':
      return { '--packets': bench.RING_BENCH_DEFAULT_PACKETS, '--runs': bench.RING_BENCH_DEFAULT_RUNS };
    default:
      return {};
  }
}

/** Gives `cmd`'s options their defaults, unless given on the command line. */
function applyDefaults(cmd: Command, defaults: Readonly<Record<string, number>>): void {
  for (const opt of cmd.options) {
    const value = opt.long === undefined ? undefined : defaults[opt.long];
    if (value === undefined) continue;
    opt.default(value);
    const key = opt.attributeName();
    if (cmd.getOptionValueSource(key) === undefined) cmd.setOptionValueWithSource(key, value, 'default');
  }
}

/**
 * Registers `bench loopback|trace|ring|op-cost` under `program`. Each loads `@vdpa-kit/bench` when it
 * runs (its defaults come from there too); where the package is absent every `bench` command prints
 * `vdpa-kit: benchmarks are only available in a source checkout of vdpa-kit: …` and exits 2.
 *
 * - `bench loopback [--size B] [--packets N] [--runs K]`: the full stack (virtio-net → bus →
 *   vdpasim_net) against the in-run reference loop.
 * - `bench trace [--ops N] [--runs K]`: trace recording and verify-mode replay against their JSON
 *   Lines ceilings.
 * - `bench ring [--size B] [--packets N] [--runs K]`: the ring benchmark (`-j`: one JSON line per size).
 * - `bench op-cost`: ns per config op through the channel against a bare `Subject.next`.
 *
 * A benchmark that refuses its parameters or fails prints `vdpa-kit: <message>` and exits 1.
 *
 * @param program the root command
 * @param ctx output, exit status, global flags
 * @param load how the benchmark package is loaded
 * @returns the `bench` command (its subcommands need the program's output configuration)
 */
export function registerBenchmarkCommands(
  program: Command,
  ctx: CommandContext,
  load: BenchLoader = loadBenchPackage,
): Command {
  let loading: Promise<BenchModule> | undefined;
  const bench = (): Promise<BenchModule> =>
    (loading ??= load().catch((err: unknown) => {
      if (!benchMissing(err)) throw err;
      throw new CliError(
        `benchmarks are only available in a source checkout of vdpa-kit: ${BENCH_PACKAGE} is not ` +
          'installed (it is never published; clone the repository, then npm ci && npm run build)',
        { exitCode: EXIT_NO_BENCH, cause: err },
      );
    }));
  /** Runs `fn` with the package, a benchmark's own error becoming the CLI's one-line error. */
  const run = async (fn: (b: BenchModule) => void): Promise<void> => {
    const b = await bench();
    try {
      fn(b);
    } catch (err) {
      if (err instanceof b.BenchError) throw new CliError(err.message, { cause: err });
      throw err;
    }
    ctx.exit(0);
  };

  const cmd = program
    .command('bench')
    .description('benchmarks against in-run ceilings (in a source checkout: @vdpa-kit/bench)');
  // Before a subcommand parses its options: their defaults are the package's. When it is absent the
  // help still prints, and the action reports it.
  cmd.hook('preSubcommand', async (_bench, sub) => {
    const b = await bench().catch(() => undefined);
    if (b !== undefined) applyDefaults(sub, defaultsOf(b, sub.name()));
  });

  cmd
    .command('loopback')
    .description('full stack (virtio-net → bus → vdpasim_net → back) in one thread vs the reference loop')
    .option(
      '--size <bytes>',
      'frame size (64 and 1500 are the reference points)',
      integerArgument(1, '--size'),
    )
    .option('--packets <n>', 'packets per timed run', integerArgument(1, '--packets'))
    .option('--runs <k>', 'timed runs (medians are reported)', integerArgument(1, '--runs'))
    .addHelpText('after', `\nExample:\n  ${PROGRAM} bench loopback --size 64 --json\n`)
    .action((opts: { size: number; packets: number; runs: number }) =>
      run((b) => {
        const report = b.benchLoopback(opts);
        if (ctx.json()) ctx.printJson(report);
        else ctx.io.stdout(b.formatLoopbackReport(report));
      }),
    );

  cmd
    .command('trace')
    .description('trace recording (ops/s) and replay in verify mode (events/s) vs in-run JSON Lines ceilings')
    .option('--ops <n>', 'config ops per timed recording run', integerArgument(1, '--ops'))
    .option('--runs <k>', 'timed runs (medians are reported)', integerArgument(1, '--runs'))
    .addHelpText('after', `\nExample:\n  ${PROGRAM} bench trace --json\n`)
    .action((opts: { ops: number; runs: number }) =>
      run((b) => {
        const report = b.benchTrace(opts);
        if (ctx.json()) ctx.printJson(report);
        else ctx.io.stdout(b.formatTraceBenchReport(report));
      }),
    );

  cmd
    .command('ring')
    .description(
      'the ring benchmark: vring driver and device side (the product’s queues) vs the reference loop',
    )
    .option('--size <bytes>', 'packet size (default: 64 and 1500)', integerArgument(1, '--size'))
    .option('--packets <n>', 'packets per loop and run', integerArgument(1, '--packets'))
    .option('--runs <k>', 'timed runs (medians are reported)', integerArgument(1, '--runs'))
    .addHelpText('after', `\nExample:\n  ${PROGRAM} -j bench ring --size 64\n`)
    .action((opts: { size?: number; packets: number; runs: number }) =>
      run((b) => {
        const reports = b.benchRing({
          ...(opts.size === undefined ? {} : { sizes: [opts.size] }),
          packets: opts.packets,
          runs: opts.runs,
        });
        // JSON: one line per size, as the package's ring-bench bin prints them.
        if (ctx.json()) for (const r of reports) ctx.printJson(r);
        else ctx.io.stdout(b.formatRingReport(reports));
      }),
    );

  cmd
    .command('op-cost')
    .description('ns per config op through the bus channel vs a bare RxJS Subject.next')
    .addHelpText('after', `\nExample:\n  ${PROGRAM} -j bench op-cost\n`)
    .action(() =>
      run((b) => {
        const report = b.benchOpCost();
        if (ctx.json()) ctx.printJson(report);
        else ctx.io.stdout(b.formatOpCostReport(report));
      }),
    );
  return cmd;
}
