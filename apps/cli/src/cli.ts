import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { ContainerModule } from 'inversify';
import { registerBenchmarkCommands } from './commands/performance.js';
import { integerArgument as integer } from './commands/integer-argument.js';
import { RUN_DEFAULT_BURST, RUN_DEFAULT_COUNT, RUN_DEFAULT_MGMTDEV, RUN_DEFAULT_SIZE } from './constants.js';
import { CliError } from './errors.js';
import { type CliIo, processIo } from './io.js';
import { loadPlugins } from './load-plugins.js';
import { createProgress } from './run/progress.js';
import { runStack } from './run/run-command.js';
import { formatRunReport } from './run/run-report.js';
import { serveDevices } from './serve/serve-command.js';
import { defaultStatePath } from './state/default-state-path.js';
import { withManagementState } from './state/management-session.js';
import { type ManagementRunner, runVdpaCommand } from './vdpa/vdpa-commands.js';
import { DEV_USAGE, MGMTDEV_USAGE, PROGRAM } from './vdpa/usage.js';
import { RECORD_DATAPATH_MODES, RECORD_DEFAULT_DATAPATH, RUN_CLOCK_MODES } from './trace/constants.js';
import { registerTraceCommands } from './trace/trace-commands.js';

/** Global options of `vdpa-kit`. */
interface GlobalOptions {
  readonly json?: boolean;
  readonly pretty?: boolean;
  readonly state?: string;
  readonly plugin: string[];
}

const JSON_INDENT = 2;

/** The version of this package (from its package.json). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Builds the `vdpa-kit` command tree (commander): the iproute2 objects `mgmtdev` and `dev` (their
 * words parsed by the iproute2-compatible parser), `run` (with `--record` and `--inject`), `serve`
 * (vhost-user),
 * `trace show|verify|replay|diff`, and `bench loopback|trace|ring|op-cost` (from `@vdpa-kit/bench`,
 * loaded when a `bench` command runs).
 *
 * @param io where output goes
 * @param exit receives the exit status of the command that ran
 */
