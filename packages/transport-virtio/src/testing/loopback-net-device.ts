import {
  type VdpaBus,
  type VdpaCallback,
  type VdpaClassId,
  type VdpaConfigOps,
  type VdpaDevice,
  VdpaError,
  type VdpaVqState,
  type Work,
  type WorkQueue,
  createWorkQueue,
} from '@vdpa-kit/core-bus';
import {
  ETH_ALEN,
  ETH_DATA_LEN,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_LEGACY_QUEUE_ALIGN,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_V1_SIZE,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_VQS_PER_PAIR,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  bit,
} from '@vdpa-kit/virtio-spec';
import { type GuestMemory, Iotlb, Iov, VringError, Vringh } from '@vdpa-kit/vring';
import { type LoopbackCommand, LoopbackControl } from './loopback-control.js';

/** Ring size the device offers by default (`getVqNumMax`). */
const DEFAULT_VQ_NUM_MAX = 256;
/** Chains taken per queue per work pass by default. */
const DEFAULT_WORK_BUDGET = 64;
/** The MAC a loopback device has unless told otherwise. */
const DEFAULT_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
/** Smallest ring size the device accepts (`getVqNumMin`). */
const VQ_NUM_MIN = 1;

/** Options of {@link LoopbackNetDevice}. */
export interface LoopbackNetDeviceOptions {
  /** The guest memory rings and buffers live in (identity-mapped). */
  readonly mem: GuestMemory;
  /** Where the datapath runs (default: a private inline queue; pass the stack's `WORK_QUEUE`). */
  readonly workQueue?: WorkQueue;
  /** Config MAC (default 52:54:00:12:34:56). */
  readonly mac?: Uint8Array;
  /** Config MTU (default 1500). */
  readonly mtu?: number;
  /** Queue pairs (default 1); more than one offers `VIRTIO_NET_F_MQ`. */
  readonly maxQueuePairs?: number;
  /** Have a control queue (default true): offers CTRL_VQ, CTRL_RX, CTRL_MAC_ADDR. */
  readonly ctrlVq?: boolean;
  /** `getVqNumMax` (default 256). */
  readonly vqNumMax?: number;
  /** Initial link state (default up). */
  readonly linkUp?: boolean;
  /** Offer `EVENT_IDX` (default true). */
  readonly eventIdx?: boolean;
  /** Offer `INDIRECT_DESC` (default true). */
  readonly indirect?: boolean;
  /** Replaces the computed feature offer. */
  readonly deviceFeatures?: bigint;
  /** Feature bits removed from the offer. */
  readonly withoutFeatures?: bigint;
  /** Chains taken per queue per work pass (default 64). */
  readonly workBudget?: number;
  /** Virtio device id (default `VIRTIO_ID_NET`). */
  readonly deviceId?: number;
}

/** One-shot used-ring corruption of the next receive completion (see {@link LoopbackNetDevice.misbehaveOnce}). */
export type LoopbackMisbehaviour = 'used-id' | 'used-len';

interface LoopbackVq {
  ready: boolean;
  num: number;
  desc: number;
  avail: number;
  used: number;
  availIndex: number;
  cb: VdpaCallback | null;
  kicks: number;
  readonly vrh: Vringh;
  readonly riov: Iov;
  readonly wiov: Iov;
}

/**
 * A small virtio-net device for testing transports: loops every frame sent on transmitq N back to
 * receiveq N, over real split rings walked with `Vringh` through an identity IOTLB. It has a net config
 * space, an optional control queue (acks OK, or ERR, or never, on demand), optional multiqueue, and
 * knobs for the misbehaviour a driver must survive: FEATURES_OK refused, a config generation that moves
 * during reads, link changes, DEVICE_NEEDS_RESET, and used-ring corruption. Bad guest input (a ring the
 * driver corrupted) is counted, sets DEVICE_NEEDS_RESET and fires the config-change callback.
 *
 * @example
 * const device = new LoopbackNetDevice({ mem, workQueue, maxQueuePairs: 2 });
 * device.register(bus, { name: 'vdpa0' });
 * device.setLinkUp(false); // config change
 */
