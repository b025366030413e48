import cliProgress from 'cli-progress';

/** A progress display for `run`: a `cli-progress` bar on a terminal, nothing otherwise. */
export interface Progress {
  update(sent: number, received: number): void;
  stop(): void;
}

/**
 * A progress bar of sent and received frames on `stream`, only when it is a TTY and `enabled`
 * (not with `--json`); otherwise a no-op.
 *
 * @param total frames to send
 * @param stream where to draw (stderr, so stdout stays the report)
 * @param enabled false with `--json`
 */
export function createProgress(total: number, stream: NodeJS.WriteStream, enabled: boolean): Progress {
  if (!enabled || stream.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'traffic [{bar}] {percentage}% | sent {value}/{total} | received {received}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { received: 0 });
  return {
    update: (sent, received) => bar.update(sent, { received }),
    stop: () => bar.stop(),
  };
}
