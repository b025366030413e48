import type { NetInterface, RxBatch } from '@vdpa-kit/transport-virtio';
import {
  NS_PER_MS,
  NS_PER_SEC,
  RUN_BURSTS_PER_YIELD,
  RUN_PROGRESS_INTERVAL_MS,
  RUN_STALL_TIMEOUT_MS,
} from '../constants.js';
import { FrameChecker } from './frame-checker.js';
import { PacketGenerator } from './packet-generator.js';

/** Options of {@link runTraffic}. */
export interface TrafficOptions {
  /** Frames to send in total. */
  readonly count: number;
  /** Frame size in bytes. */
  readonly size: number;
  /** Frames queued per queue pair before one flush (kick decision). */
  readonly burst: number;
  /** Frames per second; 0 = as fast as possible. */
  readonly rate: number;
  /** Queue pairs to send on, round robin (≤ the active pairs). */
  readonly queues: number;
  /**
   * The work queue runs on microtasks: await one microtask checkpoint after each flush so the device
   * gets to process the kick.
   */
  readonly microtask?: boolean;
  /** Called between bursts at most every `RUN_PROGRESS_INTERVAL_MS` (progress display), and at the end. */
  readonly onProgress?: (sent: number, received: number) => void;
  /** Monotonic clock in nanoseconds (default `process.hrtime.bigint`). */
  readonly now?: () => bigint;
}

/** What {@link runTraffic} measured. */
export interface TrafficResult {
  readonly sent: number;
  readonly sentBytes: number;
  /** Frames the driver handed up. */
  readonly received: number;
  readonly receivedBytes: number;
  /** Frames that passed length, checksum and queue checks. */
  readonly intact: number;
  readonly corrupt: number;
  readonly outOfOrder: number;
  /** `sent − intact` (never negative). */
  readonly lost: number;
  /** Times `send` refused a frame because the TX ring was full. */
  readonly backpressure: number;
  /** From the first send to the last frame received (or the end of the drain). */
  readonly durationNs: bigint;
  /** True when the run stopped because nothing moved for `RUN_STALL_TIMEOUT_MS`. */
  readonly stalled: boolean;
  /** Per sending queue pair. */
  readonly perQueue: readonly {
    readonly queue: number;
    readonly sent: number;
    readonly intact: number;
    readonly outOfOrder: number;
  }[];
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Drives traffic through a virtio-net interface and checks what comes back: bursts of generated
 * frames round robin over the queue pairs, one flush (kick decision) per burst, completed TX
 * buffers reclaimed after it, every received frame verified in the receive handler. Paces to
 * `rate` by time, yielding with `setImmediate` between bursts (no timers on the datapath). After
 * the last frame it drains until everything sent came back or nothing moved for a while.
 *
 * Nothing is allocated per frame: one frame buffer, one receive handler, counters in fields.
 *
 * @example
 * const result = await runTraffic(net, { count: 1000, size: 64, burst: 32, rate: 0, queues: 1 });
 * result.lost; // 0
 */
export async function runTraffic(net: NetInterface, options: TrafficOptions): Promise<TrafficResult> {
  const now = options.now ?? (() => process.hrtime.bigint());
  const gen = new PacketGenerator(options.size, net.mac);
  const checker = new FrameChecker(options.size, options.queues);
  const sentPerQueue = new Array<number>(options.queues).fill(0);
  const stallNs = BigInt(RUN_STALL_TIMEOUT_MS * NS_PER_MS);
  const progressNs = BigInt(RUN_PROGRESS_INTERVAL_MS * NS_PER_MS);
  let lastRxAt = 0n;
  const handler = (batch: RxBatch): void => {
    for (let i = 0; i < batch.count; i++) checker.check(batch.data[i], batch.offsets[i], batch.lengths[i]);
    lastRxAt = now();
  };
  const unsubscribe = net.onReceive(handler);
  let sent = 0;
  let backpressure = 0;
  let stalled = false;
  let bursts = 0;
  const start = now();
  let lastProgressAt = start;
  let lastMoveAt = start;
  try {
    let q = 0;
    while (sent < options.count && !stalled) {
      let n = 0;
      while (n < options.burst && sent < options.count) {
        if (!net.send(gen.fill(q, sentPerQueue[q]), q)) {
          backpressure++;
          break;
        }
        sentPerQueue[q]++;
        sent++;
        n++;
      }
      net.flush(q);
      if (options.microtask === true) await Promise.resolve();
      const reclaimed = net.reclaim(q);
      const t = now();
      if (n > 0 || reclaimed > 0) lastMoveAt = t;
      else if (t - lastMoveAt > stallNs) stalled = true;
      q = (q + 1) % options.queues;
      if (options.rate > 0) {
        const due = start + BigInt(Math.floor((sent / options.rate) * NS_PER_SEC));
        while (now() < due) await yieldToEventLoop();
      }
      if (n === 0 || ++bursts % RUN_BURSTS_PER_YIELD === 0) {
        if (n === 0) for (let p = 0; p < options.queues; p++) net.poll(p);
        await yieldToEventLoop();
        if (options.onProgress !== undefined && now() - lastProgressAt > progressNs) {
          lastProgressAt = now();
          options.onProgress(sent, checker.received);
        }
      }
    }
    // Drain: everything sent should come back; stop when nothing moves any more.
    let seen = checker.received;
    let idleSince = now();
    while (checker.received < sent) {
      for (let p = 0; p < options.queues; p++) {
        net.flush(p);
        net.reclaim(p);
        net.poll(p);
      }
      await yieldToEventLoop();
      const t = now();
      if (checker.received !== seen) {
        seen = checker.received;
        idleSince = t;
      } else if (t - idleSince > stallNs) {
        break;
      }
    }
    for (let p = 0; p < options.queues; p++) net.reclaim(p);
  } finally {
    unsubscribe();
  }
  options.onProgress?.(sent, checker.received);
  const end = lastRxAt > start ? lastRxAt : now();
  const intact = checker.intact;
  return {
    sent,
    sentBytes: sent * options.size,
    received: checker.received,
    receivedBytes: checker.receivedBytes,
    intact,
    corrupt: checker.corrupt,
    outOfOrder: checker.outOfOrder,
    lost: Math.max(0, sent - intact),
    backpressure,
    durationNs: end - start,
    stalled,
    perQueue: checker.queues.map((cq) => ({
      queue: cq.queue,
      sent: sentPerQueue[cq.queue],
      intact: cq.intact,
      outOfOrder: cq.outOfOrder,
    })),
  };
}
