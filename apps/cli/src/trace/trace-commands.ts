import { type Command, InvalidArgumentError } from 'commander';
import { PROGRAM } from '../vdpa/usage.js';
import type { CommandContext } from './command-context.js';
import { diffTraceFiles, formatDiffResult } from './trace-diff.js';
import { readTraceFile } from './trace-file.js';
import { showTrace, showTraceJson } from './trace-show.js';
import { formatVerifyResult, verifyTraceFile } from './trace-verify.js';

function seqArgument(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError(`--at ${value} is not an event seq (an integer ≥ 0).`);
  return Number(value);
}

/**
 * Registers `trace show|verify|replay|diff` under `program`.
 *
 * - `trace show FILE [--at SEQ]`: the timeline, or the state at `SEQ`; `-j` prints JSON.
 * - `trace verify FILE --mgmtdev X [--strict]`: replays the recorded ops against a fresh device on `X`
 *   and compares every result; exit 1 at the first divergence.
 * - `trace replay FILE [--strict]`: the same against the management device the trace was recorded on.
 * - `trace diff A B`: aligns the driver ops of two traces; exit 1 when they differ.
 *
 * Every unreadable or invalid trace is one `vdpa-kit: FILE line N: …` line and exit 1.
 *
 * @param program the root command
 * @param ctx output, exit status, global flags, plugins
 * @returns the `trace` command (its subcommands need the program's output configuration)
 */
export function registerTraceCommands(program: Command, ctx: CommandContext): Command {
  const out = (lines: readonly string[]): void => {
    if (lines.length > 0) ctx.io.stdout(`${lines.join('\n')}\n`);
  };
  const trace = program
    .command('trace')
    .description('event-sourced traces: show, verify and replay against a device, diff');

  trace
    .command('show')
    .description('print the timeline of a trace, or the bus and device state at one seq (-j: JSON)')
    .argument('<file>', 'trace file (JSON Lines)')
    .option('--at <seq>', 'print the state after the last record with seq ≤ SEQ', seqArgument)
    .addHelpText(
      'after',
      `\nExamples:\n  ${PROGRAM} trace show session.jsonl\n  ${PROGRAM} trace show session.jsonl --at 120\n  ${PROGRAM} -j trace show session.jsonl --at 120\n`,
    )
    .action((file: string, opts: { at?: number }) => {
      const t = readTraceFile(file);
      const options = opts.at === undefined ? {} : { atSeq: opts.at };
      if (ctx.json()) ctx.printJson(showTraceJson(file, t, options));
      else out(showTrace(file, t, options));
      ctx.exit(0);
    });

  const verifyAction =
    (replay: boolean) =>
    async (file: string, opts: { mgmtdev?: string; strict?: boolean }): Promise<void> => {
      const t = readTraceFile(file);
      const result = verifyTraceFile(t, {
        file,
        mgmtdev: replay ? undefined : opts.mgmtdev,
        strict: opts.strict === true,
        plugins: await ctx.plugins(),
      });
      if (ctx.json()) ctx.printJson(result);
      else out(formatVerifyResult(result));
      ctx.exit(result.ok ? 0 : 1);
    };

  trace
    .command('verify')
    .description(
      'replay the recorded ops against a live device and compare every result (exit 1 on divergence)',
    )
    .argument('<file>', 'trace file (JSON Lines)')
    .requiredOption(
      '--mgmtdev <name>',
      'management device to create the device on (a plugin’s needs --plugin)',
    )
    .option(
      '--strict',
      'also compare datapath-dependent results (vq state, vendor stats, status after kicks)',
    )
    .addHelpText(
      'after',
      `\nExamples:\n  ${PROGRAM} trace verify golden.jsonl --mgmtdev vdpasim_net\n  ${PROGRAM} --plugin ./my-plugin trace verify golden.jsonl --mgmtdev mydev --json\n`,
    )
    .action(verifyAction(false));

  trace
    .command('replay')
    .description('verify a trace against the management device it was recorded on (exit 1 on divergence)')
    .argument('<file>', 'trace file (JSON Lines)')
    .option('--strict', 'also compare datapath-dependent results')
    .addHelpText('after', `\nExample:\n  ${PROGRAM} trace replay golden.jsonl\n`)
    .action(verifyAction(true));

  trace
    .command('diff')
    .description('align the driver ops of two traces and show where they differ (exit 1 when they do)')
    .argument('<a>', 'first trace file')
    .argument('<b>', 'second trace file')
    .addHelpText('after', `\nExample:\n  ${PROGRAM} trace diff golden-vdpasim_net.jsonl golden-mvnet.jsonl\n`)
    .action((a: string, b: string) => {
      const result = diffTraceFiles(a, readTraceFile(a), b, readTraceFile(b));
      if (ctx.json()) ctx.printJson(result);
      else out(formatDiffResult(result));
      ctx.exit(result.equal ? 0 : 1);
    });

  return trace;
}
