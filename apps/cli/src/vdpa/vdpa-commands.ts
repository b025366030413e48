import { type VdpaBus, VdpaError, bigintToHex, toHex } from '@vdpa-kit/core-bus';
import { VIRTIO_ID_NET, bit } from '@vdpa-kit/virtio-spec';
import { CliError } from '../errors.js';
import type { ManagementOutcome, ManagementView } from '../state/management-session.js';
import type { NewStateEvent } from '../state/state-event.js';
import {
  type KernelErrorContext,
  type VdpaRequest,
  extackLine,
  fmtExtack,
  kernelErrorLines,
} from './kernel-errors.js';
import { devAddMtuOffset } from './netlink-layout.js';
import { matches, parseVdpaArgs } from './parse-args.js';
import { VdpaPrinter } from './printer.js';
import { printDev, printDevConfig, printDevVstats, printMgmtdev } from './show-printers.js';
import { DEV_CONFIG_USAGE, DEV_USAGE, DEV_VSTATS_USAGE, MGMTDEV_USAGE, OBJECT_USAGE } from './usage.js';

/** Words after `dev vstats show` iproute2 accepts: `DEV` or `DEV qidx N`. */
const VSTATS_WORD_COUNTS: readonly number[] = [1, 3];

/** Runs `fn` against the folded management state (see `withManagementState`). */
export type ManagementRunner = <T>(fn: (view: ManagementView) => ManagementOutcome<T>) => Promise<T>;

/** Options of {@link runVdpaCommand}. */
export interface VdpaCommandOptions {
  /** `-j`. */
  readonly json: boolean;
  /** `-p`. */
  readonly pretty: boolean;
  /** Access to the bus and the state log; only called once parsing succeeded. */
  readonly management: ManagementRunner;
}

/** What a `vdpa` command produced: exact stdout, stderr lines and the exit status. */
export interface VdpaCommandResult {
  readonly stdout: string;
  readonly stderr: readonly string[];
  readonly exitCode: number;
}

/** A usage or help text: printed to stderr with `exitCode`. */
class UsageExit extends CliError {
  constructor(lines: readonly string[], exitCode: number) {
    super('usage', { lines, exitCode });
  }
}

/**
 * One iproute2 `vdpa` command line (the object and the words after it), with iproute2's word
 * matching, argument parser, output formats (text, `-j`, `-jp`), error texts and exit statuses. The
 * bus plays the kernel: a request that the bus refuses prints like a kernel NACK.
 *
 * @param object `mgmtdev` or `dev` (or a prefix of them, or of `help`)
 * @param words the words after the object
 * @returns stdout, stderr lines and exit status (state-log and plugin failures included, as one
 * `vdpa-kit: …` line)
 * @throws only unexpected (non-`CliError`) failures
 * @example
 * await runVdpaCommand('dev', ['show'], { json: true, pretty: false, management });
 * // { stdout: '{"dev":{}}\n', stderr: [], exitCode: 0 }
 */
export async function runVdpaCommand(
  object: string | undefined,
  words: readonly string[],
  options: VdpaCommandOptions,
): Promise<VdpaCommandResult> {
  const cmd = new VdpaCommand(options);
  let stderr: readonly string[] = [];
  let exitCode = 0;
  try {
    await cmd.object(object, words);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    stderr = err.stderrLines();
    exitCode = err.exitCode;
  }
  return { stdout: cmd.printer.finish(), stderr: [...cmd.warnings, ...stderr], exitCode };
}

class VdpaCommand {
  readonly printer: VdpaPrinter;
  /** Lines of a request the kernel accepts with a warning extack (`Warning: …`). */
  readonly warnings: string[] = [];

  constructor(private readonly options: VdpaCommandOptions) {
    this.printer = new VdpaPrinter({ json: options.json, pretty: options.pretty });
  }

  async object(object: string | undefined, words: readonly string[]): Promise<void> {
    if (object === undefined || matches(object, 'help')) throw new UsageExit(OBJECT_USAGE, 0);
    if (matches(object, 'mgmtdev')) return this.mgmtdev(words);
    if (matches(object, 'dev')) return this.dev(words);
    throw new CliError(`object ${object} not found`, { lines: [`Object "${object}" not found`] });
  }

