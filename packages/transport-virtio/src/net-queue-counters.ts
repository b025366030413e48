import type { NetQueueStats } from './net-interface.js';

/**
 * The mutable counters of one virtqueue of a net interface: plain number fields the datapath bumps
 * (no allocation), sampled by {@link NetQueueCounters.snapshot} on the control path.
 */
export class NetQueueCounters {
  packets = 0;
  bytes = 0;
  errors = 0;
  drops = 0;
  kicks = 0;
  interrupts = 0;

  /**
   * @param queue the virtqueue index
   * @param kind what the queue carries
   */
  constructor(
    readonly queue: number,
    readonly kind: NetQueueStats['kind'],
  ) {}

  /** An immutable copy of the counters. */
  snapshot(): NetQueueStats {
    return {
      queue: this.queue,
      kind: this.kind,
      packets: this.packets,
      bytes: this.bytes,
      errors: this.errors,
      drops: this.drops,
      kicks: this.kicks,
      interrupts: this.interrupts,
    };
  }
}