export class LoopbackNetDevice implements VdpaConfigOps {
  /** Number of virtqueues: two per pair plus the control queue. */
  readonly nvqs: number;
  /** How the control queue answers: `ok` (handle the command), `err` (always ERR), `none` (never). */
  cvqResponse: 'ok' | 'err' | 'none' = 'ok';
  /** Clear FEATURES_OK from status writes (a device refusing the features). */
  rejectFeaturesOk = false;
  /** Config reads that bump the generation while they run (`Infinity`: it never settles). */
  generationChurn = 0;
  /** Frames taken from transmit queues. */
  txPackets = 0;
  /** Frames put on receive queues. */
  rxPackets = 0;
  /** Frames dropped for want of a receive buffer. */
  rxDrops = 0;
  /** Bad guest input seen (each also sets DEVICE_NEEDS_RESET). */
  errors = 0;
  /** The last bad-guest-input error. */
  lastError: VringError | undefined;
  /** The bus record once {@link register}ed. */
  vdpa: VdpaDevice | undefined;

  private readonly mem: GuestMemory;
  private readonly wq: WorkQueue;
  private readonly iotlb = Iotlb.identity();
  private readonly maxPairs: number;
  private readonly cvqIndex: number;
  private readonly offered: bigint;
  private readonly vqNumMax: number;
  private readonly budget: number;
  private readonly deviceId: number;
  private readonly config = new Uint8Array(VIRTIO_NET_CONFIG_SIZE);
  private readonly configView = new DataView(this.config.buffer);
  private readonly vqs: LoopbackVq[];
  private readonly control: LoopbackControl;
  private readonly zeroHdr = new Uint8Array(VIRTIO_NET_HDR_V1_SIZE);
  private readonly work: Work = { run: () => this.runPass() };
  private status_ = 0;
  private features = 0n;
  private generation = 0;
  private configCb: VdpaCallback | null = null;
  private misbehaviour: LoopbackMisbehaviour | undefined;
  /** Bumped by every reset, so a pass notices a reset done from inside a callback. */
  private epoch = 0;