  private async mgmtdev(words: readonly string[]): Promise<void> {
    const [word, ...rest] = words;
    if (word === undefined || matches(word, 'help')) throw new UsageExit(MGMTDEV_USAGE, 0);
    if (matches(word, 'show') || matches(word, 'list')) return this.mgmtdevShow(rest);
    throw notFound(word);
  }

  private async dev(words: readonly string[]): Promise<void> {
    const [word, ...rest] = words;
    if (word === undefined) return this.devShow([]);
    if (matches(word, 'help')) throw new UsageExit(DEV_USAGE, 0);
    if (matches(word, 'show') || matches(word, 'list')) return this.devShow(rest);
    if (matches(word, 'add')) return this.devAdd(rest);
    if (matches(word, 'del')) return this.devDel(rest);
    if (matches(word, 'config')) return this.devConfig(rest);
    if (word === 'vstats') return this.devVstats(rest);
    if (word === 'set') return this.devSet(rest);
    throw notFound(word);
  }

  private async mgmtdevShow(words: readonly string[]): Promise<void> {
    const handle = words.length === 0 ? undefined : parseVdpaArgs(words, ['mgmtdevHandle'], []).mgmtdev;
    await this.show('mgmtdev show', 'mgmtdev', ({ bus }) => {
      const names = handle === undefined ? bus.mgmtdevs().map((m) => m.name) : [handle];
      for (const name of names) printMgmtdev(this.printer, bus.mgmtdevShow(name));
    });
  }

  private async devShow(words: readonly string[]): Promise<void> {
    const dev = words.length === 0 ? undefined : parseVdpaArgs(words, ['devHandle'], []).dev;
    await this.show('dev show', 'dev', ({ bus }) => {
      const infos = dev === undefined ? bus.devList() : [bus.devShow(dev)];
      for (const info of infos) printDev(this.printer, info);
    });
  }

  private async devConfig(words: readonly string[]): Promise<void> {
    const [word, ...rest] = words;
    if (word !== undefined && matches(word, 'help')) throw new UsageExit(DEV_CONFIG_USAGE, 0);
    if (word !== undefined && !matches(word, 'show')) throw notFound(word);
    const dev = rest.length === 0 ? undefined : parseVdpaArgs(rest, ['devHandle'], []).dev;
    await this.show('dev config show', 'config', ({ bus }) => {
      if (dev !== undefined) {
        printDevConfig(this.printer, bus.devConfig(dev));
        return;
      }
      for (const info of bus.devList()) {
        // vdpa_nl_cmd_dev_config_get_dumpit() stops at the first device whose class has no config reply
        // (vdpa_dev_config_fill() answers -EOPNOTSUPP): the dump ends there, without an error.
        const config = tryConfig(bus, info.name);
        if (config === undefined) break;
        printDevConfig(this.printer, config);
      }
    });
  }

  private async devVstats(words: readonly string[]): Promise<void> {
    const [word, ...rest] = words;
    if (word === undefined) throw new UsageExit(DEV_VSTATS_USAGE, 1);
    if (word === 'help') throw new UsageExit(DEV_VSTATS_USAGE, 0);
    if (word !== 'show') throw notFound(word);
    if (!VSTATS_WORD_COUNTS.includes(rest.length)) throw new UsageExit(DEV_VSTATS_USAGE, 1);
    const opts = parseVdpaArgs(rest, ['devHandle'], ['qidx']);
    await this.show('dev vstats show', 'vstats', ({ bus }) => {
      // The kernel requires QUEUE_INDEX before it looks the device up.
      if (opts.qidx === undefined) throw new VdpaError('EINVAL', 'queue index attribute is missing');
      printDevVstats(this.printer, bus.devVstats(opts.dev as string, opts.qidx));
    });
  }

