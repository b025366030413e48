import type { Logger } from '@vdpa-kit/core-bus';
import {
  VIRTIO_NET_CTRL_ACK_SIZE,
  VIRTIO_NET_CTRL_HDR_CMD_OFF,
  VIRTIO_NET_CTRL_HDR_SIZE,
  VIRTIO_NET_OK,
} from '@vdpa-kit/virtio-spec';
import { BufferList, type DmaAllocator, type GuestMemory, type Virtqueue } from '@vdpa-kit/vring';
import { CVQ_ACK_OFFSET, CVQ_ACK_PENDING, CVQ_DATA_MAX, CVQ_SLOTS, CVQ_SLOT_SIZE } from './constants.js';
import { VirtioError } from './errors.js';
import { NetQueueCounters } from './net-queue-counters.js';

interface ControlCommand {
  readonly cls: number;
  readonly cmd: number;
  readonly data: Uint8Array;
  readonly what: string;
  readonly onOk: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (err: VirtioError) => void;
}

interface InFlight {
  readonly command: ControlCommand;
  readonly slot: number;
}

/**
 * The virtio-net control queue (§5.1.6.5): commands run one at a time, in submission order. Each uses a
 * DMA slot holding `{u8 class, u8 cmd}`, the command data (device-readable) and the `u8 ack`
 * (device-writable). After the kick the queue is polled at once (an inline device has answered by
 * then) and again on every control-queue callback; an ack of `VIRTIO_NET_OK` resolves the command,
 * anything else rejects it with `VirtioError('EIO', 'cvq')`, and no answer within the timeout rejects
 * it with `VirtioError('EIO', 'cvq-timeout')` (its slot is reused once the device gives it back).
 *
 * @example
 * await cvq.submit(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(1), 'rx promisc on');
 */
export class NetControlQueue {
  readonly counters: NetQueueCounters;
  readonly vq: Virtqueue<number>;
  private readonly dev: string;
  private readonly poolAddr: number;
  private readonly poolOffset: number;
  private readonly bytes: Uint8Array;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly onError: (err: unknown) => void;
  private readonly freeSlots: number[] = [];
  private readonly waiting: ControlCommand[] = [];
  private readonly out = new BufferList(2);
  private readonly inb = new BufferList(1);
  private current: InFlight | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dead: VirtioError | undefined;

  /**
   * Allocates the command slots.
   * @throws VringError `ENOMEM` when the DMA range is full
   */
  static create(options: {
    readonly dev: string;
    readonly vq: Virtqueue<number>;
    readonly mem: GuestMemory;
    readonly dma: DmaAllocator;
    readonly timeoutMs: number;
    readonly logger: Logger;
    /** Called when a kick or poll made while issuing a command throws (a broken ring or device). */
    readonly onError: (err: unknown) => void;
  }): NetControlQueue {
    const slots = Math.min(CVQ_SLOTS, options.vq.num);
    const size = slots * CVQ_SLOT_SIZE;
    const poolAddr = options.dma.alloc(size, CVQ_SLOT_SIZE);
    try {
      const region = options.mem.regionOf(poolAddr, size);
      return new NetControlQueue(options, slots, poolAddr, region.bytes, poolAddr - region.gpa);
    } catch (err) {
      options.dma.free(poolAddr);
      throw err;
    }
  }

  private constructor(
    options: {
      readonly dev: string;
      readonly vq: Virtqueue<number>;
      readonly timeoutMs: number;
      readonly logger: Logger;
      readonly onError: (err: unknown) => void;
    },
    slots: number,
    poolAddr: number,
    bytes: Uint8Array,
    poolOffset: number,
  ) {
    this.dev = options.dev;
    this.vq = options.vq;
    this.counters = new NetQueueCounters(options.vq.index, 'cvq');
    this.timeoutMs = options.timeoutMs;
    this.logger = options.logger;
    this.onError = options.onError;
    this.poolAddr = poolAddr;
    this.poolOffset = poolOffset;
    this.bytes = bytes;
    for (let slot = slots - 1; slot >= 0; slot--) this.freeSlots.push(slot);
  }