  /** @param options memory, work queue, shape and feature offer */
  constructor(options: LoopbackNetDeviceOptions) {
    this.mem = options.mem;
    this.wq = options.workQueue ?? createWorkQueue('inline');
    this.maxPairs = options.maxQueuePairs ?? 1;
    const ctrlVq = options.ctrlVq ?? true;
    this.cvqIndex = ctrlVq ? VIRTIO_NET_VQS_PER_PAIR * this.maxPairs : -1;
    this.nvqs = VIRTIO_NET_VQS_PER_PAIR * this.maxPairs + (ctrlVq ? 1 : 0);
    this.vqNumMax = options.vqNumMax ?? DEFAULT_VQ_NUM_MAX;
    this.budget = options.workBudget ?? DEFAULT_WORK_BUDGET;
    this.deviceId = options.deviceId ?? VIRTIO_ID_NET;
    let offer =
      bit(VIRTIO_F_VERSION_1) |
      bit(VIRTIO_F_ACCESS_PLATFORM) |
      bit(VIRTIO_NET_F_MAC) |
      bit(VIRTIO_NET_F_STATUS) |
      bit(VIRTIO_NET_F_MTU);
    if (options.eventIdx ?? true) offer |= bit(VIRTIO_RING_F_EVENT_IDX);
    if (options.indirect ?? true) offer |= bit(VIRTIO_RING_F_INDIRECT_DESC);
    if (ctrlVq)
      offer |= bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_CTRL_MAC_ADDR);
    if (ctrlVq && this.maxPairs > 1) offer |= bit(VIRTIO_NET_F_MQ);
    this.offered = (options.deviceFeatures ?? offer) & ~(options.withoutFeatures ?? 0n);
    this.config.set(options.mac ?? DEFAULT_MAC, VIRTIO_NET_CONFIG_MAC);
    this.configView.setUint16(
      VIRTIO_NET_CONFIG_STATUS,
      (options.linkUp ?? true) ? VIRTIO_NET_S_LINK_UP : 0,
      true,
    );
    this.configView.setUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, this.maxPairs, true);
    this.configView.setUint16(VIRTIO_NET_CONFIG_MTU, options.mtu ?? ETH_DATA_LEN, true);
    this.vqs = Array.from({ length: this.nvqs }, () => ({
      ready: false,
      num: 0,
      desc: 0,
      avail: 0,
      used: 0,
      availIndex: 0,
      cb: null,
      kicks: 0,
      vrh: new Vringh(),
      riov: new Iov(),
      wiov: new Iov(),
    }));
    this.control = new LoopbackControl(this.maxPairs, this.config);
  }

  /**
   * Allocates and registers this device on `bus` (class ids default to `virtio` and `vhost`).
   * @returns the bus record
   */
  register(
    bus: VdpaBus,
    options: { readonly name?: string; readonly classIds?: readonly VdpaClassId[] } = {},
  ): VdpaDevice {
    const dev = bus.allocDevice({
      ops: this,
      classIds: options.classIds ?? ['virtio', 'vhost'],
      ...(options.name === undefined ? {} : { name: options.name }),
    });
    bus.registerDevice(dev, this.nvqs);
    this.vdpa = dev;
    return dev;
  }

  // ---- test knobs and observations ----------------------------------------------------------

  /** The status byte (with the device's NEEDS_RESET bit). */
  get status(): number {
    return this.status_;
  }
  /** Features the driver set. */
  get driverFeatures(): bigint {
    return this.features;
  }
  /** Control commands received, in order. */
  get commands(): readonly LoopbackCommand[] {
    return this.control.commands;
  }
  /** RX promiscuous mode as last set over the control queue. */
  get promisc(): boolean {
    return this.control.promisc;
  }
  /** RX all-multicast mode as last set over the control queue. */
  get allmulti(): boolean {
    return this.control.allmulti;
  }
  /** Queue pairs as last set over the control queue (1 after reset). */
  get queuePairs(): number {
    return this.control.queuePairs;
  }
  /** The config MAC (changed by `MAC_ADDR_SET`). */
  get mac(): Uint8Array {
    return this.config.slice(VIRTIO_NET_CONFIG_MAC, VIRTIO_NET_CONFIG_MAC + ETH_ALEN);
  }
  /** Indices of the vqs that are ready. */
  readyVqs(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.vqs.length; i++) if (this.vqs[i].ready) out.push(i);
    return out;
  }
  /** Kicks received on vq `idx`. */
  kicks(idx: number): number {
    return this.vq(idx).kicks;
  }

  /** Changes the link state in config space and fires the config-change callback. */
  setLinkUp(up: boolean): void {
    const status = this.configView.getUint16(VIRTIO_NET_CONFIG_STATUS, true);
    this.configView.setUint16(
      VIRTIO_NET_CONFIG_STATUS,
      up ? status | VIRTIO_NET_S_LINK_UP : status & ~VIRTIO_NET_S_LINK_UP,
      true,
    );
    this.generation++;
    this.configCb?.();
  }

  /** Sets DEVICE_NEEDS_RESET and fires the config-change callback, as after an internal error. */
  raiseNeedsReset(): void {
    this.status_ |= VIRTIO_CONFIG_S_NEEDS_RESET;
    this.configCb?.();
  }

  /**
   * Corrupts the next receive completion: `used-id` publishes the same head twice (the second is not
   * in flight), `used-len` reports one byte more than the buffer holds.
   */
  misbehaveOnce(kind: LoopbackMisbehaviour): void {
    this.misbehaviour = kind;
  }

  // ---- VdpaConfigOps ------------------------------------------------------------------------

  setVqAddress(idx: number, descArea: number, driverArea: number, deviceArea: number): void {
    const vq = this.vq(idx);
    vq.desc = descArea;
    vq.avail = driverArea;
    vq.used = deviceArea;
  }
  setVqNum(idx: number, num: number): void {
    this.vq(idx).num = num;
  }
  kickVq(idx: number): void {
    this.vq(idx).kicks++;
    if (this.live()) this.wq.queue(this.work);
  }
  setVqCb(idx: number, cb: VdpaCallback | null): void {
    this.vq(idx).cb = cb;
  }
  setVqReady(idx: number, ready: boolean): void {
    const vq = this.vq(idx);
    if (!ready) {
      if (vq.ready) vq.availIndex = vq.vrh.lastAvailIdx;
      vq.ready = false;
      return;
    }
    try {
      vq.vrh.init({
        num: vq.num,
        descAddr: vq.desc,
        availAddr: vq.avail,
        usedAddr: vq.used,
        eventIdx: (this.features & bit(VIRTIO_RING_F_EVENT_IDX)) !== 0n,
        mem: this.mem,
        iotlb: this.iotlb,
      });
    } catch (err) {
      throw VdpaError.from(err);
    }
    vq.vrh.lastAvailIdx = vq.availIndex;
    vq.vrh.lastUsedIdx = vq.availIndex;
    vq.ready = true;
  }
  getVqReady(idx: number): boolean {
    return this.vq(idx).ready;
  }
  setVqState(idx: number, state: VdpaVqState): void {
    if (state.kind !== 'split') throw new VdpaError('EOPNOTSUPP', `vq state kind ${state.kind} is not split`);
    const vq = this.vq(idx);
    vq.availIndex = state.availIndex;
    if (vq.ready) vq.vrh.lastAvailIdx = state.availIndex;
  }
  getVqState(idx: number): VdpaVqState {
    const vq = this.vq(idx);
    return { kind: 'split', availIndex: vq.ready ? vq.vrh.lastAvailIdx : vq.availIndex };
  }
  getVqAlign(): number {
    return VIRTIO_LEGACY_QUEUE_ALIGN;
  }
  getDeviceFeatures(): bigint {
    return this.offered;
  }
  setDriverFeatures(features: bigint): void {
    if ((features & bit(VIRTIO_F_ACCESS_PLATFORM)) === 0n) {
      throw new VdpaError('EINVAL', `features 0x${features.toString(16)} lack ACCESS_PLATFORM`);
    }
    this.features = features & this.offered;
  }
  getDriverFeatures(): bigint {
    return this.features;
  }
  setConfigCb(cb: VdpaCallback | null): void {
    this.configCb = cb;
  }
  getVqNumMax(): number {
    return this.vqNumMax;
  }
  getVqNumMin(): number {
    return VQ_NUM_MIN;
  }
  getDeviceId(): number {
    return this.deviceId;
  }
  getVendorId(): number {
    return 0;
  }
  getStatus(): number {
    return this.status_;
  }
  setStatus(status: number): void {
    const wasLive = this.live();
    let value = status & ~VIRTIO_CONFIG_S_NEEDS_RESET;
    if (this.rejectFeaturesOk) value &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    this.status_ = value | (this.status_ & VIRTIO_CONFIG_S_NEEDS_RESET);
    // Buffers made available before DRIVER_OK are processed once the device is live.
    if (!wasLive && this.live()) this.wq.queue(this.work);
  }
  reset(): void {
    this.wq.cancel(this.work);
    this.epoch++;
    this.status_ = 0;
    this.features = 0n;
    this.configCb = null;
    this.generation++;
    this.control.reset();
    for (const vq of this.vqs) {
      vq.ready = false;
      vq.num = 0;
      vq.desc = 0;
      vq.avail = 0;
      vq.used = 0;
      vq.availIndex = 0;
      vq.cb = null;
    }
  }
  getConfigSize(): number {
    return this.config.length;
  }
  getConfig(offset: number, buf: Uint8Array): void {
    if (this.generationChurn > 0) {
      this.generationChurn--;
      this.generation++;
    }
    // Out-of-range reads are ignored, like vdpa_sim.
    if (offset + buf.length > this.config.length) return;
    buf.set(this.config.subarray(offset, offset + buf.length));
  }
  setConfig(offset: number, buf: Uint8Array): void {
    if (offset + buf.length > this.config.length) return;
    this.config.set(buf, offset);
    this.generation++;
  }
  getGeneration(): number {
    return this.generation;
  }

  // ---- datapath -----------------------------------------------------------------------------

  private vq(idx: number): LoopbackVq {
    const vq = this.vqs[idx];
    if (vq === undefined) throw new VdpaError('EINVAL', `vq index ${idx} is not below nvqs ${this.nvqs}`);
    return vq;
  }

  private live(): boolean {
    return (
      (this.status_ & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET)) === VIRTIO_CONFIG_S_DRIVER_OK
    );
  }

  /** One work pass over every queue; true when a budget ran out (more to do). */
  private runPass(): boolean {
    if (!this.live()) return false;
    const epoch = this.epoch;
    let more = false;
    try {
      for (let p = 0; p < this.maxPairs && epoch === this.epoch; p++)
        if (this.processTx(p, epoch)) more = true;
      if (this.cvqIndex >= 0 && epoch === this.epoch && this.processCvq(epoch)) more = true;
    } catch (err) {
      if (!(err instanceof VringError)) throw err;
      this.badGuestInput(err);
      return false;
    }
    return more && this.live();
  }

  /** Moves frames from transmitq `pair` to receiveq `pair`; true when the budget ran out. */
  private processTx(pair: number, epoch: number): boolean {
    const tx = this.vqs[VIRTIO_NET_VQS_PER_PAIR * pair + 1];
    const rx = this.vqs[VIRTIO_NET_VQS_PER_PAIR * pair];
    if (!tx.ready) return false;
    const hdrLen = VIRTIO_NET_HDR_V1_SIZE;
    let taken = 0;
    let rxDone = 0;
    let txDone = 0;
    let more = false;
    tx.vrh.notifyDisable();
    for (;;) {
      if (taken >= this.budget) {
        more = true;
        break;
      }
      const head = tx.vrh.getdesc(tx.riov, null);
      if (head < 0) {
        if (tx.vrh.notifyEnable()) break;
        continue;
      }
      taken++;
      this.txPackets++;
      if (tx.riov.totalLength > hdrLen && rx.ready) {
        tx.riov.advance(hdrLen);
        const rhead = rx.vrh.getdesc(null, rx.wiov);
        if (rhead < 0) {
          this.rxDrops++;
        } else {
          const room = rx.wiov.totalLength;
          const len = rx.vrh.push(rx.wiov, this.zeroHdr) + tx.riov.copyTo(rx.wiov);
          this.completeRx(rx, rhead, len, room);
          rxDone++;
          this.rxPackets++;
        }
      } else {
        this.rxDrops++;
      }
      tx.vrh.complete(head, 0);
      txDone++;
    }
    if (rxDone > 0 && rx.vrh.needNotify()) rx.cb?.();
    if (epoch !== this.epoch) return false;
    if (txDone > 0 && tx.vrh.needNotify()) tx.cb?.();
    return more;
  }

  private completeRx(rx: LoopbackVq, head: number, len: number, room: number): void {
    const kind = this.misbehaviour;
    this.misbehaviour = undefined;
    if (kind === 'used-len') {
      rx.vrh.complete(head, room + 1);
      return;
    }
    rx.vrh.complete(head, len);
    if (kind === 'used-id') rx.vrh.complete(head, 0);
  }

  /** Answers control commands; true when the budget ran out. */
  private processCvq(epoch: number): boolean {
    const cvq = this.vqs[this.cvqIndex];
    if (!cvq.ready) return false;
    let taken = 0;
    let done = 0;
    let more = false;
    for (;;) {
      if (taken >= this.budget) {
        more = true;
        break;
      }
      const head = cvq.vrh.getdesc(cvq.riov, cvq.wiov);
      if (head < 0) {
        if (cvq.vrh.notifyEnable()) break;
        continue;
      }
      taken++;
      const mq = (this.features & bit(VIRTIO_NET_F_MQ)) !== 0n;
      const ack = this.control.handle(cvq.riov, this.cvqResponse, mq);
      if (ack === undefined) continue;
      cvq.vrh.complete(head, cvq.vrh.push(cvq.wiov, ack));
      done++;
    }
    if (done > 0 && epoch === this.epoch && cvq.vrh.needNotify()) cvq.cb?.();
    return more;
  }

  private badGuestInput(err: VringError): void {
    this.errors++;
    this.lastError = err;
    this.raiseNeedsReset();
  }
}