export function createProgram(io: CliIo, exit: (code: number) => void): Command {
  const program = new Command(PROGRAM);
  let pluginModules: ContainerModule[] | undefined;
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const plugins = async (): Promise<ContainerModule[]> => {
    pluginModules ??= await loadPlugins(globals().plugin, io.cwd);
    return pluginModules;
  };
  const vdpa = async (object: string | undefined, words: readonly string[], bind?: string): Promise<void> => {
    if (bind !== undefined && bind !== 'virtio')
      throw new CliError(`--bind ${bind} is not a transport (only virtio)`);
    const g = globals();
    const statePath = g.state ?? defaultStatePath(io.env);
    const management: ManagementRunner = async (fn) =>
      (await withManagementState({ statePath, plugins: await plugins(), bind: bind === 'virtio' }, fn)).value;
    const result = await runVdpaCommand(object, words, {
      json: g.json === true,
      pretty: g.pretty === true,
      management,
    });
    for (const line of result.stderr) io.stderr(`${line}\n`);
    io.stdout(result.stdout);
    exit(result.exitCode);
  };
  const printJson = (value: unknown): void => {
    io.stdout(`${JSON.stringify(value, null, globals().pretty === true ? JSON_INDENT : undefined)}\n`);
  };

  program
    .description(
      'The Linux vDPA framework in userspace: iproute2 `vdpa` management, traffic runs, traces and benchmarks.',
    )
    .version(`${PROGRAM} utility, ${PROGRAM}-${cliVersion()}`, '-V, --version', 'print the version')
    .option('-j, --json', 'JSON output')
    .option('-p, --pretty', 'pretty JSON (with -j)')
    .option(
      '--state <file>',
      'management state log (default $VDPA_KIT_STATE, $XDG_STATE_HOME/vdpa-kit/state.jsonl or ~/.local/state/vdpa-kit/state.jsonl)',
    )
    .option('--plugin <package|path>', 'load a ContainerModule plugin (repeatable)', collect, [])
    .argument('[object]', 'an object prefix (m, d) or help')
    .argument('[words...]')
    .showSuggestionAfterError(false)
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride()
    .action(async (object: string | undefined, words: string[]) => {
      if (object === undefined) {
        io.stdout(program.helpInformation());
        exit(0);
        return;
      }
      await vdpa(object, words);
    });

  program
    .command('mgmtdev')
    .description('management devices (iproute2 `vdpa mgmtdev`): show [ MGMTDEV ]')
    .argument('[words...]', 'show [ MGMTDEV ] | help')
    .addHelpText(
      'after',
      `\n${MGMTDEV_USAGE.join('\n')}\n\nExample:\n  ${PROGRAM} -jp mgmtdev show vdpasim_net\n`,
    )
    .action(async (words: string[]) => vdpa('mgmtdev', words));

  program
    .command('dev')
    .description('vDPA devices (iproute2 `vdpa dev`): show, add, del, set, config show, vstats show')
    .argument('[words...]', 'iproute2 words, e.g. add name vdpa0 mgmtdev vdpasim_net mac 00:11:22:33:44:55')
    .addOption(
      new Option(
        '--bind <transport>',
        'bring the devices up with this transport in-process first (config/vstats)',
      ).choices(['virtio']),
    )
    .addHelpText(
      'after',
      `\n${DEV_USAGE.join('\n')}\n       ${PROGRAM} dev set name NAME [ mac MACADDR ]\n       ${PROGRAM} dev config show [ DEV ]\n       ${PROGRAM} dev vstats show DEV qidx QUEUE_INDEX\n\nExamples:\n  ${PROGRAM} dev add name vdpa0 mgmtdev vdpasim_net mac 00:11:22:33:44:55 mtu 9000\n  ${PROGRAM} -j dev config show vdpa0 --bind virtio\n`,
    )
    .action(async (words: string[], opts: { bind?: string }) => vdpa('dev', words, opts.bind));

  program
    .command('run')
    .description('compose a stack, bring a device up with virtio-net and drive checked traffic through it')
    .option('--mgmtdev <name>', 'management device (vdpasim_net, mvnet or a plugin’s)', RUN_DEFAULT_MGMTDEV)
    .option('--mac <mac>', 'device MAC attribute')
    .option('--mtu <mtu>', 'device MTU attribute', integer(1, '--mtu'))
    .option('--max-vqp <n>', 'device max queue pairs attribute', integer(1, '--max-vqp'))
    .option('--queues <n>', 'active queue pairs (set through the control queue)', integer(1, '--queues'))
    .option('--count <n>', 'frames to send', integer(1, '--count'), RUN_DEFAULT_COUNT)
    .option('--size <bytes>', 'frame size (≥ 60)', integer(1, '--size'), RUN_DEFAULT_SIZE)
    .option('--burst <n>', 'frames per flush', integer(1, '--burst'), RUN_DEFAULT_BURST)
    .option('--rate <pps>', 'frames per second (0 = unlimited)', integer(0, '--rate'), 0)
    .addOption(
      new Option('--work-queue <mode>', 'device work queue')
        .choices(['inline', 'microtask'])
        .default('inline'),
    )
    .option('--set-mac <mac>', 'set this MAC through the control queue after bring-up')
    .option(
      '--device-features <hex>',
      "features the device offers (vdpa dev add … device_features); default: the device's own offer",
    )
    .option(
      '--promisc',
      'turn promiscuous mode on through the control queue after bring-up (without --device-features, provisions all the management device supports, for CTRL_RX)',
    )
    .option('--record <file>', 'record the session (dev add … dev del) as a trace file (JSON Lines)')
    .addOption(
      new Option('--record-datapath <mode>', 'coalesce kicks and callbacks per queue, or record every one')
        .choices([...RECORD_DATAPATH_MODES])
        .default(RECORD_DEFAULT_DATAPATH),
    )
    .addOption(
      new Option('--clock <clock>', 'event timestamps: wall clock, or a counter (deterministic traces)')
        .choices([...RUN_CLOCK_MODES])
        .default('system'),
    )
    .option(
      '--inject <spec>',
      'inject a fault: OP:N:ERRNO (fail the nth call), OP:N+:ERRNO (every call from the nth), OP:N:corrupt (repeatable)',
      collect,
      [],
    )
    .addHelpText(
      'after',
      `\nExamples:\n  ${PROGRAM} run --count 100000 --size 64\n  ${PROGRAM} run --mgmtdev mvnet --json\n  ${PROGRAM} run --count 64 --record session.jsonl --clock logical\n  ${PROGRAM} run --inject setVqNum:1:EIO\n`,
    )
    .action(async (opts: Record<string, unknown>) => {
      const g = globals();
      const report = await runStack({
        mgmtdev: opts.mgmtdev as string,
        mac: opts.mac as string | undefined,
        mtu: opts.mtu as number | undefined,
        maxVqp: opts.maxVqp as number | undefined,
        deviceFeatures: opts.deviceFeatures as string | undefined,
        queues: opts.queues as number | undefined,
        count: opts.count as number,
        size: opts.size as number,
        burst: opts.burst as number,
        rate: opts.rate as number,
        workQueue: opts.workQueue as 'inline' | 'microtask',
        plugins: await plugins(),
        progress: (total) => createProgress(total, io.progressStream, g.json !== true),
        clock: opts.clock as 'system' | 'logical',
        setMac: opts.setMac as string | undefined,
        promisc: opts.promisc === true,
        inject: opts.inject as string[],
        record:
          opts.record === undefined
            ? undefined
            : {
                path: opts.record as string,
                datapath: opts.recordDatapath as 'coalesced' | 'full',
                pluginSpecs: g.plugin,
                cwd: io.cwd,
                env: io.env,
              },
      });
      if (g.json === true) printJson(report);
      else {
        io.stdout(formatRunReport(report));
        if (report.record !== undefined)
          io.stdout(`trace recorded to ${report.record.file} (datapath ${report.record.datapath})\n`);
      }
      exit(report.ok ? 0 : 1);
    });

  program
    .command('serve')
    .description(
      'serve devices to vhost-user front-ends (DPDK virtio-user, QEMU vhost-user-net) over Unix sockets',
    )
    .requiredOption('--mgmtdev <name>', 'management device (its devices need the vhost class id)')
    .option(
      '--socket <path>',
      'Unix socket of one device (repeatable: one device per socket, vdpa0, vdpa1, …)',
      collect,
      [],
    )
    .option('--mac <mac>', 'device MAC attribute (further devices get the next addresses)')
    .option('--max-vqp <n>', 'device max queue pairs attribute', integer(1, '--max-vqp'))
    .option('--client', 'connect to a listening front-end (and reconnect with back-off) instead of listening')
    .option('--record <file>', 'record the session (dev add … dev del) as a trace file (JSON Lines)')
    .addHelpText(
      'after',
      `\nThe sockets are created with mode 0600 (and removed on exit); Ctrl-C or SIGTERM stops cleanly.\nNeeds the native addon @vdpa-kit/native-vhost (built at install with node-gyp).\n\nExamples:\n  ${PROGRAM} serve --mgmtdev vdpasim_net --socket /tmp/vdpa0.sock\n    then: dpdk-testpmd --no-pci --vdev 'net_virtio_user0,path=/tmp/vdpa0.sock,queues=1' -- -i\n    or:   qemu-system-x86_64 … -chardev socket,id=c0,path=/tmp/vdpa0.sock -netdev vhost-user,id=n0,chardev=c0 …\n  ${PROGRAM} serve --mgmtdev vdpasim_net --socket /tmp/a.sock --socket /tmp/b.sock --json\n  ${PROGRAM} serve --mgmtdev vdpasim_net --socket /tmp/testpmd.sock --client\n  ${PROGRAM} serve --mgmtdev vdpasim_net --socket /tmp/vdpa0.sock --record serve.jsonl\n`,
    )
    .action(async (opts: Record<string, unknown>) => {
      const g = globals();
      let onSignal: () => void = () => undefined;
      const stop = new Promise<void>((resolve) => {
        onSignal = resolve;
      });
      // `on`, not `once`: a second signal while stopping (GNU timeout signals the child and its
      // process group) must not kill the stop half-way.
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await serveDevices({
          mgmtdev: opts.mgmtdev as string,
          sockets: opts.socket as string[],
          mac: opts.mac as string | undefined,
          maxVqp: opts.maxVqp as number | undefined,
          client: opts.client === true,
          plugins: await plugins(),
          record:
            opts.record === undefined
              ? undefined
              : { path: opts.record as string, pluginSpecs: g.plugin, cwd: io.cwd, env: io.env },
          json: g.json === true,
          tty: io.progressStream.isTTY === true && g.json !== true,
          out: (line) => io.stdout(`${line}\n`),
          stop,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      exit(0);
    });

  const ctx = { io, exit, json: () => globals().json === true, printJson, plugins };
  const bench = registerBenchmarkCommands(program, ctx);
  const trace = registerTraceCommands(program, ctx);

  for (const cmd of [program, ...program.commands, ...bench.commands, ...trace.commands]) {
    cmd
      .showSuggestionAfterError(false)
      .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
      .exitOverride();
  }
  return program;
}

/**
 * Runs `vdpa-kit` with `argv` (the words after the program name).
 *
 * @returns the exit status: 0 on success, non-zero on any error (which printed one line to stderr,
 * or the iproute2 text for `vdpa` commands); a stack trace only with `VDPA_KIT_DEBUG=1`
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code = 0;
  const program = createProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      for (const line of err.stderrLines()) io.stderr(`${line}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`${PROGRAM}: ${message.split('\n')[0]}\n`);
    if (io.env.VDPA_KIT_DEBUG === '1' && err instanceof Error && err.stack !== undefined)
      io.stderr(`${err.stack}\n`);
    return 1;
  }
  return code;
}