  /**
   * Queues a command.
   *
   * @param cls command class (`VIRTIO_NET_CTRL_*`)
   * @param cmd command within the class
   * @param data command data, at most 8 bytes
   * @param what description for errors (`mac address set 02:…`)
   * @param onOk runs synchronously when the device acks OK, before the promise resolves
   * @returns resolves on `VIRTIO_NET_OK`
   * @throws (rejects) VirtioError `EIO` reason `cvq` on an error ack, `cvq-timeout` without an answer;
   * the queue's failure error once it failed ({@link failAll})
   */
  submit(cls: number, cmd: number, data: Uint8Array, what: string, onOk?: () => void): Promise<void> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    if (data.length > CVQ_DATA_MAX) {
      return Promise.reject(
        new VirtioError(
          'EINVAL',
          'cvq',
          this.dev,
          `control command data of ${data.length} bytes exceeds ${CVQ_DATA_MAX}`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ cls, cmd, data, what, onOk, resolve, reject });
      this.pump();
    });
  }

  /**
   * Takes back answered commands (on the control-queue callback and after each kick).
   * @throws VringError `EIO` when the device broke the ring protocol
   */
  poll(): void {
    for (let slot = this.vq.getBuf(); slot !== undefined; slot = this.vq.getBuf()) {
      this.freeSlots.push(slot);
      const current = this.current;
      if (current !== undefined && current.slot === slot) this.finish(current);
    }
  }

  /** Rejects the command in flight and every waiting one with `error`; later submits reject too. */
  failAll(error: VirtioError): void {
    this.dead = error;
    this.clearTimer();
    const current = this.current;
    this.current = undefined;
    current?.command.reject(error);
    for (const command of this.waiting.splice(0)) command.reject(error);
  }

  /** Frees the command slots; call after the device was reset and the vq deleted. */
  destroy(dma: DmaAllocator): void {
    this.clearTimer();
    dma.free(this.poolAddr);
  }

  private pump(): void {
    while (this.current === undefined && this.dead === undefined) {
      const command = this.waiting.shift();
      if (command === undefined) return;
      this.issue(command);
    }
  }

  private issue(command: ControlCommand): void {
    const slot = this.freeSlots.pop();
    if (slot === undefined) {
      this.counters.errors++;
      command.reject(
        new VirtioError(
          'EBUSY',
          'cvq-timeout',
          this.dev,
          `${command.what}: every control slot awaits an unanswered command`,
        ),
      );
      return;
    }
    const off = this.poolOffset + slot * CVQ_SLOT_SIZE;
    const addr = this.poolAddr + slot * CVQ_SLOT_SIZE;
    const bytes = this.bytes;
    bytes[off] = command.cls;
    bytes[off + VIRTIO_NET_CTRL_HDR_CMD_OFF] = command.cmd;
    bytes.set(command.data, off + VIRTIO_NET_CTRL_HDR_SIZE);
    bytes[off + CVQ_ACK_OFFSET] = CVQ_ACK_PENDING;
    this.out.clear().push(addr, VIRTIO_NET_CTRL_HDR_SIZE);
    if (command.data.length > 0) this.out.push(addr + VIRTIO_NET_CTRL_HDR_SIZE, command.data.length);
    this.inb.clear().push(addr + CVQ_ACK_OFFSET, VIRTIO_NET_CTRL_ACK_SIZE);
    const inFlight: InFlight = { command, slot };
    try {
      this.vq.add(this.out, this.inb, slot);
    } catch (err) {
      this.freeSlots.push(slot);
      this.counters.errors++;
      command.reject(VirtioError.wrap(err, 'cvq', this.dev, `${command.what} could not be queued`));
      return;
    }
    this.current = inFlight;
    try {
      if (this.vq.kickPrepare()) {
        this.vq.notify();
        this.counters.kicks++;
      }
      this.poll();
    } catch (err) {
      // A broken ring or a failing kick: the owner fails the device, which calls failAll.
      this.onError(err);
      if (this.current === inFlight)
        this.failAll(VirtioError.wrap(err, 'cvq', this.dev, `${command.what} failed`));
      return;
    }
    if (this.current === inFlight) {
      this.timer = setTimeout(() => this.timeout(inFlight), this.timeoutMs);
    }
  }

  private finish(inFlight: InFlight): void {
    this.clearTimer();
    this.current = undefined;
    const { command, slot } = inFlight;
    const ack = this.bytes[this.poolOffset + slot * CVQ_SLOT_SIZE + CVQ_ACK_OFFSET];
    if (ack === VIRTIO_NET_OK) {
      this.counters.packets++;
      try {
        command.onOk?.();
      } catch (err) {
        this.logger.error('control command completion threw', {
          dev: this.dev,
          what: command.what,
          message: String(err),
        });
      }
      command.resolve();
    } else {
      this.counters.errors++;
      command.reject(
        new VirtioError(
          'EIO',
          'cvq',
          this.dev,
          `${command.what} was refused by device ${this.dev} (ack ${ack})`,
        ),
      );
    }
    this.pump();
  }

  private timeout(inFlight: InFlight): void {
    this.timer = undefined;
    if (this.current !== inFlight) return;
    this.current = undefined;
    this.counters.errors++;
    inFlight.command.reject(
      new VirtioError(
        'EIO',
        'cvq-timeout',
        this.dev,
        `${inFlight.command.what} got no answer from device ${this.dev} within ${this.timeoutMs} ms`,
      ),
    );
    this.pump();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