  private async devAdd(words: readonly string[]): Promise<void> {
    const opts = parseVdpaArgs(words, ['mgmtdev', 'name'], ['mac', 'mtu', 'maxVqp', 'deviceFeatures']);
    const name = opts.dev as string;
    const mgmtdev = opts.mgmtdev as string;
    const net =
      opts.mac === undefined && opts.mtu === undefined && opts.maxVqp === undefined
        ? undefined
        : {
            ...(opts.mac === undefined ? {} : { mac: opts.mac }),
            ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }),
            ...(opts.maxVqp === undefined ? {} : { maxVqPairs: opts.maxVqp }),
          };
    const context = { policyAttrOffset: devAddMtuOffset({ mgmtdev, name, hasMac: opts.mac !== undefined }) };
    await this.change('dev add', context, ({ bus, ghosts }) => {
      if (ghosts.has(name)) throw new VdpaError('EEXIST', `device name ${name} already exists`);
      bus.devAdd(mgmtdev, name, {
        ...(opts.deviceFeatures === undefined ? {} : { deviceFeatures: opts.deviceFeatures }),
        ...(net === undefined ? {} : { net }),
      });
      return {
        op: 'dev_add',
        name,
        mgmtdev,
        ...(opts.mac === undefined ? {} : { mac: toHex(opts.mac) }),
        ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }),
        ...(opts.maxVqp === undefined ? {} : { maxVqp: opts.maxVqp }),
        ...(opts.deviceFeatures === undefined ? {} : { deviceFeatures: bigintToHex(opts.deviceFeatures) }),
      };
    });
  }

  private async devDel(words: readonly string[]): Promise<void> {
    const name = parseVdpaArgs(words, ['devHandle'], []).dev as string;
    await this.change('dev del', {}, ({ bus, ghosts }) => {
      // A device whose plugin is not loaded can still be deleted from the log.
      if (!ghosts.has(name)) bus.devDel(name);
      return { op: 'dev_del', name };
    });
  }

  private async devSet(words: readonly string[]): Promise<void> {
    const opts = parseVdpaArgs(words, ['name'], ['mac']);
    const name = opts.dev as string;
    await this.change('dev set', {}, ({ bus, ghosts }) => {
      const ghost = ghosts.get(name);
      if (ghost !== undefined) {
        throw new CliError(
          `device ${name} is on management device ${ghost.mgmtdev}, which is not loaded (missing --plugin?)`,
        );
      }
      bus.devSetAttr(name, opts.mac === undefined ? {} : { mac: opts.mac });
      if (!hasNetClass(bus, name)) {
        // vdpa_nl_cmd_dev_attr_set_doit() only warns here and answers 0: nothing was set.
        this.warnings.push(extackLine('Warning', fmtExtack(`${name} device not supported`)));
        return undefined;
      }
      return opts.mac === undefined ? undefined : { op: 'dev_set_attr', name, mac: toHex(opts.mac) };
    });
  }

  /** A show request: the JSON section is open around it (and printed empty when it fails). */
  private async show(
    request: VdpaRequest,
    section: string,
    fn: (view: ManagementView) => void,
  ): Promise<void> {
    this.printer.openSection(section);
    try {
      await this.options.management((view) => {
        kernel(request, {}, () => fn(view));
        return { value: undefined };
      });
    } finally {
      this.printer.closeSection();
    }
  }

  /** A state-changing request: the bus validates it by performing it; the event is then appended. */
  private async change(
    request: VdpaRequest,
    context: KernelErrorContext,
    fn: (view: ManagementView) => NewStateEvent | undefined,
  ): Promise<void> {
    await this.options.management((view) => {
      const event = kernel(request, context, () => fn(view));
      return event === undefined ? { value: undefined } : { value: undefined, event };
    });
  }
}

function notFound(word: string): CliError {
  return new CliError(`command ${word} not found`, { lines: [`Command "${word}" not found`] });
}

function tryConfig(bus: VdpaBus, name: string): ReturnType<VdpaBus['devConfig']> | undefined {
  try {
    return bus.devConfig(name);
  } catch (err) {
    if (err instanceof VdpaError && err.code === 'EOPNOTSUPP') return undefined;
    throw err;
  }
}

/** Whether the management device of device `name` has the net class (`vdpa_mgmtdev_get_classes()`). */
function hasNetClass(bus: VdpaBus, name: string): boolean {
  const mgmtdev = bus.device(name)?.mgmtdev;
  return mgmtdev !== undefined && (bus.mgmtdevShow(mgmtdev).supportedClasses & bit(VIRTIO_ID_NET)) !== 0n;
}

/** Runs a bus request; a `VdpaError` becomes the kernel-NACK lines of `request`. */
function kernel<T>(request: VdpaRequest, context: KernelErrorContext, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof VdpaError)) throw err;
    throw new CliError(err.message, { lines: kernelErrorLines(request, err, context), cause: err });
  }
}
